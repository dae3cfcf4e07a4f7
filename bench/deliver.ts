// Benchmark 4: originals from the simulator delivered to a folder, an HTTP server, SFTP servers and an
// S3-compatible server, through the deliver path (client download → Deliverer → destination) vs a bare
// pipeline (undici → file / undici / ssh2); and the buffering path of Node-RED's core nodes as the memory
// baseline users have today.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationConfig } from '../src/core/deliver/registry';
import { openSshUnavailable, startOpenSsh, type OpenSshServer } from '../test/e2e/openssh';
import type { BareTarget } from './cases/deliver-bare';
import { control, fixed, mb, med, median, printTable, runCase, startSimProcess, verdict, type CaseResult } from './lib';
import { startServerProcess, type Received, type SinkHandle } from './servers/process';
import type { HttpSinkInfo } from './servers/http-sink';
import type { S3SinkInfo } from './servers/s3-sink';
import type { SftpSinkInfo } from './servers/sftp-sink';

export interface DeliverBenchOptions {
  /** Original sizes (bytes), one table each. */
  sizes: number[];
  rounds: number;
  /** Size fetched the way Node-RED's http request node does (buffered), for the memory baseline. */
  baselineSize: number;
  /** Also deliver to a real OpenSSH server when one can be started here (default true). */
  openssh?: boolean;
  /** Only these destinations (folder, http, sftp, openssh, s3); default all. */
  to?: string[];
}

export const DELIVER_DESTINATIONS = ['folder', 'http', 'sftp', 'openssh', 's3'] as const;

const MiB = 1024 * 1024;
const RATIO_TARGET = 0.9;
const RSS_TARGET = 64 * MiB;

/** bare: the plain pipeline; sha: the same with an on-the-fly sha256 (what hashing alone costs); ours: the delivery path. */
type Side = 'bare' | 'sha' | 'ours';
const SIDE_LABEL: Record<Side, string> = { bare: 'bare', sha: 'bare + sha256', ours: 'ours' };

/** "(min–max)" of a list of figures. */
function spread(xs: number[], digits = 2): string {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length < 2) return '';
  return `(${fixed(Math.min(...ok), digits)}–${fixed(Math.max(...ok), digits)})`;
}

/** Table cell from parts, the empty ones left out. */
function cell(...parts: string[]): string {
  return parts.filter(Boolean).join(' ');
}

function loadAverage(): number {
  return loadavg()[0];
}

/** One destination row: how each side is set up, where its bytes land, and how to check them. */
interface Dest {
  name: string;
  /** Ratio target (folder and HTTP); undefined: reported only. */
  ratioTarget?: number;
  bare(loc: string): BareTarget;
  ours(loc: string): { config: DestinationConfig; location: string };
  /** The sink that counts the bytes, if a process of ours; its key for a location. */
  sink?: SinkHandle<unknown>;
  key?(loc: string, side: Side): string;
  /** A local file the bytes land in (folder, OpenSSH): checked by size and sha256, then removed. */
  file?(loc: string): string;
}

/** Size and sha256 of a file, read in a stream. */
async function fileDigest(path: string): Promise<Received> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return { bytes: statSync(path).size, sha256: hash.digest('hex') };
}

interface Run {
  r: CaseResult;
  sinkCpuMs?: number;
  simCpuMs: number;
  received?: Received;
}

export async function deliverBench(o: DeliverBenchOptions, log: (l: string) => void): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'ps-bench-deliver-'));
  const outDir = join(tmp, 'out');
  const ledgerDir = join(tmp, 'ledger');
  const stops: Array<() => Promise<void>> = [];
  mkdirSync(outDir);
  try {
    const sim = await startSimProcess({ seed: 1, assets: 20 });
    stops.push(() => sim.stop());
    const state = await control<{ galleries: Array<{ id: string }> }>(sim, 'GET', 'state');
    const media = new Map<number, string>();
    for (const size of new Set([...o.sizes, o.baselineSize])) {
      const created = await control<{ id: string; media: { file_size: number } }>(sim, 'POST', 'media', {
        galleryId: state.galleries[0].id,
        fileName: `original ${size}.jpg`,
        size,
      });
      if (created.media.file_size !== size) throw new Error(`the simulator made a file of ${created.media.file_size} bytes, not ${size}`);
      media.set(size, created.id);
    }
    const wanted = (id: (typeof DELIVER_DESTINATIONS)[number]): boolean => !o.to || o.to.includes(id);
    const dests: Dest[] = [];
    if (wanted('folder')) {
      dests.push({
        name: 'folder',
        ratioTarget: RATIO_TARGET,
        bare: (loc) => ({ kind: 'folder', path: join(outDir, loc) }),
        ours: (loc) => ({ config: { kind: 'folder', folder: outDir }, location: loc }),
        file: (loc) => join(outDir, loc),
      });
    }
    if (wanted('http')) {
      const http = await startServerProcess<HttpSinkInfo>('http-sink');
      stops.push(() => http.stop());
      dests.push({
        name: 'HTTP (raw PUT)',
        ratioTarget: RATIO_TARGET,
        bare: (loc) => ({ kind: 'http', url: `${http.info.url}/${loc}` }),
        ours: (loc) => ({ config: { kind: 'http', method: 'PUT', bodyMode: 'raw', url: `${http.info.url}/${loc}` }, location: loc }),
        sink: http as SinkHandle<unknown>,
        key: (loc) => `/${loc}`,
      });
    }
    if (wanted('sftp')) {
      const sftp = await startServerProcess<SftpSinkInfo>('sftp-sink');
      stops.push(() => sftp.stop());
      const si = sftp.info;
      dests.push({
        name: 'SFTP (ssh2 server)',
        bare: (loc) => ({ kind: 'sftp', host: si.host, port: si.port, user: si.user, password: si.password, path: loc }),
        ours: (loc) => ({ config: { kind: 'sftp', host: si.host, port: si.port, user: si.user, password: si.password, hostKey: si.fingerprint }, location: loc }),
        sink: sftp as SinkHandle<unknown>,
        key: (loc) => `/${loc}`,
      });
    }
    if (wanted('openssh')) {
      const noOpenSsh = o.openssh === false ? 'turned off' : openSshUnavailable();
      if (!noOpenSsh) {
        const os: OpenSshServer = await startOpenSsh();
        stops.push(() => os.stop());
        dests.push({
          name: 'SFTP (OpenSSH)',
          bare: (loc) => ({ kind: 'sftp', host: os.host, port: os.port, user: os.user, password: os.password, path: loc }),
          ours: (loc) => ({ config: { kind: 'sftp', host: os.host, port: os.port, user: os.user, password: os.password, hostKey: os.fingerprint }, location: loc }),
          file: (loc) => join(os.home, loc),
        });
      } else log(`deliver: no OpenSSH row (${noOpenSsh})`);
    }
    if (wanted('s3')) {
      const s3 = await startServerProcess<S3SinkInfo>('s3-sink');
      stops.push(() => s3.stop());
      dests.push({
        name: 'S3 (multipart)',
        bare: (loc) => ({ kind: 'http', url: `${s3.info.endpoint}/${s3.info.bucket}/${loc}` }),
        ours: (loc) => ({
          config: { kind: 's3', endpoint: s3.info.endpoint, region: 'us-east-1', bucket: s3.info.bucket, forcePathStyle: true, accessKeyId: 'bench', secretAccessKey: 'bench-secret' },
          location: loc,
        }),
        sink: s3 as SinkHandle<unknown>,
        key: (loc) => loc,
      });
    }
    const folderDest: Dest = {
      name: 'folder',
      bare: (loc) => ({ kind: 'folder', path: join(outDir, loc) }),
      ours: (loc) => ({ config: { kind: 'folder', folder: outDir }, location: loc }),
      file: (loc) => join(outDir, loc),
    };

    let n = 0;
    const runSide = async (d: Dest, side: Side, size: number): Promise<Run> => {
      const loc = `${side}-${++n}.bin`;
      const base = { baseUrl: sim.baseUrl, credentials: sim.credentials, mediaId: media.get(size) as string };
      const sim0 = await sim.stats();
      const sink0 = await d.sink?.stats();
      const r =
        side === 'ours'
          ? await runCase('deliver-ours', { ...base, ...d.ours(loc), ledgerDir })
          : await runCase('deliver-bare', { ...base, target: d.bare(loc), hash: side === 'sha' });
      const sim1 = await sim.stats();
      const sink1 = await d.sink?.stats();
      const run: Run = { r, simCpuMs: sim1.cpuMs - sim0.cpuMs, sinkCpuMs: sink0 && sink1 ? sink1.cpuMs - sink0.cpuMs : undefined };
      if (d.sink && d.key) {
        run.received = (await d.sink.object(d.key(loc, side))) ?? undefined;
        await d.sink.reset();
        if (!run.received || run.received.bytes !== size) throw new Error(`${d.name} ${side}: the sink received ${run.received?.bytes ?? 'nothing'}, expected ${size} bytes`);
      }
      if (d.file) {
        // what landed, by its hash: compared below with every other side's and with the Deliverer's
        const path = d.file(loc);
        run.received = await fileDigest(path);
        rmSync(path, { force: true });
        if (run.received.bytes !== size) throw new Error(`${d.name} ${side}: ${run.received.bytes} bytes landed, expected ${size}`);
      }
      if (r.bytes !== size) throw new Error(`${d.name} ${side}: ${r.bytes} bytes, expected ${size}`);
      return run;
    };

    const load0 = loadAverage();
    const oursAt = new Map<number, Run[]>();
    let warm = false;
    for (const size of o.sizes) {
      const rows: string[][] = [];
      const notes: string[] = [];
      let shaOk = true;
      for (const d of dests) {
        log(`deliver: ${mb(size)} MiB to ${d.name}`);
        const runs: Record<Side, Run[]> = { bare: [], sha: [], ours: [] };
        const sides: Side[] = d.ratioTarget === undefined ? ['bare', 'ours'] : ['bare', 'sha', 'ours'];
        // one unmeasured run before the first round of the benchmark only (the simulator's first download
        // and the page cache), not before every destination: at 4 GiB a warm-up costs minutes
        if (!warm) {
          const x = await runSide(d, 'bare', size);
          log(`  warm-up (bare, not counted): ${fixed(x.r.ms, 0)} ms`);
          warm = true;
        }
        // the sides alternate, and the first side moves on by one each round, so that none always runs
        // right after the same neighbour (page cache, writeback of the previous file, the sink's GC)
        for (let round = 0; round < o.rounds; round++) {
          for (let i = 0; i < sides.length; i++) {
            const side = sides[(i + round) % sides.length];
            const x = await runSide(d, side, size);
            runs[side].push(x);
            const ledger = x.r.extra?.ledgerMs;
            log(`  round ${round + 1}/${o.rounds} ${SIDE_LABEL[side]}: ${fixed(x.r.ms, 0)} ms (${fixed(size / MiB / (x.r.ms / 1000), 0)} MiB/s), RSS +${mb(x.r.rssGrowth)} MB${ledger === undefined ? '' : `, ledger ${fixed(ledger, 1)} ms`}`);
          }
        }
        if (d.name === 'folder') oursAt.set(size, runs.ours);
        // every side's bytes where they landed (sink or file) hash the same, and the same as the Deliverer's and
        // bare + sha256's sha256; a side whose bytes were not hashed where they landed fails the row too
        const shas = new Set<string>();
        for (const x of [...runs.bare, ...runs.sha, ...runs.ours]) shas.add(x.received?.sha256 ?? 'not checked');
        for (const x of [...runs.sha, ...runs.ours]) shas.add((x.r as CaseResult & { sha256?: string }).sha256 ?? 'not computed');
        const rowShaOk = shas.size === 1;
        if (!rowShaOk) shaOk = false;
        const rates = (side: Side): number[] => runs[side].map((x) => size / MiB / (x.r.ms / 1000));
        const rate = (side: Side): number => size / MiB / (median(runs[side].map((x) => x.r.ms)) / 1000);
        const rateCell = (side: Side): string => (runs[side].length ? cell(fixed(rate(side), 0), spread(rates(side), 0)) : '–');
        // the ratio of the medians, and the spread of the ratios of the runs of one round
        const ratioOf = (a: Side, b: Side): number => rate(a) / rate(b);
        const paired = (a: Side, b: Side): number[] => runs[a].map((x, i) => runs[b][i].r.ms / x.r.ms);
        const ratio = ratioOf('ours', 'bare');
        const rss = (side: Side): number => Math.max(...runs[side].map((x) => x.r.rssGrowth));
        const cpuPct = (side: Side, pick: (x: Run) => number | undefined): string => {
          if (!runs[side].length) return '–';
          const v = median(runs[side].map((x) => (pick(x) ?? NaN) / x.r.ms));
          return Number.isFinite(v) ? `${Math.round(v * 100)}` : '–';
        };
        const target = d.ratioTarget;
        const ledgerMs = runs.ours.map((x) => x.r.extra?.ledgerMs ?? NaN);
        rows.push([
          d.name,
          rateCell('bare'),
          rateCell('sha'),
          rateCell('ours'),
          // three decimals where there is a target, so that 0.897 does not read as 0.90 next to a MISS
          cell(fixed(ratio, target === undefined ? 2 : 3), spread(paired('ours', 'bare')), target === undefined ? '' : verdict(ratio >= target)),
          runs.sha.length ? cell(fixed(ratioOf('sha', 'bare')), spread(paired('sha', 'bare'))) : '–',
          runs.sha.length ? cell(fixed(ratioOf('ours', 'sha')), spread(paired('ours', 'sha'))) : '–',
          cell(fixed(median(ledgerMs), 0), spread(ledgerMs, 0)),
          `${mb(rss('ours'))} ${verdict(rss('ours') <= RSS_TARGET)}`,
          rowShaOk ? 'same on every side PASS' : `${shas.size} different MISS`,
          mb(rss('bare')),
          `${cpuPct('ours', (x) => x.r.cpuMs)} / ${cpuPct('sha', (x) => x.r.cpuMs)} / ${cpuPct('bare', (x) => x.r.cpuMs)}`,
          `${cpuPct('ours', (x) => x.sinkCpuMs)} / ${cpuPct('bare', (x) => x.sinkCpuMs)}`,
          `${cpuPct('ours', (x) => x.simCpuMs)} / ${cpuPct('bare', (x) => x.simCpuMs)}`,
        ]);
        const sinkPct = median(runs.ours.map((x) => (x.sinkCpuMs ?? NaN) / x.r.ms));
        const oursPct = median(runs.ours.map((x) => (x.r.cpuMs ?? NaN) / x.r.ms));
        if (target !== undefined && ratio < target) {
          const why = runs.sha.length
            ? `; bare + sha256 ran at ${fixed(ratioOf('sha', 'bare'))}× the bare rate, ours at ${fixed(ratioOf('ours', 'sha'))}× the bare + sha256 rate`
            : '';
          notes.push(`${d.name} misses the ratio (${fixed(ratio)})${why}; CPU of the deliverer ${Math.round(oursPct * 100)}%${Number.isFinite(sinkPct) ? `, of the sink ${Math.round(sinkPct * 100)}%` : ''}`);
        } else if (Number.isFinite(sinkPct) && sinkPct > 0.85) {
          notes.push(`${d.name}: the sink is the bottleneck (it uses ${Math.round(sinkPct * 100)}% of a core), so both sides run at its pace`);
        }
        if (rss('ours') > RSS_TARGET) {
          const buffers = Math.max(...runs.ours.map((x) => x.r.memory?.buffersGrowth ?? 0));
          notes.push(`${d.name} grows ${mb(rss('ours'))} MB (> 64), of it up to ${mb(buffers)} MB Buffers (bare: ${mb(Math.max(...runs.bare.map((x) => x.r.memory?.buffersGrowth ?? 0)))} MB)`);
        }
      }
      const misses = rows.filter((r) => r.some((c) => c.endsWith('MISS'))).map((r) => r[0]);
      printTable(
        `### Delivery of one ${mb(size)} MiB original (${o.rounds} round${o.rounds > 1 ? 's' : ''}, sides alternating; medians, (min–max) over the rounds; RSS: max)`,
        [
          'destination',
          'bare MiB/s',
          'bare + sha256 MiB/s',
          'ours MiB/s',
          'ours/bare (target ≥ 0.9: folder, HTTP)',
          'bare + sha256 / bare (cost of hashing)',
          'ours / bare + sha256 (cost of the rest)',
          'ledger ms (2 fsync’d appends)',
          'ours peak RSS growth MB (target ≤ 64)',
          'sha256 where the bytes landed (target: all equal)',
          'bare peak RSS growth MB',
          'CPU % deliverer ours / bare + sha256 / bare',
          'CPU % sink ours / bare',
          'CPU % simulator ours / bare',
        ],
        rows,
        `Conclusion: ${misses.length === 0 ? 'all targets met' : `MISS for ${misses.join(', ')}`}; ` +
          `${shaOk ? 'every upload arrived whole, with the sha256 the Deliverer computed' : 'SHA256 MISMATCH between sides or with the Deliverer'}` +
          `${notes.length ? `. ${notes.join('; ')}` : ''}. Load average (1 min) ${fixed(load0, 1)} at the start, ${fixed(loadAverage(), 1)} now, on ${cpus().length} cores. ` +
          `(bare: undici → fs.createWriteStream / undici PUT / ssh2 sftp.createWriteStream / single PutObject; bare + sha256: the same with a sha256 of the bytes on the way; ours: client.download() → Deliverer → destination, with ledger and sha256. Ratios: of the median rates; in brackets the range of the ratios of the runs of one round.)`,
      );
    }

    // the memory baseline: Node-RED's http request node buffers the whole body, a file node writes it
    log(`deliver: ${mb(o.baselineSize)} MiB buffered (Node-RED core http request → file)`);
    const path = join(tmp, 'buffered.bin');
    const buffered = await runCase('deliver-buffered', { baseUrl: sim.baseUrl, credentials: sim.credentials, mediaId: media.get(o.baselineSize), path });
    const got = await fileDigest(path);
    rmSync(path, { force: true });
    if (got.bytes !== o.baselineSize || buffered.bytes !== o.baselineSize) throw new Error(`buffered: ${got.bytes} bytes written, expected ${o.baselineSize}`);
    const ours = oursAt.get(o.baselineSize) ?? [await runSide(folderDest, 'ours', o.baselineSize)];
    const delivered = ours[0]?.received?.sha256;
    if (got.sha256 !== delivered) throw new Error(`buffered: the file's sha256 ${got.sha256} is not the delivered one's (${delivered ?? 'none'})`);
    const oursRss = Math.max(...ours.map((x) => x.r.rssGrowth));
    const oursMs = med(ours.map((x) => x.r), (r) => r.ms);
    printTable(
      `### Memory baseline: one ${mb(o.baselineSize)} MiB original to a file`,
      ['path', 'peak RSS growth MB', 'MiB/s'],
      [
        ['Node-RED core: http request (whole body in one Buffer) → file', mb(buffered.rssGrowth), fixed(o.baselineSize / MiB / (buffered.ms / 1000), 0)],
        ['ours: deliver to a folder (streamed)', mb(oursRss), fixed(o.baselineSize / MiB / (oursMs / 1000), 0)],
      ],
      `Conclusion: the buffering path grows by ${mb(buffered.rssGrowth)} MB for a ${mb(o.baselineSize)} MiB file (${fixed(buffered.rssGrowth / o.baselineSize, 1)}× its size); the delivery grows by ${mb(oursRss)} MB, whatever the size.`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

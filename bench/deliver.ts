// Benchmark 4: originals from the simulator delivered to a folder, an HTTP server, SFTP servers and an
// S3-compatible server, through the deliver path (client download → Deliverer → destination) vs a bare
// pipeline (undici → file / undici / ssh2); and the buffering path of Node-RED's core nodes as the memory
// baseline users have today.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
}

const MiB = 1024 * 1024;
const RATIO_TARGET = 0.9;
const RSS_TARGET = 64 * MiB;

type Side = 'bare' | 'ours';

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
  /** A local file the bytes land in (folder, OpenSSH): checked by size, then removed. */
  file?(loc: string): string;
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
    const http = await startServerProcess<HttpSinkInfo>('http-sink');
    stops.push(() => http.stop());
    const s3 = await startServerProcess<S3SinkInfo>('s3-sink');
    stops.push(() => s3.stop());
    const sftp = await startServerProcess<SftpSinkInfo>('sftp-sink');
    stops.push(() => sftp.stop());
    let openssh: OpenSshServer | undefined;
    const noOpenSsh = o.openssh === false ? 'turned off' : openSshUnavailable();
    if (!noOpenSsh) {
      openssh = await startOpenSsh();
      const server = openssh;
      stops.push(() => server.stop());
    } else log(`deliver: no OpenSSH row (${noOpenSsh})`);

    const si = sftp.info;
    const dests: Dest[] = [
      {
        name: 'folder',
        ratioTarget: RATIO_TARGET,
        bare: (loc) => ({ kind: 'folder', path: join(outDir, loc) }),
        ours: (loc) => ({ config: { kind: 'folder', folder: outDir }, location: loc }),
        file: (loc) => join(outDir, loc),
      },
      {
        name: 'HTTP (raw PUT)',
        ratioTarget: RATIO_TARGET,
        bare: (loc) => ({ kind: 'http', url: `${http.info.url}/${loc}` }),
        ours: (loc) => ({ config: { kind: 'http', method: 'PUT', bodyMode: 'raw', url: `${http.info.url}/${loc}` }, location: loc }),
        sink: http as SinkHandle<unknown>,
        key: (loc) => `/${loc}`,
      },
      {
        name: 'SFTP (ssh2 server)',
        bare: (loc) => ({ kind: 'sftp', host: si.host, port: si.port, user: si.user, password: si.password, path: loc }),
        ours: (loc) => ({ config: { kind: 'sftp', host: si.host, port: si.port, user: si.user, password: si.password, hostKey: si.fingerprint }, location: loc }),
        sink: sftp as SinkHandle<unknown>,
        key: (loc) => `/${loc}`,
      },
    ];
    if (openssh) {
      const os = openssh;
      dests.push({
        name: 'SFTP (OpenSSH)',
        bare: (loc) => ({ kind: 'sftp', host: os.host, port: os.port, user: os.user, password: os.password, path: loc }),
        ours: (loc) => ({ config: { kind: 'sftp', host: os.host, port: os.port, user: os.user, password: os.password, hostKey: os.fingerprint }, location: loc }),
        file: (loc) => join(os.home, loc),
      });
    }
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

    let n = 0;
    const runSide = async (d: Dest, side: Side, size: number): Promise<Run> => {
      const loc = `${side}-${++n}.bin`;
      const base = { baseUrl: sim.baseUrl, credentials: sim.credentials, mediaId: media.get(size) as string };
      const sim0 = await sim.stats();
      const sink0 = await d.sink?.stats();
      const r =
        side === 'bare'
          ? await runCase('deliver-bare', { ...base, target: d.bare(loc) })
          : await runCase('deliver-ours', { ...base, ...d.ours(loc), ledgerDir });
      const sim1 = await sim.stats();
      const sink1 = await d.sink?.stats();
      const run: Run = { r, simCpuMs: sim1.cpuMs - sim0.cpuMs, sinkCpuMs: sink0 && sink1 ? sink1.cpuMs - sink0.cpuMs : undefined };
      if (d.sink && d.key) {
        run.received = (await d.sink.object(d.key(loc, side))) ?? undefined;
        await d.sink.reset();
        if (!run.received || run.received.bytes !== size) throw new Error(`${d.name} ${side}: the sink received ${run.received?.bytes ?? 'nothing'}, expected ${size} bytes`);
      }
      if (d.file) {
        const path = d.file(loc);
        const got = statSync(path).size;
        rmSync(path, { force: true });
        if (got !== size) throw new Error(`${d.name} ${side}: ${got} bytes landed, expected ${size}`);
      }
      if (r.bytes !== size) throw new Error(`${d.name} ${side}: ${r.bytes} bytes, expected ${size}`);
      return run;
    };

    const oursAt = new Map<number, Run[]>();
    let warm = false;
    for (const size of o.sizes) {
      const rows: string[][] = [];
      const notes: string[] = [];
      let shaOk = true;
      for (const d of dests) {
        log(`deliver: ${mb(size)} MiB to ${d.name}`);
        const runs = { bare: [] as Run[], ours: [] as Run[] };
        // A/B alternating; one unmeasured run before the first pair of the benchmark only (the simulator's
        // first download and the page cache), not before every pair: at 4 GiB a warm-up costs minutes
        for (let round = warm ? 0 : -1; round < o.rounds; round++) {
          for (const side of ['bare', 'ours'] as const) {
            if (round < 0 && side === 'ours') continue;
            const x = await runSide(d, side, size);
            if (round < 0) {
              log(`  warm-up (bare, not counted): ${fixed(x.r.ms, 0)} ms`);
              continue;
            }
            runs[side].push(x);
            log(`  round ${round + 1}/${o.rounds} ${side}: ${fixed(x.r.ms, 0)} ms, RSS +${mb(x.r.rssGrowth)} MB`);
          }
        }
        warm = true;
        if (d.name === 'folder') oursAt.set(size, runs.ours);
        // every side's bytes at the sink hash the same, and the same as the Deliverer's sha256
        const shas = new Set<string>();
        for (const x of [...runs.bare, ...runs.ours]) if (x.received) shas.add(x.received.sha256);
        for (const x of runs.ours) shas.add((x.r as CaseResult & { sha256: string }).sha256);
        if (shas.size !== 1) shaOk = false;
        const ms = (side: Side): number => median(runs[side].map((x) => x.r.ms));
        const rate = (side: Side): number => size / MiB / (ms(side) / 1000);
        const ratio = rate('ours') / rate('bare');
        const rss = (side: Side): number => Math.max(...runs[side].map((x) => x.r.rssGrowth));
        const cpuPct = (side: Side, pick: (x: Run) => number | undefined): string => {
          const v = median(runs[side].map((x) => (pick(x) ?? NaN) / x.r.ms));
          return Number.isFinite(v) ? `${Math.round(v * 100)}` : '–';
        };
        const target = d.ratioTarget;
        rows.push([
          d.name,
          fixed(rate('bare'), 0),
          fixed(rate('ours'), 0),
          target === undefined ? fixed(ratio) : `${fixed(ratio)} ${verdict(ratio >= target)}`,
          `${mb(rss('ours'))} ${verdict(rss('ours') <= RSS_TARGET)}`,
          mb(rss('bare')),
          `${cpuPct('ours', (x) => x.r.cpuMs)} / ${cpuPct('bare', (x) => x.r.cpuMs)}`,
          `${cpuPct('ours', (x) => x.sinkCpuMs)} / ${cpuPct('bare', (x) => x.sinkCpuMs)}`,
          `${cpuPct('ours', (x) => x.simCpuMs)} / ${cpuPct('bare', (x) => x.simCpuMs)}`,
        ]);
        const sinkPct = median(runs.ours.map((x) => (x.sinkCpuMs ?? NaN) / x.r.ms));
        const oursPct = median(runs.ours.map((x) => (x.r.cpuMs ?? NaN) / x.r.ms));
        if (target !== undefined && ratio < target) {
          notes.push(`${d.name} misses the ratio (${fixed(ratio)}); CPU of the deliverer ${Math.round(oursPct * 100)}%${Number.isFinite(sinkPct) ? `, of the sink ${Math.round(sinkPct * 100)}%` : ''}`);
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
        `### Delivery of one ${mb(size)} MiB original (${o.rounds} round${o.rounds > 1 ? 's' : ''}, A/B alternating, medians; RSS: max)`,
        ['destination', 'bare MiB/s', 'ours MiB/s', 'ours/bare (target ≥ 0.9: folder, HTTP)', 'ours peak RSS growth MB (target ≤ 64)', 'bare peak RSS growth MB', 'CPU % deliverer ours / bare', 'CPU % sink ours / bare', 'CPU % simulator ours / bare'],
        rows,
        `Conclusion: ${misses.length === 0 ? 'all targets met' : `MISS for ${misses.join(', ')}`}; ` +
          `${shaOk ? 'every upload arrived whole, with the sha256 the Deliverer computed' : 'SHA256 MISMATCH between sides or with the Deliverer'}` +
          `${notes.length ? `. ${notes.join('; ')}` : ''}. (bare: undici → fs.createWriteStream / undici PUT / ssh2 sftp.createWriteStream / single PutObject; ours: client.download() → Deliverer → destination, with ledger and sha256.)`,
      );
    }

    // the memory baseline: Node-RED's http request node buffers the whole body, a file node writes it
    log(`deliver: ${mb(o.baselineSize)} MiB buffered (Node-RED core http request → file)`);
    const path = join(tmp, 'buffered.bin');
    const buffered = await runCase('deliver-buffered', { baseUrl: sim.baseUrl, credentials: sim.credentials, mediaId: media.get(o.baselineSize), path });
    const got = statSync(path).size;
    rmSync(path, { force: true });
    if (got !== o.baselineSize || buffered.bytes !== o.baselineSize) throw new Error(`buffered: ${got} bytes written, expected ${o.baselineSize}`);
    const ours = oursAt.get(o.baselineSize) ?? (await Promise.all([runSide(dests[0], 'ours', o.baselineSize)]));
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

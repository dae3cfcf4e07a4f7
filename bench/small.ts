// Benchmark 7: small assets. A migration is mostly small files, where the cost per asset (API calls,
// ledger syncs, node hops) decides the speed, not the bytes. N originals of 0.5–5 MB in the simulator go
// through the real node path in a Node-RED runtime (a walk → a deliver node, with the account, to a folder
// and to the HTTP sink), side by side with a bare undici script making the same API calls and downloads
// with the same number of assets in flight. Then a second pass of the node path over the same assets, all
// in the ledger: skips per second, and no download. The ledger's syncs per record tell whether its group
// commit holds under this load.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, control, fixed, int, median, printTable, runCase, startSimProcess, verdict, type CaseResult } from './lib';
import { startServerProcess } from './servers/process';
import type { HttpSinkInfo } from './servers/http-sink';

export interface SmallOptions {
  assets: number;
  rounds: number;
  concurrency: number;
  to?: string[];
}

const SPEED_TARGET = 0.8;
const SKIP_TARGET = 5_000;
const MB = 1_000_000;

/** A deterministic size between 0.5 and 5 MB for the n-th asset. */
function sizeOf(n: number): number {
  let h = (n + 1) * 2654435761;
  h = (h ^ (h >>> 15)) >>> 0;
  return Math.floor(0.5 * MB + (h % (4.5 * MB)));
}

interface LogEntry { method: string; path: string }

export async function smallBench(o: SmallOptions, log: (l: string) => void): Promise<void> {
  const kinds = (o.to ?? ['folder', 'http']).filter((k) => k === 'folder' || k === 'http') as Array<'folder' | 'http'>;
  log(`small: starting a simulator and adding ${int(o.assets)} originals of 0.5–5 MB`);
  // a request log that lists every request of a pass (a few per asset), so that the counts are whole
  const sim = await startSimProcess({ seed: 7, assets: 0, requestLogSize: o.assets * 8 + 1_000 });
  const sink = kinds.includes('http') ? await startServerProcess<HttpSinkInfo>('http-sink') : undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'ps-bench-small-'));
  const load0 = loadavg()[0];
  try {
    const { galleries } = await control<{ galleries: Array<{ id: string }> }>(sim, 'GET', 'state');
    let total = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let n = next++; n < o.assets; n = next++) {
          const size = sizeOf(n);
          total += size;
          // at most 2,500 files a gallery, as PhotoShelter recommends
          await control(sim, 'POST', 'media', { galleryId: galleries[Math.floor(n / 2500) % galleries.length].id, fileName: `bench-${String(n).padStart(5, '0')}.jpg`, size, width: 3000, height: 2000 });
        }
      }),
    );
    const info = { url: sim.url, baseUrl: sim.baseUrl, credentials: sim.credentials };
    const downloads = async (): Promise<number> => (await control<{ requests: LogEntry[] }>(sim, 'GET', 'requests')).requests.filter((r) => r.path.endsWith('/download')).length;
    const apiRequests = async (): Promise<number> => (await control<{ requests: LogEntry[] }>(sim, 'GET', 'requests')).requests.filter((r) => !r.path.startsWith('/authenticate') && !r.path.startsWith('/organization') && !r.path.startsWith('/user/session')).length;

    // what bounds the second pass: the walk alone (the Walker, each item acknowledged at once, no Node-RED)
    // over the same library, listing it with the same requests
    const walks: number[] = [];
    for (let i = 0; i < 3; i++) walks.push((await runCase('walk-walker', info)).ms);
    const walkRate = o.assets / (median(walks) / 1000);
    const rows: string[][] = [];
    const verdicts: boolean[] = [];
    const notes: string[] = [];
    for (const kind of kinds) {
      const again: CaseResult[] = [];
      const againDownloads: number[] = [];
      const ourRequests: number[] = [];
      let round = 0;
      const target = (side: string) => {
        if (kind === 'http') return { kind, url: `${(sink as { info: HttpSinkInfo }).info.url}/${side}-${round}` };
        const path = join(tmp, `${side}-${round}`);
        mkdirSync(path, { recursive: true });
        return { kind, path };
      };
      const sides = await alternate(
        o.rounds,
        {
          bare: async () => {
            const t = target('bare');
            try {
              return await runCase('small-bare', { ...info, target: t, concurrency: o.concurrency, assets: o.assets });
            } finally {
              if (t.kind === 'folder') rmSync(t.path, { recursive: true, force: true });
            }
          },
          ours: async () => {
            const t = target('ours');
            const userDir = join(tmp, `user-${kind}-${round++}`);
            try {
              await control(sim, 'DELETE', 'requests');
              const first = await runCase('small-nodered', { ...info, target: t, concurrency: o.concurrency, assets: o.assets, userDir });
              ourRequests.push(await apiRequests());
              if (t.kind === 'folder') rmSync(t.path, { recursive: true, force: true });
              // the same assets again, all in the ledger: skipped without a download
              await control(sim, 'DELETE', 'requests');
              again.push(await runCase('small-nodered', { ...info, target: t, concurrency: o.concurrency, assets: o.assets, userDir }));
              againDownloads.push(await downloads());
              return first;
            } finally {
              if (t.kind === 'folder') rmSync(t.path, { recursive: true, force: true });
              rmSync(userDir, { recursive: true, force: true });
            }
          },
        },
        log,
      );
      await sink?.reset();
      const ms = { bare: median(sides.bare.map((r) => r.ms)), ours: median(sides.ours.map((r) => r.ms)) };
      const rate = (r: CaseResult[]) => o.assets / (median(r.map((x) => x.ms)) / 1000);
      const ratio = ms.bare / ms.ours;
      const complete = sides.ours.every((r) => r.extra?.delivered === o.assets && r.extra?.failed === 0) && sides.bare.every((r) => r.items === o.assets);
      const syncs = median(sides.ours.map((r) => r.extra?.syncs ?? NaN));
      const records = median(sides.ours.map((r) => r.extra?.records ?? NaN));
      const syncMs = median(sides.ours.map((r) => r.extra?.syncMs ?? NaN));
      // the first fifth's rate over the last one's (median of the rounds): does the rate hold over the run?
      const drift = (r: CaseResult[]) => median(r.map((x) => (x.extra?.fifth5Ms ?? NaN) / (x.extra?.fifth1Ms ?? NaN)));
      const skipRate = rate(again);
      const skipsOk = again.every((r) => r.extra?.skipped === o.assets) && againDownloads.every((d) => d === 0);
      verdicts.push(ratio >= SPEED_TARGET && complete, skipRate >= SKIP_TARGET && skipsOk);
      const gb = fixed(total / 1e9, 1);
      rows.push(
        [kind, 'bare script (undici)', int(sides.bare[0].items ?? 0), gb, int(sides.bare[0].requests ?? 0), fixed(ms.bare / 1000, 1), int(rate(sides.bare)), '1.00 (baseline)', '–'],
        [kind, 'Node-RED: walk → deliver', `${int(sides.ours[0].extra?.delivered ?? 0)}${complete ? '' : ' MISS'}`, gb, int(median(ourRequests)), fixed(ms.ours / 1000, 1), int(rate(sides.ours)), `${fixed(ratio)} ${verdict(ratio >= SPEED_TARGET)}`, `${int(syncs)} syncs for ${int(records)} records (${fixed(records / syncs, 1)} a sync, ${fixed(syncMs / syncs, 1)} ms each)`],
        [kind, 'again, all in the ledger', `${int(again[0]?.extra?.skipped ?? 0)} skipped`, '0', `${int(median(againDownloads))} downloads`, fixed(median(again.map((r) => r.ms)) / 1000, 2), int(skipRate), `${int(skipRate)} skips/s ${verdict(skipRate >= SKIP_TARGET && skipsOk)}`, `walk alone: ${int(walkRate)}/s (${fixed(skipRate / walkRate)}× of it)`],
      );
      notes.push(`${kind}: ${fixed(ratio)}× the bare script (${int(rate(sides.ours))} vs ${int(rate(sides.bare))} assets/s), ${int(skipRate)} skips/s on the second pass (${fixed(skipRate / walkRate)}× the walk alone, ${int(walkRate)}/s), ${fixed(records / syncs, 1)} ledger records a sync of ${fixed(syncMs / syncs, 1)} ms; the last fifth of the assets took ${fixed(drift(sides.ours))}× the time of the first (bare script ${fixed(drift(sides.bare))}×)`);
    }
    printTable(
      `### Small assets: ${int(o.assets)} originals of 0.5–5 MB, ${o.concurrency} in flight, the node path in Node-RED vs a bare script (${o.rounds} round${o.rounds > 1 ? 's' : ''}, A/B alternating, medians)`,
      ['to', 'side', 'assets', 'GB', 'API requests', 'median s', 'assets/s', `vs bare (target ≥ ${SPEED_TARGET}) / skips (target ≥ ${int(SKIP_TARGET)}/s)`, 'ledger syncs (first pass) / the walk alone (second pass)'],
      rows,
      `Conclusion: ${verdicts.every(Boolean) ? 'PASS' : 'MISS'}: ${notes.join('; ')}. Load average ${fixed(load0, 1)} at the start, ${fixed(loadavg()[0], 1)} at the end.`,
    );
  } finally {
    await sink?.stop();
    await sim.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Benchmark 3: what a trigger costs on a large library. (a) One poll of a 'changed' trigger after one
// change, counted in requests by the simulator's log. (b) A walk of the whole library with the Walker
// vs the client's own paging over the same galleries giving the same output (each asset once, as an
// asset with its path), and vs the bare listing; at two library sizes (RSS should not grow with the
// library); and the Walker with its state in the trigger's state file (synced writes) vs in memory.
import { alternate, fixed, int, mb, median, printTable, runCase, startSimProcess, verdict, type CaseResult, type SimHandle } from './lib';

export interface TriggerOptions {
  /** Library sizes: the walk runs at each; the poll runs at the largest. */
  sizes: [number, number];
  rounds: number;
}

const WALK_RATIO_TARGET = 0.95;
/** The Walker with its state in the state file, against the Walker with its state in memory. */
const FILE_RATIO_TARGET = 0.9;
const CHANGES_PER_PAGE = 1000;

const maxRss = (rs: CaseResult[]): number => Math.max(...rs.map((r) => r.rssGrowth));

/** loop: the listing alone; assets: the loop giving what the walk gives (the speed target's baseline). */
type Side = 'loop' | 'assets' | 'walker' | 'file';

export async function triggerBench(o: TriggerOptions, log: (l: string) => void): Promise<void> {
  const sims = new Map<number, SimHandle>();
  try {
    const walks = new Map<number, Record<Side, CaseResult[]>>();
    for (const size of o.sizes) {
      log(`trigger: starting a simulator with ${int(size)} media`);
      const sim = await startSimProcess({ seed: 2, assets: size });
      sims.set(size, sim);
      const info = { url: sim.url, baseUrl: sim.baseUrl, credentials: sim.credentials };
      walks.set(size, await alternate(o.rounds, {
        loop: () => runCase('walk-loop', info),
        assets: () => runCase('walk-loop', { ...info, output: 'assets' }),
        walker: () => runCase('walk-walker', info),
        file: () => runCase('walk-walker', { ...info, store: 'file' }),
      }, log));
    }

    // (a) the poll, at the largest size (it changes the library, so it runs after the walks)
    const big = Math.max(...o.sizes);
    const bigSim = sims.get(big) as SimHandle;
    const poll = await runCase('poll-client', { url: bigSim.url, baseUrl: bigSim.baseUrl, credentials: bigSim.credentials });
    const changes = poll.items ?? 0;
    const pollTarget = 1 + Math.ceil(changes / CHANGES_PER_PAGE);
    const quiet = poll.extra?.quietRequests ?? NaN;
    const quietEvents = poll.extra?.quietEvents ?? NaN;
    // a row passes when each of its targets is met: the requests, and the events (one for the one change, none when nothing changed)
    const changedOk = (poll.requests ?? Infinity) <= pollTarget && changes === 1;
    const quietOk = quiet <= 1 && quietEvents === 0;
    const pollOk = changedOk && quietOk;
    printTable(
      `### Trigger poll ('changed', started now) on a ${int(big)}-media library`,
      ['poll', 'events (target)', 'API requests (target)', 'verdict', 'ms', 'peak RSS growth MB'],
      [
        ['after one change', `${int(changes)} (1)`, `${int(poll.requests ?? 0)} (≤ ${pollTarget})`, verdict(changedOk), fixed(poll.ms, 0), mb(poll.rssGrowth)],
        ['nothing changed', `${int(quietEvents)} (0)`, `${int(quiet)} (≤ 1)`, verdict(quietOk), '–', '–'],
      ],
      `Conclusion: ${pollOk ? 'PASS' : 'MISS'}: a poll reads only the changed window (${int(poll.requests ?? 0)} request${poll.requests === 1 ? '' : 's'} and ${int(changes)} event${changes === 1 ? '' : 's'} for one change in ${int(big)} media; ${int(quiet)} request${quiet === 1 ? '' : 's'} and ${int(quietEvents)} event${quietEvents === 1 ? '' : 's'} when nothing changed), independent of the library's size.`,
    );

    // (b) the walks
    const rows: string[][] = [];
    const verdicts: boolean[] = [];
    for (const size of o.sizes) {
      const w = walks.get(size) as Record<Side, CaseResult[]>;
      const ms = { walker: median(w.walker.map((r) => r.ms)), loop: median(w.loop.map((r) => r.ms)), assets: median(w.assets.map((r) => r.ms)), file: median(w.file.map((r) => r.ms)) };
      // the state file costs the walk little: its writes are grouped (at most four a second)
      const fileRatio = ms.walker / ms.file;
      const fileComplete = w.file.every((r) => r.items === size);
      verdicts.push(fileRatio >= FILE_RATIO_TARGET && fileComplete);
      // the target: against the loop that gives the same output; against the bare listing, reported
      const ratio = ms.assets / ms.walker;
      // every round of the Walker (and of the loop giving assets) emitted every asset of the library, once
      const complete = w.walker.every((r) => r.items === size);
      const assetsComplete = w.assets.every((r) => r.items === size);
      verdicts.push(ratio >= WALK_RATIO_TARGET && complete && assetsComplete);
      rows.push(
        [int(size), 'client paging loop, listing only (each medium once per gallery)', int(w.loop[0].items ?? 0), int(w.loop[0].requests ?? 0), fixed(ms.loop, 0), int(((w.loop[0].items ?? 0) / ms.loop) * 1000), `${fixed(ms.assets / ms.loop)} (reported)`, mb(maxRss(w.loop))],
        [int(size), 'client paging loop, same output (each asset once, with its path)', `${int(w.assets[0].items ?? 0)} ${assetsComplete ? '' : `MISS (library: ${int(size)})`}`.trim(), int(w.assets[0].requests ?? 0), fixed(ms.assets, 0), int(((w.assets[0].items ?? 0) / ms.assets) * 1000), '1.00 (baseline)', mb(maxRss(w.assets))],
        [int(size), 'Walker (ack each)', `${int(w.walker[0].items ?? 0)} ${complete ? '' : `MISS (library: ${int(size)})`}`.trim(), int(w.walker[0].requests ?? 0), fixed(ms.walker, 0), int(((w.walker[0].items ?? 0) / ms.walker) * 1000), `${fixed(ratio)} ${verdict(ratio >= WALK_RATIO_TARGET)}; vs listing only ${fixed(ms.loop / ms.walker)}`, mb(maxRss(w.walker))],
        [
          int(size), `Walker, state file (${int(median(w.file.map((r) => r.extra?.writes ?? 0)))} writes)`, `${int(w.file[0].items ?? 0)} ${fileComplete ? '' : `MISS (library: ${int(size)})`}`.trim(), int(w.file[0].requests ?? 0), fixed(ms.file, 0),
          int(((w.file[0].items ?? 0) / ms.file) * 1000), `${fixed(ms.assets / ms.file)}; vs Walker in memory ${fixed(fileRatio)} (target ≥ ${FILE_RATIO_TARGET}) ${verdict(fileRatio >= FILE_RATIO_TARGET)}`, mb(maxRss(w.file)),
        ],
      );
    }
    const [small, large] = o.sizes;
    const rssSmall = maxRss((walks.get(small) as Record<'walker', CaseResult[]>).walker);
    const rssLarge = maxRss((walks.get(large) as Record<'walker', CaseResult[]>).walker);
    const loopSmall = maxRss((walks.get(small) as Record<'loop', CaseResult[]>).loop);
    const loopLarge = maxRss((walks.get(large) as Record<'loop', CaseResult[]>).loop);
    // the other target of the row: the Walker's peak RSS does not grow with the library
    const flat = rssLarge <= rssSmall * 1.5 + 8 * 1048576;
    rows.push(['', 'peak RSS growth, Walker', `${int(small)} → ${int(large)} media`, '', '', '', '', `${mb(rssSmall)} → ${mb(rssLarge)} (target: flat, ≤ 1.5× + 8) ${verdict(flat)}`]);
    verdicts.push(flat);
    printTable(
      `### Walk of the whole library: Walker vs the client's paging loop over the same galleries, giving the same output (${o.rounds} round${o.rounds > 1 ? 's' : ''}, A/B alternating, medians)`,
      ['library', 'side', 'items', 'requests', 'median ms', 'items/s', `speed vs loop (target ≥ ${WALK_RATIO_TARGET})`, 'peak RSS growth MB (max)'],
      rows,
      `Conclusion: ${verdicts.every(Boolean) ? 'PASS' : 'MISS'}: the Walker runs at ${o.sizes.map((s) => `${fixed(median((walks.get(s) as Record<Side, CaseResult[]>).assets.map((r) => r.ms)) / median((walks.get(s) as Record<Side, CaseResult[]>).walker.map((r) => r.ms)))}× (${int(s)})`).join(' and ')} the speed of the loop giving the same output ` +
        `(${o.sizes.map((s) => `${fixed(median((walks.get(s) as Record<Side, CaseResult[]>).loop.map((r) => r.ms)) / median((walks.get(s) as Record<Side, CaseResult[]>).walker.map((r) => r.ms)))}×`).join(' and ')} that of the listing alone); ` +
        `its peak RSS growth is ${mb(rssSmall)} MB at ${int(small)} and ${mb(rssLarge)} MB at ${int(large)} media (loop: ${mb(loopSmall)} / ${mb(loopLarge)} MB) — ` +
        `${flat ? 'flat in the library size' : 'it grows with the library'}; with its state in the state file it runs at ` +
        `${o.sizes.map((s) => { const w = walks.get(s) as Record<'walker' | 'file', CaseResult[]>; return `${fixed(median(w.walker.map((r) => r.ms)) / median(w.file.map((r) => r.ms)))}× (${int(s)})`; }).join(' and ')} the speed of the Walker in memory.`,
    );
  } finally {
    for (const sim of sims.values()) await sim.stop();
  }
}

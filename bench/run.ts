/**
 * `npm run bench` (full) or `npm run bench -- --smoke` (small sizes, one round; for CI).
 * Options: --only paging,download,trigger,small,deliver,ledger,workers
 *          --deliver-to folder,http,sftp,openssh,s3   (destinations of the deliver benchmark; default all)
 *          --deliver-sizes 1024,4096                  (original sizes in MiB; default 1024,4096 / smoke 128)
 *          --rounds N                                 (rounds of the deliver benchmark; default 3)
 *          --small-assets N                           (assets of the small-assets benchmark; default 5,000 / smoke 200)
 *          --time-limit M                             (minutes for the whole run; default 5 smoke / 90 full)
 *
 * Prints one table per benchmark with ratios measured side by side in this run. Targets are reported
 * (PASS / MISS), not asserted: the exit code is non-zero only when something crashed. A run past its
 * time limit stops and says what it did not measure; the smoke run then exits 0 (a slow machine is not a
 * failure), the full run 2.
 */
import { DELIVER_DESTINATIONS, deliverBench } from './deliver';
import { downloadBench } from './download';
import { ledgerBench } from './ledger';
import { pagingBench } from './paging';
import { smallBench } from './small';
import { triggerBench } from './trigger';
import { workersBench } from './workers';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const onlyValue = onlyArg?.includes('=') ? onlyArg.split('=')[1] : onlyArg ? argv[argv.indexOf(onlyArg) + 1] : undefined;
const only = onlyValue ? new Set(onlyValue.split(',')) : undefined;
/** The value of `--name value` or `--name=value`. */
function option(name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(name.length + 1) : argv[i + 1];
}
const deliverTo = option('--deliver-to')?.split(',').map((s) => s.trim().toLowerCase());
const deliverSizes = option('--deliver-sizes')?.split(',').map((s) => Number(s) * 1024 * 1024);
const deliverRounds = option('--rounds') === undefined ? undefined : Number(option('--rounds'));
for (const d of deliverTo ?? []) if (!(DELIVER_DESTINATIONS as readonly string[]).includes(d)) throw new Error(`--deliver-to: unknown destination "${d}" (${DELIVER_DESTINATIONS.join(', ')})`);
for (const s of deliverSizes ?? []) if (!(s > 0)) throw new Error('--deliver-sizes: sizes in MiB, comma-separated');
const smallAssets = option('--small-assets') === undefined ? undefined : Number(option('--small-assets'));
if (smallAssets !== undefined && !(Number.isInteger(smallAssets) && smallAssets >= 10)) throw new Error('--small-assets: a whole number of assets ≥ 10');
if (deliverRounds !== undefined && !(deliverRounds >= 1)) throw new Error('--rounds: a number of rounds ≥ 1');

const MiB = 1024 * 1024;
const plan = smoke
  ? { paging: { assets: 5_000, rounds: 1, perPage: 1000 }, download: { size: 256 * MiB, rounds: 3 }, trigger: { sizes: [2_000, 10_000] as [number, number], rounds: 3 }, deliver: { sizes: [128 * MiB], rounds: 1, baselineSize: 128 * MiB }, small: { assets: 200, rounds: 1, concurrency: 8 }, ledger: { assets: 5_000, deliveries: 400, inFlight: 16, rounds: 3 }, workers: { latencyAssets: 150, cpuAssets: 24, cpuMiB: 16, rounds: 1, workers: [1, 2, 3] } }
  : { paging: { assets: 100_000, rounds: 3, perPage: 1000 }, download: { size: 2048 * MiB, rounds: 5 }, trigger: { sizes: [20_000, 100_000] as [number, number], rounds: 3 }, deliver: { sizes: [1024 * MiB, 4096 * MiB], rounds: 3, baselineSize: 1024 * MiB }, small: { assets: 5_000, rounds: 2, concurrency: 8 }, ledger: { assets: 20_000, deliveries: 2_000, inFlight: 16, rounds: 5 }, workers: { latencyAssets: 800, cpuAssets: 96, cpuMiB: 32, rounds: 3, workers: [1, 2, 3] } };
/** The whole run stops by itself after this long. */
const timeLimit = option('--time-limit') === undefined ? undefined : Number(option('--time-limit'));
if (timeLimit !== undefined && !(timeLimit > 0)) throw new Error('--time-limit: minutes > 0');
const DEADLINE_MS = (timeLimit ?? (smoke ? 5 : 90)) * 60_000;

const started = Date.now();
/** The benchmark running now, and those not started yet (for the report when time runs out). */
let running: string | undefined;
const pending: string[] = [];
const log = (line: string): void => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

async function main(): Promise<void> {
  console.log(`# Benchmarks (${smoke ? 'smoke' : 'full'}) — node ${process.version}, ${new Date().toISOString()}`);
  const benches: Array<[string, () => Promise<void>]> = [
    ['paging', () => pagingBench(plan.paging, log)],
    ['download', () => downloadBench(plan.download, log)],
    ['trigger', () => triggerBench(plan.trigger, log)],
    ['ledger', () => ledgerBench(plan.ledger, log)],
    ['small', () => smallBench({ ...plan.small, assets: smallAssets ?? plan.small.assets, to: deliverTo }, log)],
    ['deliver', () => deliverBench({ ...plan.deliver, sizes: deliverSizes ?? plan.deliver.sizes, rounds: deliverRounds ?? plan.deliver.rounds, to: deliverTo }, log)],
    ['workers', () => workersBench(plan.workers, log)],
  ];
  let failed = false;
  pending.push(...benches.map(([name]) => name).filter((name) => !only || only.has(name)));
  for (const [name, run] of benches) {
    if (only && !only.has(name)) continue;
    running = name;
    pending.splice(pending.indexOf(name), 1);
    const t = Date.now();
    try {
      await run();
    } catch (err) {
      failed = true;
      console.log(`\n### ${name}: FAILED — ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`${name} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
    running = undefined;
  }
  console.log(`\nTotal: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failed ? 1 : 0;
}

const deadline = setTimeout(() => {
  const missing = [running && `${running} (stopped while running)`, ...pending].filter(Boolean).join(', ');
  console.log(`\nThe run exceeded ${DEADLINE_MS / 60_000} minutes and was stopped. Not measured: ${missing || 'nothing'}.`);
  if (smoke) console.log('The smoke run reports this and does not fail: on a slow or busy machine the tables above are what it measured.');
  process.exit(smoke ? 0 : 2);
}, DEADLINE_MS);
deadline.unref();

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * `npm run bench` (full) or `npm run bench -- --smoke` (small sizes, one round; for CI).
 * Options: --only paging,download,trigger,deliver
 *
 * Prints one table per benchmark with ratios measured side by side in this run. Targets are reported
 * (PASS / MISS), not asserted: the exit code is non-zero only when something crashed.
 */
import { deliverBench } from './deliver';
import { downloadBench } from './download';
import { pagingBench } from './paging';
import { triggerBench } from './trigger';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const onlyValue = onlyArg?.includes('=') ? onlyArg.split('=')[1] : onlyArg ? argv[argv.indexOf(onlyArg) + 1] : undefined;
const only = onlyValue ? new Set(onlyValue.split(',')) : undefined;

const MiB = 1024 * 1024;
const plan = smoke
  ? { paging: { assets: 5_000, rounds: 1, perPage: 1000 }, download: { size: 256 * MiB, rounds: 3 }, trigger: { sizes: [2_000, 10_000] as [number, number], rounds: 3 }, deliver: { sizes: [128 * MiB], rounds: 1, baselineSize: 128 * MiB } }
  : { paging: { assets: 100_000, rounds: 3, perPage: 1000 }, download: { size: 2048 * MiB, rounds: 5 }, trigger: { sizes: [20_000, 100_000] as [number, number], rounds: 3 }, deliver: { sizes: [1024 * MiB, 4096 * MiB], rounds: 2, baselineSize: 1024 * MiB } };
/** The whole run stops by itself after this long. */
const DEADLINE_MS = smoke ? 5 * 60_000 : 45 * 60_000;

const started = Date.now();
const log = (line: string): void => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

async function main(): Promise<void> {
  console.log(`# Benchmarks (${smoke ? 'smoke' : 'full'}) — node ${process.version}, ${new Date().toISOString()}`);
  const benches: Array<[string, () => Promise<void>]> = [
    ['paging', () => pagingBench(plan.paging, log)],
    ['download', () => downloadBench(plan.download, log)],
    ['trigger', () => triggerBench(plan.trigger, log)],
    ['deliver', () => deliverBench(plan.deliver, log)],
  ];
  let failed = false;
  for (const [name, run] of benches) {
    if (only && !only.has(name)) continue;
    const t = Date.now();
    try {
      await run();
    } catch (err) {
      failed = true;
      console.log(`\n### ${name}: FAILED — ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`${name} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log(`\nTotal: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failed ? 1 : 0;
}

const deadline = setTimeout(() => {
  console.log(`\nThe run exceeded ${DEADLINE_MS / 60_000} minutes and was stopped.`);
  process.exit(2);
}, DEADLINE_MS);
deadline.unref();

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * Benchmark plumbing: every measured case runs in a fresh child process (so one case's heap never
 * inflates another's RSS), cases of a pair alternate, and the table prints medians and ratios measured
 * side by side in the same run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface CaseResult {
  ms: number;
  bytes?: number;
  items?: number;
  requests?: number;
  /** Peak RSS above the RSS measured just before the work started, in bytes. */
  rssGrowth: number;
}

const TSX = ['--import', 'tsx', '--expose-gc'];

/** Run `bench/cases/<name>.ts` in a child process with a JSON argument; resolve with its result. */
export function runCase(name: string, arg: unknown): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'cases', `${name}.ts`), [JSON.stringify(arg)], {
      execArgv: TSX,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: CaseResult | undefined;
    child.on('message', (m) => (result = m as CaseResult));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`case ${name} exited with ${code}`))));
  });
}

/** Sample RSS every few ms while `work` runs; report its duration and peak RSS growth. */
export async function measure(work: () => Promise<Omit<CaseResult, 'ms' | 'rssGrowth'>>): Promise<CaseResult> {
  global.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 10);
  const start = process.hrtime.bigint();
  const out = await work();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ...out, ms, rssGrowth: peak - base };
}

/** Entry point for a case file: parse the argument, run, send the result to the parent. */
export function caseMain<A>(fn: (arg: A) => Promise<CaseResult>): void {
  const arg = JSON.parse(process.argv[2] ?? '{}') as A;
  fn(arg).then(
    (r) => process.send?.(r, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export interface SimHandle {
  baseUrl: string;
  credentials: Record<string, string>;
  stop(): void;
}

/** Start the simulator in its own process (its memory and CPU are not the measured side's). */
export function startSimProcess(opts: Record<string, unknown>): Promise<SimHandle> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(join(__dirname, 'sim-process.ts'), [JSON.stringify(opts)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => {
      const { baseUrl, credentials } = m as { baseUrl: string; credentials: Record<string, string> };
      resolve({ baseUrl, credentials, stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited early (${code})`)));
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n${title}`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

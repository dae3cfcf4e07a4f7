/**
 * Benchmark plumbing: every measured case runs in a fresh child process (so one case's heap never
 * inflates another's RSS), cases of a pair alternate, and the table prints medians and ratios measured
 * side by side in the same run. The simulator runs in a process of its own, so its CPU and memory are
 * never the measured side's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Hash } from 'node:crypto';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { request } from 'undici';

export interface CaseResult {
  ms: number;
  /** CPU time (user + system, all threads) of the case process during the work. */
  cpuMs?: number;
  bytes?: number;
  items?: number;
  requests?: number;
  /** Case-specific figures (counts, sizes) reported as they are. */
  extra?: Record<string, number>;
  /** Peak RSS above the RSS measured just before the work started, in bytes. */
  rssGrowth: number;
  /** RSS just before the work started, in bytes. */
  rssBase: number;
  /** Where the growth sits (bytes): peak V8 heap reserved and peak Buffer memory above the start, and what JavaScript still holds (heap used + Buffers) after the work and a full GC. */
  memory?: { heapGrowth: number; buffersGrowth: number; retained: number };
}

export type Work = Omit<CaseResult, 'ms' | 'cpuMs' | 'rssGrowth' | 'rssBase' | 'memory'>;

/** `BENCH_CPU_PROF=<folder>`: every case process writes a V8 CPU profile there (`node --cpu-prof`). */
const CASE_EXEC_ARGV = ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])];

/** Run `bench/cases/<name>.ts` in a child process with a JSON argument; resolve with its result. */
export function runCase(name: string, arg: unknown, timeoutMs = 10 * 60_000): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'cases', `${name}.ts`), [JSON.stringify(arg)], {
      execArgv: CASE_EXEC_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: CaseResult | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => (result = m as CaseResult));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else if (timedOut) reject(new Error(`case ${name} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      else reject(new Error(`case ${name} exited with ${code ?? signal}`));
    });
  });
}

/** Peak RSS of this process so far (bytes); it only grows. */
function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Sample memory every few ms while `work` runs; report its duration and peak RSS growth. The sampler can
 * miss a short spike while the event loop is busy, so the kernel's high-water mark is consulted too: when
 * it rose during the work, the new mark was reached during the work. Where the growth sits is reported
 * as well: the V8 heap (reserved, i.e. heapTotal), Buffer memory (arrayBuffers), and what JavaScript
 * still holds once the work is over and garbage is collected.
 */
export async function measure(work: () => Promise<Work>): Promise<CaseResult> {
  global.gc?.();
  global.gc?.();
  const base = process.memoryUsage();
  const markBefore = maxRss();
  const peak = { rss: base.rss, heapTotal: base.heapTotal, arrayBuffers: base.arrayBuffers };
  // RSS is cheap to read and sampled every 5 ms; the heap and Buffer figures cost more, so every 25 ms
  let tick = 0;
  const sample = (full = ++tick % 5 === 0): void => {
    const rss = process.memoryUsage.rss();
    if (rss > peak.rss) peak.rss = rss;
    if (!full) return;
    const m = process.memoryUsage();
    if (m.heapTotal > peak.heapTotal) peak.heapTotal = m.heapTotal;
    if (m.arrayBuffers > peak.arrayBuffers) peak.arrayBuffers = m.arrayBuffers;
  };
  const timer = setInterval(() => sample(), 5);
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  let out: Work;
  let ms: number;
  let cpuMs: number;
  try {
    out = await work();
    ms = Number(process.hrtime.bigint() - start) / 1e6;
    sample(true);
    const cpu = process.cpuUsage(cpu0);
    cpuMs = (cpu.user + cpu.system) / 1000;
  } finally {
    clearInterval(timer);
  }
  const markAfter = maxRss();
  if (markAfter > markBefore) peak.rss = Math.max(peak.rss, markAfter);
  global.gc?.();
  global.gc?.();
  const after = process.memoryUsage();
  return {
    ...out,
    ms,
    cpuMs,
    rssGrowth: Math.max(0, peak.rss - base.rss),
    rssBase: base.rss,
    memory: {
      heapGrowth: Math.max(0, peak.heapTotal - base.heapTotal),
      buffersGrowth: Math.max(0, peak.arrayBuffers - base.arrayBuffers),
      retained: Math.max(0, after.heapUsed + after.arrayBuffers - (base.heapUsed + base.arrayBuffers)),
    },
  };
}

/** Entry point for a case file: parse the argument, run, send the result to the parent. */
export function caseMain<A>(fn: (arg: A) => Promise<CaseResult>): void {
  const arg = JSON.parse(process.argv[2] ?? '{}') as A;
  // a case never outlives the run that started it
  process.on('disconnect', () => process.exit(1));
  fn(arg).then(
    (r) => {
      if (process.send) process.send(r, () => process.exit(0));
      else {
        console.log(JSON.stringify(r));
        process.exit(0);
      }
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export interface SimCredentials {
  apiKey: string;
  email: string;
  password: string;
  orgId: string;
  [k: string]: string;
}

/** What a case needs to reach the simulator. */
export interface SimInfo {
  /** Origin, e.g. http://127.0.0.1:1234 (the control API lives under /__sim/). */
  url: string;
  /** API base URL (…/psapi/v4.0). */
  baseUrl: string;
  credentials: SimCredentials;
}

export interface SimStats {
  rss: number;
  /** CPU time (ms) the simulator process has used so far. */
  cpuMs: number;
}

export interface SimHandle extends SimInfo {
  /** The simulator process's RSS (bytes) and CPU time, as it reports them. */
  stats(): Promise<SimStats>;
  stop(): Promise<void>;
}

/** Start the simulator in its own process (its memory and CPU are not the measured side's). */
export function startSimProcess(opts: Record<string, unknown>, timeoutMs = 120_000): Promise<SimHandle> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(join(__dirname, 'sim-process.ts'), [JSON.stringify(opts)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the simulator did not start in time'));
    }, timeoutMs);
    const onEarlyExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`simulator exited early (${code})`));
    };
    child.once('exit', onEarlyExit);
    const pending = new Map<number, (stats: SimStats) => void>();
    let nextId = 1;
    child.on('message', (m) => {
      const msg = m as { type: string; id?: number; stats?: SimStats } & SimInfo;
      if (msg.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        resolve({
          url: msg.url,
          baseUrl: msg.baseUrl,
          credentials: msg.credentials,
          stats: () =>
            new Promise<SimStats>((r) => {
              const id = nextId++;
              pending.set(id, r);
              child.send({ type: 'stats', id });
            }),
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
              await exited;
              clearTimeout(hard);
            }
          },
        });
      } else if (msg.type === 'stats' && msg.id !== undefined && msg.stats) {
        pending.get(msg.id)?.(msg.stats);
        pending.delete(msg.id);
      }
    });
  });
}

/** One call to the simulator's control API (/__sim/…); resolves with the JSON answer. */
export async function control<T = unknown>(sim: Pick<SimInfo, 'url'>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(`${sim.url}/__sim/${path}`, {
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`control ${method} /__sim/${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

/** Compact integer with thousands separators (100,000). */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

export function printTable(title: string, header: string[], rows: string[][], conclusion?: string): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  if (conclusion) console.log(`\n${conclusion}`);
}

/** Runs the cases of a pair alternately (A, B, A, B, …), one fresh process each, and collects each side's results. */
export async function alternate<K extends string>(
  rounds: number,
  sides: Record<K, () => Promise<CaseResult>>,
  log: (line: string) => void = () => undefined,
): Promise<Record<K, CaseResult[]>> {
  const keys = Object.keys(sides) as K[];
  // one unmeasured run first: the simulator builds its sorted views and caches on the first queries,
  // and that cost must not fall on whichever side happens to go first
  const warm = await sides[keys[0]]();
  log(`  warm-up (${keys[0]}, not counted): ${fixed(warm.ms, 0)} ms`);
  const out = Object.fromEntries(keys.map((k) => [k, [] as CaseResult[]])) as unknown as Record<K, CaseResult[]>;
  for (let round = 0; round < rounds; round++) {
    for (const k of keys) {
      const r = await sides[k]();
      out[k].push(r);
      log(`  round ${round + 1}/${rounds} ${k}: ${fixed(r.ms, 0)} ms, RSS +${mb(r.rssGrowth)} MB${r.extra ? ' ' + JSON.stringify(r.extra) : ''}`);
    }
  }
  return out;
}

/**
 * A pass-through Transform that counts the bytes (and chunks) flowing through it; given a hash (e.g.
 * sha256), it feeds every chunk to it as well, and `sha256()` returns the hex digest at the end.
 */
export function byteCounter(hash?: Hash): Transform & { bytes: number; chunks: number; sha256?: () => string } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.bytes += chunk.length;
      t.chunks++;
      hash?.update(chunk);
      cb(null, chunk);
    },
  }) as Transform & { bytes: number; chunks: number; sha256?: () => string };
  t.bytes = 0;
  t.chunks = 0;
  if (hash) t.sha256 = () => hash.digest('hex');
  return t;
}

/** Runs a case and adds the simulator's CPU time during it (extra.simCpuMs). */
export async function withSimCpu(sim: SimHandle, run: () => Promise<CaseResult>): Promise<CaseResult> {
  const before = await sim.stats();
  const r = await run();
  const after = await sim.stats();
  return { ...r, extra: { ...r.extra, simCpuMs: Math.round(after.cpuMs - before.cpuMs) } };
}

/** Median of a figure over a side's rounds. */
export function med(rs: CaseResult[], pick: (r: CaseResult) => number | undefined): number {
  return median(rs.map((r) => pick(r) ?? NaN));
}

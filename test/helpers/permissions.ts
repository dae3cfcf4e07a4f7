/**
 * Tests of "permission denied" need a process that file permissions can refuse. Root cannot be refused
 * (CAP_DAC_OVERRIDE), and CI runs as root: there such a test runs again, alone, in a child mocha process
 * whose capability bounding set lacks CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (util-linux `setpriv`).
 * The child is still uid 0, so it reads the checkout wherever it lies, but a folder with mode 0500 is
 * read-only to it, as to any user. Only where neither is possible is the test skipped, and never in CI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Context } from 'mocha';

const ROOT = resolve(__dirname, '..', '..');
const CHILD = 'PS_TEST_WITHOUT_DAC_OVERRIDE';

let probed: boolean | undefined;

/** True when this process is refused a write into a folder of mode 0500 (false as root). */
export function permissionsApply(): boolean {
  if (probed !== undefined) return probed;
  const dir = mkdtempSync(join(tmpdir(), 'ps-perm-probe-'));
  try {
    chmodSync(dir, 0o500);
    try {
      writeFileSync(join(dir, 'x'), 'x');
      probed = false;
    } catch (e) {
      probed = (e as NodeJS.ErrnoException).code === 'EACCES';
    }
  } finally {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

function setprivWorks(): string | undefined {
  const r = spawnSync('setpriv', ['--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath, '-e', '0'], { encoding: 'utf8' });
  if (r.error) return `setpriv is not available (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `setpriv cannot drop CAP_DAC_OVERRIDE here: ${r.stderr.trim()}`;
  return undefined;
}

interface MochaJson {
  stats: { tests: number; passes: number; pending: number; failures: number };
  failures: Array<{ fullTitle: string; err: { message?: string; stack?: string } }>;
  passes: Array<{ fullTitle: string }>;
}

/**
 * Call first in a test that needs file permissions to apply. Returns false when the test may run here;
 * otherwise it has run the test in a child process without CAP_DAC_OVERRIDE (and asserted that it passed
 * there, not skipped), or skipped it outside CI, and the caller returns at once.
 */
export async function elsewhereUnlessPermissionsApply(ctx: Context, file: string): Promise<boolean> {
  if (permissionsApply()) return false;
  const title = ctx.test?.fullTitle() ?? '';
  if (process.env[CHILD]) throw new Error(`"${title}": file permissions do not apply even without CAP_DAC_OVERRIDE`);
  const why = setprivWorks();
  if (why) {
    if (process.env.CI) throw new Error(`"${title}" must run in CI, but this process writes anywhere (root) and ${why}`);
    ctx.skip();
  }
  ctx.timeout(Math.max(ctx.timeout(), 120_000));
  const mocha = join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const args = ['--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath, mocha, '--config', join(ROOT, '.mocharc.json'), '--reporter', 'json', '--fgrep', title, file];
  const child = spawn('setpriv', args, { cwd: ROOT, env: { ...process.env, [CHILD]: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  let report: MochaJson;
  try {
    report = JSON.parse(out.slice(out.indexOf('{'))) as MochaJson;
  } catch {
    throw new Error(`the run without CAP_DAC_OVERRIDE gave no report (exit ${code}):\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  }
  const failure = report.failures[0];
  if (failure) throw new Error(`without CAP_DAC_OVERRIDE: ${failure.err.stack ?? failure.err.message}`);
  if (report.stats.passes !== 1 || report.passes[0]?.fullTitle !== title || report.stats.pending !== 0) {
    throw new Error(`the run without CAP_DAC_OVERRIDE did not pass exactly this test: ${JSON.stringify(report.stats)}`);
  }
  return true;
}

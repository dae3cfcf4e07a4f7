/**
 * The crash points of the fault suite: inert unless PHOTOSHELTER_TEST_CRASH_AT names one, and then the
 * process dies by SIGKILL exactly the n-th time it reaches that point.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const MODULE = resolve(__dirname, '..', '..', '..', 'src', 'photoshelter', 'crashpoint.ts');

/** Runs a small script that reaches `upload` five times, printing a line before each. */
function run(env: Record<string, string | undefined>): { signal: NodeJS.Signals | null; status: number | null; stdout: string; stderr: string } {
  const script = `const { crashPoint } = require(${JSON.stringify(MODULE)});
for (let i = 1; i <= 5; i++) { process.stdout.write('reached ' + i + '\\n'); crashPoint('download'); crashPoint('upload'); }
process.stdout.write('end\\n');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, PHOTOSHELTER_TEST_CRASH_AT: undefined, ...env }, encoding: 'utf8' });
  return { signal: r.signal, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('crash points (test-only)', function () {
  this.timeout(30_000);

  it('do nothing when the environment names none', () => {
    const r = run({});
    assert.equal(r.status, 0);
    assert.match(r.stdout, /reached 5\nend\n$/);
  });

  it('kill the process with SIGKILL the n-th time the named point is reached, and only that point', () => {
    const r = run({ PHOTOSHELTER_TEST_CRASH_AT: 'upload@3' });
    assert.equal(r.signal, 'SIGKILL');
    assert.match(r.stdout, /reached 3\n$/, 'died at the third upload, before the fourth line');
    assert.match(r.stderr, /crash point upload reached/);
    const first = run({ PHOTOSHELTER_TEST_CRASH_AT: 'download' });
    assert.equal(first.signal, 'SIGKILL');
    assert.match(first.stdout, /^reached 1\n$/);
  });

  it('ignore a setting that is not a point name', () => {
    assert.equal(run({ PHOTOSHELTER_TEST_CRASH_AT: 'upload; rm -rf /' }).status, 0);
    assert.equal(run({ PHOTOSHELTER_TEST_CRASH_AT: 'nowhere@1' }).status, 0);
  });
});

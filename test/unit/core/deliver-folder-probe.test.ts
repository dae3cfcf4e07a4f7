/**
 * The folder destination's checks on paths that are not ordinary disks. Node's recursive mkdir loops
 * forever (on a worker thread, at full CPU) where mkdir answers ENOENT although the parent exists, as
 * under /proc: "Test destination" hung on such a folder, and a delivery would have too. Each case runs in
 * a child process that must end on its own: a file system call still looping would keep it alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { FolderDestination, makeFolders } from '../../../src/core/deliver/folder';
import { probeDestination, withinSignal } from '../../../src/core/deliver/probe';
import { DeliverError } from '../../../src/core/deliver/types';

const ROOT = resolve(__dirname, '..', '..', '..');
const linux = existsSync('/proc/self/status');

interface Outcome {
  probe: { ok: boolean; code?: string; message?: string; key?: string };
  put: { ok: boolean; code?: string; message?: string };
}

/** Probes and puts into `folder` in a child process; resolves with what happened once the child has exited by itself. */
function inChild(folder: string, deadlineMs = 30_000): Promise<Outcome> {
  const script = `
    const { probeDestination } = require(${JSON.stringify(join(ROOT, 'src/core/deliver/probe.ts'))});
    const { createDestination } = require(${JSON.stringify(join(ROOT, 'src/core/deliver/registry.ts'))});
    const { Readable } = require('node:stream');
    const folder = ${JSON.stringify(folder)};
    const report = (e) => ({ ok: false, code: e && e.code, message: e && e.message });
    (async () => {
      const probe = await probeDestination({ kind: 'folder', folder, createBase: true }, {}, AbortSignal.timeout(20000))
        .then((r) => ({ ok: true, key: r.key }), report);
      const dest = createDestination({ kind: 'folder', folder, createBase: true });
      const put = await dest.put({ location: 'a/b.jpg', body: Readable.from([Buffer.from('x')]), signal: new AbortController().signal })
        .then(() => ({ ok: true }), report);
      process.stdout.write(JSON.stringify({ probe, put }));
    })();
  `;
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the child working on ${folder} did not end within ${deadlineMs} ms (a file system call still running?); it printed: ${out}${err}`));
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`child exited ${code}: ${err}`));
      try {
        ok(JSON.parse(out) as Outcome);
      } catch {
        fail(new Error(`no outcome: ${out}${err}`));
      }
    });
  });
}

describe('deliver: folder destination on paths that are no ordinary disk', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-folder-probe-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  for (const folder of ['/proc/ps-probe-missing/deeper', '/proc/ps-probe-missing', '/proc/self/ps-probe', '/sys/ps-probe-missing/x', '/dev/null/ps-probe']) {
    it(`${folder}: Test destination and a delivery both end with a clear error, and nothing keeps running`, async function () {
      if (!linux) this.skip();
      const r = await inChild(folder);
      assert.equal(r.probe.ok, false, JSON.stringify(r));
      assert.notEqual(r.probe.code, 'ETIMEDOUT', `the probe failed on its own, before its deadline: ${JSON.stringify(r.probe)}`);
      assert.match(r.probe.message ?? '', /\//, 'the message names the folder');
      assert.equal(r.put.ok, false, JSON.stringify(r));
      assert.ok(r.put.message?.includes('ps-probe'), `the delivery error names the folder: ${r.put.message}`);
    });
  }

  it('makeFolders creates missing folders level by level, and refuses a file in the way', async () => {
    const deep = join(tmp, 'a', 'b', 'c');
    assert.deepEqual(await makeFolders(deep), [join(tmp, 'a'), join(tmp, 'a', 'b'), deep]);
    assert.deepEqual(await makeFolders(deep), [], 'nothing to do the second time');
    writeFileSync(join(tmp, 'file'), 'x');
    await assert.rejects(makeFolders(join(tmp, 'file', 'sub')), (e: unknown) => e instanceof DeliverError && e.code === 'ENOTDIR' && e.message.includes(join(tmp, 'file')));
  });

  it('makeFolders stops when its signal aborts', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(makeFolders(join(tmp, 'x', 'y'), ac.signal), (e: unknown) => e instanceof DeliverError && e.code === 'EABORTED');
    assert.equal(existsSync(join(tmp, 'x')), false);
  });

  it('"create the base folder" off: a missing base folder is an error that names it, and nothing is created', async () => {
    const base = join(tmp, 'mistyped', 'out');
    const r = probeDestination({ kind: 'folder', folder: base, createBase: false }, {}, AbortSignal.timeout(10_000));
    await assert.rejects(r, (e: unknown) => e instanceof DeliverError && e.code === 'ENOFOLDER' && e.message.startsWith(`The base folder ${base} does not exist`));
    const d = new FolderDestination({ base, createBase: false });
    await assert.rejects(
      d.put({ location: 'x/y.jpg', body: Readable.from([Buffer.from('x')]), signal: new AbortController().signal }),
      (e: unknown) => e instanceof DeliverError && e.code === 'ENOFOLDER' && e.message.includes(base),
    );
    assert.deepEqual(readdirSync(tmp), [], 'nothing was created');
  });

  it('"create the base folder" on: the probe creates it and says so; off, an existing base still takes subfolders', async () => {
    const base = join(tmp, 'new', 'out');
    const r = await probeDestination({ kind: 'folder', folder: base, createBase: true }, {}, AbortSignal.timeout(10_000));
    assert.equal(r.key, 'folderCreated');
    assert.deepEqual(readdirSync(base), [], 'the probe file was removed');
    const d = new FolderDestination({ base, createBase: false });
    await d.put({ location: 'sub/dir/y.jpg', body: Readable.from([Buffer.from('x')]), signal: new AbortController().signal });
    assert.ok(existsSync(join(base, 'sub', 'dir', 'y.jpg')));
  });

  it('a probe ends at its deadline even when the step it waits for never does', async () => {
    const never = new Promise<never>(() => undefined);
    await assert.rejects(withinSignal(never, AbortSignal.timeout(50)), (e: unknown) => e instanceof DeliverError && e.code === 'ETIMEDOUT');
    const ac = new AbortController();
    const stopped = withinSignal(never, ac.signal);
    ac.abort();
    await assert.rejects(stopped, (e: unknown) => e instanceof DeliverError && e.code === 'EABORTED');
    assert.equal(await withinSignal(Promise.resolve(7), new AbortController().signal), 7);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FolderDestination } from '../../../src/core/deliver/folder';
import { DeliverError } from '../../../src/core/deliver/types';

// The folder destination checks its base folder fully once (stat, realpath) and re-validates what it found
// at each put by identity. These cases change the base between two puts of one destination: each put must
// land where a fresh check would put it, and never leave the base.
describe('deliver: folder destination, the base folder checked once and re-validated', function () {
  this.timeout(20_000);
  let tmp: string;
  let outside: string;

  const put = (d: FolderDestination, location: string, text: string) =>
    d.put({ location: d.resolve(location), body: Readable.from([Buffer.from(text)]), signal: new AbortController().signal });
  const read = (...p: string[]): string => readFileSync(join(tmp, ...p), 'utf8');

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-folder-base-'));
    outside = join(tmp, 'outside');
    mkdirSync(outside);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('a base folder replaced by a link after the first put: the next put goes where the base leads now', async () => {
    const base = join(tmp, 'out');
    const d = new FolderDestination({ base, createBase: true });
    await put(d, 'a.jpg', 'one');
    renameSync(base, join(tmp, 'out-old'));
    mkdirSync(join(tmp, 'other'));
    symlinkSync(join(tmp, 'other'), base);
    await put(d, 'b.jpg', 'two');
    assert.equal(read('other', 'b.jpg'), 'two');
    assert.deepEqual(readdirSync(join(tmp, 'out-old')), ['a.jpg'], 'nothing more in the folder the base no longer names');
  });

  it('a base that is a link, pointed elsewhere after the first put: the next put follows it', async () => {
    const base = join(tmp, 'link');
    mkdirSync(join(tmp, 'real1'));
    mkdirSync(join(tmp, 'real2'));
    symlinkSync(join(tmp, 'real1'), base);
    const d = new FolderDestination({ base, createBase: false });
    await put(d, 'a.jpg', 'one');
    unlinkSync(base);
    symlinkSync(join(tmp, 'real2'), base);
    await put(d, 'b.jpg', 'two');
    assert.equal(read('real2', 'b.jpg'), 'two');
    assert.deepEqual(readdirSync(join(tmp, 'real1')), ['a.jpg']);
  });

  it('the real folder moved away and a link to elsewhere put at its old path, the base still leading to the folder: the put lands in the folder, nothing outside', async () => {
    // base → data/out (its real path); then data/out moves to data/moved, the base's link follows it, and
    // data/out becomes a link out of the tree: a put trusting the remembered real path would write outside
    mkdirSync(join(tmp, 'data', 'out'), { recursive: true });
    const base = join(tmp, 'link');
    symlinkSync(join(tmp, 'data', 'out'), base);
    const d = new FolderDestination({ base, createBase: false });
    await put(d, 'a.jpg', 'one');
    renameSync(join(tmp, 'data', 'out'), join(tmp, 'data', 'moved'));
    unlinkSync(base);
    symlinkSync(join(tmp, 'data', 'moved'), base);
    symlinkSync(outside, join(tmp, 'data', 'out'));
    await put(d, 'b.jpg', 'two');
    assert.equal(read('data', 'moved', 'b.jpg'), 'two');
    assert.deepEqual(readdirSync(outside), [], 'nothing was written outside');
  });

  it('a folder below the base replaced by a link out of the base after a put into it is refused, and nothing is written outside', async () => {
    const base = join(tmp, 'out');
    const d = new FolderDestination({ base, createBase: true });
    await put(d, 'sub/a.jpg', 'one');
    rmSync(join(base, 'sub'), { recursive: true });
    symlinkSync(outside, join(base, 'sub'));
    await assert.rejects(put(d, 'sub/b.jpg', 'two'), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH' && /leads out of the base folder/.test(e.message));
    assert.deepEqual(readdirSync(outside), []);
  });

  it('a base folder removed after the first put: made again when allowed, else the error that names it', async () => {
    const made = join(tmp, 'made');
    const d = new FolderDestination({ base: made, createBase: true });
    await put(d, 'a.jpg', 'one');
    rmSync(made, { recursive: true });
    await put(d, 'b.jpg', 'two');
    assert.equal(read('made', 'b.jpg'), 'two');

    const fixed = join(tmp, 'fixed');
    mkdirSync(fixed);
    const strict = new FolderDestination({ base: fixed, createBase: false });
    await put(strict, 'a.jpg', 'one');
    rmSync(fixed, { recursive: true });
    await assert.rejects(put(strict, 'b.jpg', 'two'), (e: unknown) => e instanceof DeliverError && e.code === 'ENOFOLDER' && e.message.includes(fixed));
    assert.equal(existsSync(fixed), false, 'not created');
  });

  it('a base folder replaced by a file after the first put is refused', async () => {
    const base = join(tmp, 'out');
    const d = new FolderDestination({ base, createBase: true });
    await put(d, 'a.jpg', 'one');
    rmSync(base, { recursive: true });
    writeFileSync(base, 'a file');
    await assert.rejects(put(d, 'b.jpg', 'two'), (e: unknown) => e instanceof DeliverError && e.code === 'ENOTDIR');
  });

  describe('the write of the body', () => {
    const body = (): Buffer[] => Array.from({ length: 23 }, (_, i) => randomBytes(60_000 + i * 997));

    it('a body of many chunks (several batches) lands whole, in order, with its byte count', async () => {
      const base = join(tmp, 'out');
      const chunks = body();
      const d = new FolderDestination({ base, fsync: true });
      const r = await d.put({ location: 'big.bin', body: Readable.from(chunks), signal: new AbortController().signal });
      const want = Buffer.concat(chunks);
      assert.equal(r.bytes, want.length);
      assert.ok(readFileSync(join(base, 'big.bin')).equals(want));
      assert.deepEqual(readdirSync(base), ['big.bin'], 'no temporary file left');
    });

    it('short writes are continued from where they stopped', async () => {
      // the file system takes at most 1,000 bytes a call (the module reads fs/promises at call time)
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
      const orig = fsp.open;
      let calls = 0;
      (fsp as { open: unknown }).open = async (...args: Parameters<typeof orig>) => {
        const real = await orig(...args);
        const writev = real.writev.bind(real);
        real.writev = (async (buffers: NodeJS.ArrayBufferView[]) => {
          calls++;
          const first = buffers[0] as Buffer;
          return writev([first.subarray(0, Math.min(first.length, 1000))]);
        }) as typeof real.writev;
        return real;
      };
      const chunks = [randomBytes(2_500), randomBytes(10), randomBytes(4_321)];
      try {
        const r = await new FolderDestination({ base: join(tmp, 'out') }).put({ location: 'short.bin', body: Readable.from(chunks), signal: new AbortController().signal });
        assert.equal(r.bytes, 6_831);
      } finally {
        (fsp as { open: unknown }).open = orig;
      }
      assert.ok(readFileSync(join(tmp, 'out', 'short.bin')).equals(Buffer.concat(chunks)));
      assert.ok(calls >= 8, `written in short pieces (${calls} calls)`);
    });
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { DownloadStream } from '../../../src/photoshelter/download';
import { InputError } from '../../../src/core/errors';
import { pickMediaId } from '../../../src/core/message';
import { linkSize, renditionSettings, renditionText } from '../../../src/core/rendition';
import { fetchSettings } from '../../../src/core/fetch/settings';
import { FileTooLargeError, readCapped, safeFileName, writeTempFile, type FileStream, type TempFile } from '../../../src/core/fetch/files';
import { TempFileRegistry } from '../../../src/core/fetch/temp-files';

const ID = 'I0000abcdefghijk';

/** A source of `total` bytes in `chunk`-sized pieces that counts what was pulled from it. */
function source(total: number, chunk: number, contentLength?: number): FileStream & { pulled: () => number } {
  let produced = 0;
  const r = new Readable({
    highWaterMark: chunk,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - produced);
      const buf = Buffer.alloc(n, produced % 251);
      produced += n;
      this.push(buf);
    },
  }) as FileStream & { pulled: () => number };
  r.contentLength = contentLength;
  r.pulled = () => produced;
  return r;
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7) % 256;
  return b;
}

/** A download stream of the client that announces `announced` bytes and delivers `body`. */
function download(body: Buffer, announced: number | undefined, fileName?: string): DownloadStream {
  const s = new DownloadStream('GET', `/media/${ID}/download`);
  s.contentLength = announced;
  s.fileName = fileName;
  s.contentType = 'application/octet-stream';
  const half = Math.floor(body.length / 2);
  setImmediate(() => {
    s.write(body.subarray(0, half));
    setImmediate(() => s.end(body.subarray(half)));
  });
  return s;
}

async function until(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('core/fetch', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'ps-fetch-unit-'));
  });
  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  describe('settings and ids', () => {
    it('reads the configuration with defaults', () => {
      const s = fetchSettings({});
      assert.equal(s.mode, 'stream');
      assert.equal(s.fileType, 'original');
      assert.equal(s.quality, undefined);
      assert.deepEqual(s.include, []);
      assert.equal(s.maxBytes, 50 * 1024 * 1024);
      assert.equal(s.tempTtlMs, 600_000);
      const j = fetchSettings({ mode: 'buffer', rendition: 'jpeg', size: ' 1920 x 1080 ', includeIptc: true, includePath: 'true', maxSize: '2', tempTimeout: 5 });
      assert.equal(j.fileType, 'jpeg');
      assert.equal(j.quality, '1920x1080');
      assert.deepEqual(j.include, ['iptc', 'path']);
      assert.equal(j.maxBytes, 2 * 1024 * 1024);
      assert.equal(j.tempTtlMs, 5000);
    });

    it('refuses bad settings with a catalogue key', () => {
      const key = (c: Parameters<typeof fetchSettings>[0]) => {
        try {
          fetchSettings(c);
        } catch (e) {
          assert.ok(e instanceof InputError);
          return e.key;
        }
        return 'accepted';
      };
      assert.equal(key({ mode: 'file' }), 'badMode');
      assert.equal(key({ rendition: 'png' }), 'badRendition');
      assert.equal(key({ rendition: 'jpeg', size: '0' }), 'badSize');
      assert.equal(key({ rendition: 'jpeg', size: '0x10' }), 'badSize');
      assert.equal(key({ rendition: 'jpeg', size: 'large' }), 'badSize');
      assert.equal(key({ rendition: 'jpeg', size: '1920x' }), 'badSize');
      assert.equal(key({ maxSize: -1 }), 'badMaxSize');
      assert.equal(key({ tempTimeout: 'soon' }), 'badTempTimeout');
      assert.equal(key({ rendition: 'original', size: 'ignored' }), 'accepted');
    });

    it('reads the three jpeg sizes: original, a long side (production) and WIDTHxHEIGHT (draft)', () => {
      assert.deepEqual(renditionSettings({}), { fileType: 'original' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg' }), { fileType: 'jpeg', quality: 'original' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg', size: 'original' }), { fileType: 'jpeg', quality: 'original' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg', size: ' 1200 ' }), { fileType: 'jpeg', quality: '1200' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg', size: '1200px' }), { fileType: 'jpeg', quality: '1200' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg', size: '1920 × 1080' }), { fileType: 'jpeg', quality: '1920x1080' });
      assert.deepEqual(renditionSettings({ rendition: 'jpeg', size: '1200', sizeType: 'original' }), { fileType: 'jpeg', quality: 'original' });
      assert.equal(linkSize({ fileType: 'jpeg', quality: '1200' }), '1200x1200');
      assert.equal(linkSize({ fileType: 'jpeg', quality: '640x480' }), '640x480');
      assert.equal(linkSize({ fileType: 'jpeg', quality: 'original' }), undefined);
      assert.equal(linkSize({ fileType: 'original' }), undefined);
      assert.equal(renditionText({ fileType: 'jpeg', quality: 'original' }), 'jpeg');
      assert.equal(renditionText({ fileType: 'jpeg', quality: '1200' }), 'jpeg 1200');
    });

    it('picks the first id candidate that holds something, and checks it', () => {
      assert.equal(pickMediaId([undefined, ID]), ID);
      assert.equal(pickMediaId([undefined, { id: ID }]), ID);
      assert.equal(pickMediaId([` ${ID} `]), ID);
      assert.equal(pickMediaId([{ id: ID }, 'ignored']), ID);
      assert.throws(() => pickMediaId([undefined, '', null]), (e: InputError) => e.key === 'noId');
      assert.throws(() => pickMediaId(['I0000short']), (e: InputError) => e.key === 'badId' && e.values.value === 'I0000short');
      assert.throws(() => pickMediaId([42]), (e: InputError) => e.key === 'badId');
      assert.throws(() => pickMediaId(['G0000abcdefghijk']), (e: InputError) => e.key === 'badId');
    });

    it('makes file names safe as one path element', () => {
      assert.equal(safeFileName('a b.jpg', 'x'), 'a b.jpg');
      assert.equal(safeFileName('../../etc/passwd', 'x'), '.._.._etc_passwd');
      assert.equal(safeFileName('..', 'x'), 'x');
      assert.equal(safeFileName(undefined, 'x'), 'x');
      assert.equal(safeFileName('a\u0000b\nc', 'x'), 'abc');
    });
  });

  describe('readCapped', () => {
    it('reads a file under the cap', async () => {
      const body = pattern(10_000);
      const buf = await readCapped(download(body, body.length), 10_000);
      assert.ok(buf.equals(body));
    });

    it('fails an announced length over the cap before reading anything', async () => {
      const src = source(1_000_000, 1024, 1_000_000);
      await assert.rejects(readCapped(src, 4096), (e: FileTooLargeError) => {
        assert.equal(e.code, 'ETOOLARGE');
        assert.equal(e.announced, true);
        assert.equal(e.sizeBytes, 1_000_000);
        assert.equal(e.limitBytes, 4096);
        return true;
      });
      assert.equal(src.pulled(), 0, 'nothing was read');
      assert.ok(src.destroyed, 'the download is closed');
    });

    it('fails an unannounced length as soon as the count passes the cap, reading nothing more', async () => {
      const src = source(10_000_000, 1024);
      await assert.rejects(readCapped(src, 8 * 1024), (e: FileTooLargeError) => e.code === 'ETOOLARGE' && !e.announced && e.sizeBytes === 9 * 1024);
      await new Promise((r) => setImmediate(r));
      assert.ok(src.destroyed);
      // the cap, the chunk that passed it, and at most one chunk of read-ahead
      assert.ok(src.pulled() <= 11 * 1024, `pulled ${src.pulled()} bytes`);
    });

    it('does not trust a length that lies low', async () => {
      const src = source(10_000_000, 1024, 100);
      await assert.rejects(readCapped(src, 8 * 1024), { code: 'ETOOLARGE' });
      assert.ok(src.pulled() <= 11 * 1024, `pulled ${src.pulled()} bytes`);
    });

    it('surfaces a truncated download as an error', async () => {
      await assert.rejects(readCapped(download(pattern(500), 1000), 10_000), { code: 'ETRUNCATED' });
    });

    it('stops when aborted', async () => {
      const src = source(10_000_000, 1024);
      const ac = new AbortController();
      const reading = readCapped(src, 100_000_000, ac.signal);
      ac.abort(Object.assign(new Error('stop'), { code: 'EABORTED' }));
      await assert.rejects(reading, { code: 'EABORTED' });
      assert.ok(src.destroyed);
    });
  });

  describe('writeTempFile', () => {
    it('streams a download into a private file named after it', async () => {
      const body = pattern(300_000);
      const f = await writeTempFile(download(body, body.length, 'Photo 1.jpg'), { parent, fallbackName: ID });
      assert.equal(f.bytes, body.length);
      assert.equal(dirname(f.path), f.dir);
      assert.equal(dirname(f.dir), parent);
      assert.ok(f.path.endsWith('Photo 1.jpg'));
      assert.ok(readFileSync(f.path).equals(body));
    });

    it('names the file after the id when the download has no name', async () => {
      const f = await writeTempFile(download(pattern(10), 10), { parent, fallbackName: ID });
      assert.ok(f.path.endsWith(ID));
    });

    it('leaves no file behind when the download is truncated', async () => {
      await assert.rejects(writeTempFile(download(pattern(5000), 10_000, 'x.jpg'), { parent, fallbackName: ID }), { code: 'ETRUNCATED' });
      assert.deepEqual(readdirSync(parent), []);
    });

    it('leaves no file behind when aborted', async () => {
      const ac = new AbortController();
      const writing = writeTempFile(source(50_000_000, 64 * 1024), { parent, fallbackName: ID, signal: ac.signal });
      await until(() => readdirSync(parent).length > 0, 'the directory');
      ac.abort(Object.assign(new Error('stop'), { code: 'EABORTED' }));
      await assert.rejects(writing, { code: 'EABORTED' });
      assert.deepEqual(readdirSync(parent), []);
    });
  });

  describe('TempFileRegistry', () => {
    async function file(name = 'f.bin'): Promise<TempFile> {
      return writeTempFile(download(pattern(100), 100, name), { parent, fallbackName: ID });
    }
    const idle = (r: TempFileRegistry) => until(() => r.size === 0, 'the registry to empty');

    it('removes a file when every node it was delivered to is done, following the chain', async () => {
      const events: string[] = [];
      const r = new TempFileRegistry({ onActive: () => events.push('active'), onIdle: () => events.push('idle') });
      const f = await file();
      r.track('m1', f, 'fetch');
      assert.deepEqual(events, ['active']);
      r.delivered('m1', 'a'); // fetch → a, and a parallel branch fetch → b
      r.delivered('m1', 'b');
      r.completed('m1', 'fetch');
      r.received('m1', 'a');
      r.delivered('m1', 'c'); // a → c
      r.completed('m1', 'a');
      r.received('m1', 'b');
      r.completed('m1', 'b');
      r.completed('m1', 'upstream'); // a node that got the message before it was fetched: not counted
      r.completed('m1', 'other-msg-node');
      assert.equal(r.size, 1, 'c still has it');
      assert.ok(existsSync(f.path));
      r.received('m1', 'c');
      r.completed('m1', 'c');
      assert.equal(r.size, 0);
      assert.deepEqual(events, ['active', 'idle']);
      await r.close();
      assert.ok(!existsSync(f.dir), 'the file and its directory are gone');
    });

    it('counts receipts that were not routed (link nodes) too', async () => {
      const r = new TempFileRegistry();
      const f = await file();
      r.track('m', f, 'fetch');
      r.delivered('m', 'linkout');
      r.completed('m', 'fetch');
      r.received('m', 'linkout');
      r.received('m', 'linkin'); // handed over directly
      r.completed('m', 'linkout');
      assert.equal(r.size, 1);
      r.completed('m', 'linkin');
      assert.equal(r.size, 0);
      await r.close();
      assert.ok(!existsSync(f.path));
    });

    it('removes at once when the message went nowhere', async () => {
      const r = new TempFileRegistry();
      const f = await file();
      r.track('m', f, 'fetch');
      r.completed('m', 'fetch');
      assert.equal(r.size, 0);
      await r.close();
      assert.ok(!existsSync(f.path));
    });

    it('keeps the files of other messages', async () => {
      const r = new TempFileRegistry();
      const f1 = await file();
      const f2 = await file();
      r.track('m1', f1, 'fetch');
      r.track('m2', f2, 'fetch');
      r.delivered('m1', 'a');
      r.delivered('m2', 'a');
      r.completed('m1', 'fetch');
      r.completed('m2', 'fetch');
      r.received('m1', 'a');
      r.completed('m1', 'a');
      await until(() => !existsSync(f1.path), 'm1 removed');
      assert.ok(existsSync(f2.path));
      await r.close();
      assert.ok(!existsSync(f2.path));
    });

    it('removes a file after the time limit when its message never completes', async () => {
      const r = new TempFileRegistry({ ttlMs: 50 });
      const f = await file();
      r.track('m', f, 'fetch');
      r.delivered('m', 'a');
      r.completed('m', 'fetch');
      r.received('m', 'a');
      await idle(r);
      await until(() => !existsSync(f.path), 'the file to go');
    });

    it('removes everything on close, and later files at once', async () => {
      const r = new TempFileRegistry();
      const f1 = await file();
      r.track('m', f1, 'fetch');
      r.delivered('m', 'a');
      await r.close();
      assert.ok(!existsSync(f1.dir));
      const f2 = await file();
      r.track('late', f2, 'fetch');
      assert.equal(r.size, 0);
      await r.close();
      assert.ok(!existsSync(f2.dir));
    });

    it('follows message hooks under its label only while it holds files', async () => {
      const handlers = new Map<string, (e: Record<string, unknown>) => void>();
      const removed: string[] = [];
      const hooks = {
        add: (id: string, fn: (e: Record<string, unknown>) => void) => {
          assert.ok(!handlers.has(id), `${id} added once`);
          handlers.set(id, fn);
        },
        remove: (id: string) => {
          removed.push(id);
          for (const k of [...handlers.keys()]) if (k.endsWith(id.slice(1))) handlers.delete(k);
        },
      };
      const r = new TempFileRegistry({ hooks, hookLabel: 'psfetch_n1' });
      assert.equal(handlers.size, 0, 'no hooks while idle');
      const f = await file();
      r.track('m', f, 'n1');
      assert.deepEqual([...handlers.keys()].sort(), ['onComplete.psfetch_n1', 'onReceive.psfetch_n1', 'preDeliver.psfetch_n1']);
      const msg = { _msgid: 'm' };
      handlers.get('preDeliver.psfetch_n1')?.({ msg, destination: { id: 'a' } });
      handlers.get('onComplete.psfetch_n1')?.({ msg, node: { id: 'n1' } });
      handlers.get('onReceive.psfetch_n1')?.({ msg, destination: { id: 'a' } });
      handlers.get('onComplete.psfetch_n1')?.({ msg: { _msgid: 'other' }, node: { id: 'a' } });
      assert.equal(r.size, 1);
      handlers.get('onComplete.psfetch_n1')?.({ msg, node: { id: 'a' } });
      assert.equal(r.size, 0);
      assert.equal(handlers.size, 0, 'hooks removed when idle');
      assert.equal(removed.at(-1), '*.psfetch_n1');
      await r.close();
      assert.ok(!existsSync(f.path));
    });

    it('release() removes the files of a message now', async () => {
      const r = new TempFileRegistry();
      const f = await file();
      r.track('m', f, 'fetch');
      r.release('m');
      assert.equal(r.size, 0);
      await r.close();
      assert.ok(!existsSync(f.path));
    });
  });
});

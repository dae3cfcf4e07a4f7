import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkDownloadQuality, DownloadStream, parseContentDisposition } from '../../../src/photoshelter/download';
import { TruncatedError, type PhotoShelterClient } from '../../../src/photoshelter';
import { apiError, deferred, handleSessionAuth, json, MEDIA, media, rejects, sessionClient, startServer, type TestServer } from './helpers';

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('client/download', () => {
  let srv: TestServer | undefined;
  let client: PhotoShelterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await srv?.close();
    client = srv = undefined;
  });

  it('parses Content-Disposition file names', () => {
    assert.equal(parseContentDisposition(`attachment; filename="a b.jpg"; filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.jpg`), 'été €.jpg');
    assert.equal(parseContentDisposition('attachment; filename="say \\"hi\\".jpg"'), 'say "hi".jpg');
    assert.equal(parseContentDisposition('attachment; filename=plain.tif'), 'plain.tif');
    assert.equal(parseContentDisposition(`attachment; filename*=iso-8859-1'en'%E9t%E9.jpg`), 'été.jpg');
    assert.equal(parseContentDisposition('inline'), undefined);
    assert.equal(parseContentDisposition(undefined), undefined);
  });

  it('streams the file with its headers and query parameters', async () => {
    const body = Buffer.alloc(300_000, 7);
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': String(body.length),
        'content-disposition': `attachment; filename="x.jpg"; filename*=UTF-8''caf%C3%A9.jpg`,
      });
      res.end(body);
    });
    client = sessionClient(srv.baseUrl);
    const s = await client.download(MEDIA, { fileType: 'jpeg', quality: '1920x1080' });
    assert.equal(s.contentType, 'image/jpeg');
    assert.equal(s.contentLength, 300_000);
    assert.equal(s.fileName, 'café.jpg');
    assert.ok((await drain(s)).equals(body));
    const q = srv.requests.find((r) => r.path === `/media/${MEDIA}/download`)!;
    assert.equal(q.query.get('download_filetype'), 'jpeg');
    assert.equal(q.query.get('download_quality'), '1920x1080');
    await assert.rejects(client.download(MEDIA, { quality: 'huge' }), { code: 'EVALIDATION' });
    await assert.rejects(client.download(MEDIA, { fileType: 'gif' as never }), { code: 'EVALIDATION' });
  });

  it('takes the three jpeg quality forms, and refuses the rest before any request', async () => {
    for (const q of ['original', '1200', '1', '1920x1080']) checkDownloadQuality('jpeg', q);
    checkDownloadQuality('mp4', 'hd720');
    checkDownloadQuality('original', undefined);
    const refused: Array<[unknown, unknown, RegExp]> = [
      ['jpeg', '0', /not original, a number of pixels for the long side \(e\.g\. 1200\) or WIDTHxHEIGHT/],
      ['jpeg', '1920x', /not original/],
      ['jpeg', 'large', /not original/],
      ['jpeg', '1200px', /not original/],
      ['original', '1200', /applies to jpeg and mp4 only/],
      ['mp4', '720 p', /quality name such as hd720/],
      ['png', undefined, /use original, jpeg or mp4/],
    ];
    for (const [type, q, re] of refused) assert.throws(() => checkDownloadQuality(type, q), (e: Error & { code?: string }) => e.code === 'EVALIDATION' && re.test(e.message), `${String(type)} ${String(q)}`);
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      res.writeHead(200, { 'content-length': '3' }).end('abc');
    });
    client = sessionClient(srv.baseUrl);
    await drain(await client.download(MEDIA, { fileType: 'jpeg', quality: '1200' }));
    await assert.rejects(client.download(MEDIA, { fileType: 'jpeg', quality: 'big' }), { code: 'EVALIDATION' });
    assert.deepEqual(srv.requests.filter((r) => r.path.endsWith('/download')).map((r) => Object.fromEntries(r.query)), [{ download_filetype: 'jpeg', download_quality: '1200' }]);
  });

  it('emits a TruncatedError when the body breaks off', async () => {
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(40_000, 1));
      setTimeout(() => res.socket?.destroy(), 100);
    });
    client = sessionClient(srv.baseUrl);
    const s = await client.download(MEDIA);
    const e = await rejects(drain(s));
    assert.ok(e instanceof TruncatedError, `${e.name}: ${e.message}`);
    assert.equal(e.expectedBytes, 100_000);
    assert.ok(e.receivedBytes >= 0 && e.receivedBytes < 100_000);
  });

  it('emits a TruncatedError when more or fewer bytes arrive than announced', async () => {
    const more = new DownloadStream('GET', '/media/x/download');
    more.contentLength = 5;
    const e1 = await rejects(pipeline(Readable.from([Buffer.from('abc'), Buffer.from('defg')]), more, new Writable({ write: (_c, _e, cb) => cb() })));
    assert.ok(e1 instanceof TruncatedError);
    assert.match(e1.message, /more bytes than the 5 announced/);
    const fewer = new DownloadStream('GET', '/media/x/download');
    fewer.contentLength = 10;
    const e2 = await rejects(pipeline(Readable.from([Buffer.from('abc')]), fewer, new Writable({ write: (_c, _e, cb) => cb() })));
    assert.ok(e2 instanceof TruncatedError);
    assert.equal(e2.receivedBytes, 3);
  });

  it('retries the request before the body starts', async () => {
    let n = 0;
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      if (n++ === 0) return apiError(res, 503, 'ServiceUnavailable');
      res.writeHead(200, { 'content-length': '3' });
      res.end('abc');
    });
    client = sessionClient(srv.baseUrl);
    const s = await client.download(MEDIA);
    assert.equal((await drain(s)).toString(), 'abc');
    assert.equal(n, 2);
  });

  it('respects backpressure: a paused consumer stops the server from writing', async () => {
    const chunk = Buffer.alloc(64 * 1024, 3);
    const total = 4000; // 4000 × 64 KiB = 250 MiB announced, never all sent
    let written = 0;
    const blocked = deferred();
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      res.writeHead(200, { 'content-length': String(chunk.length * total) });
      const pump = (): void => {
        while (written < total) {
          written++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            blocked.resolve();
            return;
          }
        }
        res.end();
      };
      pump();
    });
    client = sessionClient(srv.baseUrl);
    const s = await client.download(MEDIA);
    // do not read: the server must block
    await blocked.promise;
    // Without back-pressure the client would take all 250 MiB into memory and the server would finish. Give
    // it a second to do so: a loaded machine only writes less in that time, so the bound holds either way.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(written < total, 'the server is still waiting for the reader');
    assert.ok(written * chunk.length < 64 * 1024 * 1024, `only buffers in flight were written (${written} chunks)`);
    // read a little, then stop: the socket is released
    let read = 0;
    for await (const c of s) {
      read += (c as Buffer).length;
      if (read > 10 * 1024 * 1024) break;
    }
    assert.ok(written < total);
  });

  it('frees its limiter slot when the headers arrive, so metadata calls go on', async () => {
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      if (req.path.endsWith('/download')) {
        res.writeHead(200, { 'content-length': '10' });
        res.write('abc'); // the rest comes much later
        return;
      }
      json(res, 200, { data: media(MEDIA) });
    });
    client = sessionClient(srv.baseUrl, { maxConcurrency: 1 });
    const s = await client.download(MEDIA);
    assert.equal(client.limiterState().inFlight, 0);
    const m = await client.getMedia(MEDIA);
    assert.equal(m.id, MEDIA);
    s.destroy();
    await once(s, 'close');
  });

  it('aborts the body through the signal', async () => {
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
    });
    client = sessionClient(srv.baseUrl);
    const ac = new AbortController();
    const s = await client.download(MEDIA, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const e = await rejects(drain(s));
    assert.equal((e as { code?: string }).code, 'EABORTED', `${e.name} ${e.message}`);
  });
});

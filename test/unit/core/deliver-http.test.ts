import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Deliverer, type DeliverAsset } from '../../../src/core/deliver/deliver';
import { FileLedger } from '../../../src/core/deliver/ledger';
import { createDestination, destinationTemplates, type DestinationConfig } from '../../../src/core/deliver/registry';
import { viewOf } from '../../../src/core/deliver/template';
import { DeliverError, type Destination } from '../../../src/core/deliver/types';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const asset = (extra: Partial<DeliverAsset> = {}): DeliverAsset => ({
  id: 'I0000abcdefghijk', versionKey: 'v1', fileName: 'harbour dawn.jpg', iptc: { keywords: ['sea'], caption: 'Boats\r\nin the harbour' }, ...extra,
});

describe('deliver: HTTP destination', function () {
  this.timeout(20_000);
  let server: Server;
  let baseUrl: string;
  let seen: Seen[];
  let handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  let tmp: string;
  const destinations: Destination[] = [];
  const ledgers: FileLedger[] = [];

  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/drop')) {
        // read a little, then cut the connection mid-upload
        let got = 0;
        req.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 64 * 1024 && seen.filter((s) => s.url.startsWith('/drop')).length === 0) {
            seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0) });
            req.socket.destroy();
          }
        });
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(got) });
          res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        handler(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    seen = [];
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-http-'));
    handler = (_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 42, source_url: '/media/42.jpg' }));
  });
  afterEach(async () => {
    for (const d of destinations.splice(0)) await d.close();
    for (const l of ledgers.splice(0)) await l.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function make(cfg: DestinationConfig, creds: Record<string, unknown> = {}, ledger = false) {
    const config = { kind: 'http', url: `${baseUrl}/upload/{{asset.fileName}}`, ...cfg };
    const destination = createDestination(config, creds);
    destinations.push(destination);
    const l = ledger ? await FileLedger.open(join(tmp, 'l.jsonl')) : undefined;
    if (l) ledgers.push(l);
    return new Deliverer({ destination, templates: destinationTemplates(config), name: 'cms', backoffMs: 5, ledger: l });
  }
  const put = (d: Deliverer, source: Parameters<Deliverer['put']>[0]['source'], msg: Record<string, unknown> = {}, a = asset()) =>
    d.put({ asset: a, view: viewOf(msg, { asset: a }), source, signal: new AbortController().signal });

  it('sends the raw body intact, headers from templates, and returns the parsed response', async () => {
    const d = await make({ method: 'PUT', headers: [{ name: 'X-Caption', value: '{{asset.iptc.caption}}' }, { name: 'X-Topic', value: '{{topic}}' }] });
    const data = Buffer.alloc(300_000, 7);
    const r = await put(d, { kind: 'stream', stream: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), size: data.length, contentType: 'image/jpeg' }, { topic: 'spring' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].method, 'PUT');
    assert.equal(seen[0].url, '/upload/harbour%20dawn.jpg');
    assert.equal(sha(seen[0].body), sha(data));
    assert.equal(r.sha256, sha(data));
    assert.equal(seen[0].headers['content-type'], 'image/jpeg');
    assert.equal(seen[0].headers['content-length'], String(data.length));
    assert.equal(seen[0].headers['x-caption'], 'Boats in the harbour');
    assert.equal(seen[0].headers['x-topic'], 'spring');
    assert.deepEqual(r.response?.body, { id: 42, source_url: '/media/42.jpg' });
    assert.equal(r.response?.status, 201);
  });

  it('sends a header value beyond ASCII (a Greek or Arabic file name) as its UTF-8 bytes, and as RFC 6266 filename*', async () => {
    const d = await make({ method: 'POST', url: `${baseUrl}/media`, headers: [{ name: 'Content-Disposition', value: 'attachment; filename="{{asset.fileName}}"' }] });
    for (const fileName of ['Ωμέγα-Αθήνα.jpg', 'قمر.jpg', 'Zürich Hafen.jpg']) {
      seen = [];
      const a = asset({ fileName, versionKey: fileName });
      await put(d, { kind: 'buffer', data: Buffer.from('x') }, {}, a);
      const raw = Buffer.from(String(seen[0].headers['content-disposition']), 'latin1').toString('utf8');
      // the UTF-8 name for those who read filename (WordPress), and RFC 6266 filename* for the others
      assert.equal(raw, `attachment; filename="${fileName}"; filename*=UTF-8''${encodeURIComponent(fileName)}`);
    }
  });

  it('sends multipart/form-data with fields and the file part intact', async () => {
    const d = await make({ bodyMode: 'multipart', fileField: 'media', url: `${baseUrl}/media`, fields: JSON.stringify([{ name: 'title', value: '{{asset.iptc.caption}}' }, { name: 'alt', value: 'x "y"' }]) });
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const r = await put(d, { kind: 'buffer', data, contentType: 'image/jpeg' });
    const s = seen[0];
    const boundary = /boundary=(.+)$/.exec(String(s.headers['content-type']))?.[1] as string;
    assert.ok(boundary);
    assert.equal(Number(s.headers['content-length']), s.body.length);
    const parts = s.body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    assert.equal(parts.length, 3);
    assert.match(parts[0], /name="title"\r\n\r\nBoats\r\nin the harbour\r\n$/);
    assert.match(parts[1], /name="alt"\r\n\r\nx "y"\r\n$/);
    assert.match(parts[2], /name="media"; filename="harbour dawn.jpg"\r\nContent-Type: image\/jpeg\r\n\r\n/);
    const file = Buffer.from(parts[2].slice(parts[2].indexOf('\r\n\r\n') + 4, -2), 'latin1');
    assert.equal(sha(file), sha(data));
    assert.equal(r.bytes, data.length);
  });

  for (const [auth, cfg, creds, expect] of [
    ['basic', { auth: 'basic', httpUser: 'ana' }, { httpPassword: 's3cret' }, `Basic ${Buffer.from('ana:s3cret').toString('base64')}`],
    ['bearer', { auth: 'bearer' }, { token: 'tok-1' }, 'Bearer tok-1'],
  ] as const) {
    it(`authenticates with ${auth}`, async () => {
      const d = await make(cfg, creds);
      await put(d, { kind: 'buffer', data: Buffer.from('x') });
      assert.equal(seen[0].headers.authorization, expect);
    });
  }

  it('authenticates with a custom header', async () => {
    const d = await make({ auth: 'header', authHeader: 'X-Api-Key' }, { authValue: 'k-9' });
    await put(d, { kind: 'buffer', data: Buffer.from('x') });
    assert.equal(seen[0].headers['x-api-key'], 'k-9');
  });

  it('a 4xx is a permanent error with the status; a 401 says EAUTH; nothing is retried', async () => {
    handler = (_req, res) => res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"bad"}');
    const d = await make({});
    await assert.rejects(put(d, { kind: 'buffer', data: Buffer.from('x') }), (e: unknown) => e instanceof DeliverError && e.code === 'EHTTP' && !e.retryable && /422/.test(e.message));
    assert.equal(seen.length, 1);
    handler = (_req, res) => res.writeHead(401).end();
    await assert.rejects(put(d, { kind: 'buffer', data: Buffer.from('x') }), (e: unknown) => e instanceof DeliverError && e.code === 'EAUTH');
  });

  it('a 5xx/429 is retried with backoff and then succeeds', async () => {
    let n = 0;
    handler = (_req, res) => (++n < 3 ? res.writeHead(n === 1 ? 503 : 429).end() : res.writeHead(200, { 'content-type': 'text/plain' }).end('fine'));
    const d = await make({});
    const r = await put(d, { kind: 'buffer', data: Buffer.from('xyz') });
    assert.equal(r.attempts, 3);
    assert.equal(r.response?.body, 'fine');
    assert.deepEqual(seen.map((s) => s.body.toString()), ['xyz', 'xyz', 'xyz']);
  });

  it('a dropped connection is retryable: from a temp file the retry succeeds, from a stream it is not retried', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024, 3);
    const path = join(tmp, 'file.bin');
    writeFileSync(path, data);
    const d = await make({ url: `${baseUrl}/drop/{{asset.fileName}}` });
    const r = await put(d, { kind: 'file', path });
    assert.equal(r.attempts, 2);
    assert.equal(r.sha256, sha(data));
    assert.equal(seen.at(-1)?.body.length, data.length);

    seen = [];
    await assert.rejects(
      put(d, { kind: 'stream', stream: Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]) }),
      (e: unknown) => e instanceof DeliverError && e.retryable && /read only once/.test(e.message),
    );
  });

  it('remove sends DELETE to the remove template, using the response recorded at delivery', async () => {
    const d = await make({ url: `${baseUrl}/media`, removeUrl: `${baseUrl}/media/{{delivery.response.body.id}}?force=true` }, {}, true);
    await put(d, { kind: 'buffer', data: Buffer.from('x') });
    handler = (_req, res) => res.writeHead(200).end();
    const r = await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal });
    assert.equal(seen[1].method, 'DELETE');
    assert.equal(seen[1].url, '/media/42?force=true');
    assert.equal(r.removed, true);
    handler = (_req, res) => res.writeHead(404).end();
    const noRemoveUrl = await make({ url: `${baseUrl}/media` });
    await assert.rejects(noRemoveUrl.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG');
    assert.equal(seen.length, 2, 'no DELETE on the collection URL');
    const again = await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal, location: `${baseUrl}/media/42` });
    assert.equal(again.removed, false);
  });

  it('two messages for the same asset and version at once upload once; the second is skipped', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    handler = (_req, res) => void gate.then(() => res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":1}'));
    const d = await make({ url: `${baseUrl}/media` }, {}, true);
    const p1 = put(d, { kind: 'buffer', data: Buffer.from('one') });
    const p2 = put(d, { kind: 'buffer', data: Buffer.from('one') });
    await new Promise((r) => setTimeout(r, 100));
    release();
    const [r1, r2] = await Promise.all([p1, p2]);
    assert.equal(seen.length, 1, 'one POST');
    assert.equal(r1.skipped, false);
    assert.equal(r2.skipped, true);
    assert.equal(r2.sha256, sha('one'));
  });

  it('TLS: an unknown CA is refused; its certificate as CA, or verification off, is accepted', async function () {
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem')], { stdio: 'ignore' });
    } catch {
      this.skip(); // no openssl to make a certificate with
    }
    const cert = readFileSync(join(tmp, 'cert.pem'), 'utf8');
    const tls = createHttpsServer({ key: readFileSync(join(tmp, 'key.pem')), cert }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('tls ok'));
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(tls.address() as { port: number }).port}/u`;
    try {
      const strict = await make({ url });
      await assert.rejects(put(strict, { kind: 'buffer', data: Buffer.from('x') }), (e: unknown) => e instanceof DeliverError && e.code === 'ETLS' && !e.retryable);
      const withCa = await make({ url, ca: cert });
      assert.equal((await put(withCa, { kind: 'buffer', data: Buffer.from('x') })).response?.body, 'tls ok');
      const lax = await make({ url, rejectUnauthorized: false });
      assert.equal((await put(lax, { kind: 'buffer', data: Buffer.from('x') })).response?.status, 200);
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((r) => tls.close(() => r()));
    }
  });

  it('refuses URLs that are not http(s) or carry credentials', async () => {
    const d = await make({ url: 'ftp://example.com/{{asset.fileName}}' });
    await assert.rejects(put(d, { kind: 'buffer', data: Buffer.from('x') }), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH');
    const d2 = await make({ url: 'http://u:p@127.0.0.1/x' });
    await assert.rejects(put(d2, { kind: 'buffer', data: Buffer.from('x') }), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH' && !/\bp@/.test(e.message));
    assert.equal(seen.length, 0);
  });
});

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createS3Destination, s3Url, type S3Destination, type S3DestinationConfig } from '../../../src/core/deliver/s3/destination';
import { DeliverError } from '../../../src/core/deliver/types';
import { createDestination, destinationTemplates } from '../../../src/core/deliver/registry';
import { removeEarlierScenario } from './remove-earlier';

/*
 * An S3-compatible server on loopback, written for these tests: path-style addressing, PutObject,
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, HeadObject,
 * GetObject, DeleteObject. It checks every request's SigV4 signature with its own implementation
 * (independent of src/core/deliver/sigv4.ts) and the payload hash when one is signed.
 */

const ACCESS_KEY = 'AKIDTESTS3DEST';
const SECRET = 'tEsT/sEcReT+kEy/0123456789abcdefGHIJKLMN';
const BUCKET = 'shelf';
const REGION = 'eu-central-1';
const MB = 1024 * 1024;

interface StoredObject {
  body: Buffer;
  contentType?: string;
  meta: Record<string, string>;
  storageClass?: string;
}

interface Upload {
  key: string;
  /** When it was started (ms). */
  initiated?: number;
  parts: Map<number, { etag: string; body: Buffer }>;
  contentType?: string;
  meta: Record<string, string>;
  storageClass?: string;
}

interface LoggedRequest {
  method: string;
  key: string;
  query: Record<string, string>;
}

function awsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

function xmlError(res: ServerResponse, status: number, code: string, message: string, extra = ''): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

class FakeS3 {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<string, Upload>();
  readonly log: LoggedRequest[] = [];
  readonly buckets = new Set([BUCKET]);
  /** partNumber → how many more times UploadPart answers 500. */
  readonly failParts = new Map<number, number>();
  /** partNumber → how many more times UploadPart drops the connection before reading the body. */
  readonly dropParts = new Map<number, number>();
  /** Called when an UploadPart request arrives, before its body is read. */
  onPart?: (partNumber: number) => void;
  sessionToken?: string;
  private server?: Server;
  private nextUpload = 1;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) xmlError(res, 500, 'InternalError', String(err));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server?.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  reset(): void {
    this.objects.clear();
    this.uploads.clear();
    this.log.length = 0;
    this.failParts.clear();
    this.dropParts.clear();
    this.onPart = undefined;
    this.sessionToken = undefined;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const qIndex = rawUrl.indexOf('?');
    const rawPath = qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex);
    const rawQuery = qIndex < 0 ? '' : rawUrl.slice(qIndex + 1);
    const queryPairs = rawQuery
      ? rawQuery.split('&').map((p) => {
          const eq = p.indexOf('=');
          return eq < 0 ? [decodeURIComponent(p), ''] : [decodeURIComponent(p.slice(0, eq)), decodeURIComponent(p.slice(eq + 1))];
        })
      : [];
    const query = Object.fromEntries(queryPairs) as Record<string, string>;
    const segments = rawPath.split('/').slice(1);
    const bucket = decodeURIComponent(segments[0] ?? '');
    const key = segments.slice(1).map(decodeURIComponent).join('/');
    const method = req.method ?? 'GET';
    this.log.push({ method, key, query });

    if (method === 'PUT' && query.partNumber) {
      const n = Number(query.partNumber);
      this.onPart?.(n);
      const drops = this.dropParts.get(n) ?? 0;
      if (drops > 0) {
        this.dropParts.set(n, drops - 1);
        req.socket.destroy();
        return;
      }
    }

    // like S3, a bad signature is answered before the body is read
    const authError = this.checkSignature(req, method, rawPath, queryPairs);
    if (authError) return xmlError(res, 403, authError.code, authError.message);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const payloadHash = String(req.headers['x-amz-content-sha256']);
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) {
      return xmlError(res, 400, 'XAmzContentSHA256Mismatch', 'payload hash');
    }
    if (!this.buckets.has(bucket)) return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');

    const meta = (): Record<string, string> => {
      const m: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-')) m[k] = String(v);
      return m;
    };
    const storageClass = req.headers['x-amz-storage-class'] as string | undefined;
    const contentType = req.headers['content-type'];

    if (method === 'PUT' && query.partNumber !== undefined) {
      const upload = this.uploads.get(query.uploadId);
      if (!upload) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
      const n = Number(query.partNumber);
      const failures = this.failParts.get(n) ?? 0;
      if (failures > 0) {
        this.failParts.set(n, failures - 1);
        return xmlError(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      }
      if (Number(req.headers['content-length']) !== body.length) return xmlError(res, 400, 'IncompleteBody', 'length');
      const etag = `"${md5(body)}"`;
      upload.parts.set(n, { etag, body });
      res.writeHead(200, { etag });
      return void res.end();
    }
    if (method === 'PUT') {
      if (Number(req.headers['content-length']) !== body.length) return xmlError(res, 400, 'IncompleteBody', 'length');
      this.objects.set(key, { body, contentType, meta: meta(), storageClass });
      res.writeHead(200, { etag: `"${md5(body)}"` });
      return void res.end();
    }
    if (method === 'POST' && query.uploads !== undefined) {
      const id = `up${this.nextUpload++}/x+y=`;
      this.uploads.set(id, { key, initiated: Date.now(), parts: new Map(), contentType, meta: meta(), storageClass });
      const xml = `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`;
      res.writeHead(200, { 'content-type': 'application/xml' });
      return void res.end(xml);
    }
    if (method === 'POST' && query.uploadId !== undefined) {
      const upload = this.uploads.get(query.uploadId);
      if (!upload) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
      const listed = [...body.toString().matchAll(/<Part><PartNumber>(\d+)<\/PartNumber><ETag>([^<]*)<\/ETag><\/Part>/g)].map(
        (m) => ({ n: Number(m[1]), etag: m[2].replace(/&quot;/g, '"') }),
      );
      if (listed.length === 0) return xmlError(res, 400, 'MalformedXML', 'no parts');
      const bodies: Buffer[] = [];
      for (let i = 0; i < listed.length; i++) {
        const part = upload.parts.get(listed[i].n);
        if (listed[i].n !== i + 1 || !part || part.etag !== listed[i].etag) return xmlError(res, 400, 'InvalidPart', 'part');
        if (i < listed.length - 1 && part.body.length < 5 * MB) return xmlError(res, 400, 'EntityTooSmall', 'small');
        bodies.push(part.body);
      }
      this.objects.set(upload.key, {
        body: Buffer.concat(bodies),
        contentType: upload.contentType,
        meta: upload.meta,
        storageClass: upload.storageClass,
      });
      this.uploads.delete(query.uploadId);
      res.writeHead(200, { 'content-type': 'application/xml' });
      return void res.end(`<CompleteMultipartUploadResult><Key>${key}</Key><ETag>"x-${listed.length}"</ETag></CompleteMultipartUploadResult>`);
    }
    if (method === 'DELETE' && query.uploadId !== undefined) {
      if (!this.uploads.delete(query.uploadId)) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
      res.writeHead(204);
      return void res.end();
    }
    if (method === 'DELETE') {
      this.objects.delete(key);
      res.writeHead(204);
      return void res.end();
    }
    if (method === 'GET' && key === '' && query.uploads !== undefined) {
      // ListMultipartUploads, one page, as S3 answers it (with its Date header)
      const prefix = query.prefix ?? '';
      const items = [...this.uploads].filter(([, u]) => u.key.startsWith(prefix));
      const xml = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${bucket}</Bucket><Prefix>${prefix}</Prefix><IsTruncated>false</IsTruncated>` +
        items.map(([id, u]) => `<Upload><Key>${u.key}</Key><UploadId>${id}</UploadId><Initiated>${new Date(u.initiated ?? 0).toISOString()}</Initiated></Upload>`).join('') +
        '</ListMultipartUploadsResult>';
      res.writeHead(200, { 'content-type': 'application/xml', date: new Date().toUTCString() });
      return void res.end(xml);
    }
    if (method === 'HEAD' || method === 'GET') {
      const obj = this.objects.get(key);
      if (!obj) {
        if (method === 'HEAD') {
          res.writeHead(404);
          return void res.end();
        }
        return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      }
      res.writeHead(200, { 'content-length': obj.body.length, 'content-type': obj.contentType ?? '', ...obj.meta });
      return void res.end(method === 'GET' ? obj.body : undefined);
    }
    return xmlError(res, 405, 'MethodNotAllowed', 'method');
  }

  private checkSignature(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    queryPairs: string[][],
  ): { code: string; message: string } | undefined {
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { code: 'AccessDenied', message: 'missing or malformed Authorization' };
    const [, accessKey, date, region, signedHeaders, signature] = m;
    if (accessKey !== ACCESS_KEY) return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    if (region !== REGION) return { code: 'AuthorizationHeaderMalformed', message: 'region' };
    const names = signedHeaders.split(';');
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      if (!names.includes(required)) return { code: 'AccessDenied', message: `${required} not signed` };
    }
    for (const h of Object.keys(req.headers)) {
      if ((h.startsWith('x-amz-') || h === 'content-type') && !names.includes(h)) return { code: 'AccessDenied', message: `${h} not signed` };
    }
    if (this.sessionToken !== undefined && req.headers['x-amz-security-token'] !== this.sessionToken) {
      return { code: 'InvalidToken', message: 'The provided token is malformed or otherwise invalid.' };
    }
    const payloadHash = String(req.headers['x-amz-content-sha256']);
    const canonicalQuery = queryPairs
      .map(([k, v]) => [awsEncode(k), awsEncode(v)])
      .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headerBlock = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonical = [method, rawPath, canonicalQuery, headerBlock, signedHeaders, payloadHash].join('\n');
    const amzDate = String(req.headers['x-amz-date']);
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    let k: Buffer = createHmac('sha256', 'AWS4' + SECRET).update(date).digest();
    for (const part of [region, 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
    const expected = createHmac('sha256', k).update(toSign).digest('hex');
    if (expected !== signature) {
      return {
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    }
    return undefined;
  }
}

/** A deterministic source of `total` bytes in `chunk`-sized pieces (each piece distinct) that counts what it produced. */
function source(
  total: number,
  chunk = 64 * 1024,
  onProduce?: (produced: number) => void,
): Readable & { pulled: () => number; sha256: () => string } {
  let produced = 0;
  let index = 0;
  const hash = createHash('sha256');
  const r = new Readable({
    highWaterMark: chunk,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - produced);
      const buf = Buffer.alloc(n, index % 251);
      if (n >= 4) buf.writeUInt32BE(index, 0);
      index += 1;
      produced += n;
      hash.update(buf);
      onProduce?.(produced);
      this.push(buf);
    },
  }) as Readable & { pulled: () => number; sha256: () => string };
  r.pulled = () => produced;
  r.sha256 = () => hash.copy().digest('hex');
  return r;
}

function signal(): AbortSignal {
  return new AbortController().signal;
}

async function rejectsWith(p: Promise<unknown>, code: string, retryable?: boolean): Promise<DeliverError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliverError, `expected a DeliverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (retryable !== undefined) assert.equal(err.retryable, retryable, err.message);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

describe('S3 destination', function () {
  this.timeout(60_000);
  const s3 = new FakeS3();
  const opened: S3Destination[] = [];

  function dest(extra: Partial<S3DestinationConfig> = {}): S3Destination {
    const d = createS3Destination({
      endpoint: s3.endpoint,
      region: REGION,
      bucket: BUCKET,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET,
      forcePathStyle: true,
      ...extra,
    });
    opened.push(d);
    return d;
  }

  before(() => s3.start());
  after(() => s3.stop());
  beforeEach(() => s3.reset());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });

  describe('put', () => {
    it('streams a small body of known size as one PutObject', async () => {
      const d = dest();
      const data = randomBytes(300 * 1024);
      const key = d.resolve('2026/campaign/photo one+(1).jpg');
      const result = await d.put({ location: key, body: Readable.from([data]), size: data.length, signal: signal() });
      assert.deepEqual(result, { location: key, bytes: data.length });
      const stored = s3.objects.get('2026/campaign/photo one+(1).jpg');
      assert.ok(stored);
      assert.equal(stored.body.length, data.length);
      assert.equal(sha256(stored.body), sha256(data));
      assert.deepEqual(
        s3.log.map((r) => r.method),
        ['PUT'],
      );
      assert.equal(stored.contentType, 'application/octet-stream');
    });

    it('sends a small body of unknown size as one PutObject, not a multipart upload', async () => {
      const d = dest({ partSizeMb: 5 });
      const src = source(2 * MB + 17);
      const result = await d.put({ location: d.resolve('unknown-size.bin'), body: src, signal: signal() });
      assert.equal(result.bytes, 2 * MB + 17);
      assert.equal(sha256(s3.objects.get('unknown-size.bin')?.body ?? Buffer.alloc(0)), src.sha256());
      assert.deepEqual(
        s3.log.map((r) => `${r.method} ${Object.keys(r.query).join(',')}`),
        ['PUT '],
      );
      assert.equal(d.stats.bufferedBytes, 0);
    });

    it('uploads 40 MB in 5 MB parts holding at most maxConcurrentParts + 1 parts, reading only as parts drain', async () => {
      const d = dest({ partSizeMb: 5, maxConcurrentParts: 2 });
      const total = 40 * MB + 123;
      const src = source(total);
      const pulledAtPart = new Map<number, number>();
      s3.onPart = (n) => pulledAtPart.set(n, src.pulled());
      const result = await d.put({ location: d.resolve('big/original.tif'), body: src, signal: signal() });

      assert.equal(result.bytes, total);
      const stored = s3.objects.get('big/original.tif');
      assert.ok(stored);
      assert.equal(stored.body.length, total);
      assert.equal(sha256(stored.body), src.sha256());

      const partSize = 5 * MB;
      assert.equal(d.partSize, partSize);
      assert.equal(d.stats.partsUploaded, 9);
      assert.equal(pulledAtPart.size, 9);
      // bounded part buffers: one filling plus at most two uploading
      assert.ok(d.stats.peakBufferedBytes <= 3 * partSize, `peak ${d.stats.peakBufferedBytes}`);
      assert.ok(d.stats.peakBufferedBytes >= partSize);
      assert.equal(d.stats.bufferedBytes, 0);
      // backpressure: while part n is not yet answered, the source is read at most through part n + 2
      // (parts n and n + 1 in flight, part n + 2 filling), plus the stream's own small buffer
      const slack = 2 * 64 * 1024;
      for (const [n, pulled] of pulledAtPart) {
        assert.ok(pulled <= (n + 2) * partSize + slack, `part ${n}: source read ${pulled} bytes ahead`);
      }
      assert.equal(s3.uploads.size, 0);
      const methods = s3.log.map((r) => `${r.method}${r.query.uploads !== undefined ? ' uploads' : ''}`);
      assert.equal(methods[0], 'POST uploads');
      assert.equal(methods.at(-1), 'POST');
    });

    it('uses multipart for a known size above the part size and checks the size', async () => {
      const d = dest({ partSizeMb: 5 });
      const src = source(6 * MB);
      await d.put({ location: 'known.bin', body: src, size: 6 * MB, signal: signal() });
      assert.equal(sha256(s3.objects.get('known.bin')?.body ?? Buffer.alloc(0)), src.sha256());
      assert.ok(s3.log.some((r) => r.query.uploads !== undefined));

      s3.reset();
      await rejectsWith(d.put({ location: 'short.bin', body: source(6 * MB), size: 7 * MB, signal: signal() }), 'ESIZE', false);
      assert.equal(s3.objects.has('short.bin'), false);
      assert.equal(s3.uploads.size, 0, 'the incomplete upload was aborted');
    });

    it('stores content type, metadata (non-ASCII encoded) and storage class, single and multipart', async () => {
      const d = dest({ partSizeMb: 5, storageClass: 'STANDARD_IA' });
      const metadata = {
        'asset-id': 'I0000abc',
        'X-Amz-Meta-Caption': 'Übersicht',
        'meta:Credit': 'Shelter Flow',
        'file:name': 'small.jpg',
        'header:X-Other': 'http only',
      };
      await d.put({
        location: 'meta/small.jpg',
        body: Readable.from([Buffer.from('jpeg')]),
        size: 4,
        contentType: 'image/jpeg',
        metadata,
        signal: signal(),
      });
      await d.put({ location: 'meta/big.tif', body: source(6 * MB), contentType: 'image/tiff', metadata, signal: signal() });
      const expectedMeta = {
        'x-amz-meta-asset-id': 'I0000abc',
        'x-amz-meta-caption': `=?UTF-8?B?${Buffer.from('Übersicht').toString('base64')}?=`,
        'x-amz-meta-credit': 'Shelter Flow',
      };
      const small = s3.objects.get('meta/small.jpg');
      assert.equal(small?.contentType, 'image/jpeg');
      assert.deepEqual(small?.meta, expectedMeta);
      assert.equal(small?.storageClass, 'STANDARD_IA');
      const big = s3.objects.get('meta/big.tif');
      assert.equal(big?.contentType, 'image/tiff');
      assert.deepEqual(big?.meta, expectedMeta);
      assert.equal(big?.storageClass, 'STANDARD_IA');

      s3.log.length = 0;
      await rejectsWith(
        d.put({ location: 'meta/x', body: Readable.from([]), size: 0, metadata: { 'bad name': 'v' }, overwrite: 'skip', signal: signal() }),
        'EBADMETA',
        false,
      );
      await rejectsWith(
        d.put({ location: 'meta/x', body: Readable.from([]), size: 0, metadata: { ok: 'a\r\nb' }, signal: signal() }),
        'EBADMETA',
        false,
      );
      assert.equal(s3.log.length, 0, 'bad metadata sends nothing');
    });

    it('applies the overwrite policies, asking HeadObject first for skip and fail', async () => {
      const d = dest();
      const put = (text: string, overwrite?: 'overwrite' | 'skip' | 'fail') =>
        d.put({ location: 'policy.txt', body: Readable.from([Buffer.from(text)]), size: text.length, overwrite, signal: signal() });

      assert.equal((await put('first', 'skip')).skipped, undefined, 'absent target: skip uploads');
      assert.deepEqual(
        s3.log.map((r) => r.method),
        ['HEAD', 'PUT'],
      );
      const skipped = await put('second', 'skip');
      assert.equal(skipped.skipped, true);
      assert.equal(skipped.bytes, 0);
      assert.equal(s3.objects.get('policy.txt')?.body.toString(), 'first');

      await rejectsWith(put('third', 'fail'), 'EEXIST', false);
      assert.equal(s3.objects.get('policy.txt')?.body.toString(), 'first');

      await put('fourth', 'overwrite');
      assert.equal(s3.objects.get('policy.txt')?.body.toString(), 'fourth');
      await put('fifth');
      assert.equal(s3.objects.get('policy.txt')?.body.toString(), 'fifth');
      s3.objects.delete('policy.txt');
      await put('sixth', 'fail');
      assert.equal(s3.objects.get('policy.txt')?.body.toString(), 'sixth');
    });

    it('retries a part that fails once with 500 and completes the upload', async () => {
      const d = dest({ partSizeMb: 5 });
      s3.failParts.set(2, 1);
      const src = source(12 * MB);
      const result = await d.put({ location: 'retry/once.bin', body: src, signal: signal() });
      assert.equal(result.bytes, 12 * MB);
      assert.equal(sha256(s3.objects.get('retry/once.bin')?.body ?? Buffer.alloc(0)), src.sha256());
      assert.equal(d.stats.partRetries, 1);
      assert.equal(s3.log.filter((r) => r.query.partNumber === '2').length, 2);
      assert.equal(s3.uploads.size, 0);
    });

    it('fails retryably and aborts the multipart upload when a part keeps failing', async () => {
      const d = dest({ partSizeMb: 5 });
      s3.failParts.set(2, 2);
      const err = await rejectsWith(d.put({ location: 'retry/twice.bin', body: source(12 * MB), signal: signal() }), 'EUNAVAILABLE', true);
      assert.match(err.message, /UploadPart 2/);
      assert.match(err.message, /InternalError/);
      assert.ok(s3.log.some((r) => r.method === 'DELETE' && r.query.uploadId !== undefined), 'AbortMultipartUpload sent');
      assert.equal(s3.uploads.size, 0, 'no incomplete upload left');
      assert.equal(s3.objects.has('retry/twice.bin'), false);
      assert.equal(d.stats.bufferedBytes, 0);
    });

    it('aborts the multipart upload when the signal aborts mid-stream', async () => {
      const d = dest({ partSizeMb: 5 });
      const ac = new AbortController();
      // the source itself pulls the plug after 12 MB: deterministic, no timers
      const src = source(40 * MB, 64 * 1024, (produced) => {
        if (produced >= 12 * MB && !ac.signal.aborted) ac.abort(new Error('node closed'));
      });
      await rejectsWith(d.put({ location: 'aborted.bin', body: src, signal: ac.signal }), 'EABORTED', false);
      assert.ok(s3.log.some((r) => r.query.uploads !== undefined), 'a multipart upload had been created');
      assert.ok(s3.log.some((r) => r.method === 'DELETE' && r.query.uploadId !== undefined), 'AbortMultipartUpload sent');
      assert.equal(s3.uploads.size, 0);
      assert.equal(s3.objects.has('aborted.bin'), false);
      assert.ok(src.pulled() < 40 * MB, 'reading stopped');
      assert.equal(d.stats.bufferedBytes, 0);
    });

    it('retries a part whose connection drops mid-upload', async () => {
      const d = dest({ partSizeMb: 5 });
      s3.dropParts.set(1, 1);
      const src = source(11 * MB);
      await d.put({ location: 'retry/dropped.bin', body: src, signal: signal() });
      assert.equal(sha256(s3.objects.get('retry/dropped.bin')?.body ?? Buffer.alloc(0)), src.sha256());
      assert.equal(d.stats.partRetries, 1);
      assert.equal(s3.uploads.size, 0);
    });

    it('aborts while the source stalls: the read ends and AbortMultipartUpload is sent', async () => {
      const d = dest({ partSizeMb: 5 });
      const ac = new AbortController();
      let produced = 0;
      // 6 MB, then nothing more ever arrives
      const stalled = new Readable({
        highWaterMark: 64 * 1024,
        read() {
          if (produced < 6 * MB) {
            produced += 64 * 1024;
            this.push(Buffer.alloc(64 * 1024, 7));
          }
        },
      });
      s3.onPart = () => ac.abort(new Error('closing'));
      await rejectsWith(d.put({ location: 'stalled.bin', body: stalled, signal: ac.signal }), 'EABORTED', false);
      assert.ok(s3.log.some((r) => r.method === 'DELETE' && r.query.uploadId !== undefined), 'AbortMultipartUpload sent');
      assert.equal(s3.uploads.size, 0);
      assert.equal(stalled.destroyed, true);
      assert.equal(d.stats.bufferedBytes, 0);
    });

    it('reports a failing source as ESOURCE and aborts the multipart upload', async () => {
      const d = dest({ partSizeMb: 5 });
      let produced = 0;
      const failing = new Readable({
        read() {
          if (produced >= 7 * MB) {
            this.destroy(new Error('upstream reset'));
            return;
          }
          produced += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 1));
        },
      });
      const err = await rejectsWith(d.put({ location: 'src-fail.bin', body: failing, signal: signal() }), 'ESOURCE', false);
      assert.match(err.message, /upstream reset/);
      assert.ok(s3.log.some((r) => r.method === 'DELETE' && r.query.uploadId !== undefined), 'AbortMultipartUpload sent');
      assert.equal(s3.uploads.size, 0);
      assert.equal(s3.objects.has('src-fail.bin'), false);

      // a single PutObject whose source fails mid-stream; the source marks its error retryable
      let sent = 0;
      const flaky = new Readable({
        read() {
          if (sent >= MB) {
            this.destroy(Object.assign(new Error('download cut'), { retryable: true }));
            return;
          }
          sent += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 2));
        },
      });
      await rejectsWith(d.put({ location: 'src-fail-small.bin', body: flaky, size: 2 * MB, signal: signal() }), 'ESOURCE', true);
      assert.equal(s3.objects.has('src-fail-small.bin'), false);
    });

    it('rejects at once when the signal is already aborted', async () => {
      const d = dest();
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(d.put({ location: 'a.bin', body: Readable.from([Buffer.from('x')]), size: 1, signal: ac.signal }), 'EABORTED');
      assert.equal(s3.log.length, 0);
    });
  });

  describe('remove', () => {
    it('deletes an existing object and reports removed: false when nothing is there', async () => {
      const d = dest();
      await d.put({ location: 'gone.jpg', body: Readable.from([Buffer.from('x')]), size: 1, signal: signal() });
      assert.deepEqual(await d.remove('gone.jpg', signal()), { removed: true });
      assert.equal(s3.objects.has('gone.jpg'), false);
      s3.log.length = 0;
      assert.deepEqual(await d.remove('gone.jpg', signal()), { removed: false });
      assert.deepEqual(
        s3.log.map((r) => r.method),
        ['HEAD'],
      );
    });
  });

  describe('earlier copies of an asset (the deliver node\'s "remove earlier copies")', () => {
    it('a moved or renamed asset leaves no object at its earlier key; other assets stay', async () => {
      await removeEarlierScenario({ destination: dest(), templates: destinationTemplates({ kind: 's3' }), list: async () => [...s3.objects.keys()].sort() });
    });
  });

  describe('cleanup', () => {
    it('aborts the multipart uploads a killed run left open under the key prefix, and only those', async () => {
      const hourAgo = Date.now() - 3_600_000;
      const leftover = { key: 'deliveries/I0000A/clip.mp4', initiated: hourAgo, parts: new Map(), meta: {} };
      s3.uploads.set('old1', leftover);
      s3.uploads.set('other', { key: 'someone-else/big.iso', initiated: hourAgo, parts: new Map(), meta: {} });
      const d = dest({ keyPrefix: 'deliveries/' });
      // an upload of this run, started after the destination was made, is never taken for a leftover
      s3.uploads.set('new1', { key: 'deliveries/I0000B/new.mp4', initiated: Date.now() + 5000, parts: new Map(), meta: {} });
      assert.equal(typeof d.cleanup, 'function', 'the S3 destination cleans up after a crash');
      assert.equal(await d.cleanup?.(), 1);
      assert.deepEqual([...s3.uploads.keys()].sort(), ['new1', 'other']);
    });

    it('touches nothing without a key prefix (the bucket\'s uploads may be another application\'s)', async () => {
      s3.uploads.set('old1', { key: 'I0000A/clip.mp4', initiated: Date.now() - 3_600_000, parts: new Map(), meta: {} });
      const d = dest();
      assert.equal(await d.cleanup?.(), 0);
      assert.deepEqual([...s3.uploads.keys()], ['old1']);
      assert.equal(s3.log.length, 0, 'no request');
    });
  });

  describe('errors', () => {
    it('maps a wrong secret to EAUTH without echoing the secret', async () => {
      const wrongSecret = 'WRONG/secret+value/that-must-not-leak-0000';
      const d = dest({ secretAccessKey: wrongSecret });
      const err = await rejectsWith(
        d.put({ location: 'x.jpg', body: Readable.from([Buffer.from('abc')]), size: 3, signal: signal() }),
        'EAUTH',
        false,
      );
      assert.match(err.message, /SignatureDoesNotMatch/);
      assert.ok(!err.message.includes(wrongSecret));
      assert.ok(!err.message.includes(SECRET));
      assert.ok(!JSON.stringify(err).includes(wrongSecret));
      // a large single PutObject answered 403 before its body is read
      await rejectsWith(d.put({ location: 'y.bin', body: source(7 * MB), size: 7 * MB, signal: signal() }), 'EAUTH', false);
      const removeErr = await rejectsWith(d.remove('x.jpg', signal()), 'EAUTH', false);
      assert.ok(!removeErr.message.includes(wrongSecret));
      await rejectsWith(
        d.put({ location: 'big.bin', body: source(9 * MB), signal: signal() }),
        'EAUTH',
        false,
      );
      assert.equal(s3.objects.size, 0);
      assert.ok(s3.log.some((r) => r.query.uploads !== undefined), 'the multipart path was taken');
      assert.equal(d.stats.bufferedBytes, 0, 'part buffers released');
    });

    it('maps an unknown access key to EAUTH and an unknown bucket to ENOTFOUND', async () => {
      await rejectsWith(
        dest({ accessKeyId: 'AKIDNOBODY' }).put({ location: 'x', body: Readable.from([Buffer.from('a')]), size: 1, signal: signal() }),
        'EAUTH',
        false,
      );
      await rejectsWith(
        dest({ bucket: 'no-such-bucket' }).put({ location: 'x', body: Readable.from([Buffer.from('a')]), size: 1, signal: signal() }),
        'ENOTFOUND',
        false,
      );
    });

    it('sends and signs the session token', async () => {
      s3.sessionToken = 'SESSION-TOKEN/abc+=';
      await rejectsWith(
        dest().put({ location: 'x', body: Readable.from([Buffer.from('a')]), size: 1, signal: signal() }),
        'EAUTH',
        false,
      );
      await dest({ sessionToken: 'SESSION-TOKEN/abc+=' }).put({
        location: 'x',
        body: Readable.from([Buffer.from('a')]),
        size: 1,
        signal: signal(),
      });
      assert.equal(s3.objects.get('x')?.body.toString(), 'a');
    });

    it('reports a refused connection as a retryable network error', async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const d = dest({ endpoint: `http://127.0.0.1:${port}` });
      await rejectsWith(d.remove('x', signal()), 'ENETWORK', true);
    });
  });

  describe('the editor\'s settings, through the destination node\'s registry (settings and credentials apart)', () => {
    const settings = (extra: Record<string, unknown> = {}) => ({ kind: 's3', endpoint: s3.endpoint, region: REGION, bucket: BUCKET, forcePathStyle: 'true', ...extra });
    const creds = (extra: Record<string, unknown> = {}) => ({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, ...extra });
    const made = (config: Record<string, unknown>, credentials: Record<string, unknown> = creds()) => {
      const d = createDestination(config, credentials) as S3Destination;
      opened.push(d);
      return d;
    };

    it('a session token kept in credentials is sent and signed', async () => {
      s3.sessionToken = 'STORED-SESSION/token+=';
      await rejectsWith(made(settings()).put({ location: 'x', body: Readable.from([Buffer.from('a')]), size: 1, signal: signal() }), 'EAUTH', false);
      await made(settings(), creds({ sessionToken: 'STORED-SESSION/token+=' })).put({ location: 'y', body: Readable.from([Buffer.from('b')]), size: 1, signal: signal() });
      assert.equal(s3.objects.get('y')?.body.toString(), 'b');
    });

    it('the part size (text, as the editor stores it) and the storage class are used', async () => {
      const d = made(settings({ partSizeMb: '6', storageClass: 'STANDARD_IA' }));
      assert.equal(d.partSize, 6 * MB);
      const data = randomBytes(13 * MB);
      await d.put({ location: 'big.bin', body: Readable.from([data]), signal: signal() });
      assert.equal(s3.objects.get('big.bin')?.storageClass, 'STANDARD_IA');
      assert.equal(s3.log.filter((r) => r.method === 'PUT' && r.query.partNumber).length, 3, 'three parts of 6 MB');
      assert.equal(made(settings({ partSizeMb: '' })).partSize, 8 * MB, 'empty: the default');
      assert.equal(made(settings({})).partSize, 8 * MB, 'a destination saved before the setting existed');
    });

    it('a part size or a storage class that is not one is a clear configuration error, before any request', () => {
      for (const partSizeMb of ['big', '4', '513', '-8']) {
        assert.throws(() => made(settings({ partSizeMb })), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && /part size/.test(e.message), partSizeMb);
      }
      for (const storageClass of ['STANDARD\r\nX-Evil: 1', 'two words']) {
        assert.throws(() => made(settings({ storageClass })), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && /storage class/.test(e.message), storageClass);
      }
      assert.deepEqual(s3.log, []);
    });
  });

  describe('keys and addressing', () => {
    it('prefixes and validates keys', () => {
      const d = dest({ keyPrefix: 'deliveries/' });
      assert.equal(d.resolve('2026/a b.jpg'), 'deliveries/2026/a b.jpg');
      assert.equal(d.resolve('ключ/é.jpg'), 'deliveries/ключ/é.jpg');
      for (const bad of ['', '../etc/passwd', 'a/../b', 'a/./b', 'a\0b', 'a\nb', 'a\x7fb', 'dir/', 'x'.repeat(1024), 'a\uD800b']) {
        assert.throws(() => d.resolve(bad), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH', JSON.stringify(bad));
      }
      const plain = dest();
      assert.throws(() => plain.resolve('/absolute.jpg'), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH');
      assert.equal(plain.resolve('x'.repeat(1024)).length, 1024);
      assert.throws(() => plain.resolve('é'.repeat(513)), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH');
      assert.equal(plain.resolve('a..b/..c'), 'a..b/..c');
    });

    it('refuses to put or remove at an invalid location', async () => {
      const d = dest();
      await rejectsWith(d.put({ location: '../x', body: Readable.from([]), size: 0, signal: signal() }), 'EBADPATH', false);
      await rejectsWith(d.remove('/x', signal()), 'EBADPATH', false);
      assert.equal(s3.log.length, 0);
    });

    it('builds virtual-hosted and path-style URLs', () => {
      assert.equal(s3Url({ region: 'eu-west-1', bucket: 'photos' }, 'a b/c.jpg').href, 'https://photos.s3.eu-west-1.amazonaws.com/a%20b/c.jpg');
      assert.equal(
        s3Url({ region: 'eu-west-1', bucket: 'photos', forcePathStyle: true }, 'k').href,
        'https://s3.eu-west-1.amazonaws.com/photos/k',
      );
      assert.equal(
        s3Url({ region: 'us-east-1', bucket: 'my.dotted.bucket' }, 'k').href,
        'https://s3.us-east-1.amazonaws.com/my.dotted.bucket/k',
      );
      assert.equal(
        s3Url({ endpoint: 'https://minio.example.com:9000/base/', region: 'x', bucket: 'b1', forcePathStyle: true }, 'k/l').href,
        'https://minio.example.com:9000/base/b1/k/l',
      );
      assert.equal(s3Url({ endpoint: 'https://r2.example.com', region: 'auto', bucket: 'media' }, 'k').href, 'https://media.r2.example.com/k');
    });

    it('clamps the part size and concurrency', () => {
      assert.equal(dest().partSize, 8 * MB);
      assert.equal(dest().maxConcurrentParts, 2);
      assert.equal(dest({ partSizeMb: 1 }).partSize, 5 * MB);
      assert.equal(dest({ maxConcurrentParts: 0 }).maxConcurrentParts, 1);
      assert.equal(dest({ partSizeMb: '6' as unknown as number, maxConcurrentParts: '3' as unknown as number }).partSize, 6 * MB);
      assert.equal(dest({ maxConcurrentParts: '3' as unknown as number }).maxConcurrentParts, 3);
      assert.equal(dest({ partSizeMb: Number.NaN }).partSize, 8 * MB);
      assert.equal(dest({ partSizeMb: '' as unknown as number, maxConcurrentParts: '' as unknown as number }).partSize, 8 * MB);
      assert.equal(
        s3Url({ region: 'eu-west-1', bucket: 'photos', forcePathStyle: 'true' as unknown as boolean }, 'k').href,
        'https://s3.eu-west-1.amazonaws.com/photos/k',
      );
      assert.throws(() => createS3Destination({ region: 'x', bucket: '', accessKeyId: 'a', secretAccessKey: 's' }), /bucket/);
    });
  });
});

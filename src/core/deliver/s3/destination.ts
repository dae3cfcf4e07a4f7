/**
 * S3 and S3-compatible destination: PutObject for small bodies of known size, multipart upload with
 * bounded part buffers for the rest, DeleteObject for removal. Requests are signed with SigV4
 * (./sigv4.ts) and sent with undici over one Agent per destination.
 *
 * Config fields read (the destination config node's settings merged with its credentials):
 * - `endpoint`           string, optional. Default `https://s3.<region>.amazonaws.com`. May carry a base path.
 * - `region`             string, required (signing scope; `us-east-1` when empty).
 * - `bucket`             string, required.
 * - `accessKeyId`        string, required (credential).
 * - `secretAccessKey`    string, required (credential; never appears in errors).
 * - `sessionToken`       string, optional (credential; sent as `x-amz-security-token`).
 * - `forcePathStyle`     boolean, optional. Default false: virtual-hosted (`<bucket>.<host>`), except for
 *                        bucket names that are not DNS-safe (dots, uppercase, underscores), which use path style.
 * - `keyPrefix`          string, optional; prepended verbatim to every rendered key.
 * - `partSizeMb`         number, optional. Default 8, clamped to 5…512. Raised when a known size would
 *                        need more than 10,000 parts (an unknown size is limited to 10,000 parts).
 * - `maxConcurrentParts` number, optional. Default 2, minimum 1, maximum 16.
 * - `storageClass`       string, optional (`x-amz-storage-class`, e.g. STANDARD_IA).
 *
 * Metadata (`req.metadata`): `meta:<name>`, `x-amz-meta-<name>` or a plain `<name>` becomes the header
 * `x-amz-meta-<name>` (non-ASCII values as RFC 2047 encoded words); keys with another namespace
 * (`file:name`, `header:…`, `field:…`) are for other destinations and ignored.
 *
 * Memory: a multipart upload holds at most `maxConcurrentParts + 1` part buffers (one filling while up to
 * `maxConcurrentParts` upload); reading from the source pauses while that many are held. `stats` reports
 * the bytes held and the peak.
 *
 * Errors (DeliverError codes): EBADPATH (key), EBADMETA (metadata name or value), EEXIST (policy `fail`),
 * EAUTH (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, expired or invalid token, any other 403),
 * ENOTFOUND (NoSuchBucket), ETOOLARGE, ESIZE (the body's length differs from `size`), ESOURCE (the body
 * stream failed), EABORTED (the signal), ENETWORK (connection refused, reset, timeout: retryable),
 * EUNAVAILABLE (5xx, 429, SlowDown, RequestTimeout…: retryable), ES3 (any other S3 error), ECONFIG.
 * With policy `skip` and an existing object, the body is left unread for its owner to dispose of.
 *
 * Crashes: a multipart upload that a killed process left open is aborted by `cleanup()` when the destination
 * opens next (those under the key prefix started before it was made; without a prefix, none).
 *
 * Failures: a part that fails with a retryable error (5xx, 429, SlowDown, connection reset) is sent once
 * more from its buffer; if that fails too, or on any other error or an abort through the signal, the
 * in-flight parts are settled, AbortMultipartUpload is sent, and the put rejects with a DeliverError
 * (retryable when the cause was).
 */
import type { Readable } from 'node:stream';
import { Agent, request as undiciRequest } from 'undici';
import { networkCode, sleep } from '../../../net';
import { xmlEscape } from '../sidecar';
import { DeliverError, type Destination, type ProbeResult, type PutRequest, type PutResult } from '../types';
import { EMPTY_SHA256, UNSIGNED_PAYLOAD, sha256Hex, signRequest, uriEncode } from './sigv4';

export interface S3DestinationConfig {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  forcePathStyle?: boolean;
  keyPrefix?: string;
  partSizeMb?: number;
  maxConcurrentParts?: number;
  storageClass?: string;
}

/** Observable counters (tests, progress). */
export interface S3Stats {
  /** Bytes currently held in part buffers. */
  bufferedBytes: number;
  /** The most bytes ever held in part buffers at once. */
  peakBufferedBytes: number;
  /** Parts uploaded successfully (all uploads). */
  partsUploaded: number;
  /** Parts sent a second time after a retryable failure. */
  partRetries: number;
}

export interface S3Destination extends Destination {
  readonly kind: 's3';
  readonly partSize: number;
  readonly maxConcurrentParts: number;
  readonly stats: S3Stats;
}

const MB = 1024 * 1024;
const MIN_PART = 5 * MB;
const MAX_PART = 5 * 1024 * MB;
/** The largest configurable part (memory is `maxConcurrentParts + 1` of them). */
const MAX_CONFIGURED_PART = 512 * MB;
const MAX_PARTS = 10_000;
const MAX_KEY_BYTES = 1024;
const MAX_ERROR_BODY = 64 * 1024;
const PART_RETRY_DELAY_MS = 200;
/** AbortMultipartUpload is sent even after the caller's signal aborted; it gets its own deadline. */
const CLEANUP_TIMEOUT_MS = 30_000;

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'AllAccessDisabled',
]);
const RETRYABLE_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'OperationAborted',
  'NoSuchUpload',
]);

interface S3Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Text of the response body (capped; S3 answers are small). */
  text: string;
}

interface SendOptions {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  contentLength?: number;
  payloadHash: string;
  signal: AbortSignal;
}

/** Where a request for `key` goes: the URL (encoded path) and the host to sign. */
export function s3Url(
  config: Pick<S3DestinationConfig, 'endpoint' | 'region' | 'bucket' | 'forcePathStyle'>,
  key: string,
): URL {
  const base = new URL(config.endpoint?.trim() || `https://s3.${config.region || 'us-east-1'}.amazonaws.com`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const encodedKey = uriEncode(key, true);
  const pathStyle = (config.forcePathStyle as unknown) === true || (config.forcePathStyle as unknown) === 'true';
  if (pathStyle || !dnsSafeBucket(config.bucket) || isIpHost(base.hostname)) {
    base.pathname = `${basePath}/${uriEncode(config.bucket)}/${encodedKey}`;
  } else {
    base.hostname = `${config.bucket}.${base.hostname}`;
    base.pathname = `${basePath}/${encodedKey}`;
  }
  base.search = '';
  base.hash = '';
  return base;
}

function dnsSafeBucket(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

function isIpHost(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}

function header(res: S3Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? decodeXml(m[1]) : undefined;
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}


/** Header-safe metadata value: ASCII kept, anything else as an RFC 2047 encoded word (what S3 itself returns). */
function metaValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new DeliverError('EBADMETA', 'S3 metadata values must not contain line breaks or NUL');
  if (/^[\x20-\x7e\t]*$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function metaName(name: string): string {
  const n = name.toLowerCase().replace(/^x-amz-meta-/, '');
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n)) {
    throw new DeliverError('EBADMETA', `S3 metadata name "${name}" is not a valid header name`);
  }
  return 'x-amz-meta-' + n;
}


function abortError(signal: AbortSignal): DeliverError {
  return new DeliverError('EABORTED', 'S3 upload aborted', false, { cause: signal.reason });
}

/** Settings may arrive as strings from the editor; empty means the default. */
function numberOr(value: unknown, dflt: number): number {
  if (value === undefined || value === null || value === '') return dflt;
  const n = Number(value);
  return Number.isFinite(n) ? n : dflt;
}

/** The body stream failed: retryable only when the source says so. */
function sourceError(err: unknown): DeliverError {
  const retryable = !!err && typeof err === 'object' && (err as { retryable?: unknown }).retryable === true;
  const message = err instanceof Error ? err.message : String(err);
  return new DeliverError('ESOURCE', `S3 upload failed reading the source: ${message}`, retryable, { cause: err });
}

/** A part buffer and the bytes written into it. */
interface PartBuffer {
  buf: Buffer;
  filled: number;
}

class S3DestinationImpl implements S3Destination {
  readonly kind = 's3' as const;
  readonly partSize: number;
  readonly maxConcurrentParts: number;
  readonly stats: S3Stats = { bufferedBytes: 0, peakBufferedBytes: 0, partsUploaded: 0, partRetries: 0 };
  private readonly agent: Agent;
  private readonly region: string;
  private readonly keyPrefix: string;
  /** When this destination was made: multipart uploads started before that are an earlier run's. */
  private readonly createdAt = Date.now();

  constructor(private readonly config: S3DestinationConfig) {
    for (const field of ['bucket', 'accessKeyId', 'secretAccessKey'] as const) {
      if (!config[field]) throw new DeliverError('ECONFIG', `S3 destination: ${field} is required`);
    }
    this.region = config.region || 'us-east-1';
    this.keyPrefix = config.keyPrefix ?? '';
    this.partSize = Math.min(MAX_CONFIGURED_PART, Math.max(MIN_PART, Math.floor(numberOr(config.partSizeMb, 8) * MB)));
    this.maxConcurrentParts = Math.min(16, Math.max(1, Math.floor(numberOr(config.maxConcurrentParts, 2))));
    // validates the endpoint early: a bad URL is a configuration error, not a per-delivery one
    try {
      s3Url(config, 'x');
    } catch (err) {
      throw new DeliverError('ECONFIG', `S3 destination: invalid endpoint "${config.endpoint}"`, false, { cause: err });
    }
    this.agent = new Agent({
      connections: this.maxConcurrentParts + 2,
      keepAliveTimeout: 10_000,
      connect: { timeout: 15_000 },
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
  }

  resolve(rendered: string): string {
    if (typeof rendered !== 'string' || !rendered) throw new DeliverError('EBADPATH', 'S3 key is empty');
    return this.validKey(this.keyPrefix + rendered);
  }

  check(location: string): void {
    this.validKey(location);
  }

  async put(req: PutRequest): Promise<PutResult> {
    const key = this.validKey(req.location);
    if (req.signal.aborted) throw abortError(req.signal);
    const headers = this.objectHeaders(req);
    const policy = req.overwrite ?? 'overwrite';
    if (policy !== 'overwrite' && (await this.exists(key, req.signal))) {
      // the body is left unread: its owner disposes of it
      if (policy === 'skip') return { location: key, bytes: 0, skipped: true };
      throw new DeliverError('EEXIST', `S3 object "${key}" already exists`);
    }
    if (req.size !== undefined && req.size <= this.partSize) {
      return this.putSingle(key, req.body, req.size, headers, req.signal);
    }
    return this.putMultipart(key, req, headers);
  }

  async remove(location: string, signal: AbortSignal): Promise<{ removed: boolean }> {
    const key = this.validKey(location);
    if (!(await this.exists(key, signal))) return { removed: false };
    const res = await this.send({ method: 'DELETE', key, payloadHash: EMPTY_SHA256, signal });
    if (res.status !== 204 && res.status !== 200) throw this.error('DeleteObject', key, res);
    return { removed: true };
  }

  /**
   * Aborts the multipart uploads that an earlier run left open under the key prefix (a Node-RED killed
   * mid-upload): those S3 says were started before this destination was made (S3's clock, set against ours
   * by its Date header). Without a key prefix nothing is touched: the bucket's
   * uploads may be another application's. Resolves with the number aborted.
   */
  async cleanup(): Promise<number> {
    if (!this.keyPrefix) return 0;
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    let aborted = 0;
    let markers: Record<string, string> = {};
    for (let page = 0; page < 1000; page++) {
      const res = await this.send({ method: 'GET', key: '', query: { uploads: '', prefix: this.keyPrefix, ...markers }, payloadHash: EMPTY_SHA256, signal });
      if (res.status !== 200 || /<Error>/.test(res.text)) throw this.error('ListMultipartUploads', this.keyPrefix, res);
      // S3's clock less ours, rounded down (its Date header is to the second): an upload of ours, started
      // after this destination was made, always shows a later time than createdAt + skew
      const date = Date.parse(header(res, 'date') ?? '');
      const skew = Number.isFinite(date) ? date - Date.now() : 0;
      for (const block of res.text.match(/<Upload>[\s\S]*?<\/Upload>/g) ?? []) {
        const key = xmlText(block, 'Key');
        const id = xmlText(block, 'UploadId');
        const initiated = Date.parse(xmlText(block, 'Initiated') ?? '');
        if (!key?.startsWith(this.keyPrefix) || !id || !(initiated < this.createdAt + skew)) continue;
        if (await this.abortUpload(key, id)) aborted++;
      }
      const next = xmlText(res.text, 'NextKeyMarker');
      if (xmlText(res.text, 'IsTruncated') !== 'true' || !next) break;
      markers = { 'key-marker': next, 'upload-id-marker': xmlText(res.text, 'NextUploadIdMarker') ?? '' };
    }
    return aborted;
  }

  /** HeadBucket, signed: the endpoint answers, the bucket exists, and the keys are accepted. */
  async probe(signal: AbortSignal): Promise<ProbeResult> {
    const res = await this.send({ method: 'HEAD', key: '', payloadHash: EMPTY_SHA256, signal });
    const where = s3Url(this.config, '').origin;
    if (res.status === 200) return { key: 's3Ok', values: { bucket: this.config.bucket, endpoint: where } };
    if (res.status === 404) throw new DeliverError('ENOTFOUND', `There is no bucket "${this.config.bucket}" at ${where}`);
    throw this.error('HeadBucket', this.config.bucket, res);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Checks a full key (a location returned by resolve(), prefix included). */
  private validKey(key: unknown): string {
    const bad = (why: string): never => {
      throw new DeliverError('EBADPATH', `S3 key ${why}`);
    };
    if (typeof key !== 'string' || !key) return bad('is empty');
    if (key.includes('\0')) bad('contains NUL');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(key)) bad('contains control characters');
    if (key.startsWith('/')) bad('must not start with "/"');
    if (key.split('/').some((seg) => seg === '..' || seg === '.')) bad('must not contain "." or ".." segments');
    if (key.endsWith('/')) bad('must not end with "/"');
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) bad('is not valid Unicode');
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) bad(`is longer than ${MAX_KEY_BYTES} bytes`);
    return key;
  }

  private objectHeaders(req: PutRequest): Record<string, string> {
    const headers: Record<string, string> = {};
    headers['content-type'] = req.contentType || 'application/octet-stream';
    if (this.config.storageClass) headers['x-amz-storage-class'] = this.config.storageClass;
    for (const [key, value] of Object.entries(req.metadata ?? {})) {
      if (value === undefined || value === null) continue;
      let name = key;
      const colon = key.indexOf(':');
      if (colon >= 0) {
        // namespaced keys belong to other destinations (file:name, header:…, field:…); S3 takes meta:…
        if (key.slice(0, colon).toLowerCase() !== 'meta') continue;
        name = key.slice(colon + 1);
      }
      headers[metaName(name)] = metaValue(String(value));
    }
    return headers;
  }

  private async exists(key: string, signal: AbortSignal): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', key, payloadHash: EMPTY_SHA256, signal });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.error('HeadObject', key, res);
  }

  private async putSingle(
    key: string,
    body: Readable | Buffer,
    size: number,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<PutResult> {
    const res = await this.send({
      method: 'PUT',
      key,
      headers,
      body,
      contentLength: size,
      payloadHash: UNSIGNED_PAYLOAD,
      signal,
    });
    if (res.status !== 200) throw this.error('PutObject', key, res);
    return { location: key, bytes: size };
  }

  private async putMultipart(key: string, req: PutRequest, headers: Record<string, string>): Promise<PutResult> {
    const { body, signal } = req;
    // a known size never needs more than 10,000 parts: grow the part (in whole MB) when it would
    let partSize = this.partSize;
    if (req.size !== undefined && Math.ceil(req.size / partSize) > MAX_PARTS) {
      partSize = Math.min(MAX_PART, Math.ceil(req.size / MAX_PARTS / MB) * MB);
    }

    const internal = new AbortController();
    const onAbort = (): void => internal.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // a stalled source must not hold an aborted upload open: destroying it ends the read loop
    const onAbortBody = (): void => {
      body.destroy(abortError(signal));
    };
    signal.addEventListener('abort', onAbortBody, { once: true });

    let uploadId: string | undefined;
    const etags: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let firstError: unknown;
    let total = 0;
    let current: PartBuffer | undefined;
    let partNumber = 0;

    const hold = (n: number): void => {
      this.stats.bufferedBytes += n;
      if (this.stats.bufferedBytes > this.stats.peakBufferedBytes) this.stats.peakBufferedBytes = this.stats.bufferedBytes;
    };

    /** Part buffers done with, reused: at most maxConcurrentParts + 1 ever exist. */
    const pool: Buffer[] = [];
    const launch = async (part: PartBuffer): Promise<void> => {
      const n = ++partNumber;
      let id: string;
      try {
        if (n > MAX_PARTS) {
          throw new DeliverError('ETOOLARGE', `S3 object "${key}" needs more than ${MAX_PARTS} parts; raise the part size`);
        }
        // wait for a slot: reading stays paused meanwhile
        while (inFlight.size >= this.maxConcurrentParts) {
          await Promise.race(inFlight);
          if (firstError) throw firstError;
        }
        uploadId ??= await this.createUpload(key, headers, internal.signal);
        id = uploadId;
      } catch (err) {
        hold(-part.buf.length);
        throw err;
      }
      const p = this.uploadPart(key, id, n, part.buf.subarray(0, part.filled), internal.signal)
        .then(
          (etag) => {
            etags[n - 1] = etag;
            this.stats.partsUploaded += 1;
          },
          (err: unknown) => {
            firstError ??= err;
            internal.abort(err);
          },
        )
        .finally(() => {
          hold(-part.buf.length);
          inFlight.delete(p);
          // the request is over: the buffer can take the next part (no garbage piling up between GCs)
          if (part.buf.length === partSize) pool.push(part.buf);
        });
      inFlight.add(p);
    };

    try {
      for await (const raw of body as AsyncIterable<Buffer | string>) {
        if (firstError) throw firstError;
        if (signal.aborted) throw abortError(signal);
        let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
        total += chunk.length;
        while (chunk.length > 0) {
          if (!current) {
            current = { buf: pool.pop() ?? Buffer.allocUnsafe(partSize), filled: 0 };
            hold(partSize);
          }
          const n = Math.min(chunk.length, partSize - current.filled);
          chunk.copy(current.buf, current.filled, 0, n);
          current.filled += n;
          chunk = chunk.subarray(n);
          if (current.filled === partSize) {
            const full = current;
            current = undefined;
            await launch(full);
          }
        }
      }
      if (signal.aborted) throw abortError(signal);
      if (req.size !== undefined && total !== req.size) {
        throw new DeliverError('ESIZE', `S3 upload of "${key}": expected ${req.size} bytes, the source gave ${total}`);
      }

      if (uploadId === undefined && partNumber === 0) {
        // the whole body fitted in the first part: one PutObject, no multipart upload at all
        const part = current ?? { buf: Buffer.alloc(0), filled: 0 };
        current = undefined;
        try {
          return await this.putSingle(key, part.buf.subarray(0, part.filled), part.filled, headers, signal);
        } finally {
          hold(-part.buf.length);
        }
      }
      if (current && current.filled > 0) {
        const last = current;
        current = undefined;
        await launch(last);
      }
      while (inFlight.size > 0) await Promise.race(inFlight);
      if (firstError) throw firstError;
      if (signal.aborted) throw abortError(signal);
      await this.completeUpload(key, uploadId as string, etags, signal);
      return { location: key, bytes: total };
    } catch (err) {
      // the first failure is the one to report; parts cancelled below fail with an abort of their own
      firstError ??= err;
      internal.abort(err);
      if (current) {
        hold(-current.buf.length);
        current = undefined;
      }
      await Promise.allSettled([...inFlight]);
      if (uploadId !== undefined) await this.abortUpload(key, uploadId);
      throw this.wrap(firstError, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      signal.removeEventListener('abort', onAbortBody);
    }
  }

  private wrap(err: unknown, signal: AbortSignal): DeliverError {
    if (signal.aborted) return abortError(signal);
    if (err instanceof DeliverError) return err;
    return sourceError(err);
  }

  private async createUpload(key: string, headers: Record<string, string>, signal: AbortSignal): Promise<string> {
    const res = await this.send({ method: 'POST', key, query: { uploads: '' }, headers, payloadHash: EMPTY_SHA256, signal });
    const id = res.status === 200 ? xmlText(res.text, 'UploadId') : undefined;
    if (!id) throw this.error('CreateMultipartUpload', key, res);
    return id;
  }

  private async uploadPart(key: string, uploadId: string, partNumber: number, data: Buffer, signal: AbortSignal): Promise<string> {
    const attempt = async (): Promise<string> => {
      const res = await this.send({
        method: 'PUT',
        key,
        query: { partNumber: String(partNumber), uploadId },
        body: data,
        contentLength: data.length,
        payloadHash: UNSIGNED_PAYLOAD,
        signal,
      });
      const etag = header(res, 'etag');
      if (res.status !== 200 || !etag) throw this.error(`UploadPart ${partNumber}`, key, res);
      return etag;
    };
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof DeliverError) || !err.retryable || signal.aborted) throw err;
      this.stats.partRetries += 1;
      await sleep(PART_RETRY_DELAY_MS, signal, abortError);
      return attempt();
    }
  }

  private async completeUpload(key: string, uploadId: string, etags: string[], signal: AbortSignal): Promise<void> {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`).join('') +
      '</CompleteMultipartUpload>';
    const body = Buffer.from(xml, 'utf8');
    const res = await this.send({
      method: 'POST',
      key,
      query: { uploadId },
      headers: { 'content-type': 'application/xml' },
      body,
      contentLength: body.length,
      payloadHash: sha256Hex(body),
      signal,
    });
    // S3 may answer 200 and still report an error in the body
    if (res.status !== 200 || /<Error>/.test(res.text)) throw this.error('CompleteMultipartUpload', key, res);
  }

  /** Best effort: a failure here leaves an incomplete upload for the bucket's lifecycle rules (or the next `cleanup`). */
  private async abortUpload(key: string, uploadId: string): Promise<boolean> {
    try {
      const res = await this.send({
        method: 'DELETE',
        key,
        query: { uploadId },
        payloadHash: EMPTY_SHA256,
        signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
      });
      return res.status === 204 || res.status === 200;
    } catch {
      // nothing more to do; the original error is what the caller needs
      return false;
    }
  }

  private async send(opts: SendOptions): Promise<S3Response> {
    const url = s3Url(this.config, opts.key);
    const signed = signRequest(
      {
        method: opts.method,
        path: url.pathname,
        query: opts.query,
        headers: { ...opts.headers, host: url.host },
        payloadHash: opts.payloadHash,
      },
      this.config,
      { region: this.region, service: 's3' },
    );
    const { host: _host, ...headers } = signed.headers;
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    const query = opts.query
      ? '?' + Object.entries(opts.query).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&')
      : '';
    try {
      const res = await undiciRequest(url.origin + url.pathname + query, {
        method: opts.method,
        headers,
        body: opts.body,
        signal: opts.signal,
        dispatcher: this.agent,
      });
      let text = '';
      for await (const chunk of res.body) {
        if (text.length < MAX_ERROR_BODY) text += chunk.toString();
      }
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (opts.signal.aborted) throw new DeliverError('EABORTED', 'S3 request aborted', false, { cause: err });
      if (err instanceof DeliverError) throw err;
      const body = opts.body;
      if (body && typeof body === 'object' && !Buffer.isBuffer(body) && body.errored) {
        throw sourceError(body.errored);
      }
      const code = networkCode(err) ?? 'unknown';
      if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
        throw new DeliverError('ESIZE', `S3 ${opts.method} "${opts.key}": the body length differs from the declared size`, false, {
          cause: err,
        });
      }
      throw new DeliverError('ENETWORK', `S3 ${opts.method} "${opts.key}" failed: ${code}`, true, { cause: err });
    }
  }

  /** A DeliverError from an S3 error answer; never carries the secret. */
  private error(op: string, key: string, res: S3Response): DeliverError {
    const code = xmlText(res.text, 'Code') ?? (res.status === 404 ? 'NotFound' : res.status === 403 ? 'AccessDenied' : `HTTP${res.status}`);
    const message = this.scrub(xmlText(res.text, 'Message') ?? '');
    const text = `S3 ${op} "${key}" failed: ${res.status} ${code}${message ? ` (${message})` : ''}`;
    if (AUTH_CODES.has(code) || (res.status === 403 && code !== 'RequestTimeTooSkewed')) {
      return new DeliverError('EAUTH', text, false);
    }
    if (code === 'NoSuchBucket') return new DeliverError('ENOTFOUND', text, false);
    if (code === 'EntityTooLarge') return new DeliverError('ETOOLARGE', text, false);
    const retryable = res.status >= 500 || res.status === 429 || RETRYABLE_CODES.has(code);
    return new DeliverError(retryable ? 'EUNAVAILABLE' : 'ES3', text, retryable);
  }

  private scrub(s: string): string {
    const secret = this.config.secretAccessKey;
    const token = this.config.sessionToken;
    let out = s.length > 500 ? s.slice(0, 500) + '…' : s;
    if (secret) out = out.split(secret).join('***');
    if (token) out = out.split(token).join('***');
    return out;
  }
}

export function createS3Destination(config: S3DestinationConfig): S3Destination {
  return new S3DestinationImpl(config);
}

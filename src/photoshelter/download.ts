import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { HEADERS, PATHS, QUERY } from './endpoints';
import { NetworkError, PhotoShelterError, TimeoutError, TruncatedError, ValidationError } from './errors';
import { crashPoint } from './crashpoint';
import { assertId } from './ids';
import { contentLength, type Pipeline } from './pipeline';
import { networkCode } from './transport';

export type DownloadFileType = 'original' | 'jpeg' | 'mp4';

export interface DownloadOptions {
  fileType?: DownloadFileType;
  /**
   * jpeg: `original` or one number, the long side in pixels (`1200`) [prod], or `WIDTHxHEIGHT` [draft];
   * mp4: a quality name such as `hd720` [prod]; none for originals.
   */
  quality?: string;
  signal?: AbortSignal;
  /** Time allowed until the headers arrive, and between body chunks. */
  timeoutMs?: number;
}

/**
 * The bytes of a file as a stream. Emits a TruncatedError when the body ends with fewer (or more) bytes
 * than Content-Length announced, or breaks off.
 */
export class DownloadStream extends Transform {
  contentType?: string;
  contentLength?: number;
  fileName?: string;
  private received = 0;

  constructor(
    private readonly method: string,
    private readonly path: string,
  ) {
    super();
  }

  get bytesReceived(): number {
    return this.received;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    crashPoint('download');
    this.received += chunk.length;
    if (this.contentLength !== undefined && this.received > this.contentLength) {
      cb(this.truncated(`more bytes than the ${this.contentLength} announced`));
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.contentLength !== undefined && this.received !== this.contentLength) {
      cb(this.truncated(`${this.received} of ${this.contentLength} bytes`));
      return;
    }
    cb();
  }

  /** Maps an error of the source body. */
  sourceError(e: unknown): Error {
    if (e instanceof PhotoShelterError) return e;
    if (networkCode(e) === 'UND_ERR_BODY_TIMEOUT') {
      return new TimeoutError(`The download of ${this.path} stalled after ${this.received} bytes`, { method: this.method, path: this.path });
    }
    if (this.contentLength === undefined || this.received < this.contentLength) {
      return this.truncated(`the connection broke off after ${this.received} bytes (${networkCode(e) ?? 'closed'})`);
    }
    return new NetworkError(`Network error while downloading ${this.path}`, { method: this.method, path: this.path, networkCode: networkCode(e) });
  }

  private truncated(what: string): TruncatedError {
    return new TruncatedError(`The download of ${this.path} is incomplete: ${what}`, {
      method: this.method,
      path: this.path,
      expectedBytes: this.contentLength,
      receivedBytes: this.received,
    });
  }
}

/** Reads `filename*=UTF-8''…` (preferred) or `filename="…"` from a Content-Disposition header. */
export function parseContentDisposition(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  const ext = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(h);
  if (ext) {
    const charset = ext[1].trim().toLowerCase();
    const raw = ext[2].trim().replace(/^"(.*)"$/, '$1');
    try {
      if (charset === 'utf-8' || charset === '') return decodeURIComponent(raw);
      // ISO-8859-1: percent bytes are code points
      return raw.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    } catch {
      // fall back to the plain parameter
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(h);
  if (quoted) return quoted[1].replace(/\\(.)/g, '$1');
  const token = /filename\s*=\s*([^;\s]+)/i.exec(h);
  return token ? token[1] : undefined;
}

/**
 * Starts a download. The request is retried (per the pipeline's policy) until its headers arrive; from
 * then on the body flows with backpressure from the consumer back to the socket. The limiter slot is
 * released when the headers arrive, so a long download never blocks metadata calls; the socket pool of
 * the transport still bounds the number of parallel downloads.
 */
/** jpeg `download_quality`: `original`, one number (the long side), or `WIDTHxHEIGHT`. */
export const JPEG_QUALITY = /^(?:original|[1-9]\d{0,4}|[1-9]\d{0,4}x[1-9]\d{0,4})$/;
const MP4_QUALITY = /^[a-z][a-z0-9_]{0,19}$/i;

/** Checks a file type and quality before any request; throws a ValidationError that lists the accepted forms. */
export function checkDownloadQuality(fileType: unknown, quality: unknown): void {
  if (fileType !== 'original' && fileType !== 'jpeg' && fileType !== 'mp4') {
    throw new ValidationError(`Unknown download file type ${JSON.stringify(fileType)}: use original, jpeg or mp4`);
  }
  if (quality === undefined) return;
  const shown = JSON.stringify(typeof quality === 'string' ? quality.slice(0, 40) : quality);
  if (typeof quality !== 'string') throw new ValidationError(`Download quality ${shown} is not text`);
  if (fileType === 'original') throw new ValidationError(`Originals come as they are: a download quality (${shown}) applies to jpeg and mp4 only`);
  if (fileType === 'jpeg' && !JPEG_QUALITY.test(quality)) {
    throw new ValidationError(`JPEG quality ${shown} is not original, a number of pixels for the long side (e.g. 1200) or WIDTHxHEIGHT (e.g. 1920x1080)`);
  }
  if (fileType === 'mp4' && !MP4_QUALITY.test(quality)) throw new ValidationError(`MP4 quality ${shown} is not a quality name such as hd720`);
}

export async function openDownload(pipeline: Pipeline, id: string, opts: DownloadOptions = {}): Promise<DownloadStream> {
  assertId('media', id, 'Media id');
  const fileType = opts.fileType ?? 'original';
  checkDownloadQuality(fileType, opts.quality);
  const path = PATHS.mediaDownload(id);
  const res = await pipeline.stream({
    method: 'GET',
    path,
    query: { [QUERY.downloadFileType]: fileType, [QUERY.downloadQuality]: opts.quality },
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
  });
  const out = new DownloadStream('GET', path);
  const ct = res.headers[HEADERS.contentType];
  out.contentType = Array.isArray(ct) ? ct[0] : ct;
  out.contentLength = contentLength(res.headers);
  out.fileName = parseContentDisposition(res.headers[HEADERS.contentDisposition]);
  wire(res.body, out);
  return out;
}

function wire(source: Readable, out: DownloadStream): void {
  source.on('error', (e) => {
    if (!out.destroyed) out.destroy(out.sourceError(e));
  });
  source.on('aborted', () => {
    if (!out.destroyed) out.destroy(out.sourceError(new Error('aborted')));
  });
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
}

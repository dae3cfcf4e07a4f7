/**
 * The bytes of a delivery: where they come from (a stream, a buffer, a file, or a download the deliverer
 * opens itself, again for a retry), how they are opened for an attempt, and the meter that counts and
 * hashes them on their way to the destination. `bodyOf` reads them from a message.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { crashPoint } from '../../photoshelter/crashpoint';
import { isLazyBody } from '../fetch/lazy';
import { DeliverError } from './types';

/** Where the bytes come from. Streams can be read once; the others can be opened again for a retry. */
export type BodySource =
  | { kind: 'stream'; stream: Readable; size?: number; contentType?: string }
  | { kind: 'buffer'; data: Buffer; contentType?: string }
  | { kind: 'file'; path: string; contentType?: string }
  | {
      kind: 'fetch';
      open: (signal: AbortSignal) => Promise<Readable & { contentLength?: number; contentType?: string }>;
      /**
       * The download is the asset's original file: its bytes may tell the version (a JPEG's XMP InstanceID).
       * A rendition's bytes are not the original's and tell nothing of its version.
       */
      original?: boolean;
    };

export interface Progress {
  bytes: number;
  total?: number;
  percent?: number;
  /** Megabytes (10^6 bytes) per second since the start of the attempt. */
  mbps: number;
}

/** Counts and hashes the bytes that pass; reports progress now and then (a crash point for the fault suite). */
export class Meter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  private readonly started = Date.now();
  private last = 0;

  constructor(
    private readonly total: number | undefined,
    private readonly onProgress?: (p: Progress) => void,
    private readonly intervalMs = 1000,
    /** Sees every chunk as it passes (reads the head of the file). */
    private readonly observe?: (chunk: Buffer) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    crashPoint('upload');
    this.hash.update(chunk);
    this.observe?.(chunk);
    this.bytes += chunk.length;
    if (this.onProgress) {
      const now = Date.now();
      if (now - this.last >= this.intervalMs) {
        this.last = now;
        this.onProgress(this.progress(now));
      }
    }
    cb(null, chunk);
  }

  progress(now = Date.now()): Progress {
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const p: Progress = { bytes: this.bytes, mbps: this.bytes / 1e6 / secs };
    if (this.total) {
      p.total = this.total;
      p.percent = Math.min(100, Math.floor((this.bytes / this.total) * 100));
    }
    return p;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface Opened {
  body: Readable;
  size?: number;
  contentType?: string;
}

/** Whether the body can be opened again for another attempt (a stream can be read once). */
export function reopenable(source: BodySource): boolean {
  return source.kind !== 'stream';
}

/**
 * Whether the bytes are known to be the asset's original file, so that what they say of themselves (a
 * JPEG's XMP InstanceID) may stand as the evidence of the version delivered: only a download of the
 * original. A stream, a buffer or a file handed in may be anything (a rendition, an edited copy).
 */
export function knownOriginal(source: BodySource): boolean {
  return source.kind === 'fetch' && source.original === true;
}

/** Opens the body for an attempt; `used`: an earlier attempt opened it already. */
export async function openSource(source: BodySource, signal: AbortSignal, used: boolean): Promise<Opened> {
  switch (source.kind) {
    case 'stream':
      if (used) throw new DeliverError('ESTREAMUSED', 'The stream was read already and cannot be read again');
      return { body: source.stream, size: source.size, contentType: source.contentType };
    case 'buffer':
      return { body: Readable.from([source.data]), size: source.data.length, contentType: source.contentType };
    case 'file': {
      let size: number;
      try {
        size = (await stat(source.path)).size;
      } catch (e) {
        throw new DeliverError('ENOFILE', `The file ${source.path} cannot be read: ${(e as Error).message}`, false, { cause: e });
      }
      return { body: createReadStream(source.path), size, contentType: source.contentType };
    }
    case 'fetch': {
      const s = await source.open(signal);
      return { body: s, size: s.contentLength, contentType: s.contentType };
    }
  }
}


/** A message as the deliver node reads it. */
export interface BodyMessage {
  payload?: unknown;
  file?: { path?: unknown; contentLength?: unknown; contentType?: unknown };
}

/**
 * The body a message carries: a payload that downloads when read (the fetch node's stream) is opened by
 * the deliverer itself, once it has consulted its ledger; a stream, a buffer, or a temporary file
 * (`msg.file.path` equal to the payload) are taken as they are; anything else (an id, an asset) means
 * that the deliverer downloads the file with `download` (of the rendition the node chose, `original`
 * when that is the original).
 */
export function bodyOf(msg: BodyMessage, download: (signal: AbortSignal) => Promise<Readable & { contentLength?: number; contentType?: string }>, original: boolean): BodySource {
  const p = msg.payload;
  const type = typeof msg.file?.contentType === 'string' ? msg.file.contentType : undefined;
  if (isLazyBody(p)) return { kind: 'fetch', open: (signal) => p.open(signal), original: p.fileType === 'original' };
  if (p instanceof Readable) return { kind: 'stream', stream: p, size: typeof msg.file?.contentLength === 'number' ? msg.file.contentLength : undefined, contentType: type };
  if (Buffer.isBuffer(p)) return { kind: 'buffer', data: p, contentType: type };
  if (typeof p === 'string' && msg.file?.path === p) return { kind: 'file', path: p, contentType: type };
  return { kind: 'fetch', open: download, original };
}

/**
 * A downloaded file on its way into a message: read into memory under a size cap, or written to a
 * temporary file with streaming; and the sweep of temporary folders a crashed Node-RED left behind.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { abortedError } from '../../net';
import { CoreError } from '../errors';

/** The file is larger than the buffer cap. `size` is the announced length, or the count when the cap was passed. */
export class FileTooLargeError extends CoreError {
  constructor(
    readonly limitBytes: number,
    readonly sizeBytes: number,
    readonly announced: boolean,
  ) {
    super(
      'ETOOLARGE',
      announced
        ? `The file is ${sizeBytes} bytes, more than the ${limitBytes} bytes allowed in memory`
        : `The file passed the ${limitBytes} bytes allowed in memory`,
      { key: announced ? 'tooLarge' : 'tooLargeRead', values: { size: mb(sizeBytes), limit: mb(limitBytes) } },
    );
  }
}

/** Bytes as megabytes with one decimal, as the size messages show them. */
function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** A readable with the headers of a download (as the client's DownloadStream has them). */
export type FileStream = Readable & { contentType?: string; contentLength?: number; fileName?: string };

export interface FileInfo {
  fileName?: string;
  contentType?: string;
  contentLength?: number;
  path?: string;
}

export function fileInfo(s: FileStream): FileInfo {
  return { fileName: s.fileName, contentType: s.contentType, contentLength: s.contentLength };
}

/**
 * Reads a whole stream into one Buffer, never holding more than `maxBytes`. An announced length over the
 * cap fails before a byte is read; a missing or false length fails as soon as the count passes the cap.
 * In both cases the stream is destroyed, so nothing more is read from the network.
 */
export async function readCapped(stream: FileStream, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  if (stream.contentLength !== undefined && stream.contentLength > maxBytes) {
    stream.destroy();
    throw new FileTooLargeError(maxBytes, stream.contentLength, true);
  }
  if (signal?.aborted) {
    stream.destroy();
    throw abortedError(signal);
  }
  const onAbort = (): void => {
    stream.destroy(abortedError(signal as AbortSignal));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += buf.length;
      // leaving the loop destroys the stream: nothing more is read
      if (total > maxBytes) throw new FileTooLargeError(maxBytes, total, false);
      chunks.push(buf);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, total);
}

/** A file name that is safe as the last part of a path (no separators, no control characters). */
export function safeFileName(name: string | undefined, fallback: string): string {
  const cleaned = (name ?? '')
    .replace(/[/\\]/g, '_')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 200);
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return fallback;
  return cleaned;
}

export interface TempFile {
  /** The file. */
  path: string;
  /** The private directory that holds it (removed as a whole). */
  dir: string;
  bytes: number;
}

export interface TempFileOptions {
  /** Parent directory (default the OS temporary directory). */
  parent?: string;
  /** Name when the download did not say one. */
  fallbackName: string;
  signal?: AbortSignal;
}

/**
 * Writes a stream to a new file in a private directory, with backpressure. On any failure (a truncated
 * download, a full disk, an abort) the directory is removed before the error is thrown.
 */
export async function writeTempFile(stream: FileStream, opts: TempFileOptions): Promise<TempFile> {
  // the download may fail while the directory is made: hold its error until the pipeline takes over
  let early: unknown;
  const hold = (e: unknown): void => {
    early ??= e;
  };
  stream.on('error', hold);
  let dir: string;
  try {
    dir = await mkdtemp(join(opts.parent ?? tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  } catch (e) {
    stream.destroy();
    throw e;
  } finally {
    stream.off('error', hold);
  }
  if (early !== undefined || stream.destroyed) {
    await rm(dir, { recursive: true, force: true });
    throw early ?? (opts.signal?.aborted ? abortedError(opts.signal) : new Error('The download closed before it was written'));
  }
  const path = join(dir, safeFileName(stream.fileName, opts.fallbackName));
  const out = createWriteStream(path, { flags: 'wx' });
  try {
    await pipeline(stream, out, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw opts.signal?.aborted ? abortedError(opts.signal) : e;
  }
  return { path, dir, bytes: out.bytesWritten };
}

/** Temporary folders of fetches are named `photoshelter-fetch-<pid>-<random>`: whose they are, and whether it still runs. */
export const TEMP_PREFIX = 'photoshelter-fetch-';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders of fetches that a crashed Node-RED left in `parent` (default the OS
 * temporary directory): those of a process that no longer runs, and those named with this process's id
 * but older than it (a restarted container often gets the same id). Resolves with the number removed.
 */
export async function sweepStaleTempDirs(parent = tmpdir()): Promise<number> {
  const started = Date.now() - process.uptime() * 1000;
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const dir = join(parent, name);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const stale = pid === process.pid ? st.mtimeMs < started : !running(pid);
    if (stale && (await rm(dir, { recursive: true, force: true }).then(() => true, () => false))) removed++;
  }
  return removed;
}


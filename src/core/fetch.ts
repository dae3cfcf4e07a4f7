/**
 * Fetching an asset's file for a flow: the settings of a fetch, reading a file into memory under a size
 * cap, writing it to a temporary file with streaming, and the registry that removes temporary files when
 * the message that carries them is done (or after a time limit). No Node-RED import: the node feeds the
 * registry with the message events it observes.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isId } from '../photoshelter/ids';
import { strictBool } from './bool';
import type { DownloadFileType } from '../photoshelter';
import { ASSET_PARTS, type AssetPart } from './load';

export const FILE_MODES = ['none', 'stream', 'buffer', 'temp', 'link'] as const;
export type FileMode = (typeof FILE_MODES)[number];

export const DEFAULT_MAX_BUFFER_MB = 50;
export const DEFAULT_TEMP_TTL_S = 600;
/** Fetches in flight per node, and messages waiting for one, unless the node says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_QUEUE = 1000;

/** A problem of the node's configuration or of the input; `key` names the catalogue entry. */
export class FetchInputError extends Error {
  readonly code = 'EVALIDATION';
  constructor(
    readonly key: string,
    readonly values: Record<string, string | number> = {},
  ) {
    super(key);
    this.name = 'FetchInputError';
  }
}

/** The file is larger than the buffer cap. `size` is the announced length, or the count when the cap was passed. */
export class FileTooLargeError extends Error {
  readonly code = 'ETOOLARGE';
  constructor(
    readonly limitBytes: number,
    readonly sizeBytes: number,
    readonly announced: boolean,
  ) {
    super(
      announced
        ? `The file is ${sizeBytes} bytes, more than the ${limitBytes} bytes allowed in memory`
        : `The file passed the ${limitBytes} bytes allowed in memory`,
    );
    this.name = 'FileTooLargeError';
  }
}

// ---- settings ----

/** The file type and size of a download, as the fetch and deliver nodes store them. */
export interface RenditionConfig {
  /** `original` or `jpeg`. */
  rendition?: unknown;
  /** For jpeg: `original` (or empty), one number, the long side (`1200`), or `WIDTHxHEIGHT`. */
  size?: unknown;
  /** The editor's choice of size form (`original`, `long`, `box`); `original` makes `size` irrelevant. */
  sizeType?: unknown;
}

export interface FetchConfig extends RenditionConfig {
  mode?: unknown;
  includeIptc?: unknown;
  includeCustom?: unknown;
  includeGalleries?: unknown;
  includePath?: unknown;
  /** Megabytes. */
  maxSize?: unknown;
  /** Seconds. */
  tempTimeout?: unknown;
  /** Fetches in flight at once (1–64). */
  concurrency?: unknown;
  /** Messages that may wait for a free slot (0–100000); more are refused. */
  queue?: unknown;
}

export interface Rendition {
  fileType: DownloadFileType;
  /** For JPEG renditions: `original`, the long side (`1200`) or `WIDTHxHEIGHT`; sent as download_quality. */
  quality?: string;
}

export interface FetchSettings extends Rendition {
  mode: FileMode;
  include: AssetPart[];
  maxBytes: number;
  tempTtlMs: number;
  concurrency: number;
  queue: number;
}

const SIZE = /^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$/;
const LONG_SIDE = /^\s*(\d{1,5})\s*(?:px)?\s*$/i;

/**
 * The rendition a node asks for: the original file, or a JPEG at `original` size, a long side in pixels
 * (PhotoShelter's production form) or WIDTHxHEIGHT (its draft's). Throws a FetchInputError naming the problem.
 */
export function renditionSettings(config: RenditionConfig): Rendition {
  const rendition = config.rendition === undefined || config.rendition === '' ? 'original' : config.rendition;
  if (rendition !== 'original' && rendition !== 'jpeg') throw new FetchInputError('badRendition', { value: String(rendition).slice(0, 20) });
  if (rendition === 'original') return { fileType: 'original' };
  const text = config.size === undefined || config.size === null || config.sizeType === 'original' ? '' : String(config.size).trim();
  if (text === '' || text.toLowerCase() === 'original') return { fileType: 'jpeg', quality: 'original' };
  const box = SIZE.exec(text);
  if (box && Number(box[1]) > 0 && Number(box[2]) > 0) return { fileType: 'jpeg', quality: `${Number(box[1])}x${Number(box[2])}` };
  const long = LONG_SIDE.exec(text);
  if (long && Number(long[1]) > 0) return { fileType: 'jpeg', quality: String(Number(long[1])) };
  throw new FetchInputError('badSize', { value: text.slice(0, 20) });
}

/** The image_size of a link for a rendition (links take WIDTHxHEIGHT only): a long side is a square box. */
export function linkSize(r: Rendition): string | undefined {
  if (r.fileType !== 'jpeg' || !r.quality || r.quality === 'original') return undefined;
  return /^\d+$/.test(r.quality) ? `${r.quality}x${r.quality}` : r.quality;
}

function wholeNumber(v: unknown, fallback: number, min: number, max: number, key: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new FetchInputError(key, { value: String(v).slice(0, 20), min, max });
  return n;
}

function positiveNumber(v: unknown, fallback: number, key: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new FetchInputError(key, { value: String(v).slice(0, 20) });
  return n;
}

/** Reads and checks the node's configuration; throws a FetchInputError naming what is wrong. */
export function fetchSettings(config: FetchConfig): FetchSettings {
  const mode = (config.mode ?? 'stream') as FileMode;
  if (!FILE_MODES.includes(mode)) throw new FetchInputError('badMode', { value: String(config.mode).slice(0, 20) });
  const { fileType, quality } = renditionSettings(config);
  const flags: Record<AssetPart, unknown> = {
    iptc: config.includeIptc,
    custom: config.includeCustom,
    galleries: config.includeGalleries,
    path: config.includePath,
  };
  return {
    mode,
    fileType,
    quality,
    include: ASSET_PARTS.filter((p) => strictBool(flags[p], `include${p[0].toUpperCase()}${p.slice(1)}`, false)),
    maxBytes: Math.floor(positiveNumber(config.maxSize, DEFAULT_MAX_BUFFER_MB, 'badMaxSize') * 1024 * 1024),
    tempTtlMs: Math.floor(positiveNumber(config.tempTimeout, DEFAULT_TEMP_TTL_S, 'badTempTimeout') * 1000),
    concurrency: wholeNumber(config.concurrency, DEFAULT_CONCURRENCY, 1, 64, 'badConcurrency'),
    queue: wholeNumber(config.queue, DEFAULT_QUEUE, 0, 100_000, 'badQueue'),
  };
}

/** `original`, `jpeg`, `jpeg 1200` or `jpeg 1920x1080`: the rendition as the status and the label show it. */
export function renditionText(s: Rendition): string {
  return s.quality && s.quality !== 'original' ? `${s.fileType} ${s.quality}` : s.fileType;
}

// ---- the id ----

/** A media id from a value: the string itself, or the `id` of an object (an asset, a media resource). */
export function idOf(value: unknown): unknown {
  if (typeof value === 'string') return value.trim();
  // an object stands for its id (none: no id at all, not a malformed one)
  if (value && typeof value === 'object' && !Array.isArray(value)) return idOf(Object.hasOwn(value, 'id') ? (value as { id: unknown }).id : undefined);
  return value;
}

/**
 * The media id to fetch: the first candidate that holds something, checked against the id formats.
 * Throws `noId` when every candidate is empty and `badId` when the value is not a media id.
 */
export function pickMediaId(candidates: readonly unknown[]): string {
  const found = candidates.map(idOf).find((v) => v !== undefined && v !== null && v !== '');
  if (found === undefined) throw new FetchInputError('noId');
  if (!isId('media', found)) {
    const shown = typeof found === 'string' ? found.slice(0, 40) : typeof found;
    throw new FetchInputError('badId', { value: shown });
  }
  return found;
}

// ---- files ----

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

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : Object.assign(new Error('The fetch was aborted'), { code: 'EABORTED' });
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
    throw abortError(signal);
  }
  const onAbort = (): void => {
    stream.destroy(abortError(signal as AbortSignal));
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
    throw early ?? (opts.signal?.aborted ? abortError(opts.signal) : new Error('The download closed before it was written'));
  }
  const path = join(dir, safeFileName(stream.fileName, opts.fallbackName));
  const out = createWriteStream(path, { flags: 'wx' });
  try {
    await pipeline(stream, out, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw opts.signal?.aborted ? abortError(opts.signal) : e;
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

// ---- bounded work ----

/** More messages arrived than the node may run and hold. */
export class QueueFullError extends Error {
  readonly code = 'EQUEUEFULL';
  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    super(`${running} fetches are running and ${waiting} messages are waiting: the queue is full`);
    this.name = 'QueueFullError';
  }
}

/** At most `concurrency` tasks at once, at most `queue` waiting; beyond that a QueueFullError at once. */
export class WorkLimiter {
  private active = 0;
  private readonly waiting: Array<{ go: () => void; stop: (e: unknown) => void }> = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Rejects every waiting task with `error` (the node is closing). */
  clear(error: unknown): void {
    for (const w of this.waiting.splice(0)) w.stop(error);
  }

  /** Resolves with a release function when a slot is free; rejects when the queue is full or `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = (): (() => void) => {
      this.active++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        this.active--;
        this.waiting.shift()?.go();
      };
    };
    if (this.active < this.concurrency) return Promise.resolve(release());
    if (this.waiting.length >= this.queue) return Promise.reject(new QueueFullError(this.active, this.waiting.length));
    return new Promise((resolve, reject) => {
      const entry = {
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release());
        },
        stop: reject,
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal as AbortSignal));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}

// ---- the temporary file registry ----

/** Node-RED's message hook registry (RED.hooks), as far as the registry uses it. */
export interface MessageHooks {
  add(id: string, fn: (event: { msg?: { _msgid?: string }; destination?: { id: string }; node?: { id: string } }) => void): void;
  remove(id: string): void;
}

export interface TempFileRegistryOptions {
  /** The longest a file may live (default 10 minutes). */
  ttlMs?: number;
  /**
   * Message hooks to follow while files are held (preDeliver, onReceive, onComplete), registered under
   * `hookLabel` (no dots) so that they can be removed. Without them only the time limit removes files.
   */
  hooks?: MessageHooks;
  hookLabel?: string;
  /** Called when the first file is tracked and when the last one is gone (to add or remove message hooks). */
  onActive?: () => void;
  onIdle?: () => void;
  /** A file could not be removed. */
  onError?: (error: unknown, path: string) => void;
}

interface Entry {
  file: TempFile;
  owner: string;
  /** Deliveries routed to a node (by destination) and not received yet. */
  pending: Map<string, number>;
  /** Receipts (by node) not completed yet. */
  holders: Map<string, number>;
  ownDone: boolean;
  timer: NodeJS.Timeout;
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** Decrements when present; false when the key held nothing. */
function dec(m: Map<string, number>, k: string): boolean {
  const n = m.get(k) ?? 0;
  if (n === 0) return false;
  if (n === 1) m.delete(k);
  else m.set(k, n - 1);
  return true;
}

/**
 * Temporary files keyed by the message that carries them. A file is removed when the message is done:
 * every delivery of it after it was sent (routed, `delivered`; or handed over directly, `received`) has
 * been completed (`completed`). Completions of nodes that never received it after it was sent (a parallel
 * branch upstream) are ignored. A timer removes the file in any case after `ttlMs`, for messages that are
 * held, dropped, or pass through nodes that never report completion. `close()` removes everything.
 */
export class TempFileRegistry {
  private readonly entries = new Map<string, Entry[]>();
  private readonly removals = new Set<Promise<void>>();
  private readonly ttlMs: number;
  private closed = false;

  constructor(private readonly opts: TempFileRegistryOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TEMP_TTL_S * 1000;
  }

  /** Files currently held. */
  get size(): number {
    let n = 0;
    for (const list of this.entries.values()) n += list.length;
    return n;
  }

  /** Starts tracking a file for message `key`, sent by node `owner` (call before sending). */
  track(key: string, file: TempFile, owner: string): void {
    if (this.closed) {
      this.remove(file);
      return;
    }
    if (this.entries.size === 0) this.watch(true);
    const entry: Entry = {
      file,
      owner,
      pending: new Map(),
      holders: new Map(),
      ownDone: false,
      timer: setTimeout(() => this.drop(key, entry), this.ttlMs),
    };
    entry.timer.unref();
    const list = this.entries.get(key);
    if (list) list.push(entry);
    else this.entries.set(key, [entry]);
  }

  /** The message was routed to node `dest`. */
  delivered(key: string, dest: string): void {
    for (const e of this.entries.get(key) ?? []) inc(e.pending, dest);
  }

  /** Node `dest` received the message (routed, or handed over directly as link and catch nodes do). */
  received(key: string, dest: string): void {
    for (const e of this.entries.get(key) ?? []) {
      dec(e.pending, dest);
      inc(e.holders, dest);
    }
  }

  /** Node `node` is done with the message. */
  completed(key: string, node: string): void {
    for (const e of [...(this.entries.get(key) ?? [])]) {
      if (!dec(e.holders, node)) {
        // the sender's own completion tells that nothing was routed when nothing is pending
        if (e.owner !== node || e.ownDone) continue;
        e.ownDone = true;
      }
      if (e.pending.size === 0 && e.holders.size === 0) this.drop(key, e);
    }
  }

  /** Removes the files of message `key` now. */
  release(key: string): void {
    for (const e of [...(this.entries.get(key) ?? [])]) this.drop(key, e);
  }

  /** Removes every file and waits until they are gone; later files are removed at once. */
  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.entries.keys()]) this.release(key);
    await Promise.all([...this.removals]);
  }

  private drop(key: string, entry: Entry): void {
    const list = this.entries.get(key);
    const i = list ? list.indexOf(entry) : -1;
    if (!list || i === -1) return;
    clearTimeout(entry.timer);
    list.splice(i, 1);
    if (list.length === 0) this.entries.delete(key);
    this.remove(entry.file);
    if (this.entries.size === 0) this.watch(false);
  }

  /** Hooks are only registered while files are held: they cost every message of the runtime a call. */
  private watch(on: boolean): void {
    const { hooks, hookLabel: label } = this.opts;
    if (hooks && label) {
      hooks.remove(`*.${label}`);
      if (on) {
        hooks.add(`preDeliver.${label}`, (e) => void (e.msg?._msgid && e.destination && this.delivered(e.msg._msgid, e.destination.id)));
        hooks.add(`onReceive.${label}`, (e) => void (e.msg?._msgid && e.destination && this.received(e.msg._msgid, e.destination.id)));
        hooks.add(`onComplete.${label}`, (e) => void (e.msg?._msgid && e.node && this.completed(e.msg._msgid, e.node.id)));
      }
    }
    if (on) this.opts.onActive?.();
    else this.opts.onIdle?.();
  }

  private remove(file: TempFile): void {
    const p = rm(file.dir, { recursive: true, force: true })
      .catch((e: unknown) => this.opts.onError?.(e, file.path))
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }
}

/**
 * The delivery ledger: what was delivered where, in which version, durable across crashes and restarts.
 *
 * `DeliveryLedger` is the seam: the deliverer looks a delivery up, claims it (an intent, before the upload),
 * records it done (after the upload and its sidecar), removed or refused, and lists records for audits.
 * `FileLedger` implements it with one append-only JSON-lines file per destination node; a shared store
 * (PostgreSQL, for several Node-RED processes) implements the same methods, its intent being a claim that
 * the other processes see.
 *
 * A record (one line of the file; format 2):
 *
 *   {"t":"intent","d":"<target>","a":"<asset id>","v":"<versionKey>","l":"<location>","m":"<modified_at>","f":{…},"at":"<iso>"}
 *   {"t":"done",…,"b":<bytes>,"h":"<sha256>","r":<response summary>[,"c":"<iso>"]}
 *   {"t":"removed",…}
 *   {"t":"refused",…}   the destination refused before writing (overwrite policy "fail")
 *   {"t":"failed",…,"e":{"code":"…","message":"…"}}   the upload failed after its intent
 *
 * `d` is the destination's real target (kind and resolved base: folder, host, port and base path, endpoint
 * and bucket, URL origin; see registry.ts `destinationTarget`), so that a destination pointed somewhere
 * else delivers again. `m` is the asset's `modified_at` and `f` the evidence of the file version (embedded
 * metadata) the record was made or last checked with; both optional. A done record that a later check
 * found still current is written again with the new `m`/`f`, its `at` (the delivery's time) kept and the
 * check's time in `c`. Records written before format 2 have
 * no `d`: on open they are attributed to the target the ledger is opened for, and the compaction on open
 * writes them back with it.
 *
 * Guarantees: a record is on disk (written and fdatasync'd) before the promise of the call that made it
 * resolves, so an intent precedes the upload it guards and a done record is durable before the message
 * goes on. Appends that arrive while a sync runs are written and synced together with one sync (group
 * commit). A crash between intent and done leaves the intent: the next attempt delivers again to the same,
 * deterministically derived location (an overwrite of the same bytes), never a second copy. A torn last
 * line is ignored. `exclusive` runs one delivery per target, asset and location at a time in this process.
 * A `failed` record stands for its intent (the next attempt completes it at the same location) and tells
 * audits why the last attempt failed.
 *
 * Bounded: the file is compacted to its live records (the last per target, asset and location) on open and
 * whenever it has doubled since the last compaction; `removed` records older than the retention are dropped
 * then. A compaction writes aside, syncs, renames over the old file and syncs the folder: a crash at any
 * point leaves either the old file or the new one whole.
 */
import { CoreError } from '../errors';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../../photoshelter/crashpoint';

export type LedgerState = 'intent' | 'done' | 'removed' | 'refused' | 'failed';

/** Evidence of a file version beyond the version key (from the file's embedded metadata). */
export interface FileEvidence {
  /** XMP `InstanceID`: changes with every saved version of the file. */
  instance?: string;
  /** The file's own modification date (XMP or EXIF `ModifyDate`). */
  modify?: string;
}

export interface LedgerKey {
  /** The destination's target identity (kind and resolved base). */
  target: string;
  /** Asset id. */
  asset: string;
  /** Location at the destination. */
  location: string;
}

/** What a record says about the version of the asset it was made for. */
export interface VersionStamp {
  /** The asset's versionKey. */
  v: string;
  /** The asset's modified_at when the record was made or last checked. */
  m?: string;
  f?: FileEvidence;
}

export interface DeliveryResult {
  /** Bytes delivered. */
  b: number;
  /** sha256 of the bytes. */
  h?: string;
  /** What an HTTP destination answered, kept so that a later remove can use e.g. the new media id. */
  r?: unknown;
}

/** Why a delivery failed, as a `failed` record keeps it (no secret: the deliverer's own error text). */
export interface DeliveryFailure {
  code?: string;
  message: string;
}

export interface LedgerRecord extends VersionStamp, Partial<DeliveryResult> {
  t: LedgerState;
  /** Target (see LedgerKey). */
  d: string;
  /** Asset id. */
  a: string;
  /** Location. */
  l: string;
  at: string;
  /** When a delivered version was last checked to be still current (done records made by `checked`). */
  c?: string;
  /** Failed records: what went wrong. */
  e?: DeliveryFailure;
}

/** How `exclusive` meets a delivery that another process (a worker sharing the ledger) is running. */
export interface ExclusiveOptions {
  /** How long to wait for the other's claim to end (ms, default 0: not at all). */
  waitMs?: number;
  signal?: AbortSignal;
}

/** Another process holds a live claim on the delivery, and it did not end within the wait. */
export class ClaimedError extends CoreError {
  constructor(
    /** Who holds the claim (a worker's name), when known. */
    readonly holder?: string,
  ) {
    super('ECLAIMED', `Another worker${holder ? ` (${holder})` : ''} is delivering this file`);
  }
}

/** The claim of a delivery was lost (its lease ran out and another worker took it over) before it was recorded. */
export class LeaseLostError extends CoreError {
  constructor() {
    super('ELEASELOST', 'The claim on this delivery ran out and another worker took it over before it was recorded; that worker delivers it');
  }
}

export interface DeliveryLedger {
  /** The last record for an asset at a location of a target. */
  lookup(key: LedgerKey): Promise<LedgerRecord | undefined>;
  /**
   * Runs `fn` alone for this key: a second delivery of the same asset to the same place waits for the
   * first, then sees its record (and is skipped) instead of uploading in parallel. A store shared by
   * several processes claims the key for them all (a lease); a claim held by another process is waited
   * for up to `opts.waitMs`, then the call rejects with ClaimedError.
   */
  exclusive<T>(key: LedgerKey, fn: () => Promise<T>, opts?: ExclusiveOptions): Promise<T>;
  /** Claims the delivery of this version: durable before it resolves, and before the upload starts. */
  intent(key: LedgerKey, version: VersionStamp): Promise<void>;
  /** The version is at the location. */
  done(key: LedgerKey, version: VersionStamp, result: DeliveryResult): Promise<void>;
  /**
   * The version that `delivered` records is still the asset's current one, checked for the stamp given (a
   * newer modified_at, evidence read now): the record is kept, with the new stamp, its delivery time and
   * the time of the check (`c`).
   */
  checked(key: LedgerKey, version: VersionStamp, delivered: LedgerRecord): Promise<void>;
  removed(key: LedgerKey, version: VersionStamp): Promise<void>;
  /**
   * The destination refused the upload before writing anything: the claim is void. `previous`, a record
   * that was there before the claim (not an intent), is put back; otherwise a `refused` record is written.
   */
  refused(key: LedgerKey, version: VersionStamp, previous?: LedgerRecord): Promise<void>;
  /**
   * The upload of the version claimed by `intent` failed: the record keeps the claim's meaning (the next
   * attempt completes the delivery at the same location) and says why, for audits.
   */
  failed(key: LedgerKey, version: VersionStamp, failure: DeliveryFailure): Promise<void>;
  /** The live records (the last one per target, asset and location), for audits. */
  records(): AsyncIterable<LedgerRecord>;
  /**
   * The live records of one asset at one target, at every location it was delivered to (or removed from):
   * the earlier places of an asset whose location changed (another region, another file name).
   */
  placesOf(target: string, asset: string): Promise<LedgerRecord[]>;
  /**
   * What was delivered: each asset with at least one place whose latest record is `done`, with those
   * places (at one target, or at every target the ledger holds). Read-only: a rights sweep starts here.
   */
  deliveredAssets(opts?: DeliveredOptions): AsyncIterable<DeliveredAsset>;
  close(): Promise<void>;
}

export interface DeliveredOptions {
  /** Only places at this target (default: every target of the ledger). */
  target?: string;
}

/** One place where a version of an asset is now (a done record), as a listing of deliveries shows it. */
export interface DeliveredPlace {
  target: string;
  location: string;
  /** The version key delivered. */
  version: string;
  /** When it was delivered. */
  at: string;
  bytes?: number;
}

/** An asset and the places it was delivered to (see `deliveredAssets`). */
export interface DeliveredAsset {
  asset: string;
  places: DeliveredPlace[];
}

/** The place a done record stands for. */
export function placeOf(r: LedgerRecord): DeliveredPlace {
  const p: DeliveredPlace = { target: r.d, location: r.l, version: r.v, at: r.at };
  if (typeof r.b === 'number') p.bytes = r.b;
  return p;
}

export interface FileLedgerOptions {
  /** The target that records written before format 2 (without `d`) are attributed to. */
  target?: string;
  /** How long `removed` records are kept (ms, default 90 days); 0 drops them at the next compaction. */
  removedRetentionMs?: number;
  /** Appends waiting while a sync runs share the next sync (default true; false: one sync per record). */
  groupCommit?: boolean;
  /** The file is compacted when it has grown to twice its size after the last compaction, and at least this (default 64 KiB). */
  minCompactBytes?: number;
  /** Clock for retention (tests). */
  now?: () => number;
}

export const DEFAULT_REMOVED_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;
const STATES: readonly string[] = ['intent', 'done', 'removed', 'refused', 'failed'];

const keyOf = (target: string, asset: string, location: string): string => `${target}\u0000${asset}\u0000${location}`;
const assetKeyOf = (target: string, asset: string): string => `${target}\u0000${asset}`;

interface Pending {
  record: LedgerRecord;
  line: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A failure as records keep it: a code and a message of bounded length. */
export function failureOf(f: DeliveryFailure): DeliveryFailure {
  const out: DeliveryFailure = { message: String(f.message ?? '').slice(0, 500) };
  if (typeof f.code === 'string' && f.code) out.code = f.code.slice(0, 40);
  return out;
}

/** A record read from a line, or undefined when the line is not one (torn by a crash, or foreign). */
function parseLine(line: string, target: string): LedgerRecord | undefined {
  let r: Partial<LedgerRecord> | null;
  try {
    r = JSON.parse(line) as Partial<LedgerRecord> | null;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || typeof r.a !== 'string' || typeof r.l !== 'string' || !STATES.includes(r.t as string)) return undefined;
  if (typeof r.v !== 'string') r.v = '';
  // format 1 had no target: the records are this destination's, as it is configured now
  if (typeof r.d !== 'string') r.d = target;
  if (typeof r.at !== 'string') r.at = '';
  return r as LedgerRecord;
}

export class FileLedger implements DeliveryLedger {
  private readonly map = new Map<string, LedgerRecord>();
  /** The keys of the live records of each asset at each target (placesOf without a scan). */
  private readonly places = new Map<string, Set<string>>();
  private handle: FileHandle | undefined;
  private closed = false;
  private readonly busy = new Map<string, Promise<void>>();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Bytes in the file now, and right after the last compaction. */
  private bytes = 0;
  private compactedBytes = 0;
  /** A write failed part-way: the next batch starts on a new line, so the torn one stays alone. */
  private tornTail = false;
  private readonly target: string;
  private readonly retentionMs: number;
  private readonly groupCommit: boolean;
  private readonly minCompactBytes: number;
  private readonly now: () => number;
  /** Counters (benchmarks, tests): syncs of appended records, compactions, ms spent appending and syncing records. */
  readonly stats = { syncs: 0, records: 0, compactions: 0, syncMs: 0 };
  /** The last compaction that failed (the ledger goes on with the uncompacted file). */
  compactionError: Error | undefined;

  private constructor(
    readonly file: string,
    opts: FileLedgerOptions,
  ) {
    this.target = opts.target ?? '';
    this.retentionMs = opts.removedRetentionMs ?? DEFAULT_REMOVED_RETENTION_DAYS * DAY_MS;
    this.groupCommit = opts.groupCommit !== false;
    this.minCompactBytes = opts.minCompactBytes ?? 64 * 1024;
    this.now = opts.now ?? Date.now;
  }

  /** Opens (creating folders and file as needed), loads and compacts the ledger at `file`. */
  static async open(file: string, opts: FileLedgerOptions = {}): Promise<FileLedger> {
    const ledger = new FileLedger(file, opts);
    await mkdir(dirname(file), { recursive: true });
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const r = parseLine(line, ledger.target);
      if (r) ledger.put(r);
    }
    await ledger.compact();
    return ledger;
  }

  async lookup(key: LedgerKey): Promise<LedgerRecord | undefined> {
    return this.map.get(keyOf(key.target, key.asset, key.location));
  }

  async placesOf(target: string, asset: string): Promise<LedgerRecord[]> {
    const keys = this.places.get(assetKeyOf(target, asset));
    return keys ? [...keys].map((k) => this.map.get(k) as LedgerRecord) : [];
  }

  async *deliveredAssets(opts: DeliveredOptions = {}): AsyncIterable<DeliveredAsset> {
    // from the index by target and asset: no scan of the file, and one pass over the live records' keys
    const byAsset = new Map<string, DeliveredPlace[]>();
    for (const keys of this.places.values()) {
      for (const k of keys) {
        const r = this.map.get(k);
        if (!r || r.t !== 'done' || (opts.target !== undefined && r.d !== opts.target)) continue;
        let list = byAsset.get(r.a);
        if (!list) byAsset.set(r.a, (list = []));
        list.push(placeOf(r));
      }
    }
    for (const asset of [...byAsset.keys()].sort()) {
      const places = (byAsset.get(asset) as DeliveredPlace[]).sort((x, y) => (x.target === y.target ? (x.location < y.location ? -1 : 1) : x.target < y.target ? -1 : 1));
      yield { asset, places };
    }
  }

  /**
   * Takes over records of another ledger file (a destination's own file when it joins a named ledger): each
   * record whose key this ledger does not hold is appended as it was (its time kept). Resolves with how many.
   */
  async adopt(records: Iterable<LedgerRecord>): Promise<number> {
    const fresh = [...records].filter((r) => !this.map.has(keyOf(r.d, r.a, r.l)));
    if (this.closed) throw new Error(`The delivery ledger ${this.file} is closed`);
    await Promise.all(
      fresh.map(
        (record) =>
          new Promise<void>((resolve, reject) => {
            this.queue.push({ record, line: JSON.stringify(record) + '\n', resolve, reject });
            this.kick();
          }),
      ),
    );
    return fresh.length;
  }

  /** The live record of its key, indexed by asset. */
  private put(r: LedgerRecord): void {
    const k = keyOf(r.d, r.a, r.l);
    this.map.set(k, r);
    const ak = assetKeyOf(r.d, r.a);
    let keys = this.places.get(ak);
    if (!keys) this.places.set(ak, (keys = new Set()));
    keys.add(k);
  }

  private drop(k: string, r: LedgerRecord): void {
    this.map.delete(k);
    const ak = assetKeyOf(r.d, r.a);
    const keys = this.places.get(ak);
    keys?.delete(k);
    if (keys?.size === 0) this.places.delete(ak);
  }

  /** The same as lookup, without a promise (tests, tools). */
  get(key: LedgerKey): LedgerRecord | undefined {
    return this.map.get(keyOf(key.target, key.asset, key.location));
  }

  async exclusive<T>(key: LedgerKey, fn: () => Promise<T>, _opts?: ExclusiveOptions): Promise<T> {
    const k = keyOf(key.target, key.asset, key.location);
    while (this.busy.has(k)) await this.busy.get(k);
    const run = fn();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(k, settled);
    try {
      return await run;
    } finally {
      this.busy.delete(k);
    }
  }

  intent(key: LedgerKey, version: VersionStamp): Promise<void> {
    return this.append('intent', key, version);
  }

  done(key: LedgerKey, version: VersionStamp, result: DeliveryResult): Promise<void> {
    return this.append('done', key, version, result);
  }

  checked(key: LedgerKey, version: VersionStamp, delivered: LedgerRecord): Promise<void> {
    const { b, h, r } = delivered;
    return this.append('done', key, version, { b: b ?? 0, h, r }, { at: delivered.at, c: new Date(this.now()).toISOString() });
  }

  removed(key: LedgerKey, version: VersionStamp): Promise<void> {
    return this.append('removed', key, version);
  }

  refused(key: LedgerKey, version: VersionStamp, previous?: LedgerRecord): Promise<void> {
    if (previous && previous.t !== 'intent') {
      const { t, b, h, r } = previous;
      return this.append(t, key, { v: previous.v, m: previous.m, f: previous.f }, t === 'done' ? { b: b ?? 0, h, r } : undefined);
    }
    return this.append('refused', key, version);
  }

  failed(key: LedgerKey, version: VersionStamp, failure: DeliveryFailure): Promise<void> {
    return this.append('failed', key, version, undefined, undefined, failure);
  }

  async *records(): AsyncIterable<LedgerRecord> {
    for (const r of [...this.map.values()]) yield r;
  }

  /** Live records. */
  get size(): number {
    return this.map.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  private append(t: LedgerState, key: LedgerKey, version: VersionStamp, result?: DeliveryResult, times?: { at: string; c: string }, failure?: DeliveryFailure): Promise<void> {
    const record: LedgerRecord = { t, d: key.target, a: key.asset, v: version.v, l: key.location, at: times?.at || new Date(this.now()).toISOString() };
    if (version.m) record.m = version.m;
    if (version.f && (version.f.instance || version.f.modify)) record.f = version.f;
    if (result) {
      record.b = result.b;
      if (result.h) record.h = result.h;
      if (result.r !== undefined) record.r = result.r;
    }
    if (times) record.c = times.c;
    if (failure) record.e = failureOf(failure);
    if (this.closed) return Promise.reject(new Error(`The delivery ledger ${this.file} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, line: JSON.stringify(record) + '\n', resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.queue.length) this.kick();
    });
  }

  /** Writes what is queued, one batch per sync, until nothing is left. */
  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.groupCommit ? this.queue.splice(0) : this.queue.splice(0, 1);
      const text = (this.tornTail ? '\n' : '') + batch.map((p) => p.line).join('');
      try {
        this.handle ??= await open(this.file, 'a');
        const t0 = performance.now();
        await this.handle.appendFile(text);
        await this.handle.datasync();
        this.stats.syncMs += performance.now() - t0;
      } catch (e) {
        this.tornTail = true;
        for (const p of batch) p.reject(e);
        continue;
      }
      this.tornTail = false;
      this.bytes += Buffer.byteLength(text);
      this.stats.syncs++;
      this.stats.records += batch.length;
      // visible to lookups only once on disk
      for (const p of batch) this.put(p.record);
      for (const p of batch) p.resolve();
      if (this.bytes >= 2 * Math.max(this.compactedBytes, this.minCompactBytes)) {
        try {
          await this.compact();
        } catch (e) {
          // the old file is whole and still appended to; the next growth tries again
          this.compactionError = e as Error;
          this.compactedBytes = this.bytes;
        }
      }
    }
  }

  /** Rewrites the file with the live records only: aside, synced, renamed over it, the folder synced. */
  private async compact(): Promise<void> {
    const cutoff = this.now() - this.retentionMs;
    for (const [k, r] of this.map) {
      if (r.t === 'removed' && !(Date.parse(r.at) > cutoff)) this.drop(k, r);
    }
    const tmp = `${this.file}.compact`;
    const h = await open(tmp, 'w');
    let written = 0;
    try {
      let chunk: string[] = [];
      let size = 0;
      for (const r of this.map.values()) {
        const line = JSON.stringify(r) + '\n';
        chunk.push(line);
        size += line.length;
        if (size >= 1 << 20) {
          const text = chunk.join('');
          await h.appendFile(text);
          written += Buffer.byteLength(text);
          chunk = [];
          size = 0;
        }
      }
      const text = chunk.join('');
      await h.appendFile(text);
      written += Buffer.byteLength(text);
      await h.sync();
    } finally {
      await h.close();
    }
    crashPoint('compact');
    await rename(tmp, this.file);
    await syncFolder(dirname(this.file));
    const old = this.handle;
    this.handle = undefined;
    await old?.close().catch(() => undefined);
    this.handle = await open(this.file, 'a');
    this.bytes = this.compactedBytes = written;
    this.tornTail = false;
    this.stats.compactions++;
  }
}

/** Makes a rename durable: fsync of the folder (where the platform allows opening one). */
async function syncFolder(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, 'r');
    await h.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Windows cannot open or sync a folder; there the rename is as durable as the platform makes it
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EINVAL') throw e;
  } finally {
    await h?.close().catch(() => undefined);
  }
}

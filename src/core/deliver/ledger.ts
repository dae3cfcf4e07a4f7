/**
 * The delivery ledger: what was delivered where, durable across crashes and restarts. One append-only
 * JSON-lines file per destination; each line is one record, fsync'd before the step it guards goes on.
 *
 *   {"t":"intent","a":"<asset id>","v":"<versionKey>","l":"<location>","at":"<iso>"}
 *   {"t":"done","a":…,"v":…,"l":…,"b":<bytes>,"h":"<sha256>","r":<response summary>,"at":…}
 *   {"t":"removed","a":…,"v":…,"l":…,"at":…}
 *   {"t":"refused","a":…,"v":…,"l":…,"at":…}   the destination refused before writing (policy "fail")
 *
 * An `intent` is written before an upload starts and `done` after it (and its sidecar) succeeded, so a
 * crash in between leaves an intent: the next attempt delivers again to the same, deterministically
 * derived location (an overwrite of the same bytes), never a second copy. On open the file is folded into
 * a map (the last record per asset and location wins) and rewritten compacted; a torn last line is ignored.
 */
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export type LedgerState = 'intent' | 'done' | 'removed' | 'refused';

export interface LedgerRecord {
  t: LedgerState;
  /** Asset id. */
  a: string;
  /** The asset's versionKey. */
  v: string;
  /** Location at the destination. */
  l: string;
  /** Bytes delivered (done). */
  b?: number;
  /** sha256 of the bytes (done). */
  h?: string;
  /** What an HTTP destination answered (done), kept so that a later remove can use e.g. the new media id. */
  r?: unknown;
  at: string;
}

const keyOf = (asset: string, location: string): string => `${asset}\u0000${location}`;

export class Ledger {
  private readonly map = new Map<string, LedgerRecord>();
  private handle: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly busy = new Map<string, Promise<void>>();

  private constructor(readonly file: string) {}

  /** Opens (creating folders and file as needed), loads and compacts the ledger at `file`. */
  static async open(file: string): Promise<Ledger> {
    const ledger = new Ledger(file);
    await mkdir(dirname(file), { recursive: true });
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as LedgerRecord;
        if (r && typeof r.a === 'string' && typeof r.l === 'string' && typeof r.t === 'string') ledger.map.set(keyOf(r.a, r.l), r);
      } catch {
        // a line torn by a crash: the step it guarded is treated as not done
      }
    }
    // compact: one line per key, written aside and renamed over the old file
    const tmp = `${file}.compact`;
    const h = await open(tmp, 'w');
    try {
      const lines = [...ledger.map.values()].map((r) => JSON.stringify(r) + '\n').join('');
      await h.writeFile(lines);
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, file);
    ledger.handle = await open(file, 'a');
    return ledger;
  }

  /** The last record for an asset at a location. */
  get(asset: string, location: string): LedgerRecord | undefined {
    return this.map.get(keyOf(asset, location));
  }

  /**
   * Runs `fn` alone for this asset and location: a second delivery of the same asset to the same place
   * waits for the first, then sees its record (and is skipped) instead of uploading in parallel.
   */
  async exclusive<T>(asset: string, location: string, fn: () => Promise<T>): Promise<T> {
    const key = keyOf(asset, location);
    while (this.busy.has(key)) await this.busy.get(key);
    const run = fn();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(key, settled);
    try {
      return await run;
    } finally {
      this.busy.delete(key);
    }
  }

  /** True when this version of the asset was delivered to this location (and not removed since). */
  isDone(asset: string, version: string, location: string): boolean {
    const r = this.get(asset, location);
    return r?.t === 'done' && r.v === version;
  }

  get size(): number {
    return this.map.size;
  }

  /** Appends a record and waits until it is on disk. */
  append(record: Omit<LedgerRecord, 'at'> & { at?: string }): Promise<void> {
    const r: LedgerRecord = { ...record, at: record.at ?? new Date().toISOString() };
    const step = this.chain.then(async () => {
      if (this.closed || !this.handle) throw new Error(`The delivery ledger ${this.file} is closed`);
      await this.handle.write(JSON.stringify(r) + '\n');
      await this.handle.datasync();
      this.map.set(keyOf(r.a, r.l), r);
    });
    this.chain = step.catch(() => undefined);
    return step;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.handle?.close();
    this.handle = undefined;
  }
}

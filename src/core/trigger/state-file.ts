/**
 * What a trigger remembers, in a file of its own: its position (or its walk) and the window of events the
 * flow has not finished. Node-RED's context store is no place for it: its file store writes to disk every
 * `flushInterval` (30 s by default), so a crash forgets what the trigger saved since, and a walk started a
 * moment before the crash was never started at all.
 *
 * One file per trigger node (JSON, mode 0600, in a folder of mode 0700), written atomically: a temporary
 * file beside it, synced, renamed over the old one, the folder synced; a crash leaves the old file or the
 * new one, never a mix. A save resolves once its content is on disk. Saves are grouped: while one write is
 * under way, every save that follows waits for the next write, which carries the latest content of all of
 * them (one fsync for many saves, never one per asset).
 *
 * A file that cannot be read or is not one this version wrote is an error (TriggerStateError), never
 * "nothing stored": that would start the trigger afresh and skip every change since its last position.
 * State kept by earlier versions in the context store is read once, when there is no file yet, and
 * written to the file at once.
 */
import { readFile, rm } from 'node:fs/promises';
import { crashPoint } from '../../photoshelter/crashpoint';
import { writeFileDurably } from '../durable-file';
import type { SavedWindow, WindowStore } from './reissue';
import { TriggerStateError, type StateStore, type TriggerState } from './state';

/** The file's content. */
export interface StateDocument<W = unknown> {
  v: 1;
  /** Positions, an approval rule's memory, a walk. */
  state?: TriggerState;
  /** Events handed on and not finished yet (poll modes). */
  window?: SavedWindow<W>;
}

/** Where state kept by an earlier version is (the node's context store); read once, when there is no file. */
export interface LegacyState {
  read(): Promise<{ state?: unknown; window?: unknown }>;
  /** Called once its content is in the file: removes it, so that it is never read again. */
  forget(): Promise<void>;
}

export class TriggerStateFile<W = unknown> {
  private doc?: StateDocument<W>;
  private loading?: Promise<StateDocument<W>>;
  /** The write that is under way, and the one waiting for it (it carries every save made meanwhile). */
  private writing?: Promise<void>;
  private queued?: Promise<void>;
  /** Writes done (tests, benchmarks). */
  writes = 0;

  constructor(
    readonly path: string,
    private readonly legacy?: LegacyState,
  ) {}

  /** The trigger's state (StateStore of state.ts). */
  readonly state: StateStore = {
    load: async () => (await this.load()).state,
    save: async (s: TriggerState) => {
      (await this.load()).state = s;
      await this.write();
    },
  };

  /** The window of unfinished events (WindowStore of reissue.ts). */
  readonly window: WindowStore<W> = {
    load: async () => (await this.load()).window,
    save: async (w: SavedWindow<W>) => {
      (await this.load()).window = w;
      await this.write();
    },
  };

  /** Reads the file once (a failed read is tried again on the next call: the user may have fixed it). */
  load(): Promise<StateDocument<W>> {
    if (this.doc) return Promise.resolve(this.doc);
    this.loading ??= this.read().then(
      (d) => {
        this.doc = d;
        this.loading = undefined;
        return d;
      },
      (e: unknown) => {
        this.loading = undefined;
        throw e;
      },
    );
    return this.loading;
  }

  /** Resolves once every save made so far is on disk. */
  async flush(): Promise<void> {
    await (this.queued ?? this.writing);
  }

  private async read(): Promise<StateDocument<W>> {
    // a temporary file is what a crash before its rename left: the file itself is whole
    await rm(`${this.path}.tmp`, { force: true });
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.damaged(`it cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return this.carryOver();
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw this.damaged(text.trim() ? 'it is not JSON' : 'it is empty');
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw this.damaged('it holds no object');
    const d = raw as Partial<StateDocument<W>>;
    if (d.v !== 1) throw this.damaged(`format ${JSON.stringify(d.v)?.slice(0, 20) ?? 'missing'}, this version reads format 1`);
    if (d.state !== undefined && (!d.state || typeof d.state !== 'object')) throw this.damaged('its state is no object');
    if (d.window !== undefined && (!d.window || typeof d.window !== 'object' || !Array.isArray(d.window.items))) throw this.damaged('its window is no list of events');
    return { v: 1, state: d.state, window: d.window };
  }

  /** No file yet: what an earlier version kept in the context store, written to the file at once. */
  private async carryOver(): Promise<StateDocument<W>> {
    const old = await this.legacy?.read();
    const doc: StateDocument<W> = { v: 1 };
    if (old?.state !== undefined && old.state !== null) doc.state = old.state as TriggerState;
    if (old?.window !== undefined && old.window !== null) doc.window = old.window as SavedWindow<W>;
    if (doc.state || doc.window) {
      this.doc = doc;
      await this.write();
      await this.legacy?.forget();
    }
    return doc;
  }

  private damaged(detail: string): TriggerStateError {
    return new TriggerStateError(detail, this.path);
  }

  /** A write of the latest content, after the one under way (saves meanwhile share it). */
  private write(): Promise<void> {
    if (this.queued) return this.queued;
    const before = this.writing;
    const self: { p?: Promise<void> } = {};
    const next = (async () => {
      await before?.catch(() => undefined);
      // from here on, a save waits for the write after this one
      this.queued = undefined;
      this.writing = self.p;
      try {
        await this.writeNow(JSON.stringify(this.doc ?? { v: 1 }));
      } finally {
        if (this.writing === self.p) this.writing = undefined;
      }
    })();
    self.p = next;
    this.queued = next;
    return next;
  }

  private async writeNow(text: string): Promise<void> {
    await writeFileDurably(this.path, text, { tmp: `${this.path}.tmp`, beforeRename: () => crashPoint('state') });
    this.writes++;
  }
}

/**
 * Polling turned into events, with nothing missed and nothing doubled.
 *
 * A poll reads only what changed since the stored position (one request when nothing did), turns it
 * into events, and returns them with the state that follows. The caller emits the events, then
 * commits: the position advances only for work that was handed on, so a crash repeats at most the last
 * poll and a clean restart repeats nothing.
 */
import { changeKey, type ChangeScope, type PhotoShelterClient } from '../../photoshelter';
import { parseApiDate } from '../../photoshelter/dates';
import type { Asset, RawResource } from '../asset';
import { ahead, assetFromMedia, PathCache, type AssetPart } from '../load';
import { GONE, scopeKeyOf, type PollMode, type PollRun } from './modes/mode';
import { pollModeOf } from './modes';
import { checkScopes } from './scopes';
import type { ApprovalRule } from './rules';
import { asState, type Position, type StateStore, type TriggerState } from './state';

/** The name of a poll mode (modes/index.ts lists them). */
export type TriggerMode = string;

export interface ContainerScope {
  kind: 'gallery' | 'collection';
  id: string;
}

export type StartFrom = { from: 'now' } | { from: 'beginning' } | { from: 'date'; date: string };

export interface PollerOptions {
  mode: TriggerMode;
  /** Approved mode: also report an asset that stays approved when its file or its metadata changes. */
  approvedChanges?: boolean;
  /** Empty: the whole library (not for `added`). */
  scopes: ContainerScope[];
  rule?: ApprovalRule;
  start: StartFrom;
  /** Events per poll at most; the rest follow on the next poll. */
  maxEvents: number;
  /** Parts of each asset to read for the event. */
  include: AssetPart[];
  timeZone: string;
  /** The server's current time (epoch ms). */
  now: () => number;
  /** Called before each poll: learn the server's time when it is not known yet. */
  syncClock?: () => Promise<void>;
  /** Changes younger than this are left to the next poll, so late writes are not skipped (default 2 s). */
  settleMs?: number;
}

export interface TriggerEvent {
  topic: 'created' | 'updated' | 'approved' | 'added';
  asset: Asset;
  event: {
    type: TriggerEvent['topic'];
    /** When it happened, by PhotoShelter's clock (modified_at, or added_at for `added`). */
    at: string | null;
    detectedAt: string;
    scope: string;
    galleryId?: string;
    rule?: string;
    value?: unknown;
    previous?: unknown;
    previousKnown?: boolean;
    /** Approved mode with `approvedChanges`: an asset that stays approved changed (its file, its metadata). */
    changed?: Array<'file' | 'metadata'>;
  };
}

export interface PollResult {
  events: TriggerEvent[];
  /** More changes are waiting (maxEvents reached): poll again soon. */
  more: boolean;
  /** Records looked at (changes read, not only events). */
  examined: number;
  next: TriggerState;
}

export type TriggerClient = Pick<
  PhotoShelterClient,
  'changes' | 'galleryChildren' | 'collectionChildren' | 'path' | 'getIptc' | 'getCustomMetadata' | 'getMediaGalleries' | 'gallery' | 'collection'
>;

const BEGINNING = Date.UTC(1990, 0, 1);
/** Assets whose parts are read ahead of the one being handled. */
const READ_AHEAD = 8;

const iso = (ms: number): string => new Date(ms).toISOString();
const SECOND = 1000;

async function unlessGone<T>(p: Promise<T>): Promise<T | typeof GONE> {
  try {
    return await p;
  } catch (e) {
    // only the medium's own calls: a 404 elsewhere (a gallery's path) is an error to report, not a deletion
    const err = e as { code?: unknown; path?: unknown };
    if (err?.code === 'ENOTFOUND' && typeof err.path === 'string' && err.path.startsWith('/media/')) return GONE;
    throw e;
  }
}

/** The time of a `seen` key (`id@modified_at`), NaN when unreadable. */
function keyTime(key: string): number {
  const at = key.indexOf('@');
  return at < 0 ? NaN : (parseApiDate(key.slice(at + 1))?.epochMs ?? NaN);
}
/** What a stored state was made under (mode, scopes, and the mode's own part: a rule); another one starts afresh. */
export function configKeyOf(o: Pick<PollerOptions, 'mode' | 'scopes' | 'rule'>): string {
  const scopes = o.scopes.map(scopeKeyOf).sort().join(',');
  return JSON.stringify([o.mode, scopes, pollModeOf(o.mode)?.key?.(o as PollerOptions) ?? '']);
}

export class TriggerPoller {
  private state?: TriggerState;
  private readonly configKey: string;
  private readonly settleMs: number;
  private readonly mode: PollMode;
  /** The watched galleries and collections exist (checked by the first poll of each start, scopes.ts). */
  private scopesChecked = false;

  constructor(
    private readonly client: TriggerClient,
    private readonly o: PollerOptions,
    private readonly store: StateStore,
  ) {
    const mode = pollModeOf(o.mode);
    if (!mode) throw new Error(`Unknown mode "${String(o.mode).slice(0, 20)}"`);
    mode.check(o);
    this.mode = mode;
    this.configKey = configKeyOf(o);
    this.settleMs = o.settleMs ?? 2000;
  }

  /** True until a trigger that records what already is (approved, started "now") has done so. */
  async needsBaseline(): Promise<boolean> {
    // the state is read in any case: one that cannot be read fails here, before a poll
    const state = await this.current();
    return this.mode.needsBaseline?.(this.o, state) ?? false;
  }

  private startMs(): number {
    const s = this.o.start;
    if (s.from === 'beginning') return BEGINNING;
    if (s.from === 'date') {
      const d = parseApiDate(s.date, this.o.timeZone);
      if (!d) throw new Error(`The start date "${s.date}" is not a date`);
      return d.epochMs;
    }
    return this.o.now();
  }

  private async current(): Promise<TriggerState> {
    if (!this.state) {
      this.state = asState(await this.store.load(), this.configKey) ?? { v: 1, configKey: this.configKey, positions: {} };
    }
    return this.state;
  }

  /** Save the state a poll returned, once its events have been handed on. */
  async commit(result: PollResult): Promise<void> {
    await this.store.save(result.next);
    this.state = result.next;
  }

  /** One poll; `limit` lowers maxEvents for this poll (room left in a window of unacknowledged events). */
  async poll(signal?: AbortSignal, limit?: number): Promise<PollResult> {
    await this.o.syncClock?.();
    if (!this.scopesChecked) {
      await checkScopes(this.client, this.o.scopes, signal);
      this.scopesChecked = true;
    }
    const base = await this.current();
    const next: TriggerState = structuredClone(base);
    const o = limit !== undefined && limit < this.o.maxEvents ? { ...this.o, maxEvents: Math.max(1, limit) } : this.o;
    const run = new Run(this.client, o, this.mode, next, { settleMs: this.settleMs, startMs: () => this.startMs() }, signal);
    await this.mode.poll(run, await this.needsBaseline());
    return { events: run.events, more: run.more, examined: run.examined, next };
  }
}

/** One poll's work on a copy of the state: what every mode shares (see modes/mode.ts). */
class Run implements PollRun {
  readonly events: TriggerEvent[] = [];
  more = false;
  examined = 0;
  readonly detectedAt = new Date().toISOString();
  readonly emitted = new Set<string>();
  private readonly paths = new PathCache();
  private readonly include: AssetPart[];

  constructor(
    readonly client: TriggerClient,
    readonly o: PollerOptions,
    mode: PollMode,
    readonly state: TriggerState,
    private readonly timing: { settleMs: number; startMs: () => number },
    readonly signal?: AbortSignal,
  ) {
    this.include = [...new Set([...o.include, ...(mode.needs?.(o) ?? [])])];
  }

  full(): boolean {
    return this.events.length >= this.o.maxEvents;
  }

  /** A listed medium as an asset with the parts wanted; gallery paths are read once per poll. */
  private read(media: RawResource): Promise<Asset | typeof GONE> {
    return unlessGone(assetFromMedia(this.client, media, { include: this.include, timeZone: this.o.timeZone, signal: this.signal, paths: this.paths }));
  }

  assets<T>(items: Iterable<T> | AsyncIterable<T>, media: (item: T) => RawResource): AsyncGenerator<{ item: T; value: Asset | typeof GONE }> {
    return ahead(items, (item) => this.read(media(item)), READ_AHEAD);
  }

  async scanChanges(baseline: boolean, each: (asset: Asset, scope: string, sinceMs: number) => void): Promise<void> {
    const { settleMs, startMs } = this.timing;
    const now = this.o.now();
    const until = Math.floor((now - settleMs) / 1000) * 1000;
    // The baseline ("start from now") reads up to now: what matches then was approved before the start,
    // edits of the last seconds included. The position stays at `until` (late writes are read again), and
    // the versions read beyond it are skipped by the next poll instead of being taken for new approvals.
    // PhotoShelter's clock is known to the second (Date headers), so "now" reaches a second further.
    const scanUntil = baseline ? (Math.ceil(now / 1000) + 1) * 1000 : until;
    const scopes: Array<ContainerScope | undefined> = this.o.scopes.length ? this.o.scopes : [undefined];
    for (const scope of scopes) {
      const key = scopeKeyOf(scope);
      const pos: Position = this.state.positions[key] ?? { at: iso(Math.floor((baseline ? BEGINNING : Math.min(startMs(), until)) / SECOND) * SECOND), seen: [] };
      // Everything before `at` was handled, and the records in `seen` at `at`. Positions are whole seconds;
      // those stored by earlier versions may carry milliseconds: the feed then starts at their second and the
      // records of that second before `at` are skipped as handled.
      const atMs = Date.parse(pos.at);
      const since = Math.floor(atMs / SECOND) * SECOND;
      if (this.full()) {
        this.more = true;
        break;
      }
      if (!(since < scanUntil)) {
        this.state.positions[key] = pos;
        continue;
      }
      const skip = new Set(pos.seen);
      const feed = this.client.changes({ since, until: scanUntil, scope: scope as ChangeScope | undefined, signal: this.signal });
      const handledBefore = (k: string, rec: { modifiedAt: number }): boolean => skip.has(k) || rec.modifiedAt < atMs;
      let at = pos.at;
      let boundary = pos.seen.slice();
      let stopped = false;
      const beyond: string[] = [];
      const reads = ahead(feed, async (rec) => (handledBefore(changeKey(rec.media), rec) ? undefined : this.read(rec.media as RawResource)), READ_AHEAD);
      for await (const { item: rec, value: asset } of reads) {
        const k = changeKey(rec.media);
        if (asset !== undefined && asset !== GONE) {
          if (!(rec.modifiedAt < until)) beyond.push(k);
          if (!baseline && this.full()) {
            stopped = true;
            break;
          }
          this.examined++;
          each(asset, key, atMs);
        }
        // handled now or before: the position moves past it (its second, with the keys handled in it)
        if (rec.position !== at) {
          at = rec.position;
          boundary = [];
        }
        boundary.push(k);
      }
      if (stopped) {
        this.state.positions[key] = { at, seen: boundary };
        this.more = true;
      } else {
        // keys of records at or after `until` stay (a baseline reads beyond it), the rest are behind us
        const later = new Set([...(baseline ? beyond : []), ...pos.seen.filter((k) => keyTime(k) >= until)]);
        this.state.positions[key] = { at: iso(until), seen: [...later] };
      }
    }
  }
}

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
import { describeRule, evaluateRule, ruleKey, ruleNeeds, type ApprovalRule } from './rules';
import { asState, type Position, type StateStore, type TriggerState } from './state';

export type TriggerMode = 'changed' | 'approved' | 'added';

export interface ContainerScope {
  kind: 'gallery' | 'collection';
  id: string;
}

export type StartFrom = { from: 'now' } | { from: 'beginning' } | { from: 'date'; date: string };

export interface PollerOptions {
  mode: TriggerMode;
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

type TriggerClient = Pick<
  PhotoShelterClient,
  'changes' | 'galleryChildren' | 'collectionChildren' | 'path' | 'getIptc' | 'getCustomMetadata' | 'getMediaGalleries'
>;

const BEGINNING = Date.UTC(1990, 0, 1);
const RECENT_MAX = 5000;
const GALLERY_REFRESH_POLLS = 10;
const LIBRARY = '*';
/** Assets whose parts are read ahead of the one being handled. */
const READ_AHEAD = 8;
/** Gallery children read per page by the added mode (its quiet poll is one page). */
const ADDED_PER_PAGE = 50;

const iso = (ms: number): string => new Date(ms).toISOString();
const SECOND = 1000;

/** A medium deleted between the listing and the reading of its parts: nothing to report, handled. */
const GONE = Symbol('gone');

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
const scopeKeyOf = (s?: ContainerScope): string => (s ? `${s.kind}:${s.id}` : LIBRARY);

export function configKeyOf(o: Pick<PollerOptions, 'mode' | 'scopes' | 'rule'>): string {
  const scopes = o.scopes.map(scopeKeyOf).sort().join(',');
  return JSON.stringify([o.mode, scopes, o.mode === 'approved' && o.rule ? ruleKey(o.rule) : '']);
}

export class TriggerPoller {
  private state?: TriggerState;
  private readonly configKey: string;
  private readonly settleMs: number;

  constructor(
    private readonly client: TriggerClient,
    private readonly o: PollerOptions,
    private readonly store: StateStore,
  ) {
    if (o.mode === 'approved' && !o.rule) throw new Error('The approved mode needs a rule');
    if (o.mode === 'added' && o.scopes.length === 0) throw new Error('The added mode needs at least one gallery or collection');
    this.configKey = configKeyOf(o);
    this.settleMs = o.settleMs ?? 2000;
  }

  /** True until an approval trigger started "now" has recorded which assets already match. */
  async needsBaseline(): Promise<boolean> {
    const s = await this.current();
    return this.o.mode === 'approved' && this.o.start.from === 'now' && !s.baselineDone;
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
    const base = await this.current();
    const next: TriggerState = structuredClone(base);
    const o = limit !== undefined && limit < this.o.maxEvents ? { ...this.o, maxEvents: Math.max(1, limit) } : this.o;
    const run = new PollRun(this.client, o, next, signal);
    if (this.o.mode === 'added') await run.added();
    else await run.changes(this.settleMs, this.startMs.bind(this), await this.needsBaseline());
    return { events: run.events, more: run.more, examined: run.examined, next };
  }
}

/** One poll's work on a copy of the state. */
class PollRun {
  readonly events: TriggerEvent[] = [];
  more = false;
  examined = 0;
  private readonly detectedAt = new Date().toISOString();
  private readonly emittedKeys = new Set<string>();
  private readonly paths = new PathCache();

  constructor(
    private readonly client: TriggerClient,
    private readonly o: PollerOptions,
    private readonly state: TriggerState,
    private readonly signal?: AbortSignal,
  ) {}

  private get include(): AssetPart[] {
    const parts = new Set(this.o.include);
    const need = this.o.rule && this.o.mode === 'approved' ? ruleNeeds(this.o.rule) : undefined;
    if (need) parts.add(need);
    return [...parts];
  }

  private asset(media: RawResource): Promise<Asset> {
    return assetFromMedia(this.client, media, { include: this.include, timeZone: this.o.timeZone, signal: this.signal, paths: this.paths });
  }

  private full(): boolean {
    return this.events.length >= this.o.maxEvents;
  }

  async changes(settleMs: number, startMs: () => number, baseline: boolean): Promise<void> {
    const now = this.o.now();
    const until = Math.floor((now - settleMs) / 1000) * 1000;
    // The baseline ("start from now") reads up to now: what matches then was approved before the start,
    // edits of the last seconds included. The position stays at `until` (late writes are read again), and
    // the versions read beyond it are skipped by the next poll instead of being taken for new approvals.
    // PhotoShelter's clock is known to the second (Date headers), so "now" reaches a second further.
    const scanUntil = baseline ? (Math.ceil(now / 1000) + 1) * 1000 : until;
    const scopes: Array<ContainerScope | undefined> = this.o.scopes.length ? this.o.scopes : [undefined];
    const matching = new Set(this.state.matching ?? []);
    const recent = new Map(this.state.recent ?? []);
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
      const reads = ahead(feed, async (rec) => (handledBefore(changeKey(rec.media), rec) ? undefined : unlessGone(this.asset(rec.media as RawResource))), READ_AHEAD);
      for await (const { item: rec, value: asset } of reads) {
        const k = changeKey(rec.media);
        if (asset !== undefined && asset !== GONE) {
          if (!(rec.modifiedAt < until)) beyond.push(k);
          if (!baseline && this.full()) {
            stopped = true;
            break;
          }
          this.examined++;
          if (this.o.mode === 'approved') this.approval(asset, key, matching, recent, baseline);
          else this.change(asset, key, atMs);
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
    if (this.o.mode === 'approved') {
      this.state.matching = [...matching].sort();
      this.state.recent = [...recent].slice(-RECENT_MAX);
      if (baseline) this.state.baselineDone = true;
    }
  }

  private change(asset: Asset, scope: string, sinceMs: number): void {
    const k = `${asset.id}@${asset.metadataKey}`;
    if (this.emittedKeys.has(k)) return;
    this.emittedKeys.add(k);
    const created = asset.createdAt ? Date.parse(asset.createdAt) >= sinceMs : false;
    const topic = created ? 'created' : 'updated';
    this.events.push({ topic, asset, event: { type: topic, at: asset.modifiedAt, detectedAt: this.detectedAt, scope } });
  }

  private approval(asset: Asset, scope: string, matching: Set<string>, recent: Map<string, unknown>, baseline: boolean): void {
    const rule = this.o.rule as ApprovalRule;
    const r = evaluateRule(rule, asset);
    const was = matching.has(asset.id);
    const previousKnown = recent.has(asset.id);
    const previous = recent.get(asset.id) ?? null;
    if (r.matches && !was && !baseline && !this.emittedKeys.has(asset.id)) {
      this.emittedKeys.add(asset.id);
      this.events.push({
        topic: 'approved',
        asset,
        event: { type: 'approved', at: asset.modifiedAt, detectedAt: this.detectedAt, scope, rule: describeRule(rule), value: r.value, previous, previousKnown },
      });
    }
    if (r.matches) matching.add(asset.id);
    else matching.delete(asset.id);
    recent.delete(asset.id);
    recent.set(asset.id, r.value);
  }

  /** Galleries of the chosen scopes; collections are expanded (and re-read every few polls). */
  private async galleries(): Promise<string[]> {
    const direct = this.o.scopes.filter((s) => s.kind === 'gallery').map((s) => s.id);
    const collections = this.o.scopes.filter((s) => s.kind === 'collection').map((s) => s.id);
    if (!collections.length) return direct;
    const cached = this.state.galleries;
    if (cached && cached.pollsSinceRefresh < GALLERY_REFRESH_POLLS) {
      cached.pollsSinceRefresh++;
      return cached.ids;
    }
    const found = new Set(direct);
    const queue = [...collections];
    const visited = new Set<string>();
    while (queue.length) {
      const c = queue.shift() as string;
      if (visited.has(c)) continue;
      visited.add(c);
      for await (const child of this.client.collectionChildren(c, { signal: this.signal })) {
        if (child.type === 'gallery') found.add(child.id);
        else queue.push(child.id);
      }
    }
    this.state.galleries = { ids: [...found], pollsSinceRefresh: 0, refreshedAt: iso(this.o.now()) };
    return this.state.galleries.ids;
  }

  /**
   * Media added to a gallery at or after `since` (not in `skip`), oldest first by (added_at, id). The listing
   * is asked newest first [draft] and read only until it passes `since`, a page at a time; when the answer
   * turns out not to be in that order (a sort the server ignores), the whole gallery is read instead.
   */
  private async addedSince(gid: string, since: number, skip: Set<string>): Promise<Array<{ media: RawResource; added: number; raw: string }>> {
    const found: Array<{ media: RawResource; added: number; raw: string; id: string }> = [];
    let ordered = true;
    let prev = Infinity;
    let reachedOlder = false;
    let n = 0;
    const listing = this.client.galleryChildren(gid, { sortBy: 'added_at', sortDirection: 'descending', perPage: ADDED_PER_PAGE, prefetch: false, signal: this.signal });
    for await (const m of listing) {
      n++;
      const raw = String(m.attributes?.added_at ?? '');
      const added = parseApiDate(raw, this.o.timeZone)?.epochMs ?? -Infinity;
      if (added > prev) ordered = false;
      prev = added;
      if (added < since) reachedOlder = true;
      else if (!skip.has(`${m.id}@${raw}`)) found.push({ media: m as RawResource, added, raw, id: m.id });
      // in order, a page that reached older media ends the search (at a page boundary: the rest of the page
      // is checked for order too)
      if (ordered && reachedOlder && n % ADDED_PER_PAGE === 0) break;
    }
    found.sort((a, b) => a.added - b.added || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return found;
  }

  async added(): Promise<void> {
    const fresh = iso(this.o.now());
    const start = this.o.start.from === 'now' ? fresh : this.o.start.from === 'beginning' ? iso(BEGINNING) : undefined;
    const startAt = start ?? iso(parseApiDate((this.o.start as { date: string }).date, this.o.timeZone)?.epochMs ?? BEGINNING);
    const firstPoll = Object.keys(this.state.positions).length === 0;
    const previousRefresh = this.state.galleries?.refreshedAt;
    for (const gid of await this.galleries()) {
      const key = `gallery:${gid}`;
      // a gallery that appears later under a chosen collection counts from the refresh before it was seen
      const pos: Position = this.state.positions[key] ?? { at: firstPoll ? startAt : previousRefresh ?? fresh, seen: [] };
      if (this.full()) {
        this.more = true;
        this.state.positions[key] = pos;
        continue;
      }
      const since = Date.parse(pos.at);
      const skip = new Set(pos.seen);
      const found = await this.addedSince(gid, since, skip);
      let at = pos.at;
      let boundary = pos.seen.slice();
      const reads = ahead(found, (f) => unlessGone(this.asset(f.media)), READ_AHEAD);
      for await (const { item: f, value: asset } of reads) {
        if (this.full()) {
          this.more = true;
          break;
        }
        this.examined++;
        if (asset !== GONE) this.events.push({
          topic: 'added',
          asset,
          event: { type: 'added', at: parseApiDate(f.raw, this.o.timeZone)?.iso ?? null, detectedAt: this.detectedAt, scope: key, galleryId: gid },
        });
        const fAt = iso(f.added);
        if (fAt !== at) {
          at = fAt;
          boundary = [];
        }
        boundary.push(`${f.media.id}@${f.raw}`);
      }
      this.state.positions[key] = { at, seen: boundary };
    }
  }
}

import { throwIfAborted } from './clock';
import { apiDateMs, MODIFY_WINDOW_PAD_MS } from './endpoints';
import { ValidationError } from './errors';
import type { EventHub } from './events';
import { pages, type FetchedPage } from './paging';
import type { MediaResource } from './types';

export type ChangeScope =
  | { kind: 'org'; id: string }
  | { kind: 'owner'; id: string }
  | { kind: 'gallery'; id: string }
  | { kind: 'collection'; id: string };

export type TimeInput = Date | string | number;

/** One page of a window's query: the window widened by the pad on each side (whole seconds). */
export interface ChangeWindowQuery {
  /** Start of the query (sent as modify_start), epoch ms on a whole second. */
  start: number;
  /** End of the query (sent as modify_end), epoch ms on a whole second. */
  end: number;
  page: number;
  perPage: number;
}

export type ChangeFetcher = (q: ChangeWindowQuery, signal: AbortSignal) => Promise<FetchedPage<MediaResource>>;

export interface ChangeFeedOptions {
  /** Inclusive start, epoch ms (taken down to its second). */
  since: number;
  /** Exclusive end, epoch ms (taken down to its second). */
  until: number;
  perPage: number;
  /** No query pages deeper than this; deeper windows are split in halves (default 20). */
  maxPages: number;
  /** Smallest window (at least, and rounded to, whole seconds); a window this short is paged however deep it is. */
  minSliceMs: number;
  /** How far each query reaches past its window on either side (default MODIFY_WINDOW_PAD_MS). */
  padMs?: number;
  signal?: AbortSignal;
}

export interface ChangeRecord {
  media: MediaResource;
  /** modified_at as epoch ms (NaN when unreadable). */
  modifiedAt: number;
  windowStart: string;
  windowEnd: string;
  /**
   * Where to resume once this record is handled: the whole second of its modified_at (ISO 8601 UTC).
   * Inclusive: resuming re-reads the records of that second, never skips one; a caller that keeps the keys
   * (id@modified_at) of the records it handled in that second skips exactly those.
   */
  position: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const SECOND = 1000;
/** Reads of one window at most when its answer looks incomplete or moves while it is paged. */
const MAX_READS = 3;

export function toEpochMs(t: TimeInput, what: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : apiDateMs(t);
  if (!Number.isFinite(ms)) throw new ValidationError(`${what} ${JSON.stringify(String(t))} is not a date`);
  return ms;
}

/** The key of one version of a medium: its id and modified_at as sent. */
export function changeKey(media: Pick<MediaResource, 'id' | 'attributes'>): string {
  return `${media.id}@${String(media.attributes?.modified_at)}`;
}

/** Splits [start, end) (whole seconds) on the whole second nearest its middle; undefined for a one-second window. */
export function splitPoint(start: number, end: number): number | undefined {
  const mid = Math.floor((start + Math.floor((end - start) / 2)) / SECOND) * SECOND;
  return mid > start && mid < end ? mid : undefined;
}

interface Slice {
  start: number;
  end: number;
}

type WindowRead = { split: true } | { split: false; items: MediaResource[] };

/**
 * Media changed in [since, until), from time-sliced GET /media queries, in whole seconds.
 *
 * The feed does not rely on the order the server returns items in, nor on the server honouring a sort:
 * each window is read whole (a window whose total is deeper than maxPages pages is split in halves until it
 * fits, or is one second long), ordered here by (modified_at, id), and only then yielded. Each query
 * reaches `padMs` past its window on both sides, so the window is covered however the server treats the
 * bounds; a record whose modified_at (as read here) lies outside the window is left to the neighbouring
 * window, so each version of a medium is yielded once. A read whose total moves while it is paged, or that
 * returns fewer distinct records than its total, is read again.
 *
 * `position` tells how far the feed got; persist it (or each record's `position`) to resume.
 */
export class ChangeFeed implements AsyncIterable<ChangeRecord> {
  private pos: number;
  private readonly since: number;
  private readonly until: number;
  private readonly pad: number;
  private readonly minSlice: number;

  constructor(
    private readonly fetch: ChangeFetcher,
    private readonly o: ChangeFeedOptions,
    private readonly events: EventHub,
  ) {
    this.since = Math.floor(o.since / SECOND) * SECOND;
    this.until = Math.floor(o.until / SECOND) * SECOND;
    if (this.until < this.since) throw new ValidationError(`The change window ends (${iso(o.until)}) before it starts (${iso(o.since)})`);
    this.pad = Math.max(0, Math.ceil((o.padMs ?? MODIFY_WINDOW_PAD_MS) / SECOND) * SECOND);
    this.minSlice = Math.max(SECOND, Math.ceil(o.minSliceMs / SECOND) * SECOND);
    this.pos = this.since;
  }

  /** The end of the last completed window (ISO 8601 UTC); everything before it has been yielded. */
  get position(): string {
    return iso(this.pos);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChangeRecord, void, undefined> {
    const stack: Slice[] = [{ start: this.since, end: this.until }];
    // records whose modified_at cannot be read belong to no window: yielded once, by the first that returns them
    const unreadable = new Set<string>();
    while (stack.length > 0) {
      throwIfAborted(this.o.signal);
      const w = stack.pop() as Slice;
      if (w.start >= w.end) continue;
      const read = await this.readWindow(w);
      if (read.split) {
        const mid = splitPoint(w.start, w.end) as number;
        stack.push({ start: mid, end: w.end }, { start: w.start, end: mid });
        continue;
      }
      const windowStart = iso(w.start);
      const windowEnd = iso(w.end);
      const inside: Array<{ media: MediaResource; modifiedAt: number; key: string }> = [];
      for (const media of read.items) {
        const modifiedAt = apiDateMs(media.attributes?.modified_at);
        const key = changeKey(media);
        if (Number.isFinite(modifiedAt)) {
          if (modifiedAt < w.start || modifiedAt >= w.end) continue;
        } else {
          if (unreadable.has(key)) continue;
          if (unreadable.size === 0) {
            this.events.fire('warning', { code: 'UNREADABLE_DATE', message: `${media.id} has a modified_at that cannot be read (${JSON.stringify(String(media.attributes?.modified_at)).slice(0, 60)}); it is passed on once` });
          }
          unreadable.add(key);
        }
        inside.push({ media, modifiedAt, key });
      }
      inside.sort(byTimeThenId);
      for (const r of inside) {
        const at = Number.isFinite(r.modifiedAt) ? Math.floor(r.modifiedAt / SECOND) * SECOND : w.start;
        yield { media: r.media, modifiedAt: r.modifiedAt, windowStart, windowEnd, position: iso(at) };
      }
      this.pos = w.end;
      this.events.fire('window', { start: windowStart, end: windowEnd, total: inside.length, action: 'done' });
    }
    this.pos = this.until;
  }

  /** Every record the window's query answers (pad included), distinct by version; or: split this window. */
  private async readWindow(w: Slice): Promise<WindowRead> {
    const limit = this.o.maxPages * this.o.perPage;
    const q = { start: w.start - this.pad, end: w.end + this.pad };
    const desc = { start: iso(w.start), end: iso(w.end) };
    const splittable = w.end - w.start > this.minSlice && splitPoint(w.start, w.end) !== undefined;
    const found = new Map<string, MediaResource>();
    let warnedDeep = false;
    for (let attempt = 1; ; attempt++) {
      const ac = new AbortController();
      const signal = this.o.signal ? AbortSignal.any([this.o.signal, ac.signal]) : ac.signal;
      let moved = false;
      let deep = false;
      const distinct = new Set<string>();
      let total: number | undefined;
      try {
        const first = await this.fetch({ ...q, page: 1, perPage: this.o.perPage }, signal);
        total = first.paging?.total;
        if (total !== undefined && total > limit) {
          if (splittable) {
            this.events.fire('window', { ...desc, total, action: 'split' });
            return { split: true };
          }
          if (!warnedDeep) {
            this.events.fire('warning', {
              code: 'DEEP_WINDOW',
              message: `${total} media changed between ${desc.start} and ${desc.end} (with a second either side), more than ${limit} (${this.o.maxPages} pages); paging it anyway`,
            });
            warnedDeep = true;
          }
        }
        this.events.fire('window', { ...desc, total: total ?? first.items.length, action: attempt === 1 ? 'page' : 'reread' });
        const fetcher = (page: number, perPage: number, s: AbortSignal): Promise<FetchedPage<MediaResource>> =>
          page === 1 ? Promise.resolve(first) : this.fetch({ ...q, page, perPage }, s);
        for await (const page of pages(fetcher, { perPage: this.o.perPage, signal: this.o.signal })) {
          if (total === undefined && page.page === this.o.maxPages + 1 && !warnedDeep) {
            this.events.fire('warning', {
              code: 'DEEP_WINDOW',
              message: `The changes between ${desc.start} and ${desc.end} go deeper than ${this.o.maxPages} pages and the answer has no total to split by; paging on`,
            });
            warnedDeep = true;
          }
          if (total !== undefined && page.total !== undefined && page.total !== total) {
            // something changed under our feet (an edit moved a record out of the window): read it again
            moved = true;
            break;
          }
          if (page.page > 1) deep = true;
          for (const media of page.items) {
            const key = changeKey(media);
            distinct.add(key);
            if (!found.has(key)) found.set(key, media);
          }
        }
      } finally {
        ac.abort();
      }
      // A total the distinct records do not reach means the pages shifted while they were read (an order
      // that is not stable from one request to the next): a record may have been skipped.
      const complete = !moved && (total === undefined || distinct.size >= total);
      if (complete) return { split: false, items: [...found.values()] };
      if (attempt >= MAX_READS) {
        if (!moved && deep && splittable) {
          this.events.fire('window', { ...desc, total: total ?? distinct.size, action: 'split' });
          return { split: true };
        }
        this.events.fire('warning', {
          code: 'INCOMPLETE_WINDOW',
          message: `The changes between ${desc.start} and ${desc.end} were read ${attempt} times and came to ${distinct.size} of the ${total} announced; going on with the ${found.size} found`,
        });
        return { split: false, items: [...found.values()] };
      }
    }
  }
}

function byTimeThenId(a: { modifiedAt: number; media: MediaResource; key: string }, b: { modifiedAt: number; media: MediaResource; key: string }): number {
  const ta = Number.isFinite(a.modifiedAt) ? a.modifiedAt : -Infinity;
  const tb = Number.isFinite(b.modifiedAt) ? b.modifiedAt : -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.media.id !== b.media.id) return a.media.id < b.media.id ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

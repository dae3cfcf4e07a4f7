import { throwIfAborted } from './clock';
import { apiDateMs } from './endpoints';
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

export interface ChangeWindowQuery {
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  page: number;
  perPage: number;
}

export type ChangeFetcher = (q: ChangeWindowQuery, signal: AbortSignal) => Promise<FetchedPage<MediaResource>>;

export interface ChangeFeedOptions {
  since: number;
  until: number;
  perPage: number;
  /** No query pages deeper than this; deeper windows are split in halves (default 20). */
  maxPages: number;
  /** Smallest window; a window this short is paged however deep it is (default 1000 ms). */
  minSliceMs: number;
  signal?: AbortSignal;
}

export interface ChangeRecord {
  media: MediaResource;
  /** modified_at as epoch ms (NaN when unreadable). */
  modifiedAt: number;
  windowStart: string;
  windowEnd: string;
  /**
   * Where to resume once this record is handled (ISO 8601 UTC). Inclusive: resuming re-reads records
   * modified at exactly this instant, never skips one.
   */
  position: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function toEpochMs(t: TimeInput, what: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : apiDateMs(t);
  if (!Number.isFinite(ms)) throw new ValidationError(`${what} ${JSON.stringify(String(t))} is not a date`);
  return ms;
}

/** Splits [start, end) near its middle, on a whole second when the window is at least 2 s long. */
export function splitPoint(start: number, end: number): number {
  const mid = start + Math.floor((end - start) / 2);
  if (end - start >= 2000) {
    const aligned = Math.floor(mid / 1000) * 1000;
    if (aligned > start && aligned < end) return aligned;
  }
  return mid;
}

/**
 * Media changed in [since, until), oldest first, from time-sliced GET /media queries: a window whose total
 * is deeper than maxPages pages is split in halves until it fits (or reaches minSliceMs, then it is paged
 * anyway with a 'warning' event). `position` tells how far the feed got; persist it to resume.
 */
export class ChangeFeed implements AsyncIterable<ChangeRecord> {
  private pos: number;

  constructor(
    private readonly fetch: ChangeFetcher,
    private readonly o: ChangeFeedOptions,
    private readonly events: EventHub,
  ) {
    if (o.until < o.since) throw new ValidationError(`The change window ends (${iso(o.until)}) before it starts (${iso(o.since)})`);
    this.pos = o.since;
  }

  /** The end of the last completed window (ISO 8601 UTC); everything before it has been yielded. */
  get position(): string {
    return iso(this.pos);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChangeRecord, void, undefined> {
    const limit = this.o.maxPages * this.o.perPage;
    interface Slice {
      start: number;
      end: number;
      restarts: number;
      seen?: Set<string>;
    }
    const stack: Slice[] = [{ start: this.o.since, end: this.o.until, restarts: 0 }];
    while (stack.length > 0) {
      throwIfAborted(this.o.signal);
      const w = stack.pop() as Slice;
      if (w.start >= w.end) continue;
      const ac = new AbortController();
      const signal = this.o.signal ? AbortSignal.any([this.o.signal, ac.signal]) : ac.signal;
      const first = await this.fetch({ start: w.start, end: w.end, page: 1, perPage: this.o.perPage }, signal);
      const total = first.paging?.total;
      const windowDesc = { start: iso(w.start), end: iso(w.end), total: total ?? first.items.length };
      if (total !== undefined && total > limit) {
        if (w.end - w.start > this.o.minSliceMs) {
          const mid = splitPoint(w.start, w.end);
          stack.push({ start: mid, end: w.end, restarts: 0 }, { start: w.start, end: mid, restarts: 0 });
          this.events.fire('window', { ...windowDesc, action: 'split' });
          continue;
        }
        this.events.fire('warning', {
          code: 'DEEP_WINDOW',
          message: `${total} media changed between ${windowDesc.start} and ${windowDesc.end}, more than ${limit} (${this.o.maxPages} pages); paging it anyway`,
        });
      }
      this.events.fire('window', { ...windowDesc, action: 'page' });

      // page the window, re-reading it when its total moves under our feet (an item that changes again
      // leaves the window and shifts the later pages)
      const seen = w.seen ?? new Set<string>();
      let restart = false;
      const fetcher = (page: number, perPage: number, s: AbortSignal): Promise<FetchedPage<MediaResource>> =>
        page === 1 ? Promise.resolve(first) : this.fetch({ start: w.start, end: w.end, page, perPage }, s);
      const it = pages(fetcher, { perPage: this.o.perPage, signal: this.o.signal });
      try {
        for await (const page of it) {
          if (total === undefined && page.page === this.o.maxPages + 1) {
            this.events.fire('warning', {
              code: 'DEEP_WINDOW',
              message: `The changes between ${windowDesc.start} and ${windowDesc.end} go deeper than ${this.o.maxPages} pages and the answer has no total to split by; paging on`,
            });
          }
          if (total !== undefined && page.total !== undefined && page.total !== total && w.restarts < 3) {
            restart = true;
            break;
          }
          for (let i = 0; i < page.items.length; i++) {
            const media = page.items[i];
            const modifiedAt = apiDateMs(media.attributes?.modified_at);
            const key = `${media.id}@${String(media.attributes?.modified_at)}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const lastOfWindow = page.last && i === page.items.length - 1;
            const position = lastOfWindow
              ? w.end
              : Number.isFinite(modifiedAt)
                ? Math.min(w.end, Math.max(w.start, Math.floor(modifiedAt)))
                : w.start;
            yield { media, modifiedAt, windowStart: windowDesc.start, windowEnd: windowDesc.end, position: iso(position) };
          }
        }
      } finally {
        ac.abort();
      }
      if (restart) {
        stack.push({ ...w, restarts: w.restarts + 1, seen });
        // the records already yielded stay yielded; the re-read skips nothing and may repeat some
        continue;
      }
      this.pos = w.end;
      this.events.fire('window', { ...windowDesc, action: 'done' });
    }
    this.pos = this.o.until;
  }
}

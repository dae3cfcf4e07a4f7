import { abortReason } from './clock';
import { MAX_PER_PAGE } from './endpoints';
import { AbortError } from './errors';

export interface PagingMeta {
  total?: number;
  page?: number;
  next?: string | null;
  last?: string | null;
}

export interface Page<T> {
  items: T[];
  page: number;
  perPage: number;
  total?: number;
  /** True when the answer says nothing follows (or the page was short). */
  last: boolean;
}

export interface FetchedPage<T> {
  items: T[];
  paging?: PagingMeta;
}

export type PageFetcher<T> = (page: number, perPage: number, signal: AbortSignal) => Promise<FetchedPage<T>>;

export interface PagingOptions {
  perPage?: number;
  /** First page to read (1-based, default 1). */
  startPage?: number;
  /** Stop after this many pages. */
  maxPages?: number;
  signal?: AbortSignal;
  /** Read the next page while the current one is consumed (default true). */
  prefetch?: boolean;
}

export function clampPerPage(perPage: number | undefined, fallback: number): number {
  const n = Math.floor(perPage ?? fallback);
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(n, MAX_PER_PAGE);
}

/** Whether a page is the last one: paging total reached, `next` absent/null, or a short page. */
export function isLastPage(page: number, perPage: number, count: number, paging?: PagingMeta): boolean {
  if (count < perPage) return true;
  if (!paging) return false;
  // a total is authoritative; without one, a missing or null `next` link marks the end
  if (typeof paging.total === 'number' && Number.isFinite(paging.total)) return page * perPage >= paging.total;
  return !paging.next;
}

/**
 * Pages of a list, with at most one page read ahead. When the consumer stops early (break / return()),
 * the read-ahead request is aborted.
 */
export async function* pages<T>(fetch: PageFetcher<T>, opts: PagingOptions = {}): AsyncGenerator<Page<T>, void, undefined> {
  const perPage = clampPerPage(opts.perPage, MAX_PER_PAGE);
  const prefetch = opts.prefetch !== false;
  let pageNo = Math.max(1, Math.floor(opts.startPage ?? 1));
  const endPage = opts.maxPages !== undefined ? pageNo + opts.maxPages - 1 : Infinity;

  interface Pending {
    ac: AbortController;
    promise: Promise<FetchedPage<T>>;
  }
  const start = (n: number): Pending => {
    const ac = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
    const promise = fetch(n, perPage, signal);
    promise.catch(() => undefined); // observed later, or dropped when the consumer leaves
    return { ac, promise };
  };

  let current: Pending | undefined = start(pageNo);
  try {
    while (current) {
      const res: FetchedPage<T> = await current.promise;
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      const last: boolean = pageNo >= endPage || isLastPage(pageNo, perPage, res.items.length, res.paging);
      current = undefined;
      const next: Pending | undefined = !last && prefetch ? start(pageNo + 1) : undefined;
      const page: Page<T> = { items: res.items, page: pageNo, perPage, total: res.paging?.total, last };
      current = next;
      yield page;
      if (last) return;
      pageNo++;
      if (!current) current = start(pageNo);
    }
  } finally {
    current?.ac.abort(new AbortError('The consumer stopped reading pages'));
  }
}

/** Items of every page, in order, with the same read-ahead. */
export async function* items<T>(fetch: PageFetcher<T>, opts: PagingOptions = {}): AsyncGenerator<T, void, undefined> {
  for await (const page of pages(fetch, opts)) {
    for (const item of page.items) yield item;
  }
}

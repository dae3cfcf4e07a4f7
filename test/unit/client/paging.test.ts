import assert from 'node:assert/strict';
import { isLastPage, items, pages, type FetchedPage } from '../../../src/photoshelter/paging';
import { collect, deferred, handleSessionAuth, json, media, mediaId, sessionClient, startServer, type TestServer } from './helpers';
import type { PhotoShelterClient } from '../../../src/photoshelter';

/** A fetcher over `total` numbers that records calls and aborts. */
function numbers(total: number, withMeta: 'total' | 'next' | 'none' = 'total') {
  const log: string[] = [];
  const signals: AbortSignal[] = [];
  const fetch = async (page: number, perPage: number, signal: AbortSignal): Promise<FetchedPage<number>> => {
    log.push(`fetch ${page}`);
    signals[page] = signal;
    await new Promise<void>((r) => setImmediate(r));
    if (signal.aborted) throw new Error('aborted');
    const start = (page - 1) * perPage;
    const list = Array.from({ length: Math.max(0, Math.min(perPage, total - start)) }, (_x, i) => start + i);
    const paging =
      withMeta === 'total' ? { total, page } : withMeta === 'next' ? { page, next: start + perPage < total ? `/x?page=${page + 1}` : null } : undefined;
    return { items: list, paging };
  };
  return { fetch, log, signals };
}

describe('client/paging', () => {
  it('decides the last page from total, next and short pages', () => {
    assert.equal(isLastPage(1, 10, 10, { total: 25 }), false);
    assert.equal(isLastPage(3, 10, 5, { total: 25 }), true);
    assert.equal(isLastPage(2, 10, 10, { total: 20 }), true);
    assert.equal(isLastPage(1, 10, 10, { next: '/p2' }), false);
    assert.equal(isLastPage(1, 10, 10, { next: null }), true);
    assert.equal(isLastPage(1, 10, 10, undefined), false);
    assert.equal(isLastPage(1, 10, 3, undefined), true);
  });

  it('reads every item once, in order, with each kind of paging answer', async () => {
    for (const meta of ['total', 'next', 'none'] as const) {
      const n = numbers(25, meta);
      assert.deepEqual(await collect(items(n.fetch, { perPage: 10 })), Array.from({ length: 25 }, (_x, i) => i));
      assert.deepEqual(n.log, ['fetch 1', 'fetch 2', 'fetch 3'], meta);
    }
    const exact = numbers(20, 'total');
    assert.equal((await collect(items(exact.fetch, { perPage: 10 }))).length, 20);
    assert.deepEqual(exact.log, ['fetch 1', 'fetch 2'], 'no extra request when the total is reached');
  });

  it('requests the next page before the consumer asks for it', async () => {
    const n = numbers(30);
    const it = pages(n.fetch, { perPage: 10 });
    const first = await it.next();
    assert.equal(first.done, false);
    // the consumer holds page 1; page 2 is already on its way
    assert.deepEqual(n.log, ['fetch 1', 'fetch 2']);
    await it.next();
    assert.deepEqual(n.log, ['fetch 1', 'fetch 2', 'fetch 3'], 'at most one page ahead');
    await it.next();
    assert.deepEqual(n.log, ['fetch 1', 'fetch 2', 'fetch 3'], 'nothing after the last page');
    assert.equal((await it.next()).done, true);
  });

  it('aborts the read-ahead when the consumer stops early', async () => {
    const n = numbers(100);
    for await (const x of items(n.fetch, { perPage: 10 })) {
      if (x === 3) break;
    }
    assert.deepEqual(n.log, ['fetch 1', 'fetch 2']);
    assert.equal(n.signals[2].aborted, true);
    assert.equal(n.signals[1].aborted, false);
  });

  it('can read without prefetch and stop after maxPages', async () => {
    const n = numbers(100);
    const it = pages(n.fetch, { perPage: 10, prefetch: false, maxPages: 2 });
    await it.next();
    assert.deepEqual(n.log, ['fetch 1']);
    const all = [await it.next(), await it.next()];
    assert.equal(all[1].done, true);
    assert.deepEqual(n.log, ['fetch 1', 'fetch 2']);
  });

  describe('over HTTP', () => {
    let srv: TestServer | undefined;
    let client: PhotoShelterClient | undefined;
    afterEach(async () => {
      await client?.close();
      await srv?.close();
      client = srv = undefined;
    });

    it('sends page and per_page, and has page 2 on the wire while page 1 is consumed', async () => {
      const page2Seen = deferred();
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        const page = Number(req.query.get('page'));
        const per = Number(req.query.get('per_page'));
        if (page === 2) page2Seen.resolve();
        const total = 5;
        const list = Array.from({ length: Math.max(0, Math.min(per, total - (page - 1) * per)) }, (_x, i) => media(mediaId((page - 1) * per + i)));
        json(res, 200, { data: list, meta: { paging: { total, page, next: page * per < total ? 'x' : null } } });
      });
      client = sessionClient(srv.baseUrl, { perPage: 2 });
      const seen: string[] = [];
      for await (const m of client.galleryChildren('G0000abcdefghijk', { sortBy: 'added_at' })) {
        if (seen.length === 0) await page2Seen.promise; // resolves only because the client prefetched
        seen.push(m.id);
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4].map(mediaId));
      const listing = srv.requests.filter((r) => r.path.endsWith('/children'));
      assert.deepEqual(listing.map((r) => r.query.get('page')), ['1', '2', '3']);
      assert.ok(listing.every((r) => r.query.get('per_page') === '2' && r.query.get('sort_by') === 'added_at' && r.query.get('sort_direction') === 'ascending'));
    });

    it('caps per_page at 1000', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        json(res, 200, { data: [], meta: { paging: { total: 0 } } });
      });
      client = sessionClient(srv.baseUrl);
      await collect(client.library({ perPage: 5000 }));
      await collect(client.collections('C0000abcdefghijk'));
      const lib = srv.requests.filter((r) => r.path === '/library' || r.path === '/collections');
      assert.deepEqual(lib.map((r) => r.query.get('per_page')), ['1000', '1000']);
      assert.equal(lib[1].query.get('parent'), 'C0000abcdefghijk');
    });
  });
});

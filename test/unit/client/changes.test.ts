import assert from 'node:assert/strict';
import { ChangeFeed, changeKey, splitPoint, type ChangeRecord } from '../../../src/photoshelter/changes';
import { EventHub } from '../../../src/photoshelter/events';
import { Redactor } from '../../../src/photoshelter/redact';
import { formatApiDate } from '../../../src/photoshelter/endpoints';
import type { PhotoShelterClient } from '../../../src/photoshelter';
import { collect, handleSessionAuth, json, ORG, sessionClient, startServer, type TestServer } from './helpers';
import { FakeMedia, isoPs, prng, startMediaServer, type Order } from './fake-media';

const T0 = Date.UTC(2025, 0, 1);
const ORDERS: Order[] = ['sorted', 'reversed', 'fixed-shuffle', 'reshuffle'];

function hub() {
  const events = new EventHub(new Redactor());
  const warnings: string[] = [];
  const windows: string[] = [];
  events.on('warning', (w) => warnings.push(w.code));
  events.on('window', (w) => windows.push(`${w.action} ${w.start}..${w.end} (${w.total})`));
  return { events, warnings, windows };
}

function feed(lib: FakeMedia, since: number, until: number, o: { perPage?: number; maxPages?: number } = {}, h = hub()): ChangeFeed {
  return new ChangeFeed(lib.fetcher(), { since, until, perPage: o.perPage ?? 10, maxPages: o.maxPages ?? 5, minSliceMs: 1000 }, h.events);
}

/** Sorted by (modified_at, id): the order the feed promises. */
function assertOrdered(got: ChangeRecord[]): void {
  for (let i = 1; i < got.length; i++) {
    const a = got[i - 1];
    const b = got[i];
    assert.ok(a.modifiedAt < b.modifiedAt || (a.modifiedAt === b.modifiedAt && a.media.id < b.media.id), `out of order at ${i}`);
  }
}

/** 500 changes bunched in the first hour of a day, a few later, some sharing a second. */
function bunched(seed = 42): number[] {
  const rnd = prng(seed);
  return [
    ...Array.from({ length: 500 }, () => T0 + Math.floor(rnd() * 3_600_000)),
    ...Array.from({ length: 30 }, () => T0 + 3_600_000 + Math.floor(rnd() * 80_000_000)),
    ...Array.from({ length: 6 }, (_x, i) => T0 + 7_200_000 + i * 100),
  ];
}

describe('client/changes (time slices)', () => {
  for (const order of ORDERS) {
    it(`yields every change once, ordered by (modified_at, id), when the server answers ${order}`, async () => {
      const lib = new FakeMedia(bunched());
      lib.order = order;
      const h = hub();
      const f = feed(lib, T0, T0 + 86_400_000, {}, h);
      const got = await collect(f);
      assert.deepEqual(got.map((r) => r.media.id).sort(), lib.all.map((m) => m.id).sort(), 'every change, once');
      assertOrdered(got);
      assert.ok(lib.queries.every((q) => q.page <= 5), `deepest page ${Math.max(...lib.queries.map((q) => q.page))}`);
      assert.ok(h.windows.some((w) => w.startsWith('split')), 'deep windows were split');
      assert.deepEqual(h.warnings, []);
      assert.equal(f.position, new Date(T0 + 86_400_000).toISOString());
      // the windows done are contiguous, in whole seconds
      const done = h.windows.filter((w) => w.startsWith('done')).map((w) => w.split(' ')[1].split('..'));
      for (let i = 1; i < done.length; i++) assert.equal(done[i][0], done[i - 1][1]);
      assert.ok(done.every(([a, b]) => a.endsWith(':00.000Z') || /\.000Z$/.test(a) && /\.000Z$/.test(b)));
    });
  }

  it('reads a window again when a page answers a different set than before (no stable order): nothing is missed', async () => {
    // one window of 3 pages, shuffled anew on every request: a read of its pages rarely covers it
    const lib = new FakeMedia(Array.from({ length: 28 }, (_x, i) => T0 + 5000 + i * 10));
    lib.order = 'reshuffle';
    const h = hub();
    const got = await collect(feed(lib, T0, T0 + 10_000, { perPage: 10, maxPages: 5 }, h));
    assert.deepEqual(got.map((r) => r.media.id).sort(), lib.all.map((m) => m.id).sort());
    assertOrdered(got);
  });

  it('covers the window however the server treats its bounds (inclusive or not, whole seconds or not)', async () => {
    // changes on and around whole seconds; two feeds back to back must together yield each exactly once
    const times = [T0 + 999, T0 + 1000, T0 + 1000, T0 + 1500, T0 + 1999, T0 + 2000, T0 + 2001, T0 + 2999, T0 + 3000, T0 + 3999];
    for (const startInclusive of [true, false]) {
      for (const endInclusive of [true, false]) {
        for (const wholeSeconds of [true, false]) {
          const lib = new FakeMedia(times);
          lib.bounds = { startInclusive, endInclusive, wholeSeconds };
          const first = await collect(feed(lib, T0 + 1000, T0 + 2000));
          const second = await collect(feed(lib, T0 + 2000, T0 + 4000));
          const label = JSON.stringify(lib.bounds);
          assert.deepEqual(first.map((r) => r.modifiedAt), [T0 + 1000, T0 + 1000, T0 + 1500, T0 + 1999], label);
          assert.deepEqual(second.map((r) => r.modifiedAt), [T0 + 2000, T0 + 2001, T0 + 2999, T0 + 3000, T0 + 3999], label);
        }
      }
    }
  });

  it('asks a second more on each side of the window and leaves what lies outside to the neighbours', async () => {
    const lib = new FakeMedia([T0 + 500, T0 + 1200, T0 + 4500]);
    const got = await collect(feed(lib, T0 + 1000, T0 + 4000));
    assert.deepEqual(got.map((r) => r.modifiedAt), [T0 + 1200]);
    assert.deepEqual(lib.queries.map((q) => [q.start, q.end]), [[T0, T0 + 5000]]);
  });

  it('pages a one-second slice that is still too deep, and warns', async () => {
    const times = Array.from({ length: 120 }, (_x, i) => T0 + 5000 + (i % 1000));
    const lib = new FakeMedia(times);
    lib.order = 'fixed-shuffle';
    const h = hub();
    const got = await collect(feed(lib, T0, T0 + 60_000, { perPage: 10, maxPages: 2 }, h));
    assert.equal(got.length, 120);
    assert.equal(new Set(got.map((r) => r.media.id)).size, 120);
    assert.ok(h.warnings.length > 0 && h.warnings.every((w) => w === 'DEEP_WINDOW'), h.warnings.join());
    assert.ok(lib.queries.some((q) => q.page === 12), 'the deep slice was paged to the end');
  });

  it('gives positions in whole seconds: resuming there, skipping the keys handled in that second, repeats and misses nothing', async () => {
    const times = [T0 + 1000, T0 + 2100, T0 + 2500, T0 + 2500, T0 + 2900, T0 + 9000];
    const lib = new FakeMedia(times);
    lib.order = 'reversed';
    const got = await collect(feed(lib, T0, T0 + 10_000, { perPage: 2, maxPages: 20 }));
    assert.deepEqual(
      got.map((r) => r.position),
      [1000, 2000, 2000, 2000, 2000, 9000].map((t) => new Date(T0 + t).toISOString()),
    );
    // stop after each record; resume from its position with the keys handled in that second
    for (let i = 0; i < got.length; i++) {
      const pos = got[i].position;
      const handled = new Set(got.slice(0, i + 1).filter((r) => r.position === pos).map((r) => changeKey(r.media)));
      const again = (await collect(feed(lib, Date.parse(pos), T0 + 10_000, { perPage: 2, maxPages: 20 }))).filter((r) => !handled.has(changeKey(r.media)));
      assert.deepEqual(again.map((r) => r.media.id), got.slice(i + 1).map((r) => r.media.id), `resumed after record ${i}`);
    }
  });

  it('re-reads a window whose total moved while paging, without duplicates', async () => {
    const lib = new FakeMedia(Array.from({ length: 30 }, (_x, i) => T0 + 1000 + i * 1000));
    let calls = 0;
    const base = lib.fetcher();
    const fetch = async (q: { start: number; end: number; page: number; perPage: number }) => {
      calls++;
      // item 0 changes again after page 1 was read: it leaves the window, later pages shift by one
      if (calls === 2) lib.touch(0, T0 + 100_000_000);
      return base(q);
    };
    const h = hub();
    const got = await collect(new ChangeFeed(fetch, { since: T0, until: T0 + 60_000, perPage: 10, maxPages: 20, minSliceMs: 1000 }, h.events));
    const ids = got.map((r) => r.media.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    assert.deepEqual(new Set(ids), new Set(lib.all.map((m) => m.id)), 'nothing skipped');
    assert.ok(h.windows.some((w) => w.startsWith('reread')));
  });

  it('passes a record whose modified_at cannot be read once, with a warning', async () => {
    const lib = new FakeMedia([T0 + 1000, T0 + 2000]);
    lib.all[1].attributes.modified_at = 'sometime';
    const base = lib.fetcher();
    // the server still places it in its window (by a date of its own)
    const fetch = async (q: { start: number; end: number; page: number; perPage: number }) => {
      const r = await base(q);
      if (q.start <= T0 + 2000 && T0 + 2000 < q.end) r.items.push(structuredClone(lib.all[1]));
      return { items: r.items, paging: { total: r.items.length, page: q.page } };
    };
    const h = hub();
    const got = await collect(new ChangeFeed(fetch, { since: T0, until: T0 + 10_000, perPage: 10, maxPages: 1, minSliceMs: 1000 }, h.events));
    assert.deepEqual(got.map((r) => r.media.id).sort(), lib.all.map((m) => m.id).sort());
    assert.deepEqual(h.warnings, ['UNREADABLE_DATE']);
  });

  it('splits on whole seconds', () => {
    assert.equal(splitPoint(0, 10_000), 5000);
    assert.equal(splitPoint(0, 3000), 1000);
    assert.equal(splitPoint(0, 2000), 1000);
    assert.equal(splitPoint(0, 1000), undefined);
    assert.equal(splitPoint(1000, 4000), 2000);
  });

  it('writes dates in the draft form, whole seconds, rounded the asked way', () => {
    assert.equal(formatApiDate(T0), '2025-01-01 00:00:00 GMT');
    assert.equal(formatApiDate(T0 + 1500), '2025-01-01 00:00:01 GMT');
    assert.equal(formatApiDate(T0 + 1500, 'ceil'), '2025-01-01 00:00:02 GMT');
    assert.equal(formatApiDate(Date.UTC(2019, 9, 15, 12)), '2019-10-15 12:00:00 GMT');
    assert.equal(isoPs(T0 + 1), '2025-01-01T00:00:00.001000');
  });

  describe('over HTTP', () => {
    let srv: TestServer | undefined;
    let client: PhotoShelterClient | undefined;
    afterEach(async () => {
      await client?.close();
      await srv?.close();
      client = srv = undefined;
    });

    it('asks GET /media for the org, the window widened by a second, in the draft date form, by upload time', async () => {
      const lib = new FakeMedia([T0 + 10_000, T0 + 3_599_500, T0 + 3_600_000]);
      srv = await startMediaServer(lib);
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: 'pw-Sup3rSecretPass', orgId: ORG } });
      const f = client.changes({ since: '2025-01-01T00:00:00', until: new Date(T0 + 3_600_000) });
      assert.deepEqual((await collect(f)).map((r) => r.modifiedAt), [T0 + 10_000, T0 + 3_599_500]);
      const q = srv.requests.find((r) => r.path === '/media')!;
      assert.deepEqual(Object.fromEntries(q.query), {
        org_id: ORG,
        modify_start: '2024-12-31 23:59:59 GMT',
        modify_end: '2025-01-01 01:00:01 GMT',
        sort_by: 'upload_time',
        sort_dir: 'asc',
        page: '1',
        per_page: '1000',
      });
      assert.equal(f.position, '2025-01-01T01:00:00.000Z');
    });

    it('takes since and until down to their second', async () => {
      const lib = new FakeMedia([]);
      srv = await startMediaServer(lib);
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: 'pw-Sup3rSecretPass', orgId: ORG } });
      const f = client.changes({ since: T0 + 1500, until: T0 + 4700 });
      await collect(f);
      const q = srv.requests.find((r) => r.path === '/media')!;
      assert.equal(q.query.get('modify_start'), '2025-01-01 00:00:00 GMT');
      assert.equal(q.query.get('modify_end'), '2025-01-01 00:00:05 GMT');
      assert.equal(f.position, '2025-01-01T00:00:04.000Z');
    });

    it('scopes to the user from GET /user/session without an org (user_id), and a gallery with it', async () => {
      const lib = new FakeMedia([]);
      srv = await startMediaServer(lib);
      client = sessionClient(srv.baseUrl);
      await collect(client.changes({ since: T0, until: T0 + 1000 }));
      await collect(client.changes({ since: T0, until: T0 + 1000 }));
      await collect(client.changes({ since: T0, until: T0 + 1000, scope: { kind: 'gallery', id: 'G0000abcdefghijk' } }));
      await collect(client.changes({ since: T0, until: T0 + 1000, scope: { kind: 'owner', id: 'U0000zzzzzzzzzzz' } }));
      const qs = srv.requests.filter((r) => r.path === '/media');
      assert.equal(srv.requests.filter((r) => r.path === '/user/session').length, 1, 'the user id is remembered');
      assert.equal(qs[0].query.get('user_id'), 'U0000abcdefghijk');
      assert.equal(qs[0].query.get('owner_id'), null);
      assert.equal(qs[2].query.get('galleries'), 'G0000abcdefghijk');
      assert.equal(qs[2].query.get('user_id'), 'U0000abcdefghijk', 'a gallery scope carries one of the filters the draft requires');
      assert.equal(qs[3].query.get('user_id'), 'U0000zzzzzzzzzzz');
      assert.throws(() => client!.changes({ since: T0, scope: { kind: 'gallery', id: 'nope' } }), { code: 'EVALIDATION' });
      assert.throws(() => client!.changes({ since: 'yesterday-ish' }), { code: 'EVALIDATION' });
      assert.throws(() => client!.changes({ since: T0, include: ['iptc'] } as never), { code: 'EVALIDATION' }, 'no include on the /media list');
    });

    it('a refused parameter is an error naming it, never an empty feed', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        json(res, 400, { errors: [{ id: 'BadRequestException', status: '400', title: 'Bad Request', detail: "sort_dir: 'asc' is not supported here" }] });
      });
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: 'pw-Sup3rSecretPass', orgId: ORG } });
      await assert.rejects(collect(client.changes({ since: T0, until: T0 + 60_000 })), (e: Error & { code?: string; parameter?: string; value?: string }) => {
        assert.equal(e.code, 'EREFUSED');
        assert.equal(e.parameter, 'sort_dir');
        assert.equal(e.value, 'asc');
        assert.match(e.message, /^PhotoShelter refused the parameter sort_dir=asc on GET \/media: .*not supported here\. .*report/);
        return true;
      });
    });
  });
});

import assert from 'node:assert/strict';
import { ChangeFeed, splitPoint, type ChangeWindowQuery } from '../../../src/photoshelter/changes';
import { EventHub } from '../../../src/photoshelter/events';
import { Redactor } from '../../../src/photoshelter/redact';
import { formatApiDate, apiDateMs } from '../../../src/photoshelter/endpoints';
import type { MediaResource } from '../../../src/photoshelter';
import type { PhotoShelterClient } from '../../../src/photoshelter';
import { collect, handleSessionAuth, json, mediaId, ORG, sessionClient, startServer, type TestServer } from './helpers';

const T0 = Date.UTC(2025, 0, 1);

/** In-memory media with modification times, queried the way GET /media answers. */
function library(times: number[]) {
  const all: MediaResource[] = times.map((t, i) => ({ id: mediaId(i), type: 'image', attributes: { modified_at: formatApiDate(t).replace(/\.(\d{3})000$/, '.$1000') } }));
  const queries: ChangeWindowQuery[] = [];
  const fetch = async (q: ChangeWindowQuery) => {
    queries.push(q);
    await new Promise<void>((r) => setImmediate(r));
    const inWindow = all
      .filter((m) => {
        const t = apiDateMs(m.attributes.modified_at);
        return t >= q.start && t < q.end;
      })
      .sort((a, b) => apiDateMs(a.attributes.modified_at) - apiDateMs(b.attributes.modified_at) || a.id.localeCompare(b.id));
    const items = inWindow.slice((q.page - 1) * q.perPage, q.page * q.perPage);
    return { items, paging: { total: inWindow.length, page: q.page } };
  };
  return { all, fetch, queries };
}

function hub() {
  const events = new EventHub(new Redactor());
  const warnings: string[] = [];
  const windows: string[] = [];
  events.on('warning', (w) => warnings.push(w.code));
  events.on('window', (w) => windows.push(`${w.action} ${w.start}..${w.end} (${w.total})`));
  return { events, warnings, windows };
}

describe('client/changes (time slices)', () => {
  it('splits windows deeper than maxPages and yields every change once, oldest first', async () => {
    // 500 changes bunched in the first hour of a day, a few later
    let seed = 42;
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const times = [
      ...Array.from({ length: 500 }, () => T0 + Math.floor(rnd() * 3_600_000)),
      ...Array.from({ length: 30 }, () => T0 + 3_600_000 + Math.floor(rnd() * 80_000_000)),
    ];
    const lib = library(times);
    const h = hub();
    const feed = new ChangeFeed(lib.fetch, { since: T0, until: T0 + 86_400_000, perPage: 10, maxPages: 5, minSliceMs: 1000 }, h.events);
    const got = await collect(feed);
    // completeness: same set as a full listing
    assert.deepEqual(got.map((r) => r.media.id).sort(), lib.all.map((m) => m.id).sort());
    // order
    for (let i = 1; i < got.length; i++) assert.ok(got[i].modifiedAt >= got[i - 1].modifiedAt, `out of order at ${i}`);
    // no query deeper than maxPages
    assert.ok(lib.queries.every((q) => q.page <= 5), `deepest page ${Math.max(...lib.queries.map((q) => q.page))}`);
    assert.ok(h.windows.some((w) => w.startsWith('split')));
    assert.deepEqual(h.warnings, []);
    assert.equal(feed.position, new Date(T0 + 86_400_000).toISOString());
    // windows are contiguous and disjoint
    const done = h.windows.filter((w) => w.startsWith('done')).map((w) => w.split(' ')[1].split('..'));
    for (let i = 1; i < done.length; i++) assert.equal(done[i][0], done[i - 1][1]);
    assert.equal(done[0][0], new Date(T0).toISOString());
    assert.equal(done[done.length - 1][1], new Date(T0 + 86_400_000).toISOString());
  });

  it('pages a one-second slice that is still too deep, and warns', async () => {
    const times = Array.from({ length: 120 }, (_x, i) => T0 + 5000 + (i % 1000));
    const lib = library(times);
    const h = hub();
    const got = await collect(new ChangeFeed(lib.fetch, { since: T0, until: T0 + 60_000, perPage: 10, maxPages: 2, minSliceMs: 1000 }, h.events));
    assert.equal(got.length, 120);
    assert.deepEqual(h.warnings, ['DEEP_WINDOW']);
    assert.ok(lib.queries.some((q) => q.page === 12), 'the deep slice was paged to the end');
    assert.ok(lib.queries.every((q) => q.end - q.start >= 1000 || q.page === 1));
  });

  it('gives resumable positions: inclusive, never past an unhandled record', async () => {
    const times = [T0 + 1000, T0 + 2500, T0 + 2500, T0 + 9000];
    const lib = library(times);
    const feed = new ChangeFeed(lib.fetch, { since: T0, until: T0 + 10_000, perPage: 2, maxPages: 20, minSliceMs: 1000 }, hub().events);
    const got = await collect(feed);
    assert.deepEqual(
      got.map((r) => r.position),
      [T0 + 1000, T0 + 2500, T0 + 2500, T0 + 10_000].map((t) => new Date(t).toISOString()),
    );
    // resuming from any position re-reads that record and everything after it
    for (let i = 0; i < got.length - 1; i++) {
      const again = await collect(new ChangeFeed(lib.fetch, { since: Date.parse(got[i].position), until: T0 + 10_000, perPage: 2, maxPages: 20, minSliceMs: 1000 }, hub().events));
      assert.ok(again.map((r) => r.media.id).includes(got[i + 1].media.id));
    }
  });

  it('re-reads a window whose total moved while paging, without duplicates', async () => {
    const lib = library(Array.from({ length: 30 }, (_x, i) => T0 + i * 1000));
    let calls = 0;
    const fetch = async (q: ChangeWindowQuery) => {
      calls++;
      if (calls === 2) {
        // item 0 changes again after page 1 was read: it leaves the window, later pages shift by one
        lib.all[0].attributes.modified_at = formatApiDate(T0 + 100_000_000);
      }
      return lib.fetch(q);
    };
    const got = await collect(new ChangeFeed(fetch, { since: T0, until: T0 + 60_000, perPage: 10, maxPages: 20, minSliceMs: 1000 }, hub().events));
    const ids = got.map((r) => r.media.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    assert.deepEqual(new Set(ids), new Set(Array.from({ length: 30 }, (_x, i) => mediaId(i))), 'nothing skipped');
  });

  it('splits on whole seconds', () => {
    assert.equal(splitPoint(0, 10_000), 5000);
    assert.equal(splitPoint(0, 3000), 1000);
    assert.equal(splitPoint(0, 1000), 500);
    assert.equal(splitPoint(500, 3500), 2000);
  });

  describe('over HTTP', () => {
    let srv: TestServer | undefined;
    let client: PhotoShelterClient | undefined;
    afterEach(async () => {
      await client?.close();
      await srv?.close();
      client = srv = undefined;
    });

    it('queries GET /media with the org scope, the window and modified_at ascending', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        json(res, 200, { data: [], meta: { paging: { total: 0, page: 1 } } });
      });
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: 'pw-Sup3rSecretPass', orgId: ORG } });
      const feed = client.changes({ since: '2025-01-01T00:00:00', until: new Date(T0 + 3_600_000) });
      assert.deepEqual(await collect(feed), []);
      const q = srv.requests.find((r) => r.path === '/media')!;
      assert.equal(q.query.get('org_id'), ORG);
      assert.equal(q.query.get('modify_start'), '2025-01-01T00:00:00');
      assert.equal(q.query.get('modify_end'), '2025-01-01T01:00:00');
      assert.equal(q.query.get('sort_by'), 'modified_at');
      assert.equal(q.query.get('sort_direction'), 'ascending');
      assert.equal(q.query.get('per_page'), '1000');
      assert.equal(feed.position, '2025-01-01T01:00:00.000Z');
    });

    it('scopes to the owner from GET /user/session without an org, or to a gallery', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        if (req.path === '/user/session') return json(res, 200, { data: { id: 'U0000abcdefghijk', type: 'user', attributes: {} } });
        json(res, 200, { data: [], meta: { paging: { total: 0 } } });
      });
      client = sessionClient(srv.baseUrl, { sortStyle: 'dir' });
      await collect(client.changes({ since: T0, until: T0 + 1000 }));
      await collect(client.changes({ since: T0, until: T0 + 1000 }));
      await collect(client.changes({ since: T0, until: T0 + 1000, scope: { kind: 'gallery', id: 'G0000abcdefghijk' } }));
      const qs = srv.requests.filter((r) => r.path === '/media');
      assert.equal(srv.requests.filter((r) => r.path === '/user/session').length, 1, 'the owner id is remembered');
      assert.equal(qs[0].query.get('owner_id'), 'U0000abcdefghijk');
      assert.equal(qs[0].query.get('sort_dir'), 'asc');
      assert.equal(qs[2].query.get('galleries'), 'G0000abcdefghijk');
      assert.equal(qs[2].query.get('owner_id'), null);
      assert.throws(() => client!.changes({ since: T0, scope: { kind: 'gallery', id: 'nope' } }), { code: 'EVALIDATION' });
      assert.throws(() => client!.changes({ since: 'yesterday-ish' }), { code: 'EVALIDATION' });
    });
  });
});

// The trigger's promises (nothing missed, nothing doubled, across restarts and maxEvents) against servers
// that answer in any order and ignore sorts, and positions stored by earlier versions of the package.
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { configKeyOf, TriggerPoller, type PollerOptions, type TriggerEvent } from '../../../src/core/trigger/poller';
import { MemoryStore, type TriggerState } from '../../../src/core/trigger/state';
import { json, mediaId, SECRETS, startServer, handleSessionAuth, apiError, type TestServer } from '../client/helpers';
import { FakeMedia, isoPs, prng, startMediaServer, type Order } from '../client/fake-media';

const T0 = Date.UTC(2025, 0, 1);
const s = (sec: number, ms = 0): number => T0 + sec * 1000 + ms;

function clientFor(srv: TestServer, perPage?: number): PhotoShelterClient {
  return new PhotoShelterClient({
    baseUrl: srv.baseUrl,
    apiKey: SECRETS.apiKey,
    auth: { mode: 'session', email: 'someone@example.com', password: SECRETS.password, orgId: 'O0000abcdefghijk' },
    perPage,
    timeoutMs: 5000,
  });
}

describe('core/trigger: order-independent polling', () => {
  let srv: TestServer | undefined;
  let client: PhotoShelterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await srv?.close();
    client = srv = undefined;
  });

  const changedOptions = (now: () => number, o: Partial<PollerOptions> = {}): PollerOptions => ({
    mode: 'changed',
    scopes: [],
    start: { from: 'date', date: '2025-01-01T00:00:00' },
    maxEvents: 7,
    include: [],
    timeZone: 'UTC',
    now,
    ...o,
  });

  let polls = 0;
  /** Polls until nothing more comes, each poll by a new poller on the same store (a restart every time). */
  async function drain(store: MemoryStore, opts: PollerOptions): Promise<TriggerEvent[]> {
    const all: TriggerEvent[] = [];
    polls = 0;
    for (let i = 0; i < 50; i++) {
      const p = new TriggerPoller(client as PhotoShelterClient, opts, store);
      const r = await p.poll();
      polls++;
      await p.commit(r);
      all.push(...r.events);
      if (!r.more && r.events.length === 0) return all;
    }
    throw new Error('the trigger did not settle');
  }

  for (const order of ['reversed', 'fixed-shuffle', 'reshuffle'] as Order[]) {
    it(`changed: every change once, in (modified_at, id) order, across restarts and maxEvents, when the server answers ${order}`, async () => {
      // 60 changes over 20 seconds, many sharing a second, some sharing a millisecond
      const rnd = prng(3);
      const times = Array.from({ length: 60 }, (_x, i) => (i % 10 === 0 ? s(5, 250) : s(1 + Math.floor(rnd() * 20), Math.floor(rnd() * 1000))));
      const lib = new FakeMedia(times);
      lib.order = order;
      srv = await startMediaServer(lib);
      client = clientFor(srv, 5);
      const now = s(40);
      const events = await drain(new MemoryStore(), changedOptions(() => now));
      assert.deepEqual(events.map((e) => e.asset.id).sort(), lib.all.map((m) => m.id).sort(), 'each change once');
      const keys = events.map((e) => [Date.parse(e.asset.modifiedAt as string), e.asset.id] as const);
      for (let i = 1; i < keys.length; i++) {
        assert.ok(keys[i - 1][0] < keys[i][0] || (keys[i - 1][0] === keys[i][0] && keys[i - 1][1] < keys[i][1]), `order at ${i}`);
      }
      // every query the client sent was one the draft lists (the server refuses the rest with 400)
      assert.ok(srv.requests.filter((r) => r.path === '/media').every((r) => r.query.get('sort_by') === 'upload_time' && r.query.get('sort_dir') === 'asc'));
    });
  }

  it('changed: a state stored by the previous version (millisecond position, seen keys) resumes with nothing missed or repeated', async () => {
    // A and B were handled by the previous version, which stopped at B (maxEvents) inside second 10
    const times = [s(9, 900), s(10, 100), s(10, 300), s(10, 300), s(10, 600), s(11, 200)];
    const lib = new FakeMedia(times);
    lib.order = 'reversed';
    const [early, a, b, twin, c, d] = lib.all;
    srv = await startMediaServer(lib);
    client = clientFor(srv);
    const opts = changedOptions(() => s(30), { maxEvents: 1 });
    const store = new MemoryStore();
    const old: TriggerState = {
      v: 1,
      configKey: configKeyOf(opts),
      positions: { '*': { at: '2025-01-01T00:00:10.300Z', seen: [`${b.id}@${b.attributes.modified_at}`] } },
    };
    await store.save(old);
    const events = await drain(store, opts);
    // `twin` shares B's millisecond but was not in seen: the previous version had not handled it
    assert.deepEqual(events.map((e) => e.asset.id), [twin.id, c.id, d.id]);
    assert.ok(!events.some((e) => e.asset.id === early.id || e.asset.id === a.id || e.asset.id === b.id));
    const saved = (await store.load()) as TriggerState;
    assert.equal(saved.positions['*'].at, '2025-01-01T00:00:28.000Z', 'positions are whole seconds now');
  });

  it('changed: keys stored beyond the position (a baseline read past it) are kept until the feed reaches them', async () => {
    const times = [s(20, 100), s(21, 500), s(23, 400)];
    const lib = new FakeMedia(times);
    srv = await startMediaServer(lib);
    client = clientFor(srv);
    let now = s(23, 500); // until = 21 s: the first poll does not reach second 21
    const opts = changedOptions(() => now);
    const store = new MemoryStore();
    const [x, y, z] = lib.all;
    await store.save({ v: 1, configKey: configKeyOf(opts), positions: { '*': { at: '2025-01-01T00:00:20.000Z', seen: [`${x.id}@${x.attributes.modified_at}`, `${y.id}@${y.attributes.modified_at}`] } } });
    const first = await drain(store, opts);
    assert.deepEqual(first.map((e) => e.asset.id), []);
    assert.deepEqual(((await store.load()) as TriggerState).positions['*'].seen, [`${y.id}@${y.attributes.modified_at}`], 'the key at 21.5 s is kept');
    now = s(30);
    const second = await drain(store, opts);
    assert.deepEqual(second.map((e) => e.asset.id), [z.id], 'y was handled before: not repeated');
  });

  it('changed: an unchanged poll is one request, even when the server answers the window shuffled', async () => {
    const lib = new FakeMedia([s(3), s(4)]);
    lib.order = 'reshuffle';
    srv = await startMediaServer(lib);
    client = clientFor(srv);
    let now = s(10);
    const store = new MemoryStore();
    const opts = changedOptions(() => now);
    assert.equal((await drain(store, opts)).length, 2);
    now = s(20);
    const before = srv.requests.filter((r) => r.path === '/media').length;
    const p = new TriggerPoller(client, opts, store);
    const quiet = await p.poll();
    await p.commit(quiet);
    assert.equal(quiet.events.length, 0);
    assert.equal(srv.requests.filter((r) => r.path === '/media').length - before, 1);
  });

  it('changed: a medium deleted before its parts are read is passed over; a missing gallery path is an error, not a deletion', async () => {
    const lib = new FakeMedia([s(3), s(4)]);
    const [gone, kept] = lib.all;
    let pathStatus = 200;
    srv = await startMediaServer(lib, (req, res) => {
      if (req.path === `/media/${gone.id}/galleries`) {
        apiError(res, 404, 'ResourceNotFoundException', 'no such media');
        return true;
      }
      if (req.path === `/media/${kept.id}/galleries`) {
        json(res, 200, { data: [{ id: 'G0000abcdefghijk', type: 'gallery', attributes: { name: 'G' } }], meta: { paging: { total: 1, page: 1 } } });
        return true;
      }
      if (req.path === '/galleries/G0000abcdefghijk/path') {
        if (pathStatus === 404) apiError(res, 404, 'ResourceNotFoundException', 'no such path');
        else json(res, 200, { data: [{ id: 'G0000abcdefghijk', type: 'gallery', attributes: { name: 'G' } }] });
        return true;
      }
      return false;
    });
    client = clientFor(srv);
    const opts = changedOptions(() => s(10), { include: ['path'] });
    pathStatus = 404;
    const store = new MemoryStore();
    await assert.rejects(new TriggerPoller(client, opts, store).poll(), (e: Error & { code?: string; path?: string }) => e.code === 'ENOTFOUND' && e.path === '/galleries/G0000abcdefghijk/path');
    pathStatus = 200;
    const events = await drain(store, opts);
    assert.deepEqual(events.map((e) => e.asset.id), [kept.id], 'the deleted one is passed over, the other reported once');
    assert.equal(events[0].asset.path, 'G');
  });

  describe('added', () => {
    const GALLERY = 'G0000abcdefghijk';

    /** A gallery whose children carry added_at, answered in `order` whatever sort is asked. */
    async function gallery(added: number[], order: Order | 'ascending') {
      const media = added.map((t, i) => ({ id: mediaId(i), type: 'image', attributes: { added_at: isoPs(t), modified_at: isoPs(t), file_name: `f${i}.jpg` } }));
      const server = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        // the trigger looks the gallery up once per start (it exists)
        if (req.path === `/galleries/${GALLERY}`) return json(res, 200, { data: { id: GALLERY, type: 'gallery', attributes: { name: 'G' } } });
        if (req.path !== `/galleries/${GALLERY}/children`) return apiError(res, 404, 'ResourceNotFoundException', req.path);
        assert.equal(req.query.get('sort_by'), 'added_at');
        assert.equal(req.query.get('sort_direction'), 'descending');
        let list = media.slice();
        if (order === 'sorted') list.sort((a, b) => (a.attributes.added_at < b.attributes.added_at ? 1 : -1));
        else if (order === 'ascending') list.sort((a, b) => (a.attributes.added_at < b.attributes.added_at ? -1 : 1));
        else if (order === 'reversed') list.reverse();
        else if (order === 'fixed-shuffle') list = list.map((m, i) => ({ m, k: (i * 37) % 101 })).sort((p, q) => p.k - q.k).map((x) => x.m);
        const page = Number(req.query.get('page'));
        const perPage = Number(req.query.get('per_page'));
        json(res, 200, { data: list.slice((page - 1) * perPage, page * perPage), meta: { paging: { total: list.length, page } } });
      });
      return { media, server };
    }

    for (const order of ['sorted', 'ascending', 'fixed-shuffle'] as Array<Order | 'ascending'>) {
      it(`emits media added since the last poll, once, oldest first, when the server answers ${order}`, async () => {
        // 120 media added over time; the trigger starts at 100 s, after 100 of them
        const added = Array.from({ length: 120 }, (_x, i) => s(i, i % 3));
        const g = await gallery(added, order);
        srv = g.server;
        client = clientFor(srv);
        const opts: PollerOptions = { mode: 'added', scopes: [{ kind: 'gallery', id: GALLERY }], start: { from: 'date', date: '2025-01-01T00:01:40' }, maxEvents: 8, include: [], timeZone: 'UTC', now: () => s(200) };
        const store = new MemoryStore();
        const events = await drain(store, opts);
        assert.deepEqual(events.map((e) => e.asset.id), g.media.slice(100).map((m) => m.id));
        const reads = srv.requests.filter((r) => r.path.endsWith('/children'));
        if (order === 'sorted') {
          // in order, a poll stops at the page that reaches older media
          assert.equal(reads.length, polls, `${reads.length} listing requests for ${polls} polls`);
        }
      });
    }

    it('a quiet poll is one request when the server honours the order', async () => {
      const g = await gallery(Array.from({ length: 120 }, (_x, i) => s(i)), 'sorted');
      srv = g.server;
      client = clientFor(srv);
      const opts: PollerOptions = { mode: 'added', scopes: [{ kind: 'gallery', id: GALLERY }], start: { from: 'now' }, maxEvents: 100, include: [], timeZone: 'UTC', now: () => s(500) };
      const store = new MemoryStore();
      await drain(store, opts);
      const p = new TriggerPoller(client, opts, store);
      await p.commit(await p.poll());
      // the first poll of a start also looks the gallery up; the polls that follow are one request each
      const before = srv.requests.length;
      const r = await p.poll();
      await p.commit(r);
      assert.equal(r.events.length, 0);
      assert.equal(srv.requests.length - before, 1);
    });
  });
});

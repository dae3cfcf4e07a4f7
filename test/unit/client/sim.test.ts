import assert from 'node:assert/strict';
import { PhotoShelterClient, TruncatedError, type PhotoShelterClientOptions } from '../../../src/photoshelter';
import { startSim, type SimHandle } from '../../helpers/sim';
import { collect } from './helpers';

describe('client against the simulator', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  const clients: PhotoShelterClient[] = [];
  before(async () => {
    sim = await startSim({ strict: true, seed: 7, assets: 120 });
  });
  after(async () => {
    await sim.close();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await sim.control.clearFaults();
    await sim.control.clearRequests();
  });

  function sessionClient(over: Partial<PhotoShelterClientOptions> = {}): PhotoShelterClient {
    const c = new PhotoShelterClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId },
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      ...over,
    });
    clients.push(c);
    return c;
  }

  it('reads the library tree, media and metadata', async () => {
    const c = sessionClient();
    const state = await sim.control.state();
    const galleryId = state.galleries.find((g) => g.media > 0)!.id;
    const children = await collect(c.galleryChildren(galleryId, { perPage: 7 }));
    assert.equal(children.length, state.galleries.find((g) => g.id === galleryId)!.media);
    const m = await c.getMedia(children[0].id, { include: ['iptc'] });
    assert.equal(m.id, children[0].id);
    assert.ok(m.includes?.iptc);
    const iptc = await c.getIptc(m.id);
    assert.equal(iptc.type, 'iptc');
    const custom = await c.getCustomMetadata(m.id);
    assert.ok(Array.isArray(custom.attributes.custom_metadata));
    const galleries = await c.getMediaGalleries(m.id);
    assert.ok(galleries.some((g) => g.id === galleryId));
    const path = await c.path('gallery', galleryId);
    assert.equal(path[path.length - 1].id, galleryId);
    const lib = await collect(c.library());
    assert.ok(lib.length > 0);
    const link = await c.getLink(m.id, { imageSize: '400x300', imageMode: 'fit' });
    assert.match(link.attributes.link, /^https?:\/\//);
    const session = await c.session();
    assert.equal(session.id, sim.userId);
  });

  it('lists a gallery a page at a time: the same media, in the same order, with the same requests', async () => {
    const c = sessionClient();
    await c.session(); // signed in first: only the listings' requests are counted
    let requests = 0;
    c.on('request', () => requests++);
    const state = await sim.control.state();
    const gallery = state.galleries.reduce((a, b) => (b.media > a.media ? b : a));
    assert.ok(gallery.media > 7, 'a gallery of several pages');
    const opts = { perPage: 7, sortBy: 'added_at', sortDirection: 'ascending' } as const;
    const one = (await collect(c.galleryChildren(gallery.id, opts))).map((m) => m.id);
    const byItem = requests;
    requests = 0;
    const pages = await collect(c.galleryChildPages(gallery.id, opts));
    assert.deepEqual(pages.flatMap((p) => p.items.map((m) => m.id)), one);
    assert.equal(requests, byItem);
    assert.deepEqual(pages.map((p) => p.page), pages.map((_, i) => i + 1));
    assert.ok(pages.slice(0, -1).every((p) => p.items.length === 7 && !p.last) && pages[pages.length - 1].last);
    assert.throws(() => c.galleryChildPages(gallery.id, { include: ['galleries'] } as never), { code: 'EVALIDATION' });
  });

  it('writes IPTC and custom fields, and the change feed sees the writes', async () => {
    const c = sessionClient();
    const ids = await sim.control.mediaIds();
    const id = ids[3];
    const before = await c.getCustomMetadata(id);
    const field = before.attributes.custom_metadata.find((f) => f.type === 'text') ?? before.attributes.custom_metadata[0];
    const since = await sim.control.clock(5);
    const written = await c.updateIptc(id, { title: 'Harbour at dawn', keywords: ['harbour', 'dawn'] });
    assert.equal(written.attributes.title, 'Harbour at dawn');
    const truth = await sim.control.media(id);
    assert.equal(truth.iptc.title, 'Harbour at dawn');
    if (field) {
      const value = field.type === 'date' ? '2031-12-31' : field.type === 'select' ? null : 'PRJ-42';
      await c.updateCustomMetadata(id, [{ field_id: field.field_id, value }]);
      assert.equal((await sim.control.media(id)).custom_by_id[field.field_id], value);
    }
    const changed = await collect(c.changes({ since, until: new Date(Date.parse(`${since}Z`) + 3_600_000) }));
    assert.deepEqual([...new Set(changed.map((r) => r.media.id))], [id], 'only the written medium changed since');
  });

  it('time-slices a change query and matches the full listing', async () => {
    const c = sessionClient();
    const ids = await sim.control.mediaIds();
    const windows: string[] = [];
    c.on('window', (w) => windows.push(w.action));
    const feed = c.changes({ since: '2000-01-01T00:00:00', until: new Date(Date.now() + 10 * 365 * 86_400_000), perPage: 10, maxPages: 2 });
    const got = await collect(feed);
    assert.deepEqual(got.map((r) => r.media.id).sort(), [...ids].sort());
    for (let i = 1; i < got.length; i++) assert.ok(got[i].modifiedAt >= got[i - 1].modifiedAt);
    assert.ok(windows.includes('split'));
    const log = await sim.control.requests();
    const searches = log.filter((e) => e.path.endsWith('/media') && e.method === 'GET');
    assert.ok(searches.length > 0);
    assert.ok(searches.every((e) => Number(e.query.page) <= 2 && e.status === 200), 'no query deeper than maxPages');
  });

  it('re-authenticates once when the session expires', async () => {
    const c = sessionClient();
    const [id] = await sim.control.mediaIds();
    await c.getMedia(id);
    await sim.control.expireTokens('session');
    await c.getMedia(id);
    const log = await sim.control.requests();
    assert.equal(log.filter((e) => e.path.endsWith('/authenticate') && e.method === 'POST' && !e.path.includes('organization')).length, 2);
    assert.equal(log.filter((e) => e.status === 401).length, 1);
  });

  it('uses OAuth: authorize, exchange, refresh after expiry', async () => {
    const redirectUri = 'https://example.com/callback';
    const authorize = new URL(`${sim.baseUrl}/oauth/authorize`);
    authorize.search = new URLSearchParams({ api_key: sim.apiKey, client_id: sim.oauthClientId, redirect_uri: redirectUri, response_type: 'code', state: 's1' }).toString();
    const res = await fetch(authorize, { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    assert.ok(code);
    const tokens: string[] = [];
    const c = new PhotoShelterClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      auth: { mode: 'oauth', clientId: sim.oauthClientId, clientSecret: sim.oauthClientSecret, redirectUri, orgId: sim.orgId, onTokens: (t) => void tokens.push(t.refreshToken ?? '') },
    });
    clients.push(c);
    await c.exchangeAuthorizationCode(code, redirectUri);
    const [id] = await sim.control.mediaIds();
    assert.equal((await c.getMedia(id)).id, id);
    await sim.control.expireTokens('oauth');
    assert.equal((await c.getMedia(id)).id, id);
    assert.equal(tokens.length, 2, 'exchange + refresh reported');
  });

  it('rides out injected 429s, resets and 503s', async () => {
    const c = sessionClient();
    const ids = await sim.control.mediaIds();
    await sim.control.faults([
      { route: '^/media/[^/]+$', method: 'GET', status: 429, retryAfter: 0, count: 3 },
      { route: '^/media/[^/]+/iptc$', method: 'GET', reset: true, count: 2 },
      { route: '^/media/[^/]+/custom-metadata$', method: 'GET', status: 503, count: 2 },
    ]);
    const rl: number[] = [];
    c.on('ratelimited', (e) => rl.push(e.limit));
    await Promise.all(ids.slice(0, 6).map((id) => c.getMedia(id)));
    await c.getIptc(ids[0]);
    await c.getCustomMetadata(ids[0]);
    assert.equal(rl.length, 3);
    assert.ok(c.limiterState().limit < 4, 'the limit dropped after 429s');
    // every rule fired as often as it was told to, and the call after them succeeded
    const log = await sim.control.requests();
    const answers = (re: RegExp) => log.filter((e) => e.method === 'GET' && re.test(e.path)).map((e) => `${e.status}${e.faults.length ? ` ${e.faults.join(',')}` : ''}`);
    assert.deepEqual(answers(/\/media\/[^/]+\/iptc$/), ['200 reset', '200 reset', '200']);
    assert.deepEqual(answers(/\/media\/[^/]+\/custom-metadata$/), ['503 status:503', '503 status:503', '200']);
    assert.equal(answers(/\/media\/[^/]+$/).filter((a) => a === '429 status:429').length, 3);
  });

  it('shares one login among concurrent first requests, and retries a truncated JSON answer', async () => {
    const c = sessionClient();
    const ids = await sim.control.mediaIds();
    await sim.control.faults({ route: '^/media/[^/]+/iptc$', method: 'GET', truncate: 0.5, count: 1 });
    const retries: string[] = [];
    c.on('retry', (e) => retries.push(e.reason));
    await Promise.all([...ids.slice(0, 8).map((id) => c.getMedia(id)), c.getIptc(ids[0])]);
    const log = await sim.control.requests();
    assert.equal(log.filter((e) => e.method === 'POST' && e.path.endsWith('/authenticate') && !e.path.includes('organization')).length, 1);
    assert.equal(log.filter((e) => e.path.endsWith('/organization/authenticate')).length, 1);
    assert.deepEqual(retries, ['ETRUNCATED']);
  });

  it('detects a truncated download', async () => {
    const c = sessionClient();
    const [id] = await sim.control.mediaIds();
    const ok = await c.download(id);
    let bytes = 0;
    for await (const chunk of ok) bytes += (chunk as Buffer).length;
    assert.equal(bytes, ok.contentLength);
    assert.ok(ok.fileName);
    await sim.control.faults({ route: '/download$', truncate: 0.5, count: 1 });
    const bad = await c.download(id);
    await assert.rejects(
      (async () => {
        for await (const _chunk of bad) void _chunk;
      })(),
      (e: unknown) => e instanceof TruncatedError,
    );
  });
});

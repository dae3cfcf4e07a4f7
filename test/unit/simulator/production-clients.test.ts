// What independent production clients send (the API reference, section 8), answered as they expect, in
// lenient and in strict mode alike.
import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

for (const strict of [false, true]) {
  describe(`simulator: requests of production clients (${strict ? 'strict' : 'lenient'})`, function () {
    this.timeout(30_000);
    let sim: SimHandle;
    let token: string;
    let state: Awaited<ReturnType<SimHandle['control']['state']>>;

    before(async () => {
      sim = await startSim({ assets: 120, strict });
      token = await login(sim);
      state = await sim.control.state();
    });
    after(() => sim.close());

    it('?token= is the session credential on downloads and custom-metadata reads (with the key header)', async () => {
      const id = (await sim.control.mediaIds())[0];
      const q = `token=${encodeURIComponent(token)}`;
      const dl = await call(sim, `/media/${id}/download?${q}`);
      assert.equal(dl.status, 200);
      assert.equal(dl.text.length > 0, true);
      const cm = await call(sim, `/media/${id}/custom-metadata?${q}`);
      assert.equal(cm.status, 200, cm.text);
      assert.ok(Array.isArray(cm.json.data.attributes.custom_metadata));
      assert.equal((await call(sim, `/media/${id}/download?token=wrong`)).status, 401, 'a wrong query token is refused');
      // Elsewhere the query token is no credential (no evidence of it there).
      const other = await call(sim, `/media/${id}?${q}`);
      assert.ok(other.status === 401 || other.status === 400, `GET /media/{id}?token= → ${other.status}`);
      const log = await sim.control.requests();
      assert.ok(log.every((e) => !JSON.stringify(e).includes(token)), 'the query token is not logged');
    });

    it('POST /authenticate with the credentials in the query string and no body; GET of the same URL', async () => {
      const qs = new URLSearchParams({ api_key: sim.apiKey, email: sim.email, password: sim.password, mode: 'token', include: 'options' }).toString();
      for (const method of ['POST', 'GET']) {
        const res = await fetch(`${sim.baseUrl}/authenticate?${qs}`, { method });
        assert.equal(res.status, 200, `${method}: ${await res.clone().text()}`);
        const body = (await res.json()) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body), ['token'], 'answered as the form version is: {"token":…}');
        const t = body.token as string;
        const org = await call(sim, '/organization/authenticate', { token: t, form: { org_id: sim.orgId } });
        assert.equal(org.status, 200);
      }
      const bad = await fetch(`${sim.baseUrl}/authenticate?${qs.replace(/password=[^&]*/, 'password=nope')}`, { method: 'POST' });
      assert.equal(bad.status, 401);
    });

    it('GET /search: the migration loop over the whole library, paged like the other lists', async () => {
      const base = `/search?media_type=image,video,audio,doc&org_id=${sim.orgId}&mode=library&per_page=100&sort_by=creation_time&sort_direction=descending`;
      const seen: string[] = [];
      let times: string[] = [];
      for (let page = 1; page <= 2; page++) {
        const res = await call(sim, `${base}&page=${page}`, { token });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.meta.paging.total, 120);
        for (const m of res.json.data) {
          assert.match(m.id, /^(I0|VD|AD|DO)000/);
          assert.ok(['image', 'video', 'audio', 'document'].includes(m.type));
          seen.push(m.id);
          times.push(m.attributes.created_at);
        }
      }
      assert.equal(new Set(seen).size, 120);
      for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], 'newest first');
      times = [];
      const images = await call(sim, `/search?media_type=image&org_id=${sim.orgId}&mode=library&per_page=100`, { token });
      assert.ok(images.json.data.every((m: { type: string }) => m.type === 'image'));
    });

    it('GET /media/{id}/metadata: raw is a JSON string; author is there', async () => {
      const id = (await sim.control.mediaIds())[3];
      const res = await call(sim, `/media/${id}/metadata`, { token });
      assert.equal(res.status, 200);
      const raw = JSON.parse(res.json.data.attributes.raw);
      assert.equal(raw['XMP-xmpMM:InstanceID'], (await sim.control.media(id)).file.instance_id);
      assert.equal(res.json.data.attributes.author, (await sim.control.media(id)).iptc.author);
    });

    it('gallery cover always answers a data array; collection and gallery key images', async () => {
      const g = state.galleries.find((x) => x.media > 0 && x.parents.length > 0)!;
      const cover = await call(sim, `/galleries/${g.id}/cover`, { token });
      assert.equal(cover.status, 200);
      assert.ok(Array.isArray(cover.json.data) && cover.json.data.length === 1);
      assert.match(cover.json.data[0].id, /^(I0|VD|AD|DO)000/);
      const key = await call(sim, `/collections/${g.parents[0]}/key-image`, { token });
      assert.equal(key.status, 200, key.text);
      assert.equal(key.json.data.type, 'keyImage');
      assert.match(key.json.data.attributes.image_id, /^I0000/);
      assert.equal((await fetch(key.json.data.attributes.image_url)).status, 200, 'the key image URL serves');
      assert.equal((await call(sim, `/galleries/${g.id}/key-image`, { token })).status, 200);
      // an emptied gallery still answers a `data`
      const empty = state.galleries.find((x) => x.media > 0 && x.id !== g.id)!;
      const other = state.galleries.find((x) => x.id !== empty.id)!;
      for (const id of await sim.control.mediaIds(empty.id)) await sim.control.patchMedia(id, { galleries: [other.id] });
      const none = await call(sim, `/galleries/${empty.id}/cover`, { token });
      assert.equal(none.status, 200);
      assert.deepEqual(none.json.data, []);
    });

    it('child counts: production plural names and the draft singular ones, in meta and data', async () => {
      state = await sim.control.state();
      const g = state.galleries.find((x) => x.media > 0)!;
      const res = await call(sim, `/galleries/${g.id}/child-count`, { token });
      const c = res.json.meta.children_count;
      for (const k of ['images', 'videos', 'audio', 'documents', 'total', 'image', 'video', 'document']) assert.equal(typeof c[k], 'number', k);
      assert.equal(c.images + c.videos + c.audio + c.documents, c.total);
      assert.equal(c.total, g.media);
      assert.deepEqual(res.json.data.attributes, c);
      const col = state.collections[0];
      const cc = (await call(sim, `/collections/${col.id}/child-count`, { token })).json.meta.children_count;
      assert.equal(cc.collections + cc.galleries, cc.total);
    });

    it('include= on containers and on a medium’s galleries', async () => {
      state = await sim.control.state();
      const id = (await sim.control.mediaIds())[5];
      const mg = await call(sim, `/media/${id}/galleries?include=gallery`, { token });
      assert.equal(mg.status, 200);
      for (const item of mg.json.data) assert.equal(typeof item.includes.gallery.data.attributes.name, 'string');
      const cols = await call(sim, '/collections?include=permissions,parent&per_page=1000', { token });
      assert.equal(cols.status, 200, cols.text);
      for (const c of cols.json.data) {
        assert.ok(c.includes.permissions.data);
        const parent = state.collections.find((x) => x.id === c.id)!.parent;
        if (parent) {
          assert.equal(c.includes.parent.data.id, parent);
          assert.equal(typeof c.includes.parent.data.attributes.name, 'string');
        } else assert.equal(c.includes.parent.data, null);
      }
      const gals = await call(sim, '/galleries?include=permissions,parent,child-count&per_page=1000', { token });
      assert.equal(gals.status, 200, gals.text);
      for (const g of gals.json.data) {
        const truth = state.galleries.find((x) => x.id === g.id)!;
        assert.equal(g.includes['child-count'].data.attributes.total, truth.media);
        assert.ok(g.includes.permissions.data);
        if (truth.parents.length) assert.equal(g.includes.parent.data.id, truth.parents[0]);
      }
    });

    it('GET /user/invites, /library?is_listed=true, owner_id on containers, POST /organization/logout', async () => {
      const inv = await call(sim, '/user/invites', { token });
      assert.equal(inv.status, 200);
      assert.deepEqual(inv.json.data, []);
      const all = (await call(sim, '/library?per_page=1000', { token })).json.data;
      const listed = await call(sim, '/library?is_listed=true&per_page=1000', { token });
      assert.equal(listed.status, 200);
      assert.ok(listed.json.data.length > 0 && listed.json.data.length < all.length, 'some listed, some not');
      assert.ok(listed.json.data.every((x: { attributes: { is_listed: boolean } }) => x.attributes.is_listed));
      for (const x of all) assert.equal(x.attributes.owner_id, sim.userId);
      const t = await login(sim);
      assert.equal((await call(sim, '/library', { token: t })).json.data.length > 0, true);
      const out = await call(sim, '/organization/logout', { token: t, method: 'POST' });
      assert.equal(out.status, 200);
      assert.deepEqual((await call(sim, '/library', { token: t })).json.data, [], 'no organization context any more');
      assert.equal((await call(sim, '/user/session', { token: t })).status, 200, 'still signed in');
    });

    it('CORS: preflights answered with the PhotoShelter headers allowed; answers carry Access-Control-Allow-Origin', async () => {
      const origin = 'https://wp.example.org';
      const pre = await fetch(`${sim.baseUrl}/library`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-ps-api-key, x-ps-auth-token' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), origin);
      assert.match(pre.headers.get('access-control-allow-methods')!, /GET/);
      const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase();
      for (const h of ['x-ps-api-key', 'x-ps-auth-token', 'authorization', 'content-type']) assert.ok(allowed.includes(h), h);
      const res = await call(sim, '/library', { token, headers: { Origin: origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), origin);
      const err = await call(sim, '/library', { headers: { Origin: origin } });
      assert.equal(err.status, 401);
      assert.equal(err.headers.get('access-control-allow-origin'), origin, 'errors carry it too, so the browser can read them');
    });
  });
}

describe('simulator: CORS origins and deep paging are configurable', function () {
  this.timeout(30_000);

  it('corsOrigins limits the origins that get CORS headers', async () => {
    const sim = await startSim({ assets: 10, corsOrigins: ['https://allowed.example'] });
    try {
      const pre = (origin: string): Promise<Response> =>
        fetch(`${sim.baseUrl}/library`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' } });
      assert.equal((await pre('https://allowed.example')).headers.get('access-control-allow-origin'), 'https://allowed.example');
      assert.equal((await pre('https://other.example')).headers.get('access-control-allow-origin'), null);
      const token = await login(sim);
      assert.equal((await call(sim, '/library', { token, headers: { Origin: 'https://other.example' } })).headers.get('access-control-allow-origin'), null);
    } finally {
      await sim.close();
    }
  });

  it('maxDepth sets a depth limit; a minPage fault reproduces production’s deep-page error at a chosen page', async () => {
    const sim = await startSim({ assets: 30, maxDepth: 200 });
    try {
      const token = await login(sim);
      const q = `/search?org_id=${sim.orgId}&mode=library&per_page=100`;
      assert.equal((await call(sim, `${q}&page=2`, { token })).status, 200);
      const deep = await call(sim, `${q}&page=3`, { token });
      assert.equal(deep.status, 400);
      assert.match(deep.json.errors[0].detail, /beyond 200/);
      await sim.control.faults({ route: '^/search$', status: 500, minPage: 2 });
      assert.equal((await call(sim, `${q}&page=1`, { token })).status, 200, 'pages before it work');
      assert.equal((await call(sim, `${q}&page=2`, { token })).status, 500, 'the chosen page fails');
    } finally {
      await sim.close();
    }
    const open = await startSim({ assets: 10 });
    try {
      const token = await login(open);
      await open.control.faults({ route: '^/search$', status: 502, minPage: 1019 });
      const q = `/search?org_id=${open.orgId}&mode=library&per_page=100`;
      assert.equal((await call(open, `${q}&page=1018`, { token })).status, 200, 'pages 1001–1018 work');
      assert.equal((await call(open, `${q}&page=1019`, { token })).status, 502);
    } finally {
      await open.close();
    }
  });
});

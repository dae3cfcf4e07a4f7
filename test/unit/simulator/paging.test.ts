import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

describe('simulator: paging, sorting and browsing', () => {
  let sim: SimHandle;
  let token: string;
  let state: Awaited<ReturnType<SimHandle['control']['state']>>;
  before(async () => {
    sim = await startSim({ assets: 250 });
    token = await login(sim);
    state = await sim.control.state();
  });
  after(() => sim.close());

  it('defaults to page 1 of 50 with first/last/next as full URLs and no prev', async () => {
    const res = await call(sim, `/media?org_id=${sim.orgId}`, { token });
    assert.equal(res.json.data.length, 50);
    const p = res.json.meta.paging;
    assert.equal(p.total, 250);
    assert.equal(p.page, 1);
    assert.equal(new URL(p.first).searchParams.get('page'), '1');
    assert.equal(new URL(p.last).searchParams.get('page'), '5');
    assert.equal(new URL(p.next).searchParams.get('page'), '2');
    assert.equal(p.prev, undefined);
    assert.ok(p.next.startsWith(sim.baseUrl + '/media?'));
    assert.equal(new URL(p.next).searchParams.get('org_id'), sim.orgId);
    assert.deepEqual(Object.keys(res.json.meta.rate_limit).sort(), ['current', 'expires', 'limit']);
  });

  it('following next walks every item exactly once; the last page has prev and no next', async () => {
    const seen = new Set<string>();
    let url: string | undefined = `/media?org_id=${sim.orgId}&per_page=60&sort_by=file_name&sort_direction=ascending`;
    let pages = 0;
    let last: { prev?: string; next?: string } = {};
    while (url) {
      const res = await call(sim, url, { token });
      for (const m of res.json.data) seen.add(m.id);
      last = res.json.meta.paging;
      url = last.next?.slice(sim.baseUrl.length);
      pages++;
    }
    assert.equal(pages, 5);
    assert.equal(seen.size, 250);
    assert.ok(last.prev);
    assert.equal(last.next, undefined);
  });

  it('both sort spellings give the same order, and the order is right', async () => {
    const a = await call(sim, `/media?org_id=${sim.orgId}&per_page=1000&sort_by=modified_at&sort_direction=descending`, { token });
    const b = await call(sim, `/media?org_id=${sim.orgId}&per_page=1000&sort_by=modified_at&sort_dir=desc`, { token });
    const c = await call(sim, `/media?org_id=${sim.orgId}&per_page=1000&sort_by=modified_at&sort_dir=asc`, { token });
    const ids = (r: typeof a): string[] => r.json.data.map((m: { id: string }) => m.id);
    assert.deepEqual(ids(a), ids(b));
    assert.deepEqual(ids(c), [...ids(a)].reverse());
    const times: string[] = a.json.data.map((m: { attributes: { modified_at: string } }) => m.attributes.modified_at);
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i]);
  });

  it('rejects bad paging and sorting with 400 naming the parameter', async () => {
    for (const [q, name] of [['per_page=1001', 'per_page'], ['per_page=0', 'per_page'], ['page=-1', 'page'], ['page=abc', 'page'],
      ['sort_by=colour', 'sort_by'], ['sort_direction=up', 'sort_direction'], ['sort_dir=ascending', 'sort_dir']]) {
      const res = await call(sim, `/media?org_id=${sim.orgId}&${q}`, { token });
      assert.equal(res.status, 400, q);
      assert.equal(res.json.errors[0].id, 'BadRequestException');
      assert.match(res.json.errors[0].detail, new RegExp(name));
    }
    assert.equal((await call(sim, `/media?org_id=${sim.orgId}&per_page=1000`, { token })).status, 200);
  });

  it('no depth limit by default (pages past 100000 results answer); a page past the end is empty', async () => {
    for (const page of [1000, 1001, 1019, 5000]) {
      const deep = await call(sim, `/media?org_id=${sim.orgId}&per_page=100&page=${page}`, { token });
      assert.equal(deep.status, 200, `page ${page}`);
      assert.deepEqual(deep.json.data, []);
      assert.equal(deep.json.meta.paging.total, 250);
    }
  });

  it('library root, collections ?parent=, children, child-count and path are consistent', async () => {
    const lib = await call(sim, '/library?per_page=1000', { token });
    const rootIds = new Set(lib.json.data.map((x: { id: string }) => x.id));
    const roots = state.collections.filter((c) => c.parent === null);
    for (const c of roots) assert.ok(rootIds.has(c.id));
    const nested = state.collections.find((c) => c.parent !== null)!;
    const byParent = await call(sim, `/collections?parent=${nested.parent}&per_page=1000`, { token });
    assert.ok(byParent.json.data.some((c: { id: string }) => c.id === nested.id));
    const children = await call(sim, `/collections/${nested.parent}/children?per_page=1000`, { token });
    const count = await call(sim, `/collections/${nested.parent}/child-count`, { token });
    assert.equal(count.json.meta.children_count.total, children.json.data.length);
    const path = await call(sim, `/collections/${nested.id}/path`, { token });
    const pathIds = path.json.data.map((x: { id: string }) => x.id);
    assert.equal(pathIds[pathIds.length - 1], nested.id);
    assert.equal(pathIds[pathIds.length - 2], nested.parent);
    assert.equal(path.json.data[0].attributes.name !== undefined, true);
    const link = await call(sim, `/collections/${nested.id}/link`, { token });
    assert.match(link.json.data.attributes.url, /^http/);
  });

  it('galleries ?parent=, children (sort_by added_at), child-count, path; galleries in several collections', async () => {
    const multi = state.galleries.find((g) => g.parents.length > 1);
    assert.ok(multi, 'some gallery sits in two collections');
    for (const parent of multi.parents) {
      const list = await call(sim, `/galleries?parent=${parent}&per_page=1000`, { token });
      assert.ok(list.json.data.some((g: { id: string }) => g.id === multi.id));
    }
    const g = state.galleries.find((x) => x.media >= 5)!;
    const kids = await call(sim, `/galleries/${g.id}/children?per_page=1000&sort_by=added_at&sort_direction=descending`, { token });
    assert.equal(kids.json.data.length, g.media);
    const added: string[] = kids.json.data.map((m: { attributes: { added_at: string } }) => m.attributes.added_at);
    for (let i = 1; i < added.length; i++) assert.ok(added[i - 1] >= added[i]);
    assert.ok(['image', 'video', 'audio', 'document'].includes(kids.json.data[0].type));
    assert.equal(typeof kids.json.data[0].attributes.file_name, 'string');
    const count = await call(sim, `/galleries/${g.id}/child-count`, { token });
    assert.equal(count.json.meta.children_count.total, g.media);
    const path = await call(sim, `/galleries/${g.id}/path`, { token });
    assert.equal(path.json.data[path.json.data.length - 1].id, g.id);
  });

  it('media in several galleries: /media/{id}/galleries lists them all', async () => {
    let found = false;
    for (const id of (await sim.control.mediaIds()).slice(0, 250)) {
      const truth = await sim.control.media(id);
      if (truth.galleries.length < 2) continue;
      const res = await call(sim, `/media/${id}/galleries`, { token });
      assert.deepEqual(res.json.data.map((g: { id: string }) => g.id).sort(), [...truth.galleries].sort());
      found = true;
      break;
    }
    assert.ok(found, 'some medium sits in several galleries');
  });

  it('unknown ids → 404 ResourceNotFoundException; unknown endpoints → 404; wrong method → 405', async () => {
    for (const p of ['/galleries/G0000doesnotexist', '/collections/C0000doesnotexist', '/media/I0000doesnotexist/iptc']) {
      const res = await call(sim, p, { token });
      assert.equal(res.status, 404, p);
      assert.equal(res.json.errors[0].id, 'ResourceNotFoundException');
    }
    assert.equal((await call(sim, '/nothing/here', { token })).status, 404);
    assert.equal((await call(sim, '/library', { token, method: 'DELETE' })).status, 405);
  });
});

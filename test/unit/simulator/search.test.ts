import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

describe('simulator: media search', () => {
  let sim: SimHandle;
  let token: string;
  before(async () => {
    sim = await startSim({ assets: 300, seed: 7 });
    token = await login(sim);
  });
  after(() => sim.close());

  const all = async (query: string): Promise<{ id: string; attributes: Record<string, string> }[]> =>
    (await call(sim, `/media?per_page=1000&${query}`, { token })).json.data;

  it('needs a scope filter; unknown parameters are ignored (lenient)', async () => {
    const none = await call(sim, '/media', { token });
    assert.equal(none.status, 400);
    assert.match(none.json.errors[0].detail, /scope/);
    const unknown = await call(sim, `/media?org_id=${sim.orgId}&colour=red&per_page=1000`, { token });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.data.length, 300, 'an unknown parameter narrows nothing');
  });

  it('org_id and owner_id scope everything; a foreign org gives nothing', async () => {
    assert.equal((await all(`org_id=${sim.orgId}`)).length, 300);
    assert.equal((await all(`owner_id=${sim.userId}`)).length, 300);
    assert.equal((await all('org_id=O0000SOMEOTHER01')).length, 0);
  });

  it('galleries and collections (any depth) scope to their media', async () => {
    const state = await sim.control.state();
    const g = state.galleries[2];
    const ids = new Set(await sim.control.mediaIds(g.id));
    const got = await all(`galleries=${g.id}`);
    assert.deepEqual(new Set(got.map((m) => m.id)), ids);
    // A top collection with a nested child collection: its media include the nested galleries' media.
    const nested = state.collections.find((c) => c.parent !== null && state.galleries.some((x) => x.parents.includes(c.id)))!;
    let top = nested;
    while (top.parent) top = state.collections.find((c) => c.id === top.parent)!;
    const nestedGallery = state.galleries.find((x) => x.parents.includes(nested.id))!;
    const inTop = new Set((await all(`collections=${top.id}`)).map((m) => m.id));
    for (const id of await sim.control.mediaIds(nestedGallery.id)) assert.ok(inTop.has(id));
    assert.equal((await call(sim, '/media?collections=C0000doesnotexist', { token })).status, 400);
  });

  it('modify_start inclusive, modify_end exclusive, at microsecond precision', async () => {
    const sorted = await all(`org_id=${sim.orgId}&sort_by=modified_at&sort_direction=ascending`);
    const pivot = sorted[150].attributes.modified_at;
    const after = await all(`org_id=${sim.orgId}&modify_start=${pivot}`);
    const before = await all(`org_id=${sim.orgId}&modify_end=${pivot}`);
    assert.equal(after.length + before.length, 300);
    assert.ok(after.some((m) => m.id === sorted[150].id));
    assert.ok(!before.some((m) => m.id === sorted[150].id));
    for (const m of after) assert.ok(m.attributes.modified_at >= pivot);
    // An explicit offset names the same instant.
    const shifted = new Date(Date.parse(pivot.slice(0, 19) + 'Z') + 3_600_000).toISOString().slice(0, 19) + pivot.slice(19) + '+01:00';
    const zoned = await all(`org_id=${sim.orgId}&modify_start=${encodeURIComponent(shifted)}`);
    assert.deepEqual(zoned.map((m) => m.id), after.map((m) => m.id));
  });

  it('create_start/create_end filter on created_at', async () => {
    const got = await all(`org_id=${sim.orgId}&create_start=2024-01-01T00:00:00&create_end=2024-07-01T00:00:00`);
    assert.ok(got.length > 0 && got.length < 300);
    for (const m of got) assert.ok(m.attributes.created_at >= '2024-01-01' && m.attributes.created_at < '2024-07-01');
  });

  it('bad dates → 400 naming the parameter', async () => {
    for (const name of ['modify_start', 'modify_end', 'create_start', 'create_end']) {
      const res = await call(sim, `/media?org_id=${sim.orgId}&${name}=2024-13-45`, { token });
      assert.equal(res.status, 400);
      assert.match(res.json.errors[0].detail, new RegExp(name));
    }
  });

  it('a change made in the library shows up in a modify_start window', async () => {
    const clock = await sim.control.clock(0);
    const [id] = await sim.control.mediaIds();
    await sim.control.patchMedia(id, { custom: { 'Approval Status': 'Approved' } });
    const got = await all(`org_id=${sim.orgId}&modify_start=${clock}`);
    assert.deepEqual(got.map((m) => m.id), [id]);
  });

  it('terms and media_type narrow the search; include adds per-item blocks', async () => {
    const images = await all(`org_id=${sim.orgId}&media_type=image`);
    assert.ok(images.length > 200 && images.every((m) => (m as unknown as { type: string }).type === 'image'));
    const berlin = await all('terms=berlin');
    assert.ok(berlin.length > 0);
    const withIptc = await call(sim, `/media?terms=berlin&include=iptc,custom_metadata&per_page=5`, { token });
    for (const m of withIptc.json.data) {
      const iptc = m.includes.iptc.data.attributes;
      assert.match(`${iptc.title} ${iptc.caption} ${iptc.city} ${m.attributes.file_name}`.toLowerCase(), /berlin/);
      assert.ok(Array.isArray(m.includes.custom_metadata.data.attributes.custom_metadata));
    }
    const unknown = await call(sim, `/media?org_id=${sim.orgId}&include=exif,iptc&per_page=2`, { token });
    assert.equal(unknown.status, 200, 'an unknown include name is ignored (lenient)');
    assert.deepEqual(Object.keys(unknown.json.data[0].includes), ['iptc']);
  });

  it('date_format=iso8601 and unix change the date rendering', async () => {
    const [ps] = await all(`org_id=${sim.orgId}&per_page=1&sort_by=created_at&sort_dir=asc`);
    const iso = (await call(sim, `/media/${ps.id}?date_format=iso8601`, { token })).json.data.attributes;
    const unix = (await call(sim, `/media/${ps.id}?date_format=unix`, { token })).json.data.attributes;
    assert.match(ps.attributes.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.equal(iso.created_at, ps.attributes.created_at.slice(0, 19) + '+00:00');
    assert.equal(unix.created_at, Math.floor(Date.parse(ps.attributes.created_at + 'Z') / 1000));
  });
});

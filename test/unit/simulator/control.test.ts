import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../helpers/sim';
import { generateLibrary, generatedCustom, generatedIptc } from '../../../src/simulator/generator';
import { parseArgs } from '../../../src/simulator/cli';
import { startSimulator } from '../../../src/simulator';
import { call, login, repoRoot } from './util';

function digest(seed: number, assets: number): string {
  const lib = generateLibrary({ seed, assets, orgId: 'O0000SIMORG00001', userId: 'U0000SIMUSER0001' });
  const parts: unknown[] = [];
  for (const c of lib.collections.values()) parts.push([c.id, c.name, c.parent?.id, c.createdAt]);
  for (const g of lib.galleries.values()) parts.push([g.id, g.name, g.parents.map((p) => p.id), g.media.map((m) => m.id)]);
  for (const m of lib.mediaList) parts.push([m.id, m.fileName, m.fileSize, m.width, m.height, m.createdAt, m.modifiedAt, generatedIptc(seed, m), generatedCustom(seed, m)]);
  return JSON.stringify(parts);
}

describe('simulator: library generator', () => {
  it('same seed → identical library; another seed → a different one', () => {
    assert.equal(digest(3, 300), digest(3, 300));
    assert.notEqual(digest(3, 300), digest(4, 300));
  });

  it('has a collection tree, shared galleries and media, every media type and awkward names', () => {
    const lib = generateLibrary({ seed: 1, assets: 2000, orgId: 'O0000SIMORG00001', userId: 'U0000SIMUSER0001' });
    const depth = (c: { parent: unknown }): number => (c.parent ? 1 + depth(c.parent as { parent: unknown }) : 1);
    assert.ok(Math.max(...[...lib.collections.values()].map(depth)) >= 3);
    assert.ok([...lib.galleries.values()].some((g) => g.parents.length > 1));
    assert.ok(lib.mediaList.some((m) => m.galleries.length > 1));
    assert.deepEqual(new Set(lib.mediaList.map((m) => m.kind)), new Set(['image', 'video', 'audio', 'document']));
    assert.ok(lib.mediaList.some((m) => /[^\x20-\x7e]/.test(m.fileName)), 'unicode');
    assert.ok(lib.mediaList.some((m) => m.fileName.length > 150), 'very long');
    assert.ok(lib.mediaList.some((m) => m.fileName.includes(' ')), 'spaces');
    const byName = new Map<string, Set<string>>();
    for (const m of lib.mediaList) for (const g of m.galleries) byName.set(m.fileName, (byName.get(m.fileName) ?? new Set()).add(g.id));
    assert.ok([...byName.values()].some((s) => s.size > 1), 'a file name in two galleries');
    const ids = new Set(lib.mediaList.map((m) => m.id));
    assert.equal(ids.size, lib.mediaList.length);
    for (const id of ids) assert.match(id, /^(I0|VD|AD|DO)000[a-zA-Z0-9._]{11}$/);
    const approval = new Set(lib.mediaList.map((m) => generatedCustom(1, m).F0000APPROVALSTS));
    assert.ok(approval.has('Approved') && approval.has('Pending') && approval.has('Rejected'));
    assert.ok(lib.mediaList.every((m) => m.galleries.length > 0));
  });

  it('generates 100k assets quickly', function () {
    this.timeout(30_000);
    const lib = generateLibrary({ seed: 1, assets: 100_000, orgId: 'O0000SIMORG00001', userId: 'U0000SIMUSER0001' });
    assert.equal(lib.mediaList.length, 100_000);
    assert.equal(lib.media.size, 100_000);
  });
});

describe('simulator: control API and request log', () => {
  let sim: SimHandle;
  let token: string;
  before(async () => {
    sim = await startSim({ assets: 50 });
    token = await login(sim);
  });
  after(() => sim.close());

  it('POST media adds an upload visible through the API with its IPTC and custom values', async () => {
    const galleryId = (await sim.control.state()).galleries[1].id;
    const id = await sim.control.addMedia({ galleryId, fileName: 'upload.jpg', size: 12345, iptc: { title: 'Fresh' }, custom: { 'Approval Status': 'Pending', Region: 'APAC' } });
    const res = await call(sim, `/media/${id}?include=iptc,custom_metadata,galleries`, { token });
    assert.equal(res.status, 200);
    assert.equal(res.json.data.attributes.file_name, 'upload.jpg');
    assert.equal(res.json.data.attributes.file_size, 12345);
    assert.equal(res.json.data.includes.iptc.data.attributes.title, 'Fresh');
    const custom = res.json.data.includes.custom_metadata.data.attributes.custom_metadata as { name: string; value: string }[];
    assert.equal(custom.find((f) => f.name === 'Region')!.value, 'APAC');
    assert.deepEqual(res.json.data.includes.galleries.data.map((g: { id: string }) => g.id), [galleryId]);
    const kids = await call(sim, `/galleries/${galleryId}/children?sort_by=added_at&sort_direction=descending&per_page=1`, { token });
    assert.equal(kids.json.data[0].id, id);
  });

  it('bad control input → 400 naming the problem', async () => {
    const galleryId = (await sim.control.state()).galleries[0].id;
    await assert.rejects(sim.control.addMedia({ galleryId: 'G0000nope0000000' }), /galleryId/);
    await assert.rejects(sim.control.addMedia({ galleryId, custom: { Mood: 'happy' } }), /Mood/);
    await assert.rejects(sim.control.addMedia({ galleryId, kind: 'toString' as 'image' }), /kind/);
    await assert.rejects(sim.control.addMedia({ galleryId, size: -1 }), /size/);
    const [id] = await sim.control.mediaIds();
    await assert.rejects(sim.control.patchMedia(id, { custom: { 'License Expiration Date': 'soon' } }), /License Expiration Date/);
  });

  it('PATCH changes metadata and galleries, bumping modified_at; DELETE removes the medium', async () => {
    const state = await sim.control.state();
    const [id] = await sim.control.mediaIds();
    const before = await sim.control.media(id);
    const target = state.galleries.find((g) => !before.galleries.includes(g.id))!.id;
    const after = await sim.control.patchMedia(id, { galleries: [target], iptc: { headline: 'H' } });
    assert.deepEqual(after.galleries, [target]);
    assert.equal(after.iptc.headline, 'H');
    assert.ok(after.modified_at_us > before.modified_at_us);
    assert.deepEqual((await call(sim, `/media/${id}/galleries`, { token })).json.data.map((g: { id: string }) => g.id), [target]);
    await sim.control.deleteMedia(id);
    assert.equal((await call(sim, `/media/${id}`, { token })).status, 404);
    assert.ok(!(await sim.control.mediaIds(target)).includes(id));
  });

  it('reset regenerates the library from a seed', async () => {
    await sim.control.reset({ seed: 9, assets: 30 });
    const a = await sim.control.mediaIds();
    assert.equal(a.length, 30);
    await sim.control.reset({ seed: 9, assets: 30 });
    assert.deepEqual(await sim.control.mediaIds(), a);
    await sim.control.reset({ seed: 10, assets: 30 });
    assert.notDeepEqual(await sim.control.mediaIds(), a);
    assert.equal((await call(sim, '/library', { token })).status, 200, 'tokens survive a reset');
  });

  it('the clock advances and stamps changes', async () => {
    const t0 = await sim.control.clock(0);
    const t1 = await sim.control.clock(86_400);
    assert.ok(Date.parse(t1 + 'Z') - Date.parse(t0 + 'Z') >= 86_400_000);
    const [id] = await sim.control.mediaIds();
    const truth = await sim.control.patchMedia(id, { iptc: { title: 'tomorrow' } });
    assert.ok(truth.modified_at_us / 1000 >= Date.parse(t1 + 'Z'));
  });

  it('the request log records calls without any key, password or token', async () => {
    await sim.control.clearRequests();
    await call(sim, '/authenticate', { form: { email: sim.email, password: sim.password, mode: 'token' } });
    await call(sim, `/library?api_key=${sim.apiKey}`, { token, apiKey: null });
    const code = new URL((await call(sim, `/oauth/authorize?api_key=${sim.apiKey}&client_id=${sim.oauthClientId}&redirect_uri=http://x/cb&response_type=code&state=s3cr3t`, { apiKey: null })).headers.get('location')!).searchParams.get('code')!;
    const tok = await call(sim, '/oauth/token', { form: { grant_type: 'authorization_code', code, client_id: sim.oauthClientId, client_secret: sim.oauthClientSecret } });
    await call(sim, `/library?access_token=${tok.json.access_token}`, { bearer: tok.json.access_token });
    const log = await sim.control.requests();
    assert.ok(log.length >= 5);
    const text = JSON.stringify(log);
    for (const secret of [sim.apiKey, sim.password, token, code, tok.json.access_token, tok.json.refresh_token, sim.oauthClientSecret, 's3cr3t']) {
      assert.ok(!text.includes(secret), `log leaks ${secret.slice(0, 3)}…`);
    }
    const lib = log.find((e) => e.path === '/library' && e.auth === 'session')!;
    assert.equal(lib.method, 'GET');
    assert.equal(lib.status, 200);
    assert.match(lib.time, /^\d{4}-\d\d-\d\dT/);
    assert.equal(lib.query.api_key, '[redacted]');
    await sim.control.clearRequests();
    assert.deepEqual(await sim.control.requests(), []);
  });

  it('the request log lists the latest requests (--request-log N) and counts those it no longer lists', async () => {
    assert.equal(parseArgs(['--request-log', '3']).requestLogSize, 3);
    const small = await startSimulator({ port: 0, seed: 1, assets: 10, requestLogSize: 3 });
    try {
      const get = async () => (await (await fetch(`${small.url}/__sim/requests`)).json()) as { requests: Array<{ path: string }>; total: number; dropped: number };
      for (let i = 0; i < 200; i++) await fetch(`${small.baseUrl}/nowhere-${i}`);
      const full = await get();
      assert.deepEqual(full.requests.map((r) => r.path), ['/nowhere-197', '/nowhere-198', '/nowhere-199']);
      assert.equal(full.total, 200);
      assert.equal(full.dropped, 197);
      await fetch(`${small.url}/__sim/requests`, { method: 'DELETE' });
      assert.deepEqual(await get(), { requests: [], total: 0, dropped: 0 });
    } finally {
      await small.close();
    }
    await assert.rejects(startSimulator({ port: 0, requestLogSize: 0 }), /request log size/);
  });
});

describe('simulator: programmatic API and CLI', () => {
  it('startSimulator honours credentials and validates them', async () => {
    const s = await startSimulator({ port: 0, apiKey: 'OTHERKEY.01', email: 'x@y.z', password: 'pw', orgId: 'O0000OTHER.ORG_1', assets: 5 });
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(s.baseUrl, s.url + '/psapi/v4.0');
      const res = await fetch(`${s.baseUrl}/authenticate`, { method: 'POST', headers: { 'X-PS-Api-Key': 'OTHERKEY.01', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'email=x%40y.z&password=pw&org_id=O0000OTHER.ORG_1' });
      assert.equal(res.status, 200);
    } finally {
      await s.close();
    }
    await assert.rejects(startSimulator({ apiKey: 'short' }), /apiKey/);
    await assert.rejects(startSimulator({ orgId: 'O1' }), /orgId/);
  });

  it('parses its options', () => {
    assert.deepEqual(parseArgs(['--port', '9000', '--seed=4', '--assets', '10', '--api-key', 'ABCDEFGHIJK', '--rate-limit', '5', '--demo']),
      { port: 9000, seed: 4, assets: 10, apiKey: 'ABCDEFGHIJK', rateLimit: 5 });
    assert.deepEqual(parseArgs(['--strict', '--cors-origins', 'https://a.example, https://b.example', '--max-depth=101800']),
      { strict: true, corsOrigins: ['https://a.example', 'https://b.example'], maxDepth: 101_800 });
    assert.deepEqual(parseArgs(['--cors-origins=*']), { corsOrigins: '*' });
    assert.throws(() => parseArgs(['--bogus']), /unknown option/);
    assert.throws(() => parseArgs(['--port']), /needs a value/);
  });

  it('runs, prints the base URL and credentials, and stops on SIGINT', async function () {
    this.timeout(20_000);
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'simulator', 'cli.ts'), '--port', '0', '--assets', '5'], { cwd: repoRoot });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 150 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
      const base = /base URL\s+(\S+)/.exec(out)?.[1];
      assert.ok(base, out);
      assert.match(out, /SIMKEY00001/);
      const res = await fetch(`${base}/library`, { headers: { 'X-PS-Api-Key': 'SIMKEY00001' } });
      assert.equal(res.status, 401);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineExamples, exampleFiles, loadExample, subflowPart, type FlowNode } from '../helpers/examples';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { assertEvidenced } from '../helpers/evidence';
import { freePort, pollAfterChange, startRuntime, type Runtime } from './runtime';
import { waitFor } from '../helpers/wait';
import { debugTap, type DebugTap } from '../helpers/debug-tap';

const load = loadExample;
const files = exampleFiles;

const OURS = new Set(['photoshelter-account', 'photoshelter-trigger', 'photoshelter-fetch', 'photoshelter-update', 'photoshelter-rights', 'photoshelter-deliver', 'photoshelter-destination', 'photoshelter-ledger']);
const CORE = new Set([
  'tab', 'group', 'comment', 'inject', 'debug', 'complete', 'catch', 'status', 'link in', 'link out', 'link call', 'junction',
  'function', 'switch', 'change', 'range', 'template', 'delay', 'trigger', 'exec', 'filter', 'split', 'join', 'sort', 'batch',
  'csv', 'html', 'json', 'xml', 'yaml', 'file', 'file in', 'watch', 'http in', 'http response', 'http request',
  'mqtt in', 'mqtt out', 'mqtt-broker',
]);
const ENV_REF = /^\$\{([A-Z0-9_]+)\}$/;

/** Every `${NAME}` a node's fields (credentials included) refer to. */
function envRefs(node: FlowNode): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      const m = ENV_REF.exec(v);
      if (m) out.push(m[1]);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(node);
  return out;
}

describe('the example flows: what ships', () => {
  it('one flow per job, 1 to 8, named for the Import menu, plus the local-folder start and the stand-in CMS', () => {
    const names = files();
    for (let job = 1; job <= 8; job++) assert.equal(names.filter((n) => n.startsWith(`${job} `) && !n.includes('PostgreSQL')).length, 1, `one example for job ${job} in ${names.join(', ')}`);
    // example 9 runs on several Node-REDs: a leader's flow and a worker's
    assert.deepEqual(names.filter((n) => n.startsWith('9 ')), ['9 Migration across several Node-RED workers (leader).json', '9 Migration across several Node-RED workers (worker).json']);
    assert.ok(names.includes('Approved photos to a local folder.json'));
    assert.ok(names.includes('Stand-in CMS for the examples.json'));
  });

  for (const name of files()) {
    describe(name, () => {
      const flow = load(name);
      const tab = flow.find((n) => n.type === 'tab') as FlowNode & { env?: Array<{ name: string; type: string; value: string }>; info?: string; label?: string };

      const subflows = new Set(flow.filter((n) => n.type === 'subflow').map((n) => n.id));
      it('is one tab whose nodes, config nodes included, all live on it (or in a subflow the file defines)', () => {
        assert.equal(flow.filter((n) => n.type === 'tab').length, 1);
        for (const n of flow) {
          if (n.type === 'tab' || n.type === 'subflow') continue;
          assert.ok(n.z === tab.id || subflows.has(String(n.z)), `${n.id} (${n.type}) is on the tab or in a subflow of the file`);
        }
        for (const id of subflows) {
          assert.ok(flow.some((n) => n.type === `subflow:${id}` && n.z === tab.id), `the subflow ${id} is used on the tab`);
          // a subflow's own properties would hide the tab's variables of the same name from the nodes inside it
          assert.deepEqual((flow.find((n) => n.id === id) as FlowNode & { env?: unknown[] }).env ?? [], [], `${id} reads the tab's environment`);
        }
      });

      it('uses only this package and Node-RED core nodes (and its own subflows)', () => {
        for (const n of flow) {
          const instanceOf = /^subflow:(.+)$/.exec(n.type)?.[1];
          assert.ok(OURS.has(n.type) || CORE.has(n.type) || n.type === 'subflow' || (instanceOf !== undefined && subflows.has(instanceOf)), `${n.id}: ${n.type}`);
        }
      });

      it('explains itself: the tab and a comment carry a description', () => {
        assert.ok((tab.info ?? '').length > 40, 'tab info');
        assert.ok(flow.some((n) => n.type === 'comment' && typeof n.info === 'string' && (n.info as string).length > 200), 'a comment with a description');
      });

      it('reads every setting from the environment, with a default on its tab that the process environment overrides', () => {
        const env = new Map((tab.env ?? []).map((e) => [e.name, e]));
        for (const n of flow) {
          for (const ref of envRefs(n)) {
            const e = env.get(ref);
            assert.ok(e, `${n.id} reads \${${ref}}: the tab defines a default`);
            assert.equal(e.type, 'jsonata');
            assert.ok(e.value.startsWith(`$env('${ref}') ? $env('${ref}') : `), `${ref}: the process environment wins`);
          }
        }
        if (flow.some((n) => n.type === 'photoshelter-account')) {
          for (const v of ['BASE_URL', 'API_KEY', 'EMAIL', 'PASSWORD', 'ORG_ID']) assert.ok(env.has(`PHOTOSHELTER_${v}`), `PHOTOSHELTER_${v}`);
        }
      });

      it('holds no secret: credentials are references to the environment', () => {
        for (const n of flow) {
          const creds = (n.credentials ?? {}) as Record<string, unknown>;
          for (const [k, v] of Object.entries(creds)) assert.match(String(v), ENV_REF, `${n.id}.credentials.${k}`);
        }
      });
    });
  }

  it('node ids are unique across all examples, so that they can be deployed together; a shared subflow is the same in each file', () => {
    const seen = new Map<string, string>();
    for (const name of files()) {
      const shared = subflowPart(load(name));
      for (const n of load(name)) {
        assert.ok(!seen.has(n.id) || shared.has(n.id), `${n.id} is in ${seen.get(n.id)} and ${name}`);
        seen.set(n.id, name);
      }
    }
    // combineExamples refuses a shared node whose copies differ
    const all = combineExamples(files());
    assert.equal(new Set(all.map((n) => n.id)).size, all.length);
  });

  it('examples 1 and 5 share the subflow "Remove from WordPress by slug"', () => {
    const one = load('1 Approved photos to the WordPress media library.json');
    const five = load('5 Rights sweep of delivered photos.json');
    const def = (f: FlowNode[]) => f.find((n) => n.type === 'subflow' && n.name === 'Remove from WordPress by slug');
    assert.ok(def(one) && def(five));
    assert.equal(def(one)?.id, def(five)?.id);
    for (const f of [one, five]) assert.ok(f.some((n) => n.type === `subflow:${String(def(f)?.id)}`));
  });
});

/** The key example 2's endpoint asks for (the demo sets one the same way). */
const METADATA_API_KEY = 'examples-test-metadata-key-0123456789abcdef';

describe('the example flows, as shipped, in a real Node-RED runtime', function () {
  this.timeout(240_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let outDir: string;
  let cms: string;
  const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    outDir = mkdtempSync(join(tmpdir(), 'ps-examples-'));
    const port = await freePort();
    cms = `http://127.0.0.1:${port}/demo-cms`;
    red = await startRuntime({
      port,
      env: {
        ...photoshelterEnv(sim),
        PHOTOSHELTER_OUT_DIR: outDir,
        WORDPRESS_MEDIA_URL: `${cms}/wp/v2/media`,
        NOTIFY_URL: `${cms}/notifications`,
        METADATA_API_KEY,
      },
    });
    const mine = [
      'Approved photos to a local folder.json',
      '1 Approved photos to the WordPress media library.json',
      '2 Campaign metadata from a master system.json',
      '5 Rights sweep of delivered photos.json',
      'Stand-in CMS for the examples.json',
    ];
    await red.deploy(combineExamples(mine));
    tap = await debugTap(red.url);
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  const truths = async () => Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
  /** A pending image, not used by an earlier test. */
  const used = new Set<string>();
  const pendingImage = async (extra: (t: MediaTruth) => boolean = () => true) => {
    const t = (await truths()).find((m) => m.custom['Approval Status'] === 'Pending' && m.type === 'image' && !used.has(m.id) && extra(m));
    assert.ok(t, 'a pending image in the simulated library');
    used.add(t.id);
    return t;
  };
  const settleAndPoll = (trigger: string) => pollAfterChange(sim, red, [trigger]);
  type Item = { id: number; slug: string; title: { raw: string }; caption: { raw: string }; alt_text: string; source_url: string };
  /** A slug as WordPress (and the stand-in) store it: a dot in a media id becomes a dash. */
  const stored = (slug: string) => slug.replace(/[^a-z0-9_-]+/g, '-');
  const cmsBySlug = async (slug: string): Promise<Item[]> => (await (await fetch(`${cms}/wp/v2/media?slug=${slug}`, { headers: auth })).json()) as Item[];

  it('deploy, and every node starts without an error', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  it('Approved photos to a local folder: an approval writes the original and a JSON sidecar', async () => {
    const pending = await pendingImage();
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    const dir = join(outDir, 'local-folder');
    const written = () => (existsSync(dir) ? readdirSync(dir) : []);
    await settleAndPoll('demo.approved');
    // the file node writes in place: the sidecar is complete when it parses
    const sidecarReady = () => {
      const f = written().find((n) => n.startsWith(pending.id) && n.endsWith('.json'));
      if (!f) return false;
      try {
        JSON.parse(readFileSync(join(dir, f), 'utf8'));
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(async () => {
      await red.admin('POST', '/photoshelter/trigger/demo.approved/poll');
      return sidecarReady();
    }, 'the approved original and its sidecar');
    const file = written().find((f) => f.startsWith(pending.id) && !f.endsWith('.json')) as string;
    assert.equal(readFileSync(join(dir, file)).length, pending.file_size);
    const sidecar = JSON.parse(readFileSync(join(dir, `${file}.json`), 'utf8')) as { id: string; custom: Record<string, string> };
    assert.equal(sidecar.id, pending.id);
    assert.equal(sidecar.custom['Approval Status'], 'Approved');
  });

  it('Campaign metadata from a master system: writes what changed and answers with the difference', async () => {
    const [id] = await sim.control.mediaIds();
    const body = { id, campaign: 'Spring 2027', projectCode: 'PRJ-42', department: 'Marketing', usageRights: 'Web and print', expires: '2027-12-31' };
    const call = async () => {
      const res = await fetch(`${red.url}/photoshelter/metadata`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${METADATA_API_KEY}` }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as { changed: boolean; fields: Record<string, { before: unknown; after: unknown }> } };
    };
    const first = await call();
    assert.equal(first.status, 200);
    assert.equal(first.json.changed, true);
    assert.equal(first.json.fields.Campaign.after, 'Spring 2027');
    const truth = await sim.control.media(id);
    assert.equal(truth.custom.Campaign, 'Spring 2027');
    assert.equal(truth.custom['License Expiration Date'], '2027-12-31');
    await sim.control.clearRequests();
    const again = await call();
    assert.equal(again.json.changed, false, 'a repeated call changes nothing');
    assert.equal((await sim.control.requests()).filter((r) => r.method === 'PATCH').length, 0, 'and writes nothing');
    const bad = await fetch(`${red.url}/photoshelter/metadata`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${METADATA_API_KEY}` }, body: JSON.stringify({ id: 'nope' }) });
    assert.equal(bad.status, 400);
    // without the key, or with another one, or posted as a form: 401 and nothing written
    const other = { ...body, campaign: 'Hijacked' };
    const attempts: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', authorization: 'Bearer wrong-key' }, { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' }];
    for (const headers of attempts) {
      const refused = await fetch(`${red.url}/photoshelter/metadata`, { method: 'POST', headers, body: headers['content-type'].includes('json') ? JSON.stringify(other) : new URLSearchParams(other).toString() });
      assert.equal(refused.status, 401, JSON.stringify(headers));
    }
    assert.equal((await sim.control.media(id)).custom.Campaign, 'Spring 2027', 'nothing was written without the key');
  });

  let published: MediaTruth;
  let kept: MediaTruth;
  let raw: MediaTruth | undefined;
  it('1 → WordPress (the stand-in CMS): the file, its title, caption, alt text and slug; once per version', async () => {
    published = await pendingImage((t) => /\.jpe?g$/i.test(t.file_name));
    kept = await pendingImage((t) => /\.jpe?g$/i.test(t.file_name));
    await sim.control.patchMedia(published.id, { custom: { 'Approval Status': 'Approved' }, iptc: { headline: 'Harbour at dawn', caption: 'Boats & <nets> at first light' } });
    await sim.control.patchMedia(kept.id, { custom: { 'Approval Status': 'Approved', 'Usage Rights': 'Unlimited', 'License Expiration Date': '2099-12-31' } });
    await settleAndPoll('job1.approved');
    const slug = `ps-${published.id.toLowerCase()}`;
    await waitFor(async () => (await cmsBySlug(slug)).length === 1, 'the media item with its metadata', 30_000);
    const [item] = await cmsBySlug(slug);
    assert.equal(item.title.raw, 'Harbour at dawn');
    assert.equal(item.caption.raw, 'Boats & <nets> at first light');
    assert.equal(item.alt_text, 'Boats & <nets> at first light');
    const bytes = Buffer.from(await (await fetch(item.source_url)).arrayBuffer());
    assert.equal(bytes.length, published.file_size);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    await waitFor(async () => (await cmsBySlug(`ps-${kept.id.toLowerCase()}`)).length === 1, 'the second media item', 30_000);
    // approved again: the same version is not uploaded twice
    await sim.control.patchMedia(published.id, { custom: { 'Approval Status': 'Pending' } });
    await settleAndPoll('job1.approved');
    await sim.control.patchMedia(published.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll('job1.approved');
    // the new approval reaches the flow, and the delivery ledger recognises the version as delivered
    await waitFor(() => tap.from('job1.already').includes(published.file_name), `"already in WordPress" for ${published.file_name}`, 30_000);
    const all = (await (await fetch(`${cms}/wp/v2/media`, { headers: auth })).json()) as Item[];
    assert.equal(all.filter((i) => i.slug.startsWith(stored(slug))).length, 1, 'one media item per asset version');
    assert.equal(all.filter((i) => i.slug.startsWith('media-')).length, 0, 'no item left without its metadata');
    assert.match(await (await fetch(`${cms}`)).text(), /Harbour at dawn/, 'the stand-in CMS page lists it');
  });

  it('1 → WordPress: a file WordPress does not take (RAW, TIFF…) goes as a JPEG rendition named .jpg', async function () {
    raw = (await truths()).find((m) => m.custom['Approval Status'] === 'Pending' && m.type === 'image' && !used.has(m.id) && !/\.(jpe?g|png|gif|webp)$/i.test(m.file_name));
    if (!raw) return this.skip();
    used.add(raw.id);
    await sim.control.patchMedia(raw.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll('job1.approved');
    const slug = `ps-${raw.id.toLowerCase()}`;
    await waitFor(async () => (await cmsBySlug(slug)).length === 1, 'the rendition in the CMS', 30_000);
    const [item] = await cmsBySlug(slug);
    const bytes = Buffer.from(await (await fetch(item.source_url)).arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    const name = (item as unknown as { file: string }).file;
    assert.ok(name.endsWith(`${raw.file_name.replace(/\.[^.]*$/, '')}.jpg`), name);
  });

  it('1 → WordPress: a new version of an approved asset replaces its media item (one item, the new bytes, the old item gone)', async () => {
    const slug = `ps-${kept.id.toLowerCase()}`;
    const [before] = await cmsBySlug(slug);
    assert.ok(before, 'the item of the first approval');
    const newer = await sim.control.patchMedia(kept.id, { size: kept.file_size + 4321, custom: { 'Approval Status': 'Pending' } });
    await settleAndPoll('job1.approved');
    await sim.control.patchMedia(kept.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll('job1.approved');
    const replaced = async () => {
      const items = await cmsBySlug(slug);
      return items.length === 1 && items[0].id !== before.id;
    };
    await waitFor(replaced, 'the new version in place of the old item', 30_000);
    const all = (await (await fetch(`${cms}/wp/v2/media`, { headers: auth })).json()) as Item[];
    assert.deepEqual(all.filter((i) => i.slug.startsWith(stored(slug))).map((i) => i.slug), [stored(slug)], 'one item, with the slug (no ps-…-2)');
    assert.equal(all.filter((i) => i.slug.startsWith('media-')).length, 0, 'no item left without its metadata');
    assert.equal((await fetch(`${cms}/wp/v2/media/${before.id}`, { headers: auth })).status, 404, 'the old item is gone');
    const [item] = await cmsBySlug(slug);
    const bytes = Buffer.from(await (await fetch(item.source_url)).arrayBuffer());
    assert.equal(bytes.length, newer.file_size, 'the new version\'s bytes');
    kept = newer;
  });

  const downloadsOf = async (id: string) => (await sim.control.requests()).filter((r) => r.path.startsWith(`/media/${id}/download`)).length;
  const allItems = async () => (await (await fetch(`${cms}/wp/v2/media`, { headers: auth })).json()) as Item[];

  it('1 → WordPress: a metadata edit of an asset that stays approved updates title, caption and alt text in place, without an upload', async () => {
    const slug = `ps-${kept.id.toLowerCase()}`;
    const [before] = await cmsBySlug(slug);
    assert.ok(before, 'the item of the asset');
    const items = (await allItems()).length;
    const downloads = await downloadsOf(kept.id);
    const described = tap.from('job1.published').length;
    await sim.control.patchMedia(kept.id, { iptc: { headline: 'Quay in fog', caption: 'Mooring lines, "wet"' } });
    await settleAndPoll('job1.approved');
    await waitFor(async () => (await cmsBySlug(slug))[0]?.title.raw === 'Quay in fog', 'the new title in WordPress', 30_000);
    const [after] = await cmsBySlug(slug);
    assert.equal(after.id, before.id, 'the same media item');
    assert.equal(after.caption.raw, 'Mooring lines, "wet"');
    assert.equal(after.alt_text, 'Mooring lines, "wet"');
    assert.equal(after.source_url, before.source_url, 'the same file');
    assert.equal((await allItems()).length, items, 'nothing uploaded');
    assert.equal(await downloadsOf(kept.id), downloads, 'nothing downloaded from PhotoShelter');
    await waitFor(() => tap.from('job1.published').length > described, 'the flow says it described the item');
    // an edit that changes none of the three (a custom field) writes nothing to WordPress
    const unchanged = tap.from('job1.unchanged').length;
    await sim.control.patchMedia(kept.id, { custom: { Campaign: 'Harbour week' } });
    await settleAndPoll('job1.approved');
    await waitFor(() => tap.from('job1.unchanged').length > unchanged, '"description unchanged"', 30_000);
    assert.ok(tap.from('job1.unchanged').at(-1)?.includes(kept.id));
    assert.deepEqual(await cmsBySlug(slug), [after], 'the item as it was');
    assert.equal(await downloadsOf(kept.id), downloads);
  });

  it('1 → WordPress: a new file version of an asset that stays approved replaces its media item', async () => {
    const slug = `ps-${kept.id.toLowerCase()}`;
    const [before] = await cmsBySlug(slug);
    const newer = await sim.control.patchMedia(kept.id, { size: kept.file_size + 777 });
    assert.equal(newer.custom['Approval Status'], 'Approved', 'it stays approved');
    await settleAndPoll('job1.approved');
    await waitFor(async () => {
      const now = await cmsBySlug(slug);
      return now.length === 1 && now[0].id !== before.id && now[0].title.raw === 'Quay in fog';
    }, 'the new version in place of the old item, described', 30_000);
    const [item] = await cmsBySlug(slug);
    assert.equal(Buffer.from(await (await fetch(item.source_url)).arrayBuffer()).length, newer.file_size, 'the new version\'s bytes');
    assert.equal((await fetch(`${cms}/wp/v2/media/${before.id}`, { headers: auth })).status, 404, 'the old item is gone');
    assert.equal((await allItems()).filter((i) => i.slug.startsWith(stored(slug))).length, 1, 'one item per asset');
    kept = newer;
  });

  /** Waits for the end of a sweep started now (its join saw every listed asset come back); resolves with what it checked. */
  const sweep = async (): Promise<{ checked: number }> => {
    const before = tap.json<{ checked: number }>('job5.swept').length;
    const res = await red.admin('POST', '/inject/job5.schedule');
    assert.equal(res.status, 200);
    await waitFor(() => tap.json('job5.swept').length > before, 'the end of the sweep', 60_000);
    return tap.json<{ checked: number }>('job5.swept')[before];
  };

  it('5 rights sweep: starts from what example 1 delivered; an expired licence removes the WordPress item and sends one notification; valid ones stay', async () => {
    await sim.control.patchMedia(published.id, { custom: { 'License Expiration Date': '2020-01-31' } });
    const before = (await (await fetch(`${cms}/notifications`)).json()) as unknown[];
    await sim.control.clearRequests();
    const done = await sweep();
    // example 1 delivered every asset the tests above approved (the local-folder one too), of 60 in the library
    const delivered = [...used];
    assert.equal(done.checked, delivered.length, 'every delivered asset, and nothing else, was checked');
    const read = new Set((await sim.control.requests()).map((r) => /^\/media\/([^/]+)/.exec(r.path)?.[1]).filter(Boolean));
    assert.deepEqual([...read].sort(), [...delivered].sort(), 'PhotoShelter was asked about the delivered assets only');
    await waitFor(async () => (await cmsBySlug(`ps-${published.id.toLowerCase()}`)).length === 0, 'the expired item removed', 60_000);
    await waitFor(async () => ((await (await fetch(`${cms}/notifications`)).json()) as unknown[]).length === before.length + 1, 'one notification', 60_000);
    const notes = (await (await fetch(`${cms}/notifications`)).json()) as Array<{ body: { checked: number; removed: Array<{ id: string; reason: string; wordpress: string; sftp: string }> } }>;
    const note = notes[notes.length - 1].body.removed.find((r) => r.id === published.id);
    assert.ok(note, 'the notification names the asset');
    assert.equal(notes[notes.length - 1].body.checked, delivered.length);
    assert.match(note.reason, /^expired/);
    assert.match(note.wordpress, /^removed \d+/);
    assert.match(note.sftp, /not configured/);
    assert.equal((await cmsBySlug(`ps-${kept.id.toLowerCase()}`)).length, 1, 'an asset within its licence stays');
    assert.ok(!notes[notes.length - 1].body.removed.some((r) => r.id === kept.id));
    assert.ok(notes[notes.length - 1].body.removed.every((r) => /^removed/.test(r.wordpress) || /^removed/.test(r.sftp)), 'only what was removed is listed');
  });

  it('5 rights sweep: a sweep that removes nothing leaves the CMS as it is and sends no notification', async () => {
    const count = async () => ((await (await fetch(`${cms}/notifications`)).json()) as unknown[]).length;
    const before = await count();
    const items = async () => ((await (await fetch(`${cms}/wp/v2/media`, { headers: auth })).json()) as Item[]).map((i) => `${i.id} ${i.slug}`).sort();
    const held = await items();
    assert.ok(held.length >= 1, 'the CMS holds items a wrong removal would take away');
    const done = await sweep();
    assert.ok(done.checked >= 2, 'the delivered assets were checked again');
    assert.deepEqual(await items(), held, 'nothing was removed in this sweep');
    // nothing removed: the summary sends no notification
    assert.equal(await count(), before);
  });

  it('sent PhotoShelter only requests the API reference evidences', async () => {
    assertEvidenced(await sim.control.requests());
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime, pollAfterChange } from './runtime';
import { debugTap, type DebugTap } from '../helpers/debug-tap';

const FLOW = join(__dirname, '..', '..', 'examples', '6 Curated collection to regional campaign libraries.json');
/** CAMPAIGN_COLLECTION's default: "Spring Launch" of the seed-1 library. */
const DEFAULT_COLLECTION = 'C0000Gu8u8AAAAAA';

/** The rule the flow documents: custom field Region, else the IPTC country code, else Unassigned. */
const BY_COUNTRY: Record<string, string> = {
  DEU: 'EMEA', FRA: 'EMEA', CHE: 'EMEA', ZAF: 'EMEA', USA: 'North America', CAN: 'North America', BRA: 'LATAM', JPN: 'APAC', AUS: 'APAC',
};
const FOLDER: Record<string, string> = { EMEA: 'emea', 'North America': 'north-america', LATAM: 'latam', APAC: 'apac', Unassigned: 'unassigned' };
const regionOf = (t: MediaTruth): string => t.custom.Region ?? BY_COUNTRY[String(t.iptc.country_iso)] ?? 'Unassigned';

const files = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)])) : [];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('example 6, curated collection to regional campaign libraries, as shipped in a real runtime', function () {
  this.timeout(240_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let outDir: string;
  let library: string;
  /** What the deliver nodes answered for an asset, in order (the "delivered" debug node shows msg.delivery). */
  const deliveries = (id: string) => tap.json<{ location: string; skipped: boolean }>('job6.delivered').filter((d) => typeof d === 'object' && d.location.includes(id));

  const poll = async (id: string) => assert.equal((await red.admin('POST', `/photoshelter/trigger/${id}/poll`)).status, 200);
  const settleAndPoll = () => pollAfterChange(sim, red, ['job6.changed', 'job6.added']);
  /** The walk's state as the trigger stored it (its state file). */
  const walk = async (): Promise<{ id: string; done: boolean; emitted: number; acked: number } | undefined> => {
    const file = join(red.userDir, 'photoshelter', 'triggers', 'job6_walk.json');
    if (!existsSync(file)) return undefined;
    return (JSON.parse(readFileSync(file, 'utf8')) as { state?: { walk?: { id: string; done: boolean; emitted: number; acked: number } } }).state?.walk;
  };
  /** The original bytes of the asset's current version, as the simulator serves them. */
  const original = async (t: MediaTruth) => Buffer.from(await (await fetch(`${sim.url}/__sim/files/${t.id}/${t.version}/original`)).arrayBuffer());
  const expectedPath = (t: MediaTruth) => join(library, FOLDER[regionOf(t)], `${t.id} ${t.file_name}`);
  const ledgerDone = () =>
    readdirSync(join(red.userDir, 'photoshelter', 'deliveries'))
      .filter((f) => f.startsWith('job6_'))
      .flatMap((f) => readFileSync(join(red.userDir, 'photoshelter', 'deliveries', f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { t: string; a: string; v: string; l: string; c?: string })
      // a record with `c` is a delivered version checked again (the asset was modified since), not a delivery
      .filter((r) => r.t === 'done' && !r.c);
  const ledgerRemoved = () =>
    readdirSync(join(red.userDir, 'photoshelter', 'deliveries'))
      .filter((f) => f.startsWith('job6_'))
      .flatMap((f) => readFileSync(join(red.userDir, 'photoshelter', 'deliveries', f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { t: string; a: string; l: string })
      .filter((r) => r.t === 'removed');

  /** Ids of the media under the collection and its sub-collections, from the simulator's truth. */
  async function collectionMedia(collection: string): Promise<MediaTruth[]> {
    const state = await sim.control.state();
    const inTree = new Set([collection]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const c of state.collections) if (c.parent && inTree.has(c.parent) && !inTree.has(c.id)) grew = Boolean(inTree.add(c.id));
    }
    const galleries = state.galleries.filter((g) => g.parents.some((p) => inTree.has(p)));
    const ids = new Set((await Promise.all(galleries.map((g) => sim.control.mediaIds(g.id)))).flat());
    return Promise.all([...ids].map((id) => sim.control.media(id)));
  }

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    outDir = mkdtempSync(join(tmpdir(), 'ps-job6-'));
    library = join(outDir, 'campaign-library');
    // CAMPAIGN_COLLECTION is left unset: the flow's default names a collection of this library
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
        PHOTOSHELTER_OUT_DIR: outDir,
      },
    });
    await red.deploy(JSON.parse(readFileSync(FLOW, 'utf8')) as unknown[]);
    tap = await debugTap(red.url);
    // the polling triggers record where "now" is
    await poll('job6.changed');
    await poll('job6.added');
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('deploys without an error, S3 unconfigured', () => {
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  let scope: MediaTruth[];
  it('a sync puts every asset of the collection into its region\'s folder, with the original bytes', async () => {
    scope = await collectionMedia(DEFAULT_COLLECTION);
    assert.ok(scope.length >= 10, `the default collection has media (${scope.length})`);
    const regions = new Set(scope.map(regionOf));
    assert.ok(regions.size >= 3, `the collection spans regions: ${[...regions].join(', ')}`);
    assert.equal((await red.admin('POST', '/inject/job6.syncNow')).status, 200);
    await waitFor(async () => (await walk())?.done === true, 'the end of the walk', 120_000);
    const expected = scope.map(expectedPath).sort();
    assert.deepEqual(files(library).sort(), expected, 'exactly the collection, each in its region (no temporary files left)');
    for (const t of scope) {
      const bytes = readFileSync(expectedPath(t));
      assert.equal(bytes.length, t.file_size, t.id);
      assert.equal(sha256(bytes), sha256(await original(t)), `${t.id}: the original's bytes`);
    }
    const w = await walk();
    assert.equal(w?.emitted, scope.length, 'each asset once, even one that sits in two galleries');
    assert.equal(w?.acked, scope.length, 'every delivery acknowledged');
    assert.equal(ledgerDone().length, scope.length);
  });

  it('keeps in sync: a new version is delivered again, a metadata edit and a second sync deliver nothing', async () => {
    const [changed, edited] = scope.filter((t) => t.file_size < 2_000_000);
    assert.ok(changed && edited);
    const editedPath = expectedPath(edited);
    const editedMtime = statSync(editedPath).mtimeMs;
    const ledgerBefore = ledgerDone().length;
    const editedAnswers = deliveries(edited.id).length;
    const newer = await sim.control.patchMedia(changed.id, { size: changed.file_size + 4321 });
    assert.notEqual(newer.version, changed.version);
    await sim.control.patchMedia(edited.id, { iptc: { caption: 'only the caption changed' } });
    await settleAndPoll();
    await waitFor(() => existsSync(expectedPath(newer)) && statSync(expectedPath(newer)).size === newer.file_size, 'the new version in its library');
    assert.equal(sha256(readFileSync(expectedPath(newer))), sha256(await original(newer)));
    // the metadata edit reached the deliver node too, and was skipped: the file is the same
    await waitFor(() => deliveries(edited.id).length > editedAnswers, 'the answer to the edit');
    assert.deepEqual(deliveries(edited.id).slice(editedAnswers).map((d) => d.skipped), [true]);
    // a second, full sync: every asset is looked at, nothing is delivered
    const before = (await walk())?.id;
    assert.equal((await red.admin('POST', '/inject/job6.syncNow')).status, 200);
    await waitFor(async () => {
      const w = await walk();
      return w !== undefined && w.id !== before && w.done;
    }, 'the second walk', 120_000);
    assert.equal((await walk())?.acked, scope.length);
    assert.equal(ledgerDone().length, ledgerBefore + 1, 'one new delivery: the new version');
    assert.equal(ledgerDone().filter((r) => r.a === edited.id).length, 1, 'the edited asset was delivered once');
    assert.equal(statSync(editedPath).mtimeMs, editedMtime, 'its file was not written again');
    assert.equal(files(library).length, scope.length);
  });

  it('an asset newly placed in the collection is delivered once, into the region its Region field names', async () => {
    const galleries = (await sim.control.state()).galleries.filter((g) => g.parents.includes(DEFAULT_COLLECTION) || g.parents.includes('C0000XrBFkAAAAAC'));
    assert.ok(galleries.length > 0);
    const id = await sim.control.addMedia({ galleryId: galleries[0].id, fileName: 'new in the campaign.jpg', size: 65_432, iptc: { country_iso: 'JPN' }, custom: { Region: 'LATAM' } });
    const t = await sim.control.media(id);
    assert.equal(regionOf(t), 'LATAM');
    await settleAndPoll();
    const path = join(library, 'latam', `${id} new in the campaign.jpg`);
    await waitFor(() => existsSync(path), 'the new asset in the LATAM library');
    await settleAndPoll();
    // both triggers saw it (changed: created; added: placed in a gallery of the collection): one delivery, one skip
    await waitFor(() => deliveries(id).length >= 2, 'the answers to both triggers\' messages');
    assert.deepEqual(deliveries(id).map((d) => d.skipped).sort(), [false, true]);
    assert.equal(readFileSync(path).length, 65_432);
    assert.equal(sha256(readFileSync(path)), sha256(await original(t)));
    assert.equal(ledgerDone().filter((r) => r.a === id).length, 1, 'changed and added both saw it; delivered once');
    assert.ok(!existsSync(join(library, 'apac', `${id} new in the campaign.jpg`)), 'not by its country');
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
    scope.push(t);
  });

  it('an asset that moves to another region, then gets another file name, leaves no copy at its earlier places', async () => {
    const t = scope.find((m) => regionOf(m) !== 'North America' && m.file_size < 2_000_000) as MediaTruth;
    assert.ok(t);
    const before = expectedPath(t);
    assert.ok(existsSync(before));
    // another region (the curators' choice)
    const moved = await sim.control.patchMedia(t.id, { custom: { Region: 'North America' } });
    await settleAndPoll();
    await waitFor(() => existsSync(expectedPath(moved)) && !existsSync(before), 'the asset in its new library, and gone from the old one', 30_000);
    assert.equal(sha256(readFileSync(expectedPath(moved))), sha256(await original(moved)));
    // another file name (a new version with it)
    const renamed = await sim.control.patchMedia(t.id, { fileName: 'renamed for the campaign.jpg' });
    await settleAndPoll();
    await waitFor(() => existsSync(expectedPath(renamed)) && !existsSync(expectedPath(moved)), 'the asset under its new name only', 30_000);
    // no stale copy anywhere: the libraries hold exactly the collection, each asset once, where it belongs now
    const now = await Promise.all(scope.map((m) => sim.control.media(m.id)));
    assert.deepEqual(files(library).sort(), now.map(expectedPath).sort());
    const removed = ledgerRemoved().filter((r) => r.a === t.id).map((r) => r.l).sort();
    assert.deepEqual(removed, [`campaign-library/${FOLDER[regionOf(t)]}/${t.id} ${t.file_name}`, `campaign-library/north-america/${t.id} ${t.file_name}`].sort(), 'the ledger has both earlier places as removed');
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });
});

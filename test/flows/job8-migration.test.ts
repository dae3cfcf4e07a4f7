// Example 8, as shipped, in a real Node-RED runtime: a collection tree of the simulator's library copied
// into a folder tree (and onto an SFTP server) that mirrors its collections and galleries, originals with
// XMP sidecars, resumed after a restart of Node-RED without copying anything twice, with progress and a
// summary.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sanitizeSegment } from '../../src/core/deliver/template';
import { startSftpTarget, type SftpTarget } from '../../src/simulator/sftp';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { assertEvidenced } from '../helpers/evidence';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime } from './runtime';
import { filesUnder } from '../helpers/files';

const FILE = join(__dirname, '..', '..', 'examples', '8 Migration of a collection tree to a folder tree.json');
/** The tab's default MIGRATION_SCOPE: the collection "Annual Report" of the seed-1 library. */
const DEFAULT_SCOPE = 'C0000IrfNDAAAAAB';
/** "Team Portraits", three levels down: Spring Launch / Trade Show / Team Portraits. */
const DEEP_SCOPE = 'C0000RindzAAAAAE';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const isTemp = (f: string): boolean => f.split('/').pop()?.startsWith('.') === true;
const originals = (dir: string): string[] => filesUnder(dir).filter((f) => !f.endsWith('.xmp') && !isTemp(f));

interface Summary { walkId: string; scope: string; target: string; count: number; delivered: number; renamed: number; skipped: number; failed: number; bytes: number; seconds: number; mbps: number }

describe('example 8: migration of a collection tree to a folder tree (runtime, simulator, folder and SFTP target)', function () {
  this.timeout(300_000);
  let sim: SimHandle;
  let red: Runtime | undefined;
  let work: string;
  let env: Record<string, string>;
  const bytesOf = new Map<string, string>();
  let state: Awaited<ReturnType<SimHandle['control']['state']>>;

  /** The folder paths a gallery may have under a scope: collection names from the root down, then its name. */
  function pathsUnder(scope: string, galleryId: string): string[][] {
    const coll = new Map(state.collections.map((c) => [c.id, c]));
    const chain = (id: string): string[] => {
      const c = coll.get(id);
      return c ? [...(c.parent ? chain(c.parent) : []), c.name] : [];
    };
    const within = (id: string | null): boolean => id !== null && (id === scope || within(coll.get(id)?.parent ?? null));
    const g = state.galleries.find((x) => x.id === galleryId);
    if (!g) return [];
    if (scope === galleryId) return g.parents.length ? g.parents.map((p) => [...chain(p), g.name]) : [[g.name]];
    return g.parents.filter((p) => within(p)).map((p) => [...chain(p), g.name]);
  }
  async function assetsUnder(scope: string): Promise<MediaTruth[]> {
    const galleries = state.galleries.filter((g) => pathsUnder(scope, g.id).length > 0);
    const ids = new Set((await Promise.all(galleries.map((g) => sim.control.mediaIds(g.id)))).flat());
    return Promise.all([...ids].map((id) => sim.control.media(id)));
  }
  async function digestOf(m: MediaTruth): Promise<string> {
    const key = `${m.id}/${m.version}`;
    if (!bytesOf.has(key)) {
      const res = await fetch(`${sim.url}/__sim/files/${m.id}/${m.version}/original`);
      assert.equal(res.status, 200);
      bytesOf.set(key, sha(Buffer.from(await res.arrayBuffer())));
    }
    return bytesOf.get(key) as string;
  }
  /**
   * Every asset of the scope is in the tree exactly once, byte for byte, under one of its galleries (at
   * its collection path), named by its file name (or with its id added when the name was taken), with an
   * XMP sidecar; and nothing else is.
   */
  async function assertMirrors(treeRoot: string, scope: string): Promise<Map<string, string>> {
    const assets = await assetsUnder(scope);
    const files = originals(treeRoot);
    assert.equal(files.length, assets.length, `one file per asset of the scope (${assets.length})`);
    const placed = new Map<string, string>();
    const digests = new Map<string, string>();
    for (const f of files) digests.set(f, sha(readFileSync(join(treeRoot, f))));
    for (const m of assets) {
      const name = sanitizeSegment(m.file_name);
      const dot = name.lastIndexOf('.');
      const renamed = sanitizeSegment(dot > 0 ? `${name.slice(0, dot)} (${m.id})${name.slice(dot)}` : `${name} (${m.id})`);
      const want = await digestOf(m);
      const folders = m.galleries.flatMap((g) => pathsUnder(scope, g)).map((p) => p.map(sanitizeSegment).join('/'));
      const hits = folders.flatMap((d) => [`${d}/${name}`, `${d}/${renamed}`]).filter((f) => digests.get(f) === want);
      assert.equal(hits.length, 1, `${m.id} (${m.file_name}) once under ${folders.join(' or ')}; found ${hits.join(', ')}`);
      placed.set(m.id, hits[0]);
      assert.ok(existsSync(join(treeRoot, `${hits[0]}.xmp`)), `the XMP sidecar of ${hits[0]}`);
    }
    assert.equal(new Set(placed.values()).size, assets.length);
    assert.ok(!filesUnder(treeRoot).some(isTemp), 'no temporary file left');
    return placed;
  }
  const readSummary = (out: string): Summary | undefined => {
    const f = join(out, 'migration', 'summary.json');
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as Summary;
    } catch {
      return undefined; // not there yet, or being written
    }
  };

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 200 });
    state = await sim.control.state();
    // small files keep the walk quick; the file names (two pairs repeat within a gallery) stay as generated
    for (const id of await sim.control.mediaIds()) {
      const m = await sim.control.media(id);
      if (m.file_size > 300_000) await sim.control.patchMedia(id, { size: 50_000 + (m.file_size % 200_000) });
    }
    work = mkdtempSync(join(tmpdir(), 'ps-job8-'));
    env = {
      ...photoshelterEnv(sim),
      PHOTOSHELTER_OUT_DIR: join(work, 'out'),
    };
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('copies the default collection into a mirrored tree, resumes after a restart of Node-RED mid-walk without copying anything twice, and sums up', async () => {
    const out = env.PHOTOSHELTER_OUT_DIR;
    const tree = join(out, 'migration', 'tree');
    const expected = await assetsUnder(DEFAULT_SCOPE);
    assert.ok(expected.length > 60, 'a real tree: three galleries in two levels');
    const marked = expected.find((m) => m.type === 'image') as MediaTruth;
    await sim.control.patchMedia(marked.id, { iptc: { caption: 'Migrated & <kept>', headline: 'Archive pick' } });
    // downloads take a while, so that the restart falls in the middle of the walk
    await sim.control.faults({ route: '/download', latencyMs: 250 });
    red = await startRuntime({ env });
    await red.deploy(JSON.parse(readFileSync(FILE, 'utf8')) as unknown[]);
    const started = await red.admin('POST', '/inject/job8.start');
    assert.equal(started.status, 200);
    await waitFor(() => originals(tree).length >= 20, 'a part of the tree', 60_000);
    await red.halt();
    const before = new Map(originals(tree).map((f) => [f, statSync(join(tree, f))]));
    assert.ok(before.size < expected.length, `stopped in the middle (${before.size} of ${expected.length})`);
    // what the destination's ledger records as done (the last record per location wins); a file whose
    // delivery was still under way when Node-RED stopped (its sidecar, or the record) is written again
    const ledger = readFileSync(join(red.userDir, 'photoshelter', 'deliveries', 'job8_folder.jsonl'), 'utf8');
    const last = new Map<string, string>();
    for (const line of ledger.split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { t: string; l: string };
      last.set(r.l, r.t);
    }
    const done = [...before.keys()].filter((f) => last.get(f) === 'done');
    assert.ok(before.size - done.length <= 16, `at most a window of files unfinished at the stop (${before.size - done.length})`);
    assert.ok(done.length >= 10);
    assert.equal(readSummary(out), undefined, 'no summary yet');

    red = await startRuntime({ env, userDir: red.userDir });
    // nobody presses a button: the walk resumes by itself
    await waitFor(() => readSummary(out) !== undefined, 'the summary after the resumed walk', 120_000);
    await new Promise((r) => setTimeout(r, 500));
    await sim.control.clearFaults();

    const placed = await assertMirrors(tree, DEFAULT_SCOPE);
    for (const f of done) {
      const st = before.get(f) as Stats;
      const now = statSync(join(tree, f));
      assert.equal(now.mtimeMs, st.mtimeMs, `${f} was not written again`);
      assert.equal(now.ino, st.ino, `${f} was not replaced`);
    }
    // two assets with the same name in one gallery: the second keeps its id in its name, none is lost
    assert.ok([...placed.values()].some((f) => /\(I0000[\w-]+\)\.\w+$/.test(f)), 'a name collision was resolved');
    assert.match(red.output(), /exists already \(another asset of the same name\); I0000\S+ is saved as /);
    // the XMP sidecar carries the IPTC fields, escaped
    const xmp = readFileSync(join(tree, `${placed.get(marked.id)}.xmp`), 'utf8');
    assert.match(xmp, /<dc:description>[\s\S]*Migrated &amp; &lt;kept&gt;[\s\S]*<\/dc:description>/);
    assert.match(xmp, /<photoshop:Headline>Archive pick<\/photoshop:Headline>/);
    // the summary adds up: every asset once, copied now or found copied (the few in flight at the stop)
    const summary = readSummary(out) as Summary;
    assert.equal(summary.count, expected.length);
    assert.equal(summary.failed, 0);
    assert.equal(summary.delivered + summary.skipped, expected.length);
    // the name collisions are counted
    const renamedFiles = [...placed.values()].filter((f) => /\(I0000[\w-]+\)\.\w+$/.test(f)).length;
    assert.ok(summary.renamed >= 1 && summary.renamed <= renamedFiles, `renamed ${summary.renamed} of ${renamedFiles}`);
    assert.ok(summary.skipped <= 16, `at most a window of assets found copied after the restart (${summary.skipped})`);
    assert.equal(summary.scope, DEFAULT_SCOPE);
    assert.equal(summary.target, 'folder');
    assert.ok(summary.bytes > 0 && summary.seconds > 0);
    // progress went to the log, and the summary too
    assert.match(red.output(), /\d+ (of \d+ )?walked \(\d+ copied(, \d+ renamed)?, \d+ already there, 0 failed\), [\d.]+ MB, [\d.]+ MB\/s/);
    assert.match(red.output(), new RegExp(`Migration complete: ${expected.length} assets \\(\\d+ copied, ${summary.renamed} of them under a new name for a name collision, \\d+ already there, 0 failed\\)`));
    assert.ok(!existsSync(join(out, 'migration', 'failures.csv')), 'no failure');
    assert.doesNotMatch(red.output(), /\[error\]/);
  });

  it('starts over on msg.restart: a second full walk copies nothing and reports every asset as already there', async () => {
    const out = env.PHOTOSHELTER_OUT_DIR;
    const tree = join(out, 'migration', 'tree');
    const first = readSummary(out) as Summary;
    const stats = new Map(originals(tree).map((f) => [f, statSync(join(tree, f)).mtimeMs]));
    // "Start or resume" while nothing runs starts a new walk too; "Start over" is the one with msg.restart
    const res = await red!.admin('POST', '/inject/job8.restart');
    assert.equal(res.status, 200);
    await waitFor(() => (readSummary(out)?.walkId ?? first.walkId) !== first.walkId, 'the summary of the second walk', 60_000);
    const second = readSummary(out) as Summary;
    assert.equal(second.count, first.count);
    assert.equal(second.delivered, 0);
    assert.equal(second.skipped, first.count);
    for (const [f, mtime] of stats) assert.equal(statSync(join(tree, f)).mtimeMs, mtime, `${f} untouched`);
    assert.equal(originals(tree).length, stats.size);
  });

  it('sends the tree to an SFTP server instead with MIGRATION_TARGET=sftp (server from the AGENCY_SFTP_* variables)', async () => {
    await red?.stop();
    red = undefined;
    const target: SftpTarget = await startSftpTarget({ root: join(work, 'sftp'), user: 'agency', password: 'agency-password' });
    try {
      const out = join(work, 'out-sftp');
      red = await startRuntime({
        env: {
          ...env,
          PHOTOSHELTER_OUT_DIR: out,
          MIGRATION_TARGET: 'sftp',
          MIGRATION_SCOPE: DEEP_SCOPE,
          AGENCY_SFTP_PORT: String(target.port),
          AGENCY_SFTP_HOST_KEY: target.hostKeyFingerprint,
        },
      });
      await red.deploy(JSON.parse(readFileSync(FILE, 'utf8')) as unknown[]);
      await red.admin('POST', '/inject/job8.start');
      await waitFor(() => readSummary(out) !== undefined, 'the summary', 120_000);
      const remote = join(work, 'sftp', 'migration');
      const placed = await assertMirrors(remote, DEEP_SCOPE);
      assert.ok([...placed.values()].every((f) => f.startsWith('Spring Launch/Trade Show/Team Portraits/')), [...placed.values()].slice(0, 3).join(', '));
      const summary = readSummary(out) as Summary;
      assert.equal(summary.target, 'sftp');
      assert.equal(summary.delivered, placed.size);
      assert.equal(summary.failed, 0);
      assert.ok(!existsSync(join(out, 'migration', 'tree')), 'nothing written to the local folder');
    } finally {
      await red?.stop();
      red = undefined;
      await target.close();
    }
  });

  it('sent PhotoShelter only requests the API reference evidences', async () => {
    assertEvidenced(await sim.control.requests());
  });
});

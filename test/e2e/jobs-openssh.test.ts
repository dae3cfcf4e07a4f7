// Examples 3 and 8, as shipped, delivering to a real OpenSSH server (test/e2e/openssh.ts): approved
// images of the agency's gallery with their JSON sidecars, and a migrated collection tree with XMP
// sidecars, checked on the server's filesystem.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sanitizeSegment } from '../../src/core/deliver/template';
import { startRuntime, type Runtime, pollAfterChange } from '../flows/runtime';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { openSshUnavailable, startOpenSsh, type OpenSshServer } from './openssh';
import { filesUnder } from '../helpers/files';
import { debugTap } from '../helpers/debug-tap';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const JOB3 = '3 Approved gallery images to an agency over SFTP.json';
const JOB8 = '8 Migration of a collection tree to a folder tree.json';
/** Defaults of the examples in the seed-1 library: the agency's gallery, and a collection three levels down. */
const GALLERY = 'G0000sKBQrAAAAAB';
const SCOPE = 'C0000RindzAAAAAE';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');


describe('e2e: examples 3 and 8 delivering to OpenSSH', function () {
  this.timeout(300_000);
  let sshd: OpenSshServer;
  let sim: SimHandle;
  let red: Runtime;
  let base: string;
  let out: string;
  let state: Awaited<ReturnType<SimHandle['control']['state']>>;

  const settleAndPoll = () => pollAfterChange(sim, red, ['job3.approved']);
  const digestOf = async (m: MediaTruth): Promise<string> => {
    const res = await fetch(`${sim.url}/__sim/files/${m.id}/${m.version}/original`);
    assert.equal(res.status, 200);
    return sha(Buffer.from(await res.arrayBuffer()));
  };
  const summary = (): { walkId: string; count: number; delivered: number; skipped: number; failed: number; target: string } | undefined => {
    try {
      return JSON.parse(readFileSync(join(out, 'migration', 'summary.json'), 'utf8'));
    } catch {
      return undefined;
    }
  };

  before(async function () {
    const why = openSshUnavailable();
    if (why) {
      console.warn(`      skipped: ${why}`);
      this.skip();
    }
    sshd = await startOpenSsh();
    base = `jobs-e2e-${randomBytes(4).toString('hex')}`;
    sim = await startSim({ seed: 1, assets: 200 });
    state = await sim.control.state();
    for (const id of await sim.control.mediaIds()) {
      const m = await sim.control.media(id);
      if (m.file_size > 2_000_000) await sim.control.patchMedia(id, { size: 200_000 + (m.file_size % 500_000) });
    }
    out = mkdtempSync(join(tmpdir(), 'ps-jobs-e2e-'));
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
        PHOTOSHELTER_OUT_DIR: out,
        AGENCY_SFTP_HOST: sshd.host,
        AGENCY_SFTP_PORT: String(sshd.port),
        AGENCY_SFTP_USER: sshd.user,
        AGENCY_SFTP_PASSWORD: sshd.password,
        AGENCY_SFTP_HOST_KEY: sshd.fingerprint,
        AGENCY_SFTP_DIR: `${base}/agency`,
        MIGRATION_TARGET: 'sftp',
        MIGRATION_SCOPE: SCOPE,
        MIGRATION_SFTP_DIR: `${base}/migration`,
      },
    });
    const flows = [JOB3, JOB8].flatMap((f) => JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as unknown[]);
    await red.deploy(flows);
    await settleAndPoll();
  });

  after(async () => {
    await red?.stop();
    await sim?.close();
    if (out) rmSync(out, { recursive: true, force: true });
    if (sshd) {
      rmSync(join(sshd.home, base), { recursive: true, force: true });
      await sshd.stop();
    }
  });

  it('example 3: an approved image of the gallery lands on the server with its JSON sidecar, once', async () => {
    const galleryName = state.galleries.find((g) => g.id === GALLERY)?.name as string;
    const truths = await Promise.all((await sim.control.mediaIds(GALLERY)).map((id) => sim.control.media(id)));
    const a = truths.find((t) => t.type === 'image' && t.custom['Approval Status'] === 'Pending' && t.galleries.length === 1 && /^[\w .-]+$/.test(t.file_name)) as MediaTruth;
    assert.ok(a);
    await sim.control.patchMedia(a.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    const file = join(sshd.home, base, 'agency', galleryName, a.file_name);
    await waitFor(() => existsSync(file) && existsSync(`${file}.json`), 'the image and its sidecar on the server', 60_000);
    assert.equal(sha(readFileSync(file)), await digestOf(a));
    const sidecar = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { id: string; custom: Record<string, string> };
    assert.equal(sidecar.id, a.id);
    assert.equal(sidecar.custom['Approval Status'], 'Approved');
    assert.deepEqual(filesUnder(join(sshd.home, base, 'agency')), [`${galleryName}/${a.file_name}`, `${galleryName}/${a.file_name}.json`]);
    // the log line, and no second delivery on further polls
    const log = () => readFileSync(join(out, 'agency-sftp', 'delivery-log.csv'), 'utf8').trim().split('\n');
    await waitFor(() => existsSync(join(out, 'agency-sftp', 'delivery-log.csv')) && log().length === 2, 'the log line');
    assert.match(log()[1], new RegExp(`,delivered,${a.id},`));
    const mtime = statSync(file).mtimeMs;
    const tap = await debugTap(red.url);
    try {
      await waitFor(() => tap.polls('job3.approved').length >= 1, 'the status of the last poll');
      const polled = tap.polls('job3.approved').length;
      await settleAndPoll();
      // the trigger's own word after each poll: nothing new
      await waitFor(() => tap.polls('job3.approved').length >= polled + 2, 'the status of two more polls');
      assert.deepEqual(tap.polls('job3.approved').slice(polled), [0, 0], 'the further polls emitted nothing');
    } finally {
      tap.close();
    }
    assert.equal(log().length, 2);
    assert.equal(statSync(file).mtimeMs, mtime);
    assert.match(sshd.log(), /Accepted password for psdeliver/);
  });

  it('example 8: the collection tree is mirrored on the server, originals with XMP sidecars; a second walk copies nothing', async () => {
    const coll = new Map(state.collections.map((c) => [c.id, c]));
    const chain = (id: string): string[] => {
      const c = coll.get(id);
      return c ? [...(c.parent ? chain(c.parent) : []), c.name] : [];
    };
    const within = (id: string | null): boolean => id !== null && (id === SCOPE || within(coll.get(id)?.parent ?? null));
    const folders = new Map(state.galleries.map((g) => [g.id, g.parents.filter(within).map((p) => [...chain(p), g.name].map(sanitizeSegment).join('/'))]));
    const galleries = state.galleries.filter((g) => (folders.get(g.id) ?? []).length > 0);
    const ids = new Set((await Promise.all(galleries.map((g) => sim.control.mediaIds(g.id)))).flat());
    const assets = await Promise.all([...ids].map((id) => sim.control.media(id)));
    assert.ok(assets.length > 10);

    const started = await red.admin('POST', '/inject/job8.start');
    assert.equal(started.status, 200);
    await waitFor(() => summary() !== undefined, 'the summary of the migration', 180_000);
    const root = join(sshd.home, base, 'migration');
    const files = filesUnder(root);
    const originals = files.filter((f) => !f.endsWith('.xmp'));
    assert.equal(originals.length, assets.length);
    assert.ok(!files.some((f) => f.split('/').pop()?.startsWith('.')), 'no temporary file left');
    for (const m of assets) {
      const name = sanitizeSegment(m.file_name);
      const dot = name.lastIndexOf('.');
      // a second asset of the same name in a gallery gets its id added
      const renamed = sanitizeSegment(dot > 0 ? `${name.slice(0, dot)} (${m.id})${name.slice(dot)}` : `${name} (${m.id})`);
      const candidates = m.galleries.flatMap((g) => folders.get(g) ?? []).flatMap((d) => [`${d}/${name}`, `${d}/${renamed}`]);
      const want = await digestOf(m);
      const hits = candidates.filter((f) => existsSync(join(root, f)) && sha(readFileSync(join(root, f))) === want);
      assert.equal(hits.length, 1, `${m.id} once under ${candidates.join(' or ')}`);
      const xmp = readFileSync(join(root, `${hits[0]}.xmp`), 'utf8');
      assert.match(xmp, /<x:xmpmeta/);
      assert.ok(hits[0].startsWith('Spring Launch/Trade Show/Team Portraits/'), hits[0]);
    }
    const first = summary() as NonNullable<ReturnType<typeof summary>>;
    assert.deepEqual([first.target, first.count, first.delivered, first.skipped, first.failed], ['sftp', assets.length, assets.length, 0, 0]);

    const mtimes = new Map(originals.map((f) => [f, statSync(join(root, f)).mtimeMs]));
    await red.admin('POST', '/inject/job8.restart');
    await waitFor(() => (summary()?.walkId ?? first.walkId) !== first.walkId, 'the summary of the second walk', 120_000);
    const second = summary() as NonNullable<ReturnType<typeof summary>>;
    assert.deepEqual([second.count, second.delivered, second.skipped, second.failed], [assets.length, 0, assets.length, 0]);
    for (const [f, t] of mtimes) assert.equal(statSync(join(root, f)).mtimeMs, t, `${f} untouched`);
    assert.doesNotMatch(red.output(), /\[error\]/);
  });
});

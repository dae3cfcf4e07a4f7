/**
 * Example 5 with examples 1 and 3, as shipped, in a real Node-RED: examples 1 (the stand-in CMS as
 * WordPress) and 3 (an SFTP server) deliver k assets of a library of N, then the rights sweep runs alone. It
 * starts from the delivery ledger the three destinations share (the ledger name "examples"), not from a
 * walk of the library: the same k delivered assets in a library of 60 and in one of 240 cost PhotoShelter
 * the same requests, all about those assets. An expired one is gone from WordPress and from the SFTP
 * server (file and sidecar), and the ledger records both removals, so that examples 1 and 3 would deliver it again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSftpTarget, type SftpTarget } from '../../src/simulator/sftp';
import { combineExamples } from '../helpers/examples';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { debugTap, type DebugTap } from '../helpers/debug-tap';
import { freePort, pollAfterChange, startRuntime, type Runtime } from './runtime';

const GALLERY = 'G0000sKBQrAAAAAB';
const JOB1 = '1 Approved photos to the WordPress media library.json';
const JOB3 = '3 Approved gallery images to an agency over SFTP.json';
const JOB5 = '5 Rights sweep of delivered photos.json';
const CMS = 'Stand-in CMS for the examples.json';
const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };

interface Outcome {
  /** PhotoShelter requests of the sweep, as "METHOD path". */
  requests: string[];
  /** The media ids those requests were about. */
  about: Set<string>;
  delivered: string[];
  checked: number;
}

/** Examples 1 and 3 deliver `k` approved images of a library of `assets`; then the sweep runs alone. */
async function sweepOf(assets: number, k: number): Promise<Outcome> {
  let sim: SimHandle | undefined;
  let sftp: SftpTarget | undefined;
  let red: Runtime | undefined;
  let tap: DebugTap | undefined;
  const work = mkdtempSync(join(tmpdir(), 'ps-job5-'));
  try {
    sim = await startSim({ strict: true, seed: 1, assets });
    const s = sim;
    const agencyRoot = join(work, 'agency');
    sftp = await startSftpTarget({ root: agencyRoot, user: 'agency', password: 'agency-password' });
    const galleryName = (await s.control.state()).galleries.find((g) => g.id === GALLERY)?.name as string;
    const truths = await Promise.all((await s.control.mediaIds()).map((id) => s.control.media(id)));
    const chosen = truths.filter((t) => t.type === 'image' && t.custom['Approval Status'] === 'Pending' && /^[\w .-]+\.jpe?g$/i.test(t.file_name) && t.galleries.length === 1 && t.galleries[0] === GALLERY).slice(0, k);
    assert.equal(chosen.length, k, `${k} pending JPEG images in the agency gallery of a library of ${assets}`);
    const port = await freePort();
    const cms = `http://127.0.0.1:${port}/demo-cms`;
    red = await startRuntime({
      port,
      env: {
        ...photoshelterEnv(s),
        PHOTOSHELTER_OUT_DIR: join(work, 'out'),
        WORDPRESS_MEDIA_URL: `${cms}/wp/v2/media`,
        NOTIFY_URL: `${cms}/notifications`,
        AGENCY_SFTP_PORT: String(sftp.port),
        AGENCY_SFTP_HOST_KEY: sftp.hostKeyFingerprint,
      },
    });
    const r = red;
    await r.deploy(combineExamples([JOB1, JOB3, CMS]));
    const triggers = ['job1.approved', 'job3.approved'];
    await pollAfterChange(s, r, triggers);
    for (const t of chosen) await s.control.patchMedia(t.id, { custom: { 'Approval Status': 'Approved', 'Usage Rights': 'Unlimited', 'License Expiration Date': '2099-12-31' } });
    await pollAfterChange(s, r, triggers);
    const bySlug = async (id: string) => (await (await fetch(`${cms}/wp/v2/media?slug=ps-${id.toLowerCase()}`, { headers: auth })).json()) as Array<{ id: number }>;
    const remote = (t: MediaTruth) => join(agencyRoot, 'photoshelter', galleryName, t.file_name);
    /** The live records of the shared ledger file (the last one per target, asset and location). */
    const ledger = () => {
      const file = join(r.userDir, 'photoshelter', 'deliveries', 'named', 'examples.jsonl');
      const live = new Map<string, { t: string; a: string; d: string }>();
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
      for (const x of lines.map((l) => JSON.parse(l) as { t: string; a: string; d: string; l: string })) live.set(`${x.d} ${x.a} ${x.l}`, x);
      return [...live.values()];
    };
    const state = (a: string, sftpTarget: boolean) => ledger().find((x) => x.a === a && x.d.startsWith('sftp:') === sftpTarget)?.t;
    await waitFor(async () => {
      for (const t of chosen) if ((await bySlug(t.id)).length !== 1 || state(t.id, true) !== 'done' || state(t.id, false) !== 'done') return false;
      return true;
    }, 'examples 1 and 3 deliver the approved images, and record them', 60_000);
    for (const t of chosen) assert.ok(existsSync(remote(t)) && existsSync(`${remote(t)}.json`), `${t.id} and its sidecar on the SFTP server`);

    // the sweep alone: no other flow asks PhotoShelter anything meanwhile
    await r.deploy(combineExamples([JOB5, CMS]));
    tap = await debugTap(r.url);
    const [expired, ...valid] = chosen;
    await s.control.patchMedia(expired.id, { custom: { 'License Expiration Date': '2020-01-31' } });
    await s.control.clearRequests();
    const inject = await r.admin('POST', '/inject/job5.schedule');
    assert.equal(inject.status, 200);
    const t = tap;
    await waitFor(() => t.json('job5.swept').length === 1, 'the end of the sweep', 60_000);
    const log = await s.control.requests();

    // what the user sees: the expired asset gone from WordPress and the agency, the others in place
    await waitFor(async () => (await bySlug(expired.id)).length === 0, 'the expired item removed from WordPress', 30_000);
    assert.ok(!existsSync(remote(expired)) && !existsSync(`${remote(expired)}.json`), 'the expired file and its sidecar are gone from the SFTP server');
    for (const v of valid) {
      assert.equal((await bySlug(v.id)).length, 1, `${v.id} stays in WordPress`);
      assert.ok(existsSync(remote(v)), `${v.id} stays on the SFTP server`);
    }
    await waitFor(async () => ((await (await fetch(`${cms}/notifications`)).json()) as unknown[]).length === 1, 'one notification', 30_000);
    const [note] = (await (await fetch(`${cms}/notifications`)).json()) as Array<{ body: { removed: Array<{ id: string; wordpress: string; sftp: string }> } }>;
    assert.deepEqual(note.body.removed.map((x) => x.id), [expired.id]);
    assert.match(note.body.removed[0].wordpress, /^removed \d+/);
    assert.match(note.body.removed[0].sftp, /^removed .*\.jpe?g$/i);
    // the removals are in the ledger the three destinations share: examples 3 and 1 see them (WordPress's
    // recorded by the action "forget"), so an asset approved again with a new licence is delivered again
    assert.equal(state(expired.id, true), 'removed');
    assert.equal(state(expired.id, false), 'removed');
    for (const v of valid) {
      assert.equal(state(v.id, true), 'done');
      assert.equal(state(v.id, false), 'done');
    }

    const about = new Set(log.map((e) => /^\/media\/([^/]+)/.exec(e.path)?.[1]).filter((x): x is string => !!x));
    return { requests: log.map((e) => `${e.method} ${e.path}`), about, delivered: chosen.map((c) => c.id), checked: (t.json<{ checked: number }>('job5.swept')[0]).checked };
  } finally {
    tap?.close();
    await red?.stop();
    await sftp?.close();
    await sim?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

describe('example 5: the rights sweep starts from the delivery ledger of examples 1 and 3 (runtime, simulator, SFTP)', function () {
  this.timeout(300_000);

  it('its PhotoShelter requests grow with the delivered assets, not with the library: the same for 3 of 60 and 3 of 240', async () => {
    const small = await sweepOf(60, 3);
    const large = await sweepOf(240, 3);
    for (const o of [small, large]) {
      assert.equal(o.checked, 3, 'the three delivered assets were checked, nothing else');
      assert.deepEqual([...o.about].sort(), [...o.delivered].sort(), `every request is about a delivered asset: ${o.requests.join(', ')}`);
      assert.ok(!o.requests.some((r) => /\/(media|galleries|collections)\/?$|\/children|\/search/.test(r)), `no listing of the library: ${o.requests.join(', ')}`);
    }
    assert.ok(small.requests.length > 0);
    assert.equal(large.requests.length, small.requests.length, `${small.requests.join(', ')}\nvs\n${large.requests.join(', ')}`);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../helpers/sim';
import { startRuntime, type Runtime } from './runtime';
import { waitFor } from '../helpers/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const load = (name: string) => JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as Array<Record<string, unknown>>;

describe('the example flows, as shipped, in a real Node-RED runtime', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let outDir: string;

  before(async () => {
    sim = await startSim({ seed: 41, assets: 60 });
    outDir = mkdtempSync(join(tmpdir(), 'ps-examples-'));
    red = await startRuntime({
      env: {
        PHOTOSHELTER_BASE_URL: sim.baseUrl,
        PHOTOSHELTER_API_KEY: sim.apiKey,
        PHOTOSHELTER_EMAIL: sim.email,
        PHOTOSHELTER_PASSWORD: sim.password,
        PHOTOSHELTER_ORG_ID: sim.orgId,
        PHOTOSHELTER_OUT_DIR: outDir,
      },
    });
    const all = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).flatMap((f) => load(f));
    await red.deploy(all);
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('every example deploys and every node starts without an error', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  it('Approved photos to a local folder: an approval writes the original and a JSON sidecar', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending' && t.type === 'image');
    assert.ok(pending);
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    await sim.control.clock(3);
    // the trigger polls every 10 s; asking it now keeps the test short
    const poll = async () => {
      await red.admin('POST', '/photoshelter/trigger/demo.approved/poll');
      return readdirSync(outDir).some((f) => f.startsWith(pending.id) && !f.endsWith('.json'));
    };
    await waitFor(poll, 'the approved original in the folder');
    const file = readdirSync(outDir).find((f) => f.startsWith(pending.id) && !f.endsWith('.json')) as string;
    await waitFor(() => existsSync(join(outDir, `${file}.json`)), 'the sidecar');
    const bytes = readFileSync(join(outDir, file));
    assert.equal(bytes.length, pending.file_size);
    const res = await fetch(`${sim.baseUrl}/media/${pending.id}/download?download_filetype=original`, { headers: { 'x-ps-api-key': sim.apiKey } });
    assert.ok(res.status === 200 || res.status === 401, 'the simulator answers downloads');
    const sidecar = JSON.parse(readFileSync(join(outDir, `${file}.json`), 'utf8')) as { id: string; custom: Record<string, string> };
    assert.equal(sidecar.id, pending.id);
    assert.equal(sidecar.custom['Approval Status'], 'Approved');
    assert.equal(createHash('sha256').update(bytes).digest('hex').length, 64);
  });

  it('Campaign metadata from a master system: writes what changed and answers with the difference', async () => {
    const [id] = await sim.control.mediaIds();
    const body = { id, campaign: 'Spring 2027', projectCode: 'PRJ-42', department: 'Marketing', usageRights: 'Web and print', expires: '2027-12-31' };
    const call = async () => {
      const res = await fetch(`${red.url}/photoshelter/metadata`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
    const bad = await fetch(`${red.url}/photoshelter/metadata`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'nope' }) });
    assert.equal(bad.status, 400);
  });

  it('Approved photos delivered to a folder tree: the original under its gallery path with an XMP sidecar, once', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending' && t.type === 'image' && t.galleries.length > 0);
    assert.ok(pending);
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' }, iptc: { caption: 'Delivered & <checked>' } });
    await sim.control.clock(3);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const tree = join(outDir, 'tree');
    const delivered = () => (existsSync(tree) ? files(tree).filter((f) => f.endsWith(pending.file_name)) : []);
    await waitFor(async () => {
      await red.admin('POST', '/photoshelter/trigger/dlv.approved/poll');
      return delivered().length === 1 && existsSync(`${delivered()[0]}.xmp`);
    }, 'the delivered original and its sidecar');
    const [file] = delivered();
    assert.equal(readFileSync(file).length, pending.file_size);
    const xmp = readFileSync(`${file}.xmp`, 'utf8');
    assert.match(xmp, /Delivered &amp; &lt;checked&gt;/);
    assert.ok(!readdirSync(join(file, '..')).some((f) => f.includes('.tmp') || f.includes('.part')), 'no temporary file left');
    // a second approval of the same version delivers nothing new
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Pending' } });
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    await sim.control.clock(3);
    const before = readFileSync(join(red.userDir, 'photoshelter', 'deliveries', 'dlv_destination.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    await red.admin('POST', '/photoshelter/trigger/dlv.approved/poll');
    await red.admin('POST', '/photoshelter/trigger/dlv.approved/poll');
    await new Promise((r) => setTimeout(r, 500));
    const after = readFileSync(join(red.userDir, 'photoshelter', 'deliveries', 'dlv_destination.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    assert.equal(after, before, 'the ledger records no second delivery');
    assert.equal(delivered().length, 1);
  });
});

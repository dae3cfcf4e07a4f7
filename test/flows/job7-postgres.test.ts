// Example 7's PostgreSQL variant, as shipped, in a real Node-RED runtime with a real PostgreSQL: an approved
// photo is delivered and the delivery is a row of the ledger's audit (its views show it); the export writes
// each view as CSV with psql, cells that a spreadsheet would run as formulas written as text.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from '../helpers/files';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../helpers/postgres';
import { photoshelterEnv, startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from './runtime';

const KEY = 'job7pg-test-audited-update-key-0123456789';
const FLOW = join(__dirname, '..', '..', 'examples', '7 Audit log and metadata inventory (PostgreSQL).json');

describe('example 7 with the ledger in PostgreSQL, as shipped in a real runtime', function () {
  this.timeout(180_000);
  let pg: PostgresServer;
  let sim: SimHandle;
  let red: Runtime;
  let out: string;

  before(async function () {
    const why = postgresUnavailable();
    if (why) {
      console.log(`      not run: ${why}`);
      this.skip();
    }
    pg = await startPostgres();
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    out = mkdtempSync(join(tmpdir(), 'ps-job7pg-'));
    red = await startRuntime({
      env: { ...photoshelterEnv(sim), PHOTOSHELTER_OUT_DIR: out, LEDGER_HOST: pg.host, LEDGER_PORT: String(pg.port), LEDGER_DATABASE: pg.database, LEDGER_USER: pg.user, AUDITED_UPDATE_KEY: KEY },
    });
    await red.deploy(JSON.parse(readFileSync(FLOW, 'utf8')) as unknown[]);
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
    await pg?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('an approved photo is delivered, and the delivery is in the ledger\'s audit table and views', async () => {
    const ids = await sim.control.mediaIds();
    const truths = await Promise.all(ids.map((id) => sim.control.media(id)));
    const pending = truths.find((m) => m.custom['Approval Status'] === 'Pending' && m.type === 'image');
    assert.ok(pending, 'a pending image');
    // the trigger's first poll records what already matches: the approval must come after it
    assert.equal((await red.admin('POST', '/photoshelter/trigger/job7pg.approved/poll')).status, 200);
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    await pollAfterChange(sim, red, ['job7pg.approved']);
    const delivered = join(out, 'audit-pg', 'delivered');
    await waitFor(() => existsSync(delivered) && readdirSync(delivered).some((f) => f.startsWith(pending.id)), 'the delivered file', 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${red.output().slice(-3000)}`);
    });
    await waitFor(async () => (await pg.psql(`SELECT count(*) FROM photoshelter.delivery_event WHERE asset = '${pending.id}'`).catch(() => '0\n')) === '1\n', 'the audit row', 20_000);
    assert.equal(await pg.psql(`SELECT state || ' ' || bytes FROM photoshelter.delivery_event WHERE asset = '${pending.id}'`), `done ${pending.file_size}\n`);
    assert.equal(await pg.psql(`SELECT deliveries || ' ' || bytes FROM photoshelter.deliveries_per_day WHERE asset = '${pending.id}'`), `1 ${pending.file_size}\n`);
  });

  it('an audited update writes the metadata and lands in update_event and the metadata_updates view; a repeat or a refused call adds no row', async () => {
    const [id] = await sim.control.mediaIds();
    const call = (body: unknown, key = KEY) =>
      fetch(`${red.url}/photoshelter/audited-update-pg`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const res = await call({ id, fields: { Campaign: 'Autumn 2027', keywords: ['harbour', 'fog'] } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { changed: boolean }).changed, true);
    assert.equal((await sim.control.media(id)).custom.Campaign, 'Autumn 2027', 'written to PhotoShelter');
    const rows = async () => (await pg.psql(`SELECT field || '|' || coalesce(after, '') || '|' || coalesce(source, '') FROM photoshelter.metadata_updates WHERE asset = '${id}' ORDER BY field`)).trim().split('\n').filter(Boolean);
    assert.deepEqual(await rows(), ['Campaign|Autumn 2027|write payload.fields (audited in PostgreSQL)', 'keywords|harbour; fog|write payload.fields (audited in PostgreSQL)']);
    // the same again changes nothing and records nothing; a wrong key writes nothing
    const again = await call({ id, fields: { Campaign: 'Autumn 2027', keywords: ['harbour', 'fog'] } });
    assert.equal(((await again.json()) as { changed: boolean }).changed, false);
    assert.equal((await call({ id, fields: { Campaign: 'Hijacked' } }, 'wrong-key')).status, 401);
    assert.equal((await rows()).length, 2);
    assert.equal((await sim.control.media(id)).custom.Campaign, 'Autumn 2027');
  });

  it('exports each view as CSV with psql; a cell that would run as a formula is written as text', async () => {
    await pg.psql(`INSERT INTO photoshelter.delivery_event (state, target, asset, location, version, error_code, error, worker, at) VALUES ('failed', 'folder:/x', 'I0000formula0001', '=HYPERLINK("http://evil.example")', 'v1', 'EIO', '+1+2', 'w', now())`);
    const res = await red.admin('POST', '/inject/job7pg.now');
    assert.equal(res.status, 200, res.text);
    const day = new Date().toISOString().slice(0, 10);
    const file = (v: string) => join(out, 'audit-pg', `${v}-${day}.csv`);
    const complete = (v: string) => existsSync(file(v)) && readFileSync(file(v), 'utf8').endsWith('\n');
    await waitFor(() => ['deliveries_per_day', 'delivery_failures', 'delivery_removals', 'metadata_updates'].every(complete), 'the four CSV files', 30_000);
    const [header, ...rows] = parseCsv(readFileSync(file('deliveries_per_day'), 'utf8'));
    assert.deepEqual(header, ['day', 'destination', 'asset', 'deliveries', 'uploads', 'bytes']);
    assert.equal(rows.filter((r) => r.length > 1).length, 1);
    const [fh, ...failures] = parseCsv(readFileSync(file('delivery_failures'), 'utf8'));
    assert.deepEqual(fh, ['at', 'destination', 'asset', 'location', 'version', 'error_code', 'error', 'worker']);
    const row = failures.find((r) => r[2] === 'I0000formula0001') as string[];
    assert.equal(row[3], `'=HYPERLINK("http://evil.example")`);
    assert.equal(row[6], `'+1+2`);
    assert.deepEqual(parseCsv(readFileSync(file('delivery_removals'), 'utf8'))[0], ['at', 'destination', 'asset', 'location', 'version', 'worker']);
    const [uh, ...updates] = parseCsv(readFileSync(file('metadata_updates'), 'utf8'));
    assert.deepEqual(uh, ['at', 'asset', 'field', 'before', 'after', 'reapplied', 'source', 'worker']);
    assert.deepEqual(updates.filter((r) => r.length > 1).map((r) => `${r[2]}=${r[4]}`), ['Campaign=Autumn 2027', 'keywords=harbour; fog']);
  });
});

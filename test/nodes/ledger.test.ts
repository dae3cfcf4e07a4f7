/**
 * The photoshelter-ledger node with a real PostgreSQL: a destination that names it keeps its records
 * there (a repeat is skipped across a redeploy, the place keys the records), a live claim of another worker
 * skips the delivery as "in-progress" (or is waited for), a failure is recorded for the audit, Test
 * connection reports the server, and bad settings are a clear error that reaches a Catch node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import ledgerNode from '../../src/nodes/photoshelter-ledger';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../helpers/postgres';
import { withCatalogue } from '../security/helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Msg = Record<string, unknown> & { delivery?: Record<string, unknown>; error?: { message?: string; code?: string } };

function inbox(id: string): { next(): Promise<Msg> } {
  const msgs: Msg[] = [];
  const waiters: Array<(m: Msg) => void> = [];
  helper.getNode(id).on('input', (msg: Msg, _send: unknown, done: () => void) => {
    done();
    const w = waiters.shift();
    if (w) w(msg);
    else msgs.push(msg);
  });
  return { next: () => (msgs.length ? Promise.resolve(msgs.shift() as Msg) : new Promise((r) => waiters.push(r))) };
}

describe('photoshelter-ledger node (PostgreSQL)', function () {
  this.timeout(60_000);
  let pg: PostgresServer;
  let out: string;
  let schema = 'n0';

  const flow = (ledger: Record<string, unknown> = {}, deliver: Record<string, unknown> = {}) => [
    { id: 'tab', type: 'tab' },
    { id: 'led', type: 'photoshelter-ledger', host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: 'off', schema, lease: 30, worker: 'node-test', ...ledger },
    { id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: out, template: '{{asset.fileName}}', ledger: 'led' },
    { id: 'd1', type: 'photoshelter-deliver', z: 'tab', destination: 'dest', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, claimWait: 0, ...deliver, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'tab' },
    { id: 'c1', type: 'catch', z: 'tab', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' },
  ];
  const load = async (ledger: Record<string, unknown> = {}, deliver: Record<string, unknown> = {}) => {
    await helper.load([withCatalogue(ledgerNode), withCatalogue(destinationNode), withCatalogue(deliverNode), catchNode], flow(ledger, deliver) as never, { led: { password: 'unused-with-trust' } } as never);
    return { results: inbox('out'), caught: inbox('caught') };
  };
  const msg = (id: string, payload = `bytes of ${id}`) => ({ asset: { id, versionKey: `v-${id}`, fileName: `${id}.txt` }, payload: Buffer.from(payload) });

  before(async function () {
    const why = postgresUnavailable();
    if (why) {
      console.log(`      PostgreSQL tests not run: ${why}`);
      this.skip();
    }
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'ps-ledger-node-'));
    schema = `n${Number(schema.slice(1)) + 1}`;
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(out, { recursive: true, force: true });
  });

  it('keeps the destination\'s records in PostgreSQL: delivered once, skipped after a redeploy', async () => {
    let { results } = await load();
    helper.getNode('d1').receive(msg('I0000aaaaaaaaaa1'));
    assert.equal((await results.next()).delivery?.skipped, false);
    assert.deepEqual(readdirSync(out), ['I0000aaaaaaaaaa1.txt']);
    await helper.unload();
    ({ results } = await load());
    helper.getNode('d1').receive(msg('I0000aaaaaaaaaa1'));
    assert.equal((await results.next()).delivery?.skipped, true, 'the record in the database counts after a redeploy');
    assert.equal(await pg.psql(`SELECT state || ' ' || target || ' ' || worker FROM ${schema}.delivery`), `done folder:${out} node-test\n`);
  });

  it('a live claim of another worker: skipped as "in-progress" at once, nothing written; with a wait, delivered once it ends', async () => {
    const { results } = await load();
    helper.getNode('d1').receive(msg('I0000aaaaaaaaaa2'));
    await results.next();
    await pg.psql(`INSERT INTO ${schema}.delivery_claim VALUES ('folder:${out}', 'I0000bbbbbbbbbb2', 'I0000bbbbbbbbbb2.txt', gen_random_uuid(), 'worker-7', now(), now() + interval '2 seconds')`);
    helper.getNode('d1').receive(msg('I0000bbbbbbbbbb2'));
    const skipped = await results.next();
    assert.equal(skipped.delivery?.skipped, 'in-progress');
    assert.deepEqual(readdirSync(out).sort(), ['I0000aaaaaaaaaa2.txt'], 'nothing was written');
    await helper.unload();
    const again = await load({}, { claimWait: 10 });
    helper.getNode('d1').receive(msg('I0000bbbbbbbbbb2'));
    const waited = await again.results.next();
    assert.equal(waited.delivery?.skipped, false);
    assert.equal(waited.delivery?.recovered, undefined);
    assert.deepEqual(readdirSync(out).sort(), ['I0000aaaaaaaaaa2.txt', 'I0000bbbbbbbbbb2.txt']);
  });

  it('a failed delivery is recorded for the audit (delivery_failures), and the error reaches a Catch node', async () => {
    const { caught } = await load();
    // a folder where the file should go: the write fails after the claim
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(out, 'I0000ccccccccccc.txt'));
    helper.getNode('d1').receive(msg('I0000ccccccccccc'));
    const err = await caught.next();
    assert.match(String(err.error?.message), /A file is in the way of I0000ccccccccccc.txt/, 'the cause, first');
    assert.equal(await pg.psql(`SELECT asset || ' ' || worker FROM ${schema}.delivery_failures`), 'I0000ccccccccccc node-test\n');
  });

  it('bad settings: a clear error with the message, at the deliver node', async () => {
    const { caught } = await load({ schema: 'Bad-Schema' });
    helper.getNode('d1').receive(msg('I0000ddddddddddd'));
    const err = await caught.next();
    assert.match(String(err.error?.message), /shared delivery ledger cannot be opened.*schema name/);
    assert.deepEqual(readdirSync(out), []);
  });

  it('Test connection: reports the server and the state of the tables, changing nothing', async () => {
    await load();
    const body = { id: 'led', config: { host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: 'off', schema }, credentials: { password: '__PWRD__' } };
    const res = await helper.request().post('/photoshelter/ledger/test').send(body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.schemaVersion, 0);
    assert.match(res.body.message, /Connected: PostgreSQL \d+.*no ledger tables yet/);
    assert.equal(await pg.psql(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = '${schema}'`), '0\n', 'the test made nothing');
    const wrong = await helper.request().post('/photoshelter/ledger/test').send({ config: { ...body.config, database: 'missing' }, credentials: { password: 'typed' } });
    assert.equal(wrong.status, 502);
    assert.match(wrong.body.error, /Connection failed: .*missing/);
  });
});

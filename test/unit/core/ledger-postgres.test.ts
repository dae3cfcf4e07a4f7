/**
 * The PostgreSQL store of the delivery ledger, against a real PostgreSQL started for this file: the schema
 * made and versioned once (also when several processes open it at once), the file store's behaviour
 * (records, refusals, checks, failures), claims with leases (wait, skip, take over an expired one, a lost
 * claim writes nothing), the audit rows and views, and several OS processes racing on the same items,
 * one of them killed with SIGKILL in the middle of its uploads.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClaimedError, LeaseLostError, type LedgerKey } from '../../../src/core/deliver/ledger';
import { PostgresStore, type PostgresLedgerSettings } from '../../../src/core/deliver/ledger-postgres';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../../helpers/postgres';
import { waitFor } from '../../helpers/wait';

const WORKER = join(__dirname, '..', '..', 'helpers', 'ledger-worker.ts');

describe('core/deliver/ledger-postgres: the PostgreSQL store', function () {
  this.timeout(120_000);
  let pg: PostgresServer;
  const stores: PostgresStore[] = [];
  let schemaN = 0;
  let schema: string;

  const settings = (worker: string, extra: Partial<PostgresLedgerSettings> = {}): PostgresLedgerSettings => ({
    host: pg.host,
    port: pg.port,
    database: pg.database,
    user: pg.user,
    schema,
    leaseMs: 30_000,
    worker,
    ...extra,
  });
  const openStore = async (worker = 'w1', extra: Partial<PostgresLedgerSettings> = {}) => {
    const s = await PostgresStore.open(settings(worker, extra));
    stores.push(s);
    return s;
  };
  const key = (asset: string, location = `${asset}.jpg`, target = 'folder:/srv/out'): LedgerKey => ({ target, asset, location });

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
    schema = `t${++schemaN}`;
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  it('makes its schema with a version table on first open, once, also when three processes open it at once', async () => {
    await Promise.all([openStore('a'), openStore('b'), openStore('c')]);
    assert.equal(await pg.psql(`SELECT string_agg(version::text, ',') FROM ${schema}.schema_version`), '1,2,3\n');
    const tables = (await pg.psql(`SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '${schema}'`)).trim();
    assert.equal(tables, 'deliveries_per_day,delivery,delivery_claim,delivery_event,delivery_failures,delivery_removals,metadata_updates,schema_version,update_event');
    const report = await PostgresStore.probe(settings('x'));
    assert.equal(report.schemaVersion, 3);
    assert.match(report.server, /^\d+/);
  });

  it('refuses a schema of a newer version than it knows, and a schema name that is not a plain identifier', async () => {
    await openStore();
    await pg.psql(`INSERT INTO ${schema}.schema_version (version, description) VALUES (99, 'from the future')`);
    await assert.rejects(PostgresStore.open(settings('w')), /newer version \(99\)/);
    await assert.rejects(PostgresStore.open({ ...settings('w'), schema: 'x"; DROP TABLE y; --' }), /schema name/);
  });

  it('keeps the live record per target, asset and location, as the file store does', async () => {
    const l = (await openStore()).ledger('folder:/srv/out');
    await l.intent(key('I1'), { v: 'v1', m: '2024-06-02T09:30:00Z' });
    assert.equal((await l.lookup(key('I1')))?.t, 'intent');
    await l.done(key('I1'), { v: 'v1', m: '2024-06-02T09:30:00Z', f: { instance: 'xmp.iid:1' } }, { b: 3, h: 'abc', r: { status: 201, body: { id: 4 } } });
    const done = await l.lookup(key('I1'));
    assert.deepEqual({ ...done, at: 'x' }, { t: 'done', d: 'folder:/srv/out', a: 'I1', l: 'I1.jpg', v: 'v1', m: '2024-06-02T09:30:00Z', f: { instance: 'xmp.iid:1' }, b: 3, h: 'abc', r: { status: 201, body: { id: 4 } }, at: 'x' });
    assert.equal(await l.lookup(key('I1', 'I1.jpg', 'folder:/srv/elsewhere')), undefined, 'another target knows nothing of it');
    // a check keeps the delivery's time and notes its own
    await l.checked(key('I1'), { v: 'v1', m: '2024-07-01T00:00:00Z', f: { instance: 'xmp.iid:1' } }, done!);
    const checked = await l.lookup(key('I1'));
    assert.equal(checked?.at, done?.at);
    assert.equal(checked?.m, '2024-07-01T00:00:00Z');
    assert.ok(checked?.c);
    // a refusal puts the previous record back
    await l.intent(key('I1'), { v: 'v2' });
    await l.refused(key('I1'), { v: 'v2' }, checked);
    assert.equal((await l.lookup(key('I1')))?.v, 'v1');
    assert.equal((await l.lookup(key('I1')))?.t, 'done');
    // a failure after the intent keeps the error
    await l.intent(key('I2'), { v: 'v1' });
    await l.failed(key('I2'), { v: 'v1' }, { code: 'ECONNRESET', message: 'The connection was reset' });
    assert.deepEqual((await l.lookup(key('I2')))?.e, { code: 'ECONNRESET', message: 'The connection was reset' });
    await l.removed(key('I1'), { v: 'v1' });
    const all = [];
    for await (const r of l.records()) all.push(`${r.a}:${r.t}`);
    assert.deepEqual(all, ['I1:removed', 'I2:failed']);
    // every place of one asset at one target (earlier copies of an asset that moved)
    await l.done(key('I1', 'apac/I1.jpg'), { v: 'v1' }, { b: 3 });
    await l.done(key('I1', 'x.jpg', 'folder:/srv/elsewhere'), { v: 'v1' }, { b: 3 });
    assert.deepEqual((await l.placesOf('folder:/srv/out', 'I1')).map((r) => `${r.l}:${r.t}`).sort(), ['I1.jpg:removed', 'apac/I1.jpg:done']);
    assert.deepEqual((await l.placesOf('folder:/srv/out', 'I9')), []);
  });

  it('lists what was delivered: the assets whose latest record at a place is done, with those places, across pages, at one target or all', async () => {
    const l = (await openStore()).ledger('folder:/srv/out');
    // 1,203 assets delivered (more than two pages), some at two places and at a second target
    for (let i = 0; i < 1203; i++) await l.done(key(`I${String(i).padStart(5, '0')}`), { v: 'v1' }, { b: i });
    await l.done(key('I00007', 'apac/I00007.jpg'), { v: 'v1' }, { b: 7 });
    await l.done(key('I00008', 'I00008.jpg', 'sftp://a@h:22/out'), { v: 'v2' }, { b: 8 });
    // no longer delivered: removed, failed after its intent, an intent only
    await l.removed(key('I00001'), { v: 'v1' });
    await l.intent(key('I00002'), { v: 'v2' });
    await l.failed(key('I00003'), { v: 'v1' }, { message: 'x' });
    await l.intent(key('I99999'), { v: 'v1' });
    const all = [];
    for await (const d of l.deliveredAssets()) all.push(d);
    assert.equal(all.length, 1200);
    assert.deepEqual(all.map((d) => d.asset), [...all.map((d) => d.asset)].sort(), 'in order of asset ids, each once');
    assert.ok(!all.some((d) => ['I00001', 'I00002', 'I00003', 'I99999'].includes(d.asset)));
    assert.deepEqual(all.find((d) => d.asset === 'I00007')?.places.map((p) => p.location), ['I00007.jpg', 'apac/I00007.jpg']);
    assert.deepEqual(all.find((d) => d.asset === 'I00008')?.places.map((p) => `${p.target} ${p.location} ${p.version} ${p.bytes}`), ['folder:/srv/out I00008.jpg v1 8', 'sftp://a@h:22/out I00008.jpg v2 8']);
    const there = [];
    for await (const d of l.deliveredAssets({ target: 'sftp://a@h:22/out' })) there.push(d);
    assert.deepEqual(there.map((d) => d.asset), ['I00008']);
  });

  it('audited metadata updates: one update_event row per field changed, in one transaction, and the metadata_updates view', async () => {
    const store = await openStore('worker-u');
    assert.equal(await store.recordUpdates([]), 0);
    const n = await store.recordUpdates([
      { asset: 'I1', fields: { Campaign: { before: null, after: 'Spring' }, keywords: { before: ['a'], after: ['a', 'b; c'] } }, source: 'audited update' },
      { asset: 'I2', fields: { headline: { before: 'Old', after: '=cmd()' } }, reapplied: true, at: '2024-06-01T10:00:00.000Z' },
      { asset: 'I3', fields: {} },
    ]);
    assert.equal(n, 3);
    const rows = await pg.psql(`SELECT asset || '|' || field || '|' || coalesce(before, '') || '|' || coalesce(after, '') || '|' || reapplied || '|' || coalesce(source, '') || '|' || worker FROM ${schema}.metadata_updates ORDER BY asset, field`);
    assert.deepEqual(rows.trim().split('\n'), ['I1|Campaign||Spring|false|audited update|worker-u', 'I1|keywords|a|a; b; c|false|audited update|worker-u', 'I2|headline|Old|=cmd()|true||worker-u']);
    assert.equal((await pg.psql(`SELECT at FROM ${schema}.update_event WHERE asset = 'I2'`)).trim().slice(0, 10), '2024-06-01');
    // a failure writes nothing of the call
    await pg.psql(`ALTER TABLE ${schema}.update_event ADD CONSTRAINT short_field CHECK (length(field) < 20)`);
    await assert.rejects(store.recordUpdates([{ asset: 'I4', fields: { ok: { before: 1, after: 2 }, ['x'.repeat(30)]: { before: 1, after: 2 } } }]), { code: 'ELEDGER' });
    assert.equal((await pg.psql(`SELECT count(*) FROM ${schema}.update_event WHERE asset = 'I4'`)).trim(), '0');
  });

  it('the audit: a done row once per target, location, asset and version (repeats count uploads), failures and removals, and their views', async () => {
    const l = (await openStore('worker-a')).ledger('folder:/srv/out');
    await l.done(key('I1'), { v: 'v1' }, { b: 10, h: 'aa' });
    await l.done(key('I1'), { v: 'v1' }, { b: 10, h: 'aa' });
    await l.done(key('I1'), { v: 'v2' }, { b: 11, h: 'bb' });
    await l.done(key('I3'), { v: 'v1' }, { b: 5, h: 'cc' });
    await l.failed(key('I2'), { v: 'v1' }, { code: 'E500', message: 'The server answered 500' });
    await l.removed(key('I3'), { v: 'v1' });
    assert.equal(await pg.psql(`SELECT count(*) FROM ${schema}.delivery_event WHERE state = 'done'`), '3\n');
    assert.equal(await pg.psql(`SELECT uploads FROM ${schema}.delivery_event WHERE state = 'done' AND asset = 'I1' AND version = 'v1'`), '2\n');
    await assert.rejects(pg.psql(`INSERT INTO ${schema}.delivery_event (state, target, asset, location, version, at) VALUES ('done', 'folder:/srv/out', 'I1', 'I1.jpg', 'v1', now())`), /duplicate key/);
    assert.equal(await pg.psql(`SELECT destination || ' ' || asset || ' ' || deliveries || ' ' || uploads || ' ' || bytes FROM ${schema}.deliveries_per_day WHERE asset = 'I1'`), 'folder:/srv/out I1 2 3 21\n');
    assert.equal(await pg.psql(`SELECT asset || ' ' || error_code || ' ' || error || ' ' || worker FROM ${schema}.delivery_failures`), 'I2 E500 The server answered 500 worker-a\n');
    assert.equal(await pg.psql(`SELECT asset || ' ' || version FROM ${schema}.delivery_removals`), 'I3 v1\n');
  });

  it('a live claim of another worker: skipped at once (ClaimedError with its name), or waited for and then seen done', async () => {
    const a = (await openStore('worker-a')).ledger('folder:/srv/out');
    const b = (await openStore('worker-b')).ledger('folder:/srv/out');
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let claimed!: () => void;
    const isClaimed = new Promise<void>((r) => (claimed = r));
    const first = a.exclusive(key('I1'), async () => {
      claimed();
      await holding;
      await a.intent(key('I1'), { v: 'v1' });
      await a.done(key('I1'), { v: 'v1' }, { b: 1 });
    });
    await isClaimed;
    await assert.rejects(b.exclusive(key('I1'), async () => 'ran'), (e: unknown) => e instanceof ClaimedError && e.holder === 'worker-a' && e.code === 'ECLAIMED');
    const waited = b.exclusive(key('I1'), async () => (await b.lookup(key('I1')))?.t, { waitMs: 20_000 });
    setTimeout(release, 300);
    await first;
    assert.equal(await waited, 'done', 'the waiting worker runs after the first and sees its record');
    assert.equal(await pg.psql(`SELECT count(*) FROM ${schema}.delivery_claim`), '0\n', 'claims are released');
  });

  it('an expired claim (its worker died) is taken over; a worker that lost its claim records nothing over the new owner', async () => {
    const store = await openStore('worker-b', { leaseMs: 1_000 });
    const b = store.ledger('folder:/srv/out');
    // a dead worker's claim, expiring in a second
    await pg.psql(`INSERT INTO ${schema}.delivery_claim VALUES ('folder:/srv/out', 'I1', 'I1.jpg', gen_random_uuid(), 'dead', now(), now() + interval '1 second')`);
    const t0 = Date.now();
    await b.exclusive(key('I1'), async () => {
      await b.intent(key('I1'), { v: 'v1' });
      await b.done(key('I1'), { v: 'v1' }, { b: 1 });
    }, { waitMs: 10_000 });
    assert.ok(Date.now() - t0 >= 500, 'it waited for the lease to run out');
    assert.equal(store.stats.takeovers, 1);
    // worker a stalls past its lease: b takes the claim over and delivers; a's late writes are refused
    const a = (await openStore('worker-a', { leaseMs: 1_000 })).ledger('folder:/srv/out');
    await assert.rejects(
      a.exclusive(key('I2'), async () => {
        await a.intent(key('I2'), { v: 'v1' });
        await pg.psql(`UPDATE ${schema}.delivery_claim SET owner = gen_random_uuid(), worker = 'worker-b' WHERE asset = 'I2'`);
        await pg.psql(`UPDATE ${schema}.delivery SET state = 'done', worker = 'worker-b' WHERE asset = 'I2'`);
        await a.done(key('I2'), { v: 'v1' }, { b: 1 });
      }),
      (e: unknown) => e instanceof LeaseLostError,
    );
    assert.equal(await pg.psql(`SELECT state || ' ' || worker FROM ${schema}.delivery WHERE asset = 'I2'`), 'done worker-b\n');
  });

  it('the database away (stopped, then started again): a clear ELEDGER error, and the ledger works again without a reopen', async () => {
    const l = (await openStore()).ledger('folder:/srv/out');
    await l.done(key('I1'), { v: 'v1' }, { b: 1 });
    await pg.halt();
    try {
      await assert.rejects(l.lookup(key('I1')), (e: unknown) => (e as { code?: string }).code === 'ELEDGER' && /shared delivery ledger \(PostgreSQL\) failed/.test((e as Error).message));
      await assert.rejects(l.exclusive(key('I2'), async () => 'ran'), (e: unknown) => (e as { code?: string }).code === 'ELEDGER');
    } finally {
      await pg.start();
    }
    assert.equal((await l.lookup(key('I1')))?.t, 'done');
  });

  describe('several processes racing on the same items', () => {
    let work: string;
    const children: ChildProcess[] = [];
    beforeEach(() => {
      work = mkdtempSync(join(tmpdir(), 'ps-race-'));
    });
    afterEach(() => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    });

    interface Outcome { code: number | null; signal: string | null; out: string; err: string; summary?: Record<string, number> }
    function worker(name: string, o: { items: number; uploadMs: number; waitMs: number; offset: number; leaseMs?: number; concurrency?: number }): { child: ChildProcess; out: () => string; exited: Promise<Outcome> } {
      const args = { db: settings(name, { leaseMs: o.leaseMs ?? 30_000 }), folder: join(work, 'out'), uploads: join(work, 'uploads.log'), concurrency: o.concurrency ?? 4, ...o };
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<Outcome>((resolve) =>
        child.once('exit', (code, signal) => {
          const last = out.trim().split('\n').pop() ?? '';
          let summary: Record<string, number> | undefined;
          try {
            summary = JSON.parse(last) as Record<string, number>;
          } catch {
            summary = undefined;
          }
          resolve({ code, signal, out, err, summary });
        }),
      );
      return { child, out: () => out, exited };
    }
    const uploads = (): string[] => (existsSync(join(work, 'uploads.log')) ? readFileSync(join(work, 'uploads.log'), 'utf8').trim().split('\n').filter(Boolean) : []);

    it('4 processes, 120 items each, in different orders: every item uploaded once, one done row each', async () => {
      const ITEMS = 120;
      await openStore('setup');
      const runs = ['p1', 'p2', 'p3', 'p4'].map((n, i) => worker(n, { items: ITEMS, uploadMs: 20, waitMs: 30_000, offset: i * 30 }));
      const outcomes = await Promise.all(runs.map((r) => r.exited));
      for (const o of outcomes) assert.equal(o.code, 0, o.err);
      const ups = uploads();
      const perItem = new Map<string, number>();
      for (const line of ups) perItem.set(line.split(' ')[0], (perItem.get(line.split(' ')[0]) ?? 0) + 1);
      assert.equal(perItem.size, ITEMS, 'every item was uploaded');
      assert.deepEqual([...perItem.values()].filter((n) => n !== 1), [], 'no item was uploaded twice');
      const total = outcomes.reduce((n, o) => n + (o.summary?.delivered ?? 0), 0);
      assert.equal(total, ITEMS, 'the processes report one delivery per item between them');
      assert.ok(outcomes.filter((o) => (o.summary?.delivered ?? 0) > 0).length >= 2, `the work was shared: ${outcomes.map((o) => o.summary?.delivered).join(', ')}`);
      assert.equal(readdirSync(join(work, 'out')).filter((f) => !f.startsWith('.')).length, ITEMS);
      assert.equal(await pg.psql(`SELECT count(*) || ' ' || sum(uploads) FROM ${schema}.delivery_event WHERE state = 'done'`), `${ITEMS} ${ITEMS}\n`);
      assert.equal(await pg.psql(`SELECT count(*) FROM ${schema}.delivery WHERE state = 'done'`), `${ITEMS}\n`);
    });

    it('a process killed (SIGKILL) in the middle of its uploads: its claims run out and another takes them over; nothing is lost or recorded twice', async () => {
      const ITEMS = 40;
      await openStore('setup');
      // the first worker uploads slowly, so that it is killed holding several claims
      const slow = worker('doomed', { items: ITEMS, uploadMs: 60_000, waitMs: 0, offset: 0, leaseMs: 2_000, concurrency: 4 });
      await waitFor(async () => (slow.out().match(/^uploading /gm) ?? []).length >= 4, 'the first worker holds four claims', 30_000);
      slow.child.kill('SIGKILL');
      await slow.exited;
      const held = (await pg.psql(`SELECT count(*) FROM ${schema}.delivery_claim WHERE worker = 'doomed'`)).trim();
      assert.equal(held, '4', 'the dead worker left its claims');
      const rescuer = worker('rescuer', { items: ITEMS, uploadMs: 5, waitMs: 20_000, offset: 0, leaseMs: 2_000 });
      const o = await rescuer.exited;
      assert.equal(o.code, 0, o.err);
      assert.equal(o.summary?.takeovers, 4, 'the four expired claims were taken over');
      assert.equal(o.summary?.recovered, 4, 'and their interrupted deliveries completed at the same place');
      assert.equal(o.summary?.delivered, ITEMS);
      assert.equal(readdirSync(join(work, 'out')).filter((f) => !f.startsWith('.')).length, ITEMS);
      assert.equal(await pg.psql(`SELECT count(*) || ' ' || sum(uploads) FROM ${schema}.delivery_event WHERE state = 'done'`), `${ITEMS} ${ITEMS}\n`);
      assert.equal(await pg.psql(`SELECT count(*) FROM ${schema}.delivery_claim`), '0\n');
      writeFileSync(join(work, 'done'), '');
    });
  });
});

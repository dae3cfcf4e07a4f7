/**
 * Past one machine, end to end: example 9 as shipped, a leader and three worker Node-RED processes, with
 * Mosquitto (Debian's package, started here on a loopback port with its own configuration) between them
 * and PostgreSQL (the machine's, initdb in a temporary folder) as their shared ledger; the simulator with
 * 150 ms per request and 2,000 assets (PS_SCALEOUT_ASSETS and PS_SCALEOUT_LATENCY_MS change that).
 *
 * While the migration runs: one worker is killed with SIGKILL at 30% and started again at 60%; the broker
 * is restarted once (at 45%); the leader is killed with SIGKILL and started again once (at 75%). The run
 * must end with every asset of the library copied exactly once: one file each at the place the ledger
 * names, with the bytes the ledger's sha256 says, one done record and one audit row each (no second
 * upload recorded), no claim left, and the leader's summary counting every asset, none failed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder } from '../helpers/files';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../helpers/postgres';
import { photoshelterEnv, startSim, type SimHandle } from '../helpers/sim';
import { Client } from 'pg';
import { startRuntime, type Runtime } from '../flows/runtime';
import { mosquittoUnavailable, startMosquitto, type Mosquitto } from './mosquitto';

const ASSETS = Number(process.env.PS_SCALEOUT_ASSETS ?? 2000);
const LATENCY_MS = Number(process.env.PS_SCALEOUT_LATENCY_MS ?? 150);
const EXAMPLES = join(__dirname, '..', '..', 'examples');
const LEADER = JSON.parse(readFileSync(join(EXAMPLES, '9 Migration across several Node-RED workers (leader).json'), 'utf8')) as unknown[];
const WORKER = JSON.parse(readFileSync(join(EXAMPLES, '9 Migration across several Node-RED workers (worker).json'), 'utf8')) as unknown[];
/** Every original is made this small, so that the run measures hand-out and exactly-once, not disk bandwidth. */
const FILE_SIZE = 20_000;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Polls a condition every `pause` ms until it holds; fails with what was awaited after `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms: number, pause = 250): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

describe(`past one machine: example 9, a leader and 3 workers through Mosquitto, a PostgreSQL ledger (${ASSETS} assets, ${LATENCY_MS} ms per request; kills and restarts)`, function () {
  this.timeout(900_000);
  let pg: PostgresServer;
  let mq: Mosquitto;
  let sim: SimHandle;
  let out: string;
  let leader: Runtime;
  const workers: Runtime[] = [];
  let expected: Set<string>;
  let db: Client | undefined;
  const timeline: string[] = [];
  let t0 = 0;
  const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);

  const leaderEnv = () => ({
    ...photoshelterEnv(sim),
    PHOTOSHELTER_OUT_DIR: out,
    MIGRATION_SCOPE: 'library',
    MIGRATION_WINDOW: '60',
    REISSUE_SECONDS: '15',
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(mq.port),
  });
  const workerEnv = (n: number) => ({
    ...photoshelterEnv(sim),
    PHOTOSHELTER_OUT_DIR: out,
    MIGRATION_DIR: join(out, 'tree'),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(mq.port),
    LEDGER_HOST: pg.host,
    LEDGER_PORT: String(pg.port),
    LEDGER_DATABASE: pg.database,
    LEDGER_USER: pg.user,
    LEDGER_LEASE: '10',
    WORKER_NAME: `worker-${n}`,
  });
  const connected = (r: Runtime) => waitFor(() => /Connected to broker/.test(r.output()), 'the mqtt nodes connected to the broker', 60_000);
  /** Done records in the shared ledger (0 until the first worker made the tables). */
  const doneCount = async (): Promise<number> => {
    if (!db) {
      db = new Client({ host: pg.host, port: pg.port, user: pg.user, database: pg.database });
      await db.connect();
    }
    try {
      return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM photoshelter.delivery WHERE state = 'done'`)).rows[0].n);
    } catch (e) {
      if ((e as { code?: string }).code === '42P01') return 0;
      throw e;
    }
  };
  const reach = (share: number, what: string) => waitFor(async () => (await doneCount()) >= Math.floor(expected.size * share), what, 300_000);

  before(async function () {
    const why = postgresUnavailable() ?? mosquittoUnavailable();
    if (why) {
      console.log(`      not run: ${why}`);
      this.skip();
    }
    pg = await startPostgres();
    mq = await startMosquitto();
    sim = await startSim({ strict: true, seed: 9, assets: ASSETS });
    const state = await sim.control.state();
    expected = new Set((await Promise.all(state.galleries.map((g) => sim.control.mediaIds(g.id)))).flat());
    for (const id of await sim.control.mediaIds()) await sim.control.patchMedia(id, { size: FILE_SIZE });
    out = mkdtempSync(join(tmpdir(), 'ps-scaleout-'));
  });
  after(async () => {
    await db?.end().catch(() => undefined);
    for (const w of workers) await w?.stop().catch(() => undefined);
    await leader?.stop().catch(() => undefined);
    await sim?.close();
    await mq?.stop();
    await pg?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
    if (timeline.length) console.log(`\n      timeline:\n${timeline.map((l) => `      ${l}`).join('\n')}\n`);
  });

  it(`copies every asset of the library exactly once through the kills and restarts`, async () => {
    assert.ok(expected.size >= ASSETS * 0.9, `the library's galleries hold ${expected.size} assets`);
    leader = await startRuntime({ env: leaderEnv() });
    await leader.deploy(LEADER);
    for (let n = 1; n <= 3; n++) {
      const w = await startRuntime({ env: workerEnv(n) });
      await w.deploy(WORKER);
      workers.push(w);
    }
    await Promise.all([leader, ...workers].map((r) => connected(r)));
    await sim.control.faults({ route: '.', latencyMs: LATENCY_MS });
    t0 = Date.now();
    mark(`start: ${expected.size} assets in the library's galleries`);
    const started = await leader.admin('POST', '/inject/job9l.start');
    assert.equal(started.status, 200, started.text);

    await reach(0.3, '30% copied');
    mark(`30%: worker 1 killed (SIGKILL) at ${await doneCount()} copied`);
    await workers[0].crash();

    await reach(0.45, '45% copied');
    mark(`45%: broker restarted at ${await doneCount()} copied`);
    await mq.restart();

    await reach(0.6, '60% copied');
    mark(`60%: worker 1 started again at ${await doneCount()} copied`);
    workers[0] = await startRuntime({ userDir: workers[0].userDir, env: workerEnv(1) });

    await reach(0.75, '75% copied');
    mark(`75%: leader killed (SIGKILL) and started again at ${await doneCount()} copied`);
    await leader.crash();
    leader = await startRuntime({ userDir: leader.userDir, env: leaderEnv() });

    await waitFor(async () => (await doneCount()) >= expected.size, `all ${expected.size} copied`, 600_000);
    mark(`all copied: ${await doneCount()}`);
    const summaryFile = join(out, 'migration-workers', 'summary.json');
    await waitFor(async () => existsSync(summaryFile) && readFileSync(summaryFile, 'utf8').trim().endsWith('}'), 'the leader\'s summary (walk complete)', 120_000);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { count: number; delivered: number; skipped: number; failed: number; repeats: number; workers: Record<string, number> };
    mark(`walk complete: ${JSON.stringify(summary)}`);

    // the ledger: one done record per asset of the library, nothing else, one audit row each, no second upload, no claim left
    const rows = (await pg.psql(`SELECT asset || '|' || location || '|' || bytes || '|' || sha256 FROM photoshelter.delivery`)).trim().split('\n').filter(Boolean);
    const states = (await pg.psql(`SELECT state || ' ' || count(*) FROM photoshelter.delivery GROUP BY state ORDER BY state`)).trim();
    assert.equal(states, `done ${expected.size}`, 'every record is a done record');
    const byAsset = new Map(rows.map((r) => {
      const [asset, location, bytes, hash] = r.split('|');
      return [asset, { location, bytes: Number(bytes), hash }];
    }));
    assert.deepEqual([...byAsset.keys()].sort(), [...expected].sort(), 'the ledger holds exactly the library\'s assets');
    assert.equal((await pg.psql(`SELECT count(*) || ' ' || sum(uploads) FROM photoshelter.delivery_event WHERE state = 'done'`)).trim(), `${expected.size} ${expected.size}`, 'one audit row and one recorded upload per asset');
    assert.equal((await pg.psql(`SELECT count(*) FROM photoshelter.delivery_event WHERE state <> 'done'`)).trim(), '0', 'no failure, removal or refusal');
    assert.equal((await pg.psql(`SELECT count(*) FROM photoshelter.delivery_claim`)).trim(), '0', 'no claim is left');
    const perWorker = (await pg.psql(`SELECT worker || ' ' || count(*) FROM photoshelter.delivery_event GROUP BY worker ORDER BY worker`)).trim().split('\n');
    mark(`copies per worker (ledger): ${perWorker.join(', ')}`);

    // the destination agrees: one original per asset, where the ledger says, with the bytes it recorded, and its sidecar
    const tree = join(out, 'tree');
    const files = filesUnder(tree);
    const temps = files.filter((f) => f.split('/').pop()?.startsWith('.'));
    const originals = files.filter((f) => !f.endsWith('.xmp') && !temps.includes(f));
    assert.equal(originals.length, expected.size, 'one file per asset, no second copy');
    for (const [asset, rec] of byAsset) {
      const data = readFileSync(join(tree, rec.location));
      assert.equal(data.length, FILE_SIZE, `${asset}: the whole file`);
      assert.equal(rec.bytes, FILE_SIZE);
      assert.equal(sha(data), rec.hash, `${asset}: the bytes the ledger recorded`);
      assert.ok(existsSync(join(tree, `${rec.location}.xmp`)), `${asset}: its sidecar`);
    }
    mark(`destination: ${originals.length} originals, ${files.length - originals.length - temps.length} sidecars, ${temps.length} temporary files left by the killed worker`);

    // the leader's own count, after its crash and restart
    assert.equal(summary.count, expected.size);
    assert.equal(summary.failed, 0);
    assert.equal(Object.keys(summary.workers).length >= 3, true, `the work was shared: ${JSON.stringify(summary.workers)}`);
    console.log(`      ${expected.size} assets copied once in ${((Date.now() - t0) / 1000).toFixed(1)} s (${LATENCY_MS} ms per request, leader + 3 workers, 2 kills, 2 restarts, a broker restart)`);
  });
});

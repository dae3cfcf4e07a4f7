/**
 * The account node's request limits — Parallel requests (maxConcurrency), Requests/s (requestsPerSecond)
 * and Timeout — in force for the nodes that use it, against the simulator's own token bucket (no
 * injected 429s): a fetch node sent many messages at once.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import { startSim, type SimHandle } from '../helpers/sim';
import { maxInFlight } from '../helpers/sim-log';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Msg = { payload?: unknown; asset?: { id: string }; error?: { code?: string; message?: string } };

describe('photoshelter-account node: request limits against the simulator\'s rate limit', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let ids: string[];
  const flow = (limits: Record<string, unknown>) => [
    { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', ...limits },
    { id: 'tab1', type: 'tab' },
    { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'none', x: 100, y: 100, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'tab1', x: 200, y: 100 },
    { id: 'c1', type: 'catch', z: 'tab1', scope: null, x: 100, y: 200, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab1', x: 200, y: 200 },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  /** Loads the flow, signs in, then sends every id to the fetch node at once; resolves with what came out. */
  async function fetchAll(limits: Record<string, unknown>, which = ids): Promise<{ out: Msg[]; caught: Msg[] }> {
    await helper.load([accountNode, fetchNode, catchNode], flow(limits) as never, creds());
    const out: Msg[] = [];
    const caught: Msg[] = [];
    helper.getNode('out').on('input', (m: Msg) => out.push(m));
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    await (helper.getNode('acc') as unknown as { getClient(): { session(): Promise<unknown> } }).getClient().session();
    await sim.control.clearRequests();
    for (const id of which) helper.getNode('f1').receive({ payload: id });
    await waitFor(() => out.length + caught.length >= which.length, 'an answer to every msg', 50_000);
    return { out, caught };
  }
  const mediaCalls = async () => (await sim.control.requests()).filter((e) => /^\/media\/[^/]+$/.test(e.path.replace(/^.*\/v4\.0/, '')));

  before(async () => {
    sim = await startSim({ seed: 9, assets: 30 });
    ids = (await sim.control.mediaIds()).slice(0, 12);
  });
  after(async () => {
    await sim.close();
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    await sim.control.setRateLimit(0);
    await sim.control.clearFaults();
  });

  it('without Requests/s, the bucket refuses part of a burst and every message still gets its asset', async () => {
    await sim.control.setRateLimit(3);
    const { out, caught } = await fetchAll({ maxConcurrency: 8 });
    assert.deepEqual(caught, []);
    assert.deepEqual(out.map((m) => m.asset?.id).sort(), [...ids].sort());
    const log = await mediaCalls();
    assert.ok(log.some((e) => e.status === 429), 'the simulator refused some');
    assert.ok(log.every((e) => e.faults.length === 0), 'with its own limit, nothing injected');
    assert.equal(log.filter((e) => e.status === 200).length, ids.length);
  });

  it('with Requests/s below the bucket, nothing is refused', async () => {
    await sim.control.setRateLimit(5);
    const { out, caught } = await fetchAll({ maxConcurrency: 8, requestsPerSecond: 4 });
    assert.deepEqual(caught, []);
    assert.equal(out.length, ids.length);
    assert.deepEqual((await mediaCalls()).map((e) => e.status), ids.map(() => 200));
  });

  it('Parallel requests caps what the simulator answers at once', async () => {
    await sim.control.faults({ route: '^/media/[^/]+$', method: 'GET', latencyMs: 250 });
    await fetchAll({ maxConcurrency: 2 }, ids.slice(0, 8));
    assert.equal(maxInFlight(await mediaCalls()), 2);
  });

  it('Timeout: a request waiting its turn does not time out; one the server holds longer is given up and sent again', async () => {
    // 8 messages at 3 per second wait up to 2.3 s for their turn, with a timeout of 1 s
    const paced = await fetchAll({ maxConcurrency: 8, requestsPerSecond: 3, timeout: 1 }, ids.slice(0, 8));
    assert.deepEqual(paced.caught, []);
    assert.equal(paced.out.length, 8);
    await helper.unload();
    // the first answer for one asset is held 4 s: the client gives up after 1 s and asks again
    await sim.control.faults({ route: `^/media/${ids[0]}$`, method: 'GET', latencyMs: 4000, count: 1 });
    const held = await fetchAll({ maxConcurrency: 8, timeout: 1 }, [ids[0]]);
    assert.deepEqual(held.caught, []);
    assert.equal(held.out[0].asset?.id, ids[0]);
    // the held request is logged when the server answers it (after 4 s): the retry was answered before
    await waitFor(async () => (await mediaCalls()).length === 2, 'the held request to end too', 20_000);
    assert.deepEqual((await mediaCalls()).map((e) => e.faults.length), [0, 1], 'the retry first, then the held one');
  });
});

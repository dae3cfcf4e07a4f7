import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { NodeAPI, NodeStatus } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import rightsNode from '../../src/nodes/photoshelter-rights';
import { startSim, type SimHandle } from '../helpers/sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

const EXPIRY = 'License Expiration Date';
const TERMS = 'Usage Rights';
const OUTPUTS = ['allowed', 'expiring', 'expired', 'restricted'] as const;

interface Rights {
  status: string;
  reasons: Array<{ code: string; field: string | null; detail: string }>;
  expiresAt: string | null;
  daysLeft: number | null;
  evaluatedAt: string;
  channel: string | null;
  region: string | null;
  terms: string | null;
}
type Msg = Record<string, unknown> & { rights?: Rights; asset?: Record<string, unknown> & { custom?: Record<string, string | null> }; error?: { message?: string } };

/** Every msg that reaches the helper nodes, by output. */
class Outputs {
  readonly by: Record<string, Msg[]> = {};
  constructor(ids: readonly string[]) {
    for (const id of ids) {
      this.by[id] = [];
      helper.getNode(id).on('input', (m: Msg) => this.by[id].push(m));
    }
  }
  get total(): number {
    return Object.values(this.by).reduce((n, list) => n + list.length, 0);
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('photoshelter-rights node', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let ids: string[];

  const flow = (cfg: Record<string, unknown> = {}) => [
    { id: 'f1', type: 'tab', label: 'rights' },
    { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'Europe/Berlin' },
    {
      id: 'r1', z: 'f1', type: 'photoshelter-rights', account: 'acc',
      channel: 'channel', channelType: 'msg', region: 'EU', regionType: 'str', at: '', atType: 'date',
      ...cfg,
      wires: OUTPUTS.map((o) => [o]),
    },
    ...OUTPUTS.map((o) => ({ id: o, z: 'f1', type: 'helper' })),
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  async function load(cfg: Record<string, unknown> = {}) {
    await helper.load([accountNode, rightsNode, catchNode] as Parameters<typeof helper.load>[0], flow(cfg), creds());
    const node = helper.getNode('r1');
    // statuses set while the node started (the helper records them), then every later one
    const early = (node.status as unknown as { args?: Array<[NodeStatus]> }).args ?? [];
    const statuses: NodeStatus[] = early.map((a) => a[0]);
    const orig = node.status.bind(node);
    node.status = (s: NodeStatus) => {
      statuses.push(s);
      return orig(s);
    };
    return { node, statuses, out: new Outputs([...OUTPUTS, 'caught']) };
  }
  const mediaReads = async (id?: string) =>
    (await sim.control.requests()).filter((r) => r.method === 'GET' && /\/media\/[^/]+$/.test(r.path) && (!id || r.path.endsWith(`/${id}`)));

  before(async () => {
    sim = await startSim({ strict: true, seed: 5, assets: 12 });
    ids = await sim.control.mediaIds();
    assert.ok(ids.length >= 4);
  });
  after(async () => {
    await sim.close();
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
  });

  it('fetches the asset by msg.payload and sends an expired one to output 3, with the account\'s zone', async () => {
    const id = ids[0];
    const truth = await sim.control.patchMedia(id, { custom: { [EXPIRY]: '2020-01-01', [TERMS]: 'Unlimited use' } });
    assert.equal(truth.custom[EXPIRY], '2020-01-01');
    const { node, out } = await load();
    await sim.control.clearRequests();
    node.receive({ payload: id, topic: 'check', keep: 7 });
    await until(() => out.total === 1, 'one msg');
    const [m] = out.by.expired;
    assert.ok(m, 'reached the expired output');
    assert.equal(m.topic, 'check');
    assert.equal(m.keep, 7, 'the incoming msg is reused');
    assert.equal(m.payload, id);
    assert.equal(m.rights?.status, 'expired');
    assert.deepEqual(m.rights?.reasons.map((r) => r.code), ['EXPIRED']);
    assert.equal(m.rights?.reasons[0].field, `custom.${EXPIRY}`);
    assert.equal(m.rights?.expiresAt, '2020-01-01T23:00:00.000Z', 'end of 1 Jan 2020 in Berlin');
    assert.ok((m.rights?.daysLeft as number) < 0);
    assert.equal(m.asset?.id, id);
    assert.equal(m.asset?.custom?.[EXPIRY], (await sim.control.media(id)).custom[EXPIRY]);
    assert.equal((await mediaReads(id)).length, 1, 'one read of the medium');
  });

  it('uses msg.asset when it has the fields (no request), and fetches when it lacks them', async () => {
    const id = ids[1];
    await sim.control.patchMedia(id, { custom: { [EXPIRY]: '2999-12-31', [TERMS]: 'Internal use only' } });
    const { node, out } = await load();
    node.receive({ payload: { id }, channel: 'intranet' });
    await until(() => out.total === 1, 'the first msg');
    const fetched = out.by.allowed[0];
    assert.ok(fetched, 'allowed');
    assert.deepEqual(fetched.rights?.reasons, []);
    assert.equal(fetched.rights?.channel, 'intranet');
    assert.equal(fetched.rights?.region, 'eu');
    assert.equal(fetched.rights?.terms, 'Internal use only');

    await sim.control.clearRequests();
    const asset = { ...fetched.asset, custom: { ...fetched.asset?.custom, [EXPIRY]: '2001-01-01' } };
    node.receive({ asset, channel: 'intranet' });
    await until(() => out.total === 2, 'the second msg');
    assert.equal(out.by.expired.length, 1, 'the given asset was evaluated as it is');
    assert.equal(out.by.expired[0].asset, asset);
    assert.equal(out.by.expired[0].rights?.reasons[0].detail, 'photoshelter-rights.reason.EXPIRED_DAY', 'a date-only expiry is said as a day, with its zone');
    assert.deepEqual(await mediaReads(), [], 'no request for a given asset');

    node.receive({ asset: { id }, channel: 'intranet' });
    await until(() => out.total === 3, 'the third msg');
    assert.equal(out.by.allowed.length, 2);
    assert.equal((await mediaReads(id)).length, 1, 'an asset without its fields is read by its id');
  });

  it('reads the channel from the msg: the usage terms restrict it', async () => {
    const id = ids[2];
    await sim.control.patchMedia(id, { custom: { [EXPIRY]: null, [TERMS]: 'Internal use only' } });
    const { node, out } = await load();
    node.receive({ payload: id, channel: 'web' });
    await until(() => out.total === 1, 'one msg');
    const [m] = out.by.restricted;
    assert.ok(m, 'restricted');
    assert.deepEqual(m.rights?.reasons.map((r) => [r.code, r.field]), [['CHANNEL_NOT_ALLOWED', 'channel']]);
    assert.equal(m.rights?.reasons[0].detail, 'photoshelter-rights.reason.CHANNEL_NOT_ALLOWED', 'the reason text comes from the catalogue');
    assert.equal(m.rights?.expiresAt, null);
    node.receive({ payload: id, channel: 'Intranet' });
    await until(() => out.total === 2, 'a second msg');
    assert.equal(out.by.allowed.length, 1);
  });

  it('reads the evaluation time from the msg: expiring soon on launch day, expired after', async () => {
    const id = ids[3];
    await sim.control.patchMedia(id, { custom: { [EXPIRY]: '2031-01-10', [TERMS]: 'Unlimited use' } });
    const { node, out } = await load({ at: 'launch', atType: 'msg' });
    node.receive({ payload: id, launch: '2031-01-01' });
    await until(() => out.total === 1, 'one msg');
    const [m] = out.by.expiring;
    assert.ok(m, 'expiring soon');
    assert.equal(m.rights?.evaluatedAt, '2030-12-31T23:00:00.000Z', 'launch day starts at 00:00 in Berlin');
    assert.equal(m.rights?.expiresAt, '2031-01-10T23:00:00.000Z');
    assert.equal(m.rights?.daysLeft, 10);
    assert.deepEqual(m.rights?.reasons.map((r) => r.code), ['EXPIRING_SOON']);
    node.receive({ payload: id, launch: Date.parse('2031-01-10T23:00:00.000Z') });
    await until(() => out.total === 2, 'a second msg');
    assert.equal(out.by.expired.length, 1, 'at the expiry instant it is expired');
    node.receive({ payload: id, launch: '2030-01-01' });
    await until(() => out.total === 3, 'a third msg');
    assert.equal(out.by.allowed.length, 1);
  });

  it('restricts an unparseable date and a missing required release', async () => {
    const id = ids[0];
    await sim.control.patchMedia(id, { custom: { [TERMS]: 'Unlimited use' } });
    const { node, out } = await load({ requireModel: true });
    const asset = { id, custom: { [EXPIRY]: '2023-02-29', [TERMS]: 'Unlimited use' }, iptc: { keywords: [] }, releases: { model: false, property: null } };
    node.receive({ asset });
    await until(() => out.total === 1, 'one msg');
    assert.deepEqual(out.by.restricted[0]?.rights?.reasons.map((r) => r.code), ['DATE_INVALID', 'RELEASE_MISSING']);
  });

  it('a bad id goes to Catch with no request made; the red status clears on the next good msg', async () => {
    const { node, out, statuses } = await load();
    await sim.control.clearRequests();
    node.receive({ payload: '../media/I0000abcdefghijk', topic: 'bad' });
    await until(() => out.by.caught.length === 1, 'the error at Catch');
    const e = out.by.caught[0];
    assert.equal(e.topic, 'bad');
    assert.match(String(e.error?.message), /photoshelter-rights\.errors\.badId/);
    assert.deepEqual(await sim.control.requests(), [], 'no request');
    assert.equal(statuses.at(-1)?.fill, 'red');
    node.receive({ payload: 42 });
    await until(() => out.by.caught.length === 2, 'the second error');
    node.receive({ topic: 'nothing' });
    await until(() => out.by.caught.length === 3, 'the third error');
    assert.match(String(out.by.caught[2].error?.message), /errors\.noId/);
    assert.deepEqual(await sim.control.requests(), [], 'still no request');
    assert.equal(out.total - out.by.caught.length, 0, 'nothing reached an output');

    await sim.control.patchMedia(ids[1], { custom: { [EXPIRY]: '2999-01-01', [TERMS]: 'Unlimited' } });
    node.receive({ payload: ids[1], channel: 'web' });
    await until(() => out.by.allowed.length === 1, 'a good msg');
    const last = statuses.at(-1);
    assert.equal(last?.fill, 'green');
    assert.match(String(last?.text), /status\.counts/);
  });

  it('a bad evaluation time from the msg is an error, not a guess', async () => {
    const { node, out } = await load({ at: 'launch', atType: 'msg' });
    await sim.control.clearRequests();
    node.receive({ payload: ids[0], launch: 'next tuesday' });
    await until(() => out.by.caught.length === 1, 'the error');
    assert.match(String(out.by.caught[0].error?.message), /errors\.badTime/);
    assert.deepEqual(await sim.control.requests(), []);
  });

  it('counts outcomes in its status, one of each output', async () => {
    const { node, out, statuses } = await load({ at: 'at', atType: 'msg' });
    const base = { id: 'I0000abcdefghijk', iptc: { keywords: [] }, releases: { model: true, property: true } };
    const cases: Array<[string, Record<string, string | null>]> = [
      ['allowed', { [EXPIRY]: '2030-12-31', [TERMS]: 'Unlimited' }],
      ['expiring', { [EXPIRY]: '2030-01-10', [TERMS]: 'Unlimited' }],
      ['expired', { [EXPIRY]: '2029-12-31', [TERMS]: 'Unlimited' }],
      ['restricted', { [EXPIRY]: null, [TERMS]: 'Ask first' }],
    ];
    for (const [, custom] of cases) node.receive({ asset: { ...base, custom }, at: '2030-01-01T12:00:00Z' });
    await until(() => out.total === 4, 'four msgs');
    for (const [output] of cases) assert.equal(out.by[output].length, 1, output);
    assert.ok(statuses.length >= 4);
    // after the empty status every node starts with
    assert.deepEqual(statuses[0], {});
    assert.ok(statuses.slice(1).every((s) => s.fill === 'green' && /status\.counts/.test(String(s.text))));
  });

  it('refuses a bad configuration with a red status and an error for each msg', async () => {
    const { node, out, statuses } = await load({ window: 'soon' });
    assert.equal(statuses.at(-1)?.fill, 'red', 'red from the start');
    node.receive({ payload: ids[0] });
    await until(() => out.by.caught.length === 1, 'the error');
    assert.match(String(out.by.caught[0].error?.message), /errors\.badWindow/);
  });

  it('aborts an in-flight read when it closes: the error reaches Catch and no output', async () => {
    const { node, out, statuses } = await load();
    await (helper.getNode('acc') as unknown as { getClient(): { session(): Promise<unknown> } }).getClient().session();
    await sim.control.faults({ route: '^/media/', method: 'GET', latencyMs: 60_000 });
    node.receive({ payload: ids[0], topic: 'slow' });
    await until(() => statuses.some((s) => /status\.reading/.test(String(s.text))), 'the read to start');
    const reported: unknown[] = [];
    const error = node.error.bind(node);
    node.error = ((e: unknown, m?: unknown) => (reported.push(e), error(e as never, m as never))) as typeof node.error;
    await (node as unknown as { close(removed: boolean): Promise<void> }).close(false);
    // the node says it is closed only once its work in flight has ended (reported as aborted)
    assert.equal(reported.length, 1, 'the aborted read was reported before the node said it was closed');
    await until(() => out.by.caught.length === 1, 'the aborted error');
    assert.equal(out.by.caught[0].topic, 'slow');
    assert.match(String(out.by.caught[0].error?.message), /errors\.aborted/);
    assert.equal(out.total, 1);
  });
});

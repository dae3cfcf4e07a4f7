import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import updateNode from '../../src/nodes/photoshelter-update';
import type { AccountNode } from '../../src/nodes/shared/types';
import { startSim, type SimHandle } from '../helpers/sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Fields = Record<string, { before: unknown; after: unknown }>;
interface Item {
  id: string;
  ok: boolean;
  changed: boolean;
  fields: Fields;
  error?: { message: string; code?: string };
}
interface Update {
  id?: string;
  changed: boolean;
  fields?: Fields;
  items?: Item[];
  dryRun: boolean;
  reapplied?: boolean;
  error?: { message: string; code?: string };
}
type Msg = Record<string, unknown> & { update?: Update; error?: { message: string; code?: string } };

/** Messages that reach a helper node, awaited one by one. */
class Inbox {
  readonly msgs: Msg[] = [];
  private taken = 0;
  private waiters: Array<() => void> = [];
  constructor(id: string) {
    helper.getNode(id).on('input', (msg: Msg) => {
      this.msgs.push(msg);
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  async next(): Promise<Msg> {
    while (this.msgs.length <= this.taken) await new Promise<void>((r) => this.waiters.push(r));
    return this.msgs[this.taken++];
  }
}

const ROWS = [
  { target: 'title', op: 'set', value: '{{payload.title}}', valueType: 'str' },
  { target: 'keywords', op: 'append', value: 'payload.tags', valueType: 'msg' },
  { target: 'Campaign', op: 'set', value: 'payload.campaign', valueType: 'msg' },
  { target: 'License Expiration Date', op: 'set', value: 'payload.expires', valueType: 'msg' },
];

describe('photoshelter-update node', function () {
  let sim: SimHandle;
  let ids: string[];
  let out: Inbox;
  let caught: Inbox;
  const flow = (update: Record<string, unknown>) => [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId },
    { id: 'upd', z: 'f1', type: 'photoshelter-update', account: 'acc', rows: ROWS, concurrency: 4, wires: [['out']], ...update },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  const load = async (update: Record<string, unknown> = {}) => {
    await helper.load([accountNode, updateNode, catchNode] as Parameters<typeof helper.load>[0], flow(update), creds());
    out = new Inbox('out');
    caught = new Inbox('caught');
  };
  const node = () => helper.getNode('upd');
  const statuses = () => (node() as unknown as { status: { args: Array<[{ fill?: string; shape?: string; text?: string }]> } }).status.args.map((a) => a[0]);
  const patches = async () => (await sim.control.requests()).filter((r) => r.method === 'PATCH');
  const payload = { title: 'Harbour at dawn', tags: ['harbour', 'dawn'], campaign: 'Spring 2026', expires: '2027-03-31' };

  before(async () => {
    sim = await startSim({ strict: true, seed: 7, assets: 30 });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await sim.control.reset({ seed: 7, assets: 30 });
    ids = await sim.control.mediaIds();
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
  });

  it('writes the mapped fields, reports before/after, and a repeat makes no request', async () => {
    await load();
    const id = ids[0];
    const before = await sim.control.media(id);
    await sim.control.clearRequests();
    node().receive({ _msgid: 'm1', asset: { id }, payload, topic: 'kept' });
    const msg = await out.next();
    const truth = await sim.control.media(id);
    assert.equal(truth.iptc.title, 'Harbour at dawn');
    assert.equal(truth.custom.Campaign, 'Spring 2026');
    assert.equal(truth.custom['License Expiration Date'], '2027-03-31');
    const kws = String(truth.iptc.keywords).split(',').map((k) => k.trim());
    assert.ok(kws.includes('harbour') && kws.includes('dawn'));
    const had = String(before.iptc.keywords ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    for (const k of had) assert.ok(kws.includes(k), `kept ${k}`);
    assert.equal(msg.update?.id, id);
    assert.equal(msg.update?.changed, true);
    assert.equal(msg.update?.dryRun, false);
    assert.deepEqual(msg.update?.fields?.title, { before: before.iptc.title, after: 'Harbour at dawn' });
    assert.deepEqual(msg.update?.fields?.Campaign, { before: before.custom.Campaign, after: 'Spring 2026' });
    assert.deepEqual([msg._msgid, msg.topic, msg.payload], ['m1', 'kept', payload], 'the incoming msg is reused');
    assert.equal((await patches()).length, 2, 'one custom-metadata and one IPTC write');
    assert.equal(statuses().at(-1)?.fill, 'green');
    assert.match(String(statuses().at(-1)?.text), /updatedFields/);

    await sim.control.clearRequests();
    node().receive({ asset: { id }, payload });
    const again = await out.next();
    assert.equal(again.update?.changed, false);
    assert.deepEqual(again.update?.fields, {});
    assert.deepEqual(await patches(), [], 'no write for a no-op');
    assert.equal(statuses().at(-1)?.fill, 'grey');
    assert.match(String(statuses().at(-1)?.text), /noChange/);
  });

  it('dry run (config or msg.dryRun) reports the diff and writes nothing', async () => {
    await load({ dryRun: true });
    const id = ids[1];
    const before = await sim.control.media(id);
    await sim.control.clearRequests();
    node().receive({ payload: { ...payload, id } });
    const msg = await out.next();
    assert.equal(msg.update?.dryRun, true);
    assert.equal(msg.update?.changed, true);
    assert.equal(msg.update?.fields?.title.after, 'Harbour at dawn');
    assert.deepEqual(await patches(), []);
    assert.deepEqual(await sim.control.media(id), before);

    node().receive({ payload: { ...payload, id }, dryRun: false });
    const real = await out.next();
    assert.equal(real.update?.dryRun, false);
    assert.equal((await sim.control.media(id)).iptc.title, 'Harbour at dawn');
  });

  it('rejects bad input with a clear error, writing nothing', async () => {
    await load({ rows: [{ target: 'title', op: 'set', value: 'New title', valueType: 'str' }, { target: 'License Expiration Date', op: 'set', value: 'payload.expires', valueType: 'msg' }] });
    const id = ids[2];
    const before = await sim.control.media(id);
    await sim.control.clearRequests();
    node().receive({ asset: { id }, payload: { expires: '2027-02-30' } });
    const err = await caught.next();
    assert.match(err.error?.message ?? '', /badDate/);
    assert.equal(err.error?.code, 'EVALIDATION');
    assert.equal(err.update?.error?.code, 'EVALIDATION');
    assert.equal(statuses().at(-1)?.fill, 'red');

    node().receive({ payload: 'I0000tooshort' });
    const bad = await caught.next();
    assert.match(bad.error?.message ?? '', /badId/);
    node().receive({ payload: { id, fields: { Campain: 'x' } } });
    assert.match((await caught.next()).error?.message ?? '', /unknownField/);
    assert.deepEqual(await patches(), []);
    assert.deepEqual(await sim.control.media(id), before);
    assert.equal(out.msgs.length, 0, 'a failed single update is not sent on');

    // a select value PhotoShelter refuses: custom fields go first, so the IPTC change is not written either
    node().receive({ asset: { id }, payload: { fields: { Department: 'Nope', 'License Expiration Date': '2027-01-01' } } });
    const refused = await caught.next();
    assert.equal(refused.error?.code, 'EVALIDATION');
    const refusals = (await sim.control.requests()).filter((r) => r.method === 'PATCH');
    assert.deepEqual(refusals.map((r) => [r.path, r.status]), [[`/media/${id}/custom-metadata`, 400]]);
    assert.deepEqual(await sim.control.media(id), before);

    // recovery clears the red status
    node().receive({ asset: { id }, payload: { expires: '2027-02-28' } });
    await out.next();
    assert.equal(statuses().at(-1)?.fill, 'green');
  });

  it('updates a batch: good items are written, bad ones reported, one error to Catch', async () => {
    await load({ rows: [{ target: 'keywords', op: 'append', value: 'batch', valueType: 'str' }] });
    const missing = 'I0000NOTTHERE000';
    const batch = [
      { id: ids[3], fields: { Campaign: 'B1' } },
      { id: 'bad-id', fields: { Campaign: 'B2' } },
      { id: ids[4], fields: { Nonsense: 'x' } },
      { id: missing, fields: { Campaign: 'B3' } },
      ids[5],
    ];
    const before4 = await sim.control.media(ids[4]);
    node().receive({ payload: batch });
    const msg = await out.next();
    const items = msg.update?.items ?? [];
    assert.deepEqual(items.map((i) => [i.ok, i.changed]), [[true, true], [false, false], [false, false], [false, false], [true, true]]);
    assert.equal(items[1].error?.code, 'EVALIDATION');
    assert.equal(items[2].error?.code, 'EVALIDATION');
    assert.match(items[2].error?.message ?? '', /unknownField/);
    assert.equal(items[3].error?.code, 'ENOASSET');
    assert.equal(msg.update?.changed, true);
    assert.equal((await sim.control.media(ids[3])).custom.Campaign, 'B1');
    assert.match(String((await sim.control.media(ids[5])).iptc.keywords), /batch/);
    assert.deepEqual(await sim.control.media(ids[4]), before4);
    const err = await caught.next();
    assert.match(err.error?.message ?? '', /errors\.batch/);
    assert.equal(err.update?.items?.length, 5, 'Catch gets the outcomes too');
    assert.equal(caught.msgs.length, 1);
    assert.equal(statuses().at(-1)?.fill, 'red');
  });

  it('completes a batch through rate limiting (429 on the IPTC writes)', async () => {
    await load({ rows: [{ target: 'caption', op: 'set', value: 'rate limited {{topic}}', valueType: 'str' }], concurrency: 3 });
    await sim.control.faults({ route: '^/media/.*/iptc$', method: 'PATCH', status: 429, retryAfter: 0, count: 2 });
    const batch = ids.slice(6, 12).map((id) => ({ id }));
    node().receive({ topic: 'x', payload: batch });
    const msg = await out.next();
    assert.deepEqual(msg.update?.items?.map((i) => i.ok), batch.map(() => true));
    for (const { id } of batch) assert.equal((await sim.control.media(id)).iptc.caption, 'rate limited x');
    const limited = (await sim.control.requests()).filter((r) => r.method === 'PATCH' && r.status === 429);
    assert.equal(limited.length, 2);
    assert.equal(statuses().at(-1)?.fill, 'green');
    assert.match(String(statuses().at(-1)?.text), /updatedAssets/);
  });

  describe('an edit between the read and the write', () => {
    /** Runs `edit` before the node's pre-write check (a read without includes), as a concurrent user would. */
    const interceptChecks = (edit: (n: number) => Promise<void>) => {
      const client = (helper.getNode('acc') as AccountNode).getClient();
      const original = client.getMedia.bind(client);
      let checks = 0;
      client.getMedia = async (id, opts = {}) => {
        if (!opts.include) await edit(++checks);
        return original(id, opts);
      };
    };

    it('re-reads and applies the mapping to the new values', async () => {
      await load({ rows: [{ target: 'caption', op: 'append', value: '© Acme', valueType: 'str' }] });
      const id = ids[12];
      interceptChecks(async (n) => {
        if (n === 1) await sim.control.patchMedia(id, { iptc: { caption: 'Edited meanwhile', title: 'Their title' } });
      });
      node().receive({ payload: id });
      const msg = await out.next();
      assert.equal(msg.update?.reapplied, true);
      assert.deepEqual(msg.update?.fields?.caption, { before: 'Edited meanwhile', after: 'Edited meanwhile © Acme' });
      const truth = await sim.control.media(id);
      assert.equal(truth.iptc.caption, 'Edited meanwhile © Acme');
      assert.equal(truth.iptc.title, 'Their title', 'the other edit survives');
    });

    it('reports a conflict and writes nothing when it happens again', async () => {
      await load({ rows: [{ target: 'title', op: 'set', value: 'Mine', valueType: 'str' }] });
      const id = ids[13];
      interceptChecks(async (n) => {
        await sim.control.patchMedia(id, { iptc: { headline: `edit ${n}` } });
      });
      await sim.control.clearRequests();
      node().receive({ payload: id });
      const err = await caught.next();
      assert.equal(err.error?.code, 'ECONFLICT');
      assert.match(err.error?.message ?? '', /conflict/);
      const truth = await sim.control.media(id);
      assert.notEqual(truth.iptc.title, 'Mine');
      assert.equal(truth.iptc.headline, 'edit 2');
      assert.deepEqual(await patches(), []);
    });
  });

  it('fails a msg without an id, and a msg whose template refers to a missing property', async () => {
    await load();
    await sim.control.clearRequests();
    node().receive({ payload: { title: 'no id here' } });
    assert.match((await caught.next()).error?.message ?? '', /noId/);
    assert.deepEqual(await sim.control.requests(), [], 'no request without an id');
    node().receive({ asset: { id: ids[14] }, payload: { tags: [] } });
    const err = await caught.next();
    assert.match(err.error?.message ?? '', /missingVariable/);
  });

  it('stops in-flight work when the flow stops', async () => {
    await load({ rows: [{ target: 'title', op: 'set', value: 'Too late', valueType: 'str' }] });
    const id = ids[15];
    await sim.control.faults({ route: '^/media/[^/]+$', method: 'GET', latencyMs: 1000 });
    await sim.control.clearRequests();
    // done(err) reports through node.error: record it on the instance
    const n = node() as unknown as { error: (e: unknown, m?: unknown) => void; receive(m: unknown): void; close(removed: boolean): Promise<void> };
    const errors: unknown[] = [];
    n.error = (e: unknown) => void errors.push(e);
    n.receive({ payload: id });
    await n.close(true); // this node only, as a partial redeploy does: the account and its client stay open
    // the node says it is closed only once its work in flight has ended (reported as aborted)
    assert.equal(errors.length, 1, 'the aborted work was reported before the node said it was closed');
    assert.match(String((errors[0] as Error)?.message), /errors\.aborted/);
    assert.deepEqual(await patches(), [], 'no write after close');
    assert.notEqual((await sim.control.media(id)).iptc.title, 'Too late');
  });
});

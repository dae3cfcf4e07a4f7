import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import accountNode from '../../src/nodes/photoshelter-account';
import triggerNode from '../../src/nodes/photoshelter-trigger';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import type { AccountNode } from '../../src/nodes/shared/types';
import { startSim, type SimHandle } from '../helpers/sim';
import { assertEvidenced } from '../helpers/evidence';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: unknown) => void;

helper.init(require.resolve('node-red'));

interface Msg {
  topic: string;
  asset: { id: string; path?: string; custom?: Record<string, string | null> };
  payload: { id: string };
  event: Record<string, unknown>;
  parts?: { id: string; index: number; count?: number };
}
type AnyNode = ReturnType<typeof helper.getNode> & { pollNow?: () => Promise<void> };


describe('photoshelter-trigger node', function () {
  let sim: SimHandle;
  const flow = (trigger: Record<string, unknown>) => [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId },
    { id: 'trg', z: 'f1', type: 'photoshelter-trigger', account: 'acc', interval: 3600, start: 'now', maxEvents: 100, includeIptc: true, includeCustom: true, wires: [['out']], ...trigger },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  const collect = (id = 'out') => {
    const got: Msg[] = [];
    (helper.getNode(id) as unknown as { on(e: string, f: (m: Msg) => void): void }).on('input', (m: Msg) => got.push(m));
    return got;
  };
  /** The node's "poll now" (what the editor's button calls); a test fails when it is missing. */
  const pollNow = (): Promise<void> => {
    const node = trigger();
    assert.equal(typeof node.pollNow, 'function', 'the trigger node offers pollNow()');
    return (node.pollNow as () => Promise<void>)();
  };
  /** Poll now and wait until `n` msgs arrived (delivery is asynchronous), then a little longer for extras. */
  const pollFor = async (got: unknown[], n: number) => {
    await pollNow();
    await waitFor(() => got.length >= n, `${n} msgs`);
    await new Promise((r) => setTimeout(r, 50));
  };
  const nodes = [accountNode, triggerNode, catchNode] as Parameters<typeof helper.load>[0];
  /** An approval trigger (custom field Approval Status = Approved) past its baseline, and one pending asset approved since. */
  const approveOnePending = async (extra: Record<string, unknown> = {}) => {
    await helper.load([accountNode, triggerNode], flow({ mode: 'approved', ruleSource: 'custom', ruleField: 'Approval Status', ruleOp: 'eq', ruleValue: 'Approved', ...extra }), creds());
    const got = collect();
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the baseline');
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending');
    assert.ok(pending);
    await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
    await settle();
    return { got, pending };
  };
  /** Move the simulator's clock on so recent writes settle, and let the account's client see the new time. */
  const settle = async () => {
    await sim.control.clock(3);
    await (helper.getNode('acc') as AccountNode).getClient().session();
  };
  const trigger = () => helper.getNode('trg') as AnyNode;
  const statuses = () => (trigger() as unknown as { status: { args: Array<[{ fill?: string; text?: string }]> } }).status.args.map((a) => a[0]);

  before(async () => {
    sim = await startSim({ strict: true, seed: 21, assets: 60 });
  });
  after(async () => {
    await sim.close();
  });
  // each test's trigger keeps its state file in a user directory of its own
  let userDir: string;
  beforeEach((done) => {
    userDir = mkdtempSync(join(tmpdir(), 'ps-trigger-node-'));
    helper.settings({ userDir });
    helper.startServer(done);
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    helper.settings({});
    rmSync(userDir, { recursive: true, force: true });
  });

  it('emits created and updated events with the asset, a summary and the event', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    const got = collect();
    await waitFor(() => statuses().some((s) => s.fill === 'grey' || s.fill === 'green'), 'the first poll');
    const [gallery] = (await sim.control.state()).galleries;
    const [id] = await sim.control.mediaIds(gallery.id);
    await sim.control.patchMedia(id, { custom: { Campaign: 'Winter' } });
    await settle();
    await pollFor(got, 1);
    assert.equal(got.length, 1);
    assert.equal(got[0].topic, 'updated');
    assert.equal(got[0].asset.id, id);
    assert.equal(got[0].asset.custom?.Campaign, 'Winter');
    assert.equal(got[0].payload.id, id);
    assert.equal(got[0].event.type, 'updated');
    assert.equal(got[0].event.account, 'acc', 'the account, for nodes that have none of their own');
    assert.ok(!JSON.stringify(got).includes(sim.password) && !JSON.stringify(got).includes(sim.apiKey), 'no secret in msgs');
    const last = statuses().at(-1);
    assert.equal(last?.fill, 'green');
    assert.match(String(last?.text), /status\.polled/);
  });

  it('polls on an input msg and through the admin endpoint (the editor button)', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    const got = collect();
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const ids = (await sim.control.mediaIds()).slice(0, 2);
    await sim.control.patchMedia(ids[0], { iptc: { caption: 'one' } });
    await settle();
    await helper.request().post('/photoshelter/trigger/trg/poll').send({}).expect(200);
    await waitFor(() => got.length === 1, 'the first event');
    assert.deepEqual(got.map((m) => m.asset.id), [ids[0]]);
    await sim.control.patchMedia(ids[1], { iptc: { caption: 'two' } });
    await settle();
    trigger().receive({ payload: 'poll' });
    await waitFor(() => got.length === 2, 'the second event');
    assert.equal(got[1].asset.id, ids[1]);
    await helper.request().post('/photoshelter/trigger/nope/poll').send({}).expect(404);
  });

  it('fires approved once, on the transition, with the previous value', async () => {
    const { got } = await approveOnePending();
    await pollFor(got, 1);
    await settle();
    await pollFor(got, 1);
    assert.equal(got.length, 1);
    assert.equal(got[0].topic, 'approved');
    assert.equal(got[0].event.previous, 'Pending');
  });

  it('with "also when an approved asset changes", an edit of an approved asset fires again, with event.changed', async () => {
    const { got, pending } = await approveOnePending({ approvedChanges: true });
    await pollFor(got, 1);
    assert.equal(got[0].event.changed, undefined, 'entering the rule says no change');
    await sim.control.patchMedia(pending.id, { iptc: { caption: 'approved, then edited' } });
    await settle();
    await pollFor(got, 2);
    assert.equal(got.length, 2);
    assert.equal(got[1].topic, 'approved');
    assert.deepEqual(got[1].event.changed, ['metadata']);
    assert.equal(got[1].asset.id, pending.id);
  });

  it('a bad "also when an approved asset changes" setting stops the trigger with a clear error', async () => {
    await helper.load([accountNode, triggerNode], flow({ mode: 'approved', ruleSource: 'custom', ruleField: 'Approval Status', ruleOp: 'eq', ruleValue: 'Approved', approvedChanges: 'yes' }), creds());
    await waitFor(() => statuses().some((s) => s.fill === 'red'), 'the red status');
    assert.match(String(statuses().at(-1)?.text), /approvedChanges/);
  });

  it('feeds a deliver node directly (no fetch node): the JPEG rendition the deliver node asks for is downloaded and delivered', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ps-trigger-deliver-'));
    try {
      await helper.load(
        [accountNode, triggerNode, destinationNode, deliverNode],
        [
          ...flow({ mode: 'changed', wires: [['d1']] }),
          { id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: out, template: '{{asset.id}}.jpg' },
          { id: 'd1', z: 'f1', type: 'photoshelter-deliver', destination: 'dest', rendition: 'jpeg', size: '300', sizeType: 'long', retries: 0, wires: [['out']] },
        ] as never,
        creds(),
      );
      const got = collect();
      await waitFor(() => statuses().some((s) => s.fill === 'grey' || s.fill === 'green'), 'the first poll');
      const [id] = await sim.control.mediaIds();
      await sim.control.patchMedia(id, { iptc: { caption: 'to the intranet' } });
      await settle();
      await sim.control.clearRequests();
      await pollFor(got, 1);
      const file = readFileSync(join(out, `${id}.jpg`));
      assert.deepEqual([...file.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
      assert.equal((got[0] as unknown as { delivery: { bytes: number } }).delivery.bytes, file.length);
      const downloads = (await sim.control.requests()).filter((r) => r.path.endsWith('/download'));
      assert.deepEqual(downloads.map((r) => r.query), [{ download_filetype: 'jpeg', download_quality: '300' }]);
      assert.ok(!(await sim.control.requests()).some((r) => r.path === `/media/${id}`), 'the trigger\'s asset is used as it is');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('walks a gallery on input, once per asset, with msg.parts, advancing on acknowledgements', async () => {
    const [gallery] = (await sim.control.state()).galleries.filter((g) => g.media >= 5);
    await helper.load(nodes, flow({ mode: 'walk', scope: gallery.id, window: 2 }), creds());
    const got = collect();
    trigger().receive({ payload: 'go' });
    await waitFor(() => got.length === 2, 'a full window');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 2, 'the window holds');
    // acknowledge every msg as it arrives, as a flow wired back to the trigger would
    let acked = 0;
    const ackAll = () => {
      while (acked < got.length) trigger().receive(got[acked++] as never);
    };
    const timer = setInterval(ackAll, 5);
    try {
      await waitFor(() => got.some((m) => m.parts?.count !== undefined), 'the last asset');
    } finally {
      clearInterval(timer);
    }
    ackAll();
    const expected = await sim.control.mediaIds(gallery.id);
    assert.deepEqual(got.map((m) => m.asset.id).sort(), [...expected].sort());
    assert.deepEqual(got.map((m) => m.parts?.index), got.map((_, i) => i));
    assert.equal(got.at(-1)?.parts?.count, got.length);
    assert.ok(got.every((m) => m.topic === 'walk' && typeof m.asset.path === 'string'));
    await waitFor(() => statuses().some((s) => /walkDone/.test(String(s.text))), 'the walk to complete');
  });

  it('reports a failing poll in red, to Catch nodes, and clears on recovery', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    const caught = collect('caught');
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    await sim.control.faults({ route: '^/media$', method: 'GET', status: 500, rate: 1 });
    await settle();
    await pollNow();
    assert.equal(statuses().at(-1)?.fill, 'red');
    await waitFor(() => caught.length > 0, 'a caught error');
    await sim.control.clearFaults();
    await pollNow();
    assert.notEqual(statuses().at(-1)?.fill, 'red');
  });

  it('a gallery that does not exist is an error at the first poll: red status, and a Catch node gets its code and the gallery', async () => {
    const missing = 'G0000zzzzzzzzzzz';
    await helper.load(nodes, flow({ mode: 'approved', scope: missing, ruleSource: 'custom', ruleField: 'Approval Status', ruleOp: 'eq', ruleValue: 'Approved' }), creds());
    const caught = collect('caught');
    await waitFor(() => statuses().some((s) => s.fill === 'red'), 'a red status');
    await waitFor(() => caught.length > 0, 'a caught error');
    const { payload } = caught[0] as unknown as { payload: { code: string; message: string } };
    assert.equal(payload.code, 'ENOSCOPE');
    // the test helper runs without the catalogues: the key names the text, whose values the catalogue test checks
    assert.equal(payload.message, 'photoshelter-trigger.errors.scopeMissing');
    assert.ok(!statuses().some((s) => /status\.polled/.test(String(s.text))), 'no poll ended quietly');
  });

  it('shows the back-off while PhotoShelter rate-limits, then delivers', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    const got = collect();
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const [id] = await sim.control.mediaIds();
    await sim.control.patchMedia(id, { iptc: { caption: 'after a storm' } });
    await settle();
    await sim.control.faults({ route: '^/media$', method: 'GET', status: 429, retryAfter: 1, count: 2 });
    await pollFor(got, 1);
    assert.deepEqual(got.map((m) => m.asset.id), [id]);
    assert.ok(statuses().some((s) => s.fill === 'yellow' && /status\.backoff/.test(String(s.text))), 'a yellow back-off status');
    assert.notEqual(statuses().at(-1)?.fill, 'red');
  });

  it('reports a rejected API key in words, to Catch nodes, without echoing it', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), { acc: { apiKey: 'REVOKED0001', email: sim.email, password: sim.password } });
    const caught = collect('caught');
    await waitFor(() => statuses().some((s) => s.fill === 'red'), 'a red status');
    await waitFor(() => caught.length > 0, 'a caught error');
    const text = JSON.stringify(statuses().at(-1)) + JSON.stringify(caught);
    assert.match(text, /API key/i);
    assert.equal((caught[0] as unknown as { payload: { code: string } }).payload.code, 'EAUTH');
    assert.ok(!text.includes('REVOKED0001'));
  });

  it('refuses to run without an account, with a red status and an error on input', async () => {
    await helper.load(nodes, flow({ mode: 'changed', account: '' }), creds());
    const s = statuses().at(-1);
    assert.equal(s?.fill, 'red');
    const caught = collect('caught');
    trigger().receive({ payload: 1 });
    await waitFor(() => caught.length === 1, 'the error at a Catch node');
  });

  it('a trigger that sees nothing at all says why: here, an account without its organization', async () => {
    const noOrg = flow({ mode: 'changed' }).map((n) => (n.id === 'acc' ? { ...n, orgId: '' } : n));
    await helper.load(nodes, noOrg, creds());
    const warnings = () => (trigger() as unknown as { warn: { args: unknown[][] } }).warn.args.flat().map(String);
    await waitFor(() => warnings().some((w) => /nothingVisible/.test(w)), 'the warning');
    assert.ok(warnings().includes('photoshelter-trigger.warnings.nothingVisibleNoOrg'), JSON.stringify(warnings()));
    await waitFor(() => statuses().at(-1)?.text === 'photoshelter-trigger.status.nothingVisible', 'the status');
    assert.equal(statuses().at(-1)?.fill, 'yellow');
    // a poll later keeps saying so
    await trigger().pollNow?.();
    assert.equal(statuses().at(-1)?.text, 'photoshelter-trigger.status.nothingVisible');
  });

  it('a trigger that sees something says nothing of the kind', async () => {
    await sim.control.clearRequests();
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    await waitFor(() => statuses().some((s) => /status\.polled/.test(String(s.text))), 'the first poll');
    // it looked (the first page of the library), and found something
    await waitFor(async () => (await sim.control.requests()).some((r) => r.path.endsWith('/library')), 'the look at the library');
    await trigger().pollNow?.();
    const warned = (trigger() as unknown as { warn: { args: unknown[][] } }).warn.args.flat().map(String);
    assert.ok(!warned.some((w) => /nothingVisible/.test(w)), JSON.stringify(warned));
    assert.match(String(statuses().at(-1)?.text), /status\.polled/);
  });

  it('without messaging hooks (as in this test helper), says that an event counts as done once sent, and still polls and moves on', async () => {
    await helper.load(nodes, flow({ mode: 'changed' }), creds());
    const warned = () => (trigger() as unknown as { warn: { args: unknown[][] } }).warn.args.flat().map(String);
    assert.ok(warned().some((w) => /warnings\.noHooks/.test(w)), JSON.stringify(warned()));
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const [id] = await sim.control.mediaIds();
    await sim.control.patchMedia(id, { iptc: { title: 'no hooks' } });
    await settle();
    const got = collect();
    await pollFor(got, 1);
    assert.deepEqual(got.map((m) => m.asset.id), [id]);
    // no window of unfinished events: the position moved on, nothing waits
    const saved = JSON.parse(readFileSync(join(userDir, 'photoshelter', 'triggers', 'trg.json'), 'utf8')) as { state: { positions: Record<string, unknown> }; window?: unknown };
    assert.ok(saved.state.positions['*']);
    assert.equal(saved.window, undefined);
    assert.doesNotMatch(String(statuses().at(-1)?.text), /awaiting|held/);
    // a walk, or a leader (Issue again), does not depend on the hooks: no such word
    await helper.unload();
    await helper.load(nodes, flow({ mode: 'changed', ackTimeout: 30 }), creds());
    assert.ok(!warned().some((w) => /warnings\.noHooks/.test(w)));
  });

  describe('across a redeploy (the nodes close and start again)', () => {
    // a configured context store: Node-RED keeps node context across redeploys only then
    const withStore = [
      ...(nodes as unknown[]),
      () => (helper as unknown as { _redNodes: { loadContextsPlugin(): Promise<void> } })._redNodes.loadContextsPlugin(),
    ] as Parameters<typeof helper.load>[0];
    beforeEach(() => {
      helper.settings({ userDir, contextStorage: { default: { module: 'memory' } } } as never);
    });
    it('neither misses nor repeats a change', async () => {
      const f = flow({ mode: 'changed' });
      await helper.load(withStore, f, creds());
      await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
      const ids = (await sim.control.mediaIds()).slice(0, 3);
      await sim.control.patchMedia(ids[0], { iptc: { title: 'before restart' } });
      await settle();
      let got = collect();
      await pollFor(got, 1);
      assert.deepEqual(got.map((m) => m.asset.id), [ids[0]]);
      // changes after the last poll, picked up by the first poll after the redeploy
      await sim.control.patchMedia(ids[1], { iptc: { title: 'while stopped' } });
      await sim.control.patchMedia(ids[2], { iptc: { title: 'while stopped' } });
      await settle();
      await helper.setFlows(f, 'full', creds());
      got = collect();
      await waitFor(() => got.length >= 2, 'the changes after the redeploy');
      assert.deepEqual(got.map((m) => m.asset.id).sort(), [ids[1], ids[2]].sort());
      // one more change after them: once it has arrived, a repeat, sent before it, would have too
      const [, , , later] = await sim.control.mediaIds();
      await sim.control.patchMedia(later, { iptc: { title: 'after the redeploy' } });
      await settle();
      await pollFor(got, 3);
      assert.deepEqual(got.map((m) => m.asset.id).slice(2), [later], 'nothing repeated');
    });

    it('resumes an interrupted walk where the acknowledgements left it', async () => {
      const [gallery] = (await sim.control.state()).galleries.filter((g) => g.media >= 6);
      const f = flow({ mode: 'walk', scope: gallery.id, window: 2 });
      await helper.load(withStore, f, creds());
      let got = collect();
      trigger().receive({ payload: 'go' });
      await waitFor(() => got.length === 2, 'a full window');
      trigger().receive(got[0] as never);
      await waitFor(() => got.length === 3, 'the next asset');
      const done = [got[0].asset.id];
      await helper.setFlows(f, 'full', creds());
      got = collect();
      await waitFor(() => got.length === 2, 'the resumed window');
      let acked = 0;
      const timer = setInterval(() => {
        while (acked < got.length) trigger().receive(got[acked++] as never);
      }, 5);
      try {
        await waitFor(() => got.some((m) => m.parts?.count !== undefined), 'the end of the walk');
      } finally {
        clearInterval(timer);
      }
      const all = await sim.control.mediaIds(gallery.id);
      const seen = [...done, ...got.map((m) => m.asset.id)];
      assert.deepEqual([...new Set(seen)].sort(), [...all].sort(), 'nothing missed');
      assert.equal(seen.length, all.length, 'nothing acknowledged repeated');
      assert.equal(got[0].parts?.index, 1, 'the resumed walk continues the numbering');
    });
  });

  it('sent PhotoShelter only requests the API reference evidences', async () => {
    assertEvidenced(await sim.control.requests());
  });
});

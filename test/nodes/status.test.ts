/**
 * Statuses do not outlive their cause. The editor keeps the last status of every node (Node-RED's
 * runtime retains it for the editor and drops it only when a node sends an empty status), so a node that
 * restarts (a redeploy, a restart of Node-RED) must clear what its previous instance showed; and within
 * one run, the next success replaces an error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { EventEmitter } from 'node:events';
import * as nrUtil from '@node-red/util';
import type { NodeAPI } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import updateNode from '../../src/nodes/photoshelter-update';
import rightsNode from '../../src/nodes/photoshelter-rights';
import triggerNode from '../../src/nodes/photoshelter-trigger';
import { startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Status = { fill?: string; shape?: string; text?: string };
type FlowNode = Record<string, unknown> & { id: string; type: string };

/** What the editor shows for each node, kept the way Node-RED's runtime keeps it for the editor. */
class Shown {
  readonly now = new Map<string, Status>();
  readonly events: Array<{ id: string; status?: Status }> = [];
  private readonly listener = (e: { id: string; status?: Status }): void => {
    this.events.push(e);
    const s = e.status;
    if (!s || (!s.text && !s.fill && !s.shape)) this.now.delete(e.id);
    else this.now.set(e.id, s);
  };
  attach(): void {
    (nrUtil as unknown as { events: EventEmitter }).events.on('node-status', this.listener);
  }
  detach(): void {
    (nrUtil as unknown as { events: EventEmitter }).events.off('node-status', this.listener);
  }
}

const FLOW_NODES = ['f1', 'd1', 'u1', 'r1', 't1'];

describe('statuses of the PhotoShelter nodes', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let tmp: string;
  let imageId: string;
  const shown = new Shown();

  const flow = (): FlowNode[] =>
    [
      { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' },
      { id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: join(tmp, 'out'), createBase: true, template: '{{asset.id}}/{{asset.fileName}}' },
      { id: 'tab1', type: 'tab' },
      { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'none', wires: [[]] },
      { id: 'd1', type: 'photoshelter-deliver', z: 'tab1', account: 'acc', destination: 'dest', action: 'put', actionType: 'str', retries: 0, wires: [[]] },
      { id: 'u1', type: 'photoshelter-update', z: 'tab1', account: 'acc', rows: [{ target: 'Campaign', op: 'set', value: 'Status test', valueType: 'str' }], wires: [[]] },
      { id: 'r1', type: 'photoshelter-rights', z: 'tab1', account: 'acc', wires: [[], [], [], []] },
      { id: 't1', type: 'photoshelter-trigger', z: 'tab1', account: 'acc', mode: 'changed', interval: 3600, start: 'now', wires: [[]] },
      { id: 'c1', type: 'catch', z: 'tab1', scope: null, wires: [[]] },
    ].map((n) => (['photoshelter-account', 'photoshelter-destination', 'tab'].includes(n.type) ? n : { x: 100, y: 100, ...n }));
  const load = (password: string) =>
    helper.load([accountNode, fetchNode, deliverNode, destinationNode, updateNode, rightsNode, triggerNode, catchNode], flow() as never, {
      acc: { apiKey: sim.apiKey, email: sim.email, password },
    });
  const red = (id: string) => shown.now.get(id)?.fill === 'red';
  const send = (id: string, payload: unknown) => helper.getNode(id).receive({ payload } as never);

  before(async () => {
    sim = await startSim({ seed: 5, assets: 10 });
    imageId = (await sim.control.mediaIds())[0];
    tmp = mkdtempSync(join(tmpdir(), 'ps-status-'));
    // the delivery ledger lives under the user directory
    helper.settings({ userDir: join(tmp, 'user') });
    shown.attach();
  });
  after(async () => {
    shown.detach();
    await helper.unload();
    helper.settings({});
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('an error shown before a redeploy is gone once the nodes restart with the account fixed', async () => {
    await load('a wrong password');
    // the trigger's first poll signs in (unless another node's answer told the client the server's time first)
    await waitFor(() => red('t1'), `the trigger red: ${JSON.stringify(shown.now.get('t1'))}`, 30_000);
    for (const id of ['f1', 'd1', 'u1', 'r1']) send(id, imageId);
    await waitFor(() => FLOW_NODES.every(red), `every node red: ${JSON.stringify(Object.fromEntries(shown.now))}`, 30_000);

    // the redeploy: the same nodes start again (Node-RED keeps what they showed until they say otherwise)
    await helper.unload();
    shown.events.length = 0;
    await load(sim.password);
    for (const id of FLOW_NODES) {
      const first = shown.events.find((e) => e.id === id);
      assert.ok(first, `${id} said something when it started`);
      assert.ok(!first.status || (!first.status.fill && !first.status.text), `${id} first cleared its status: ${JSON.stringify(first)}`);
    }
    for (const id of ['f1', 'd1', 'u1', 'r1']) assert.equal(shown.now.get(id), undefined, `${id}: nothing left from before`);
    // the trigger polls at once, successfully this time
    await waitFor(() => !!shown.now.get('t1') && shown.now.get('t1')?.fill !== 'blue', 'the trigger to report its first poll', 30_000);
    assert.notEqual(shown.now.get('t1')?.fill, 'red', JSON.stringify(shown.now.get('t1')));
  });

  it('within a run, the next success replaces an error', async () => {
    const missing = 'I0000NoSuchAsset';
    for (const id of ['f1', 'd1', 'u1', 'r1']) send(id, missing);
    await waitFor(() => ['f1', 'd1', 'u1', 'r1'].every(red), `every node red for a missing asset: ${JSON.stringify(Object.fromEntries(shown.now))}`, 30_000);
    for (const id of ['f1', 'd1', 'u1', 'r1']) send(id, imageId);
    await waitFor(
      () => ['f1', 'd1', 'u1', 'r1'].every((id) => ['green', 'grey'].includes(String(shown.now.get(id)?.fill))),
      `every node past its error: ${JSON.stringify(Object.fromEntries(shown.now))}`,
      30_000,
    );
  });
});

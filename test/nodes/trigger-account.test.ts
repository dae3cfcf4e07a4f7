/**
 * Nodes without an account of their own use the account of the trigger that produced the message
 * (`msg.event.account`); a node's own account comes first, and only an account config node is taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import updateNode from '../../src/nodes/photoshelter-update';
import rightsNode from '../../src/nodes/photoshelter-rights';
import { startSim, type SimHandle } from '../helpers/sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Msg = Record<string, unknown> & { error?: { code?: string; message?: string } };

describe('nodes without an account use the trigger\'s (msg.event.account)', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let tmp: string;
  let id: string;

  before(async () => {
    sim = await startSim({ seed: 9, assets: 5 });
    id = (await sim.control.mediaIds())[0];
    tmp = mkdtempSync(join(tmpdir(), 'ps-trigger-account-'));
    // the delivery ledger lives under the user directory
    helper.settings({ userDir: join(tmp, 'user') });
  });
  after(async () => {
    await helper.unload();
    helper.settings({});
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
  });

  async function load() {
    const flow = [
      { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' },
      { id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: join(tmp, 'out'), createBase: true, template: '{{asset.id}}.jpg' },
      { id: 'tab1', type: 'tab' },
      { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: '', mode: 'none', wires: [['out']] },
      { id: 'd1', type: 'photoshelter-deliver', z: 'tab1', account: '', destination: 'dest', wires: [['out']] },
      { id: 'u1', type: 'photoshelter-update', z: 'tab1', account: '', rows: [{ target: 'Campaign', op: 'set', value: 'From the trigger', valueType: 'str' }], wires: [['out']] },
      { id: 'r1', type: 'photoshelter-rights', z: 'tab1', account: '', wires: [['out'], ['out'], ['out'], ['out']] },
      { id: 'out', type: 'helper', z: 'tab1' },
      { id: 'c1', type: 'catch', z: 'tab1', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab1' },
    ].map((n) => (n.type === 'photoshelter-account' || n.type === 'photoshelter-destination' || n.type === 'tab' ? n : { x: 100, y: 100, ...n }));
    await helper.load([accountNode, fetchNode, deliverNode, destinationNode, updateNode, rightsNode, catchNode], flow as never, {
      acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password },
    });
  }
  const next = (node: string): Promise<Msg> => new Promise((resolve) => helper.getNode(node).once('input', (m: Msg) => resolve(m)));

  for (const node of ['f1', 'd1', 'u1', 'r1']) {
    it(`${node}: reads the asset through the account named by the message`, async () => {
      await load();
      const out = next('out');
      const caught = next('caught');
      helper.getNode(node).receive({ payload: id, event: { type: 'updated', account: 'acc' } });
      const m = await Promise.race([out, caught]);
      assert.equal(m.error, undefined, JSON.stringify(m.error));
      // update reports in msg.update, the others carry the asset
      assert.equal((m.asset as { id?: string } | undefined)?.id ?? (m.update as { id?: string } | undefined)?.id, id);
    });
  }

  it('the delivered file is there', () => {
    assert.ok(readdirSync(join(tmp, 'out')).includes(`${id}.jpg`), JSON.stringify(readdirSync(join(tmp, 'out'))));
  });

  it('a message naming no account, or a node that is no account, gets the "no account" error', async () => {
    await load();
    for (const event of [undefined, { account: 'dest' }, { account: 'nothing-here' }]) {
      const caught = next('caught');
      helper.getNode('f1').receive({ payload: id, event });
      const m = await caught;
      assert.match(String(m.error?.message), /errors\.noAccount$/, JSON.stringify(event));
    }
  });
});

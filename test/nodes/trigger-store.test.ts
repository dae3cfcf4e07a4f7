/**
 * Where the trigger keeps its position (the "store" option: a context store named in settings.js), and
 * what it does when the stored position is damaged: a red status and an error with code ESTATE at Catch
 * nodes, the value left for the user to look at, never a silent start from "now".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import accountNode from '../../src/nodes/photoshelter-account';
import triggerNode from '../../src/nodes/photoshelter-trigger';
import { startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: unknown) => void;

helper.init(require.resolve('node-red'));

const KEY = 'photoshelter-trigger';
type Ctx = { get(key: string, store: string, cb: (e: Error | null, v: unknown) => void): void; set(key: string, v: unknown, store: string, cb: (e?: Error | null) => void): void };
type Status = { fill?: string; text?: string };
interface TestNode {
  context(): Ctx;
  status: { args: Array<[Status]> };
  warn: { args: unknown[][] };
  pollNow?: () => Promise<void>;
}

describe('photoshelter-trigger node: its position store', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  const flow = (trigger: Record<string, unknown> = {}) => [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId },
    { id: 'trg', z: 'f1', type: 'photoshelter-trigger', account: 'acc', mode: 'changed', interval: 3600, start: 'now', maxEvents: 100, wires: [['out']], ...trigger },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  // a configured context store: Node-RED keeps node context across redeploys only then
  const nodes = [
    accountNode,
    triggerNode,
    catchNode,
    () => (helper as unknown as { _redNodes: { loadContextsPlugin(): Promise<void> } })._redNodes.loadContextsPlugin(),
  ] as unknown as Parameters<typeof helper.load>[0];
  const trigger = () => helper.getNode('trg') as unknown as TestNode;
  const statuses = () => trigger().status.args.map((a) => a[0]);
  const read = (store: string) => new Promise<unknown>((ok, fail) => trigger().context().get(KEY, store, (e, v) => (e ? fail(e) : ok(v))));
  const write = (store: string, v: unknown) => new Promise<void>((ok, fail) => trigger().context().set(KEY, v, store, (e) => (e ? fail(e) : ok())));

  let dir: string;
  before(async () => {
    sim = await startSim({ seed: 22, assets: 30 });
    dir = mkdtempSync(join(tmpdir(), 'ps-trigger-store-'));
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    helper.settings({ contextStorage: { default: { module: 'memory' }, positions: { module: 'memory' } } } as never);
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  it('keeps its position in the store it names, and only there', async () => {
    await helper.load(nodes, flow({ store: 'positions' }), creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const kept = (await read('positions')) as { v: number; positions: Record<string, { at: string }> } | undefined;
    assert.equal(kept?.v, 1);
    assert.ok(!Number.isNaN(Date.parse(kept.positions['*'].at)), 'a position in "positions"');
    assert.equal(await read('default'), undefined, 'nothing in the default store');
  });

  it('without a store named, uses the default store', async () => {
    await helper.load(nodes, flow(), creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    assert.equal((await read('default') as { v?: number } | undefined)?.v, 1);
    assert.equal(await read('positions'), undefined);
  });

  it('a damaged position turns the status red and reaches Catch with code ESTATE; the value stays for the user', async () => {
    const f = flow({ store: 'positions' });
    await helper.load(nodes, f, creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const damaged = { v: 1, configKey: ((await read('positions')) as { configKey: string }).configKey, positions: { '*': { at: 'garbled', seen: [] } } };
    await write('positions', damaged);
    // the nodes start again (a redeploy); the memory store keeps the node's context
    await helper.setFlows(f as never, 'full', creds() as never);
    const caught: Array<{ payload: { code: string; message: string } }> = [];
    helper.getNode('caught').on('input', (m: unknown) => caught.push(m as (typeof caught)[number]));
    await waitFor(() => caught.length > 0, 'the error at a Catch node');
    assert.equal(caught[0].payload.code, 'ESTATE');
    assert.match(caught[0].payload.message, /stored position of this trigger is damaged \(the position of \* is not a time\)/);
    assert.equal(statuses().at(-1)?.fill, 'red');
    assert.deepEqual(await read('positions'), damaged, 'left as it was');
    // removed by the user: the next poll starts afresh, and succeeds
    await write('positions', undefined);
    await (trigger().pollNow as () => Promise<void>)();
    assert.notEqual(statuses().at(-1)?.fill, 'red');
    assert.equal(((await read('positions')) as { v?: number } | undefined)?.v, 1);
  });

  it('warns that a memory store keeps nothing across restarts; a file store gets no such warning', async () => {
    helper.settings({ contextStorage: { default: { module: 'memory' }, disk: { module: 'localfilesystem', config: { dir } } } } as never);
    await helper.load(nodes, flow({ store: 'disk' }), creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey' || s.fill === 'red'), 'the first poll');
    assert.ok(!trigger().warn.args.flat().map(String).some((w) => /memoryStore/.test(w)), 'no warning for a file store');
    await helper.unload();
    await helper.load(nodes, flow({ store: 'default' }), creds());
    assert.ok(trigger().warn.args.flat().map(String).some((w) => /memoryStore/.test(w)), 'a warning for a memory store');
  });
});

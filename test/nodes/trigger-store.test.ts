/**
 * Where the trigger keeps its state: a file of its own under Node-RED's user directory
 * (photoshelter/triggers/<id>.json, mode 0600), not the context store. What an earlier version kept in the
 * context store (the store the node names) is carried over once. A file that is damaged or cannot be read
 * is a red status and an error with code ESTATE at Catch nodes, the file left for the user to look at,
 * never a silent start from "now".
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import accountNode from '../../src/nodes/photoshelter-account';
import triggerNode from '../../src/nodes/photoshelter-trigger';
import type { AccountNode } from '../../src/nodes/shared/types';
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
  error: { args: unknown[][] };
  pollNow?: () => Promise<void>;
  on(e: string, f: (m: unknown) => void): void;
}
interface Saved {
  v: number;
  state?: { v: number; configKey: string; positions: Record<string, { at: string; seen: string[] }> };
}

describe('photoshelter-trigger node: its state file', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let userDir: string;
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
  const file = () => join(userDir, 'photoshelter', 'triggers', 'trg.json');
  const saved = () => JSON.parse(readFileSync(file(), 'utf8')) as Saved;
  const read = (store: string, key = KEY) => new Promise<unknown>((ok, fail) => trigger().context().get(key, store, (e, v) => (e ? fail(e) : ok(v))));
  const write = (store: string, v: unknown) => new Promise<void>((ok, fail) => trigger().context().set(KEY, v, store, (e) => (e ? fail(e) : ok())));
  const caughtMsgs = () => {
    const caught: Array<{ payload: { code: string; message: string } }> = [];
    (helper.getNode('caught') as unknown as TestNode).on('input', (m) => caught.push(m as (typeof caught)[number]));
    return caught;
  };
  const settle = async () => {
    await sim.control.clock(3);
    await (helper.getNode('acc') as AccountNode).getClient().session();
  };

  before(async () => {
    sim = await startSim({ seed: 22, assets: 30 });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(() => {
    userDir = mkdtempSync(join(tmpdir(), 'ps-trigger-store-'));
    helper.settings({ userDir, contextStorage: { default: { module: 'memory' }, positions: { module: 'memory' } } } as never);
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    rmSync(userDir, { recursive: true, force: true });
  });

  it('keeps its state in a file of its own under the user directory (mode 0600), none in the context store, and no warning about a memory store', async () => {
    await helper.load(nodes, flow({ store: 'positions' }), creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const s = saved();
    assert.equal(s.v, 1);
    assert.ok(!Number.isNaN(Date.parse(s.state?.positions['*'].at ?? '')), 'a position in the file');
    assert.equal(statSync(file()).mode & 0o777, 0o600);
    assert.equal(statSync(join(userDir, 'photoshelter', 'triggers')).mode & 0o777, 0o700);
    assert.equal(await read('positions'), undefined, 'nothing in the named context store');
    assert.equal(await read('default'), undefined, 'nothing in the default context store');
    assert.ok(!trigger().warn.args.flat().map(String).some((w) => /memoryStore/.test(w)));
    assert.ok(!existsSync(`${file()}.tmp`), 'no temporary file left');
  });

  it('carries over the state an earlier version kept in the context store: nothing missed, and the context key is read only once', async () => {
    // an earlier version's run: its position (a minute ago) in the context store it was set to use
    const f = flow({ store: 'positions' });
    await helper.load(nodes, f, creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const first = saved().state as NonNullable<Saved['state']>;
    await helper.unload();
    rmSync(file());
    const [id] = await sim.control.mediaIds();
    const earlier = { v: 1, configKey: first.configKey, positions: { '*': { at: new Date(Date.parse(first.positions['*'].at) - 60_000).toISOString(), seen: [] } } };
    helper.settings({ userDir, contextStorage: { default: { module: 'memory' }, positions: { module: 'memory' } } } as never);
    // the memory context store lives as long as the runtime: set the old value, then start the node as after an upgrade
    await helper.load(nodes, [...f.slice(0, 2), { ...f[2], interval: 86400, account: 'nowhere' }] as never, creds());
    await write('positions', earlier);
    // changed while the upgrade was under way: a trigger starting afresh ("now") would not see it
    await sim.control.patchMedia(id, { iptc: { title: 'changed during the upgrade' } });
    await settle();
    await helper.setFlows(f as never, 'full', creds() as never);
    const got: Array<{ asset: { id: string } }> = [];
    (helper.getNode('out') as unknown as TestNode).on('input', (m) => got.push(m as (typeof got)[number]));
    await (trigger().pollNow as () => Promise<void>)();
    await waitFor(() => got.some((m) => m.asset.id === id), 'the change since the old position');
    assert.ok(Date.parse(saved().state?.positions['*'].at ?? '') > Date.parse(earlier.positions['*'].at), 'the file holds the position moved on from the old one');
    assert.equal(await read('positions'), undefined, 'the old context key is gone: it is never read again');
  });

  it('a file that is not JSON turns the status red and reaches Catch with code ESTATE; the file stays; once deleted, a deploy starts afresh', async () => {
    const f = flow();
    mkdirSync(join(userDir, 'photoshelter', 'triggers'), { recursive: true });
    writeFileSync(file(), '{"v":1,"state":{"v":1,"configK');
    await helper.load(nodes, f, creds());
    const caught = caughtMsgs();
    await waitFor(() => caught.length > 0, 'the error at a Catch node');
    assert.equal(caught[0].payload.code, 'ESTATE');
    assert.match(caught[0].payload.message, /errors\.stateDamaged/);
    const logged = trigger().error.args.flat().map((a) => JSON.stringify(a)).join('\n');
    assert.match(logged, /stateDamaged/);
    assert.equal(statuses().at(-1)?.fill, 'red');
    assert.equal(readFileSync(file(), 'utf8'), '{"v":1,"state":{"v":1,"configK', 'left as it was');
    // no poll was made from "now": the position is not replaced
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(readFileSync(file(), 'utf8'), '{"v":1,"state":{"v":1,"configK');
    rmSync(file());
    await helper.setFlows(f as never, 'full', creds() as never);
    await waitFor(() => existsSync(file()) && saved().state !== undefined, 'a fresh state');
    assert.notEqual(statuses().at(-1)?.fill, 'red');
  });

  it('a state inside the file that is damaged (a position that is no time) is ESTATE too, and the file is not rewritten', async () => {
    const f = flow();
    await helper.load(nodes, f, creds());
    await waitFor(() => statuses().some((s) => s.fill === 'grey'), 'the first poll');
    const damaged = { v: 1, state: { ...saved().state, positions: { '*': { at: 'garbled', seen: [] } } } };
    await helper.unload();
    writeFileSync(file(), JSON.stringify(damaged));
    helper.settings({ userDir, contextStorage: { default: { module: 'memory' }, positions: { module: 'memory' } } } as never);
    await helper.load(nodes, f, creds());
    const caught = caughtMsgs();
    await waitFor(() => caught.length > 0, 'the error at a Catch node');
    assert.equal(caught[0].payload.code, 'ESTATE');
    assert.equal(statuses().at(-1)?.fill, 'red');
    assert.deepEqual(saved(), damaged, 'left as it was');
  });

  it('a file that cannot be read (here: a folder in its place) is ESTATE, not a fresh start', async () => {
    mkdirSync(file(), { recursive: true });
    await helper.load(nodes, flow(), creds());
    const caught = caughtMsgs();
    await waitFor(() => caught.length > 0, 'the error at a Catch node');
    assert.equal(caught[0].payload.code, 'ESTATE');
    assert.equal(statuses().at(-1)?.fill, 'red');
  });
});

/**
 * The deliver node's action "list delivered", and destinations that share a ledger name: what a deliver node
 * put through one destination is listed through another destination of another flow with the same name,
 * as one sequence (msg.parts); a removal through the second counts for the first; a bad name is an error
 * that reaches Catch and writes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Msg = Record<string, unknown> & { payload?: unknown; parts?: { id: string; index: number; count: number }; delivered?: { places: Array<{ target: string; location: string }> }; delivery?: Record<string, unknown>; error?: { message: string } };

/** Messages that reach a helper node, waited for by count. */
function inbox(id: string): { msgs: Msg[]; count(n: number): Promise<Msg[]> } {
  const msgs: Msg[] = [];
  let wake = () => undefined as void;
  helper.getNode(id).on('input', (m: object, _send: unknown, done: () => void) => {
    msgs.push(m as Msg);
    done();
    wake();
  });
  return {
    msgs,
    count: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${msgs.length} of ${n} messages at ${id}`)), 20_000);
        const check = () => {
          if (msgs.length >= n) {
            clearTimeout(timer);
            resolve(msgs.slice(0, n));
          }
        };
        wake = check;
        check();
      }),
  };
}

const asset = (id: string) => ({ id, versionKey: `k-${id}`, fileName: `${id}.jpg`, iptc: { keywords: [] } });

describe('photoshelter-deliver: list delivered, across destinations that share a ledger name', function () {
  this.timeout(60_000);
  let tmp: string;
  let out: string;

  beforeEach((done) => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-list-'));
    out = join(tmp, 'out');
    helper.settings({ userDir: join(tmp, 'user') });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  const flow = (ledgerName: string) => [
    { id: 't1', type: 'tab' },
    { id: 't2', type: 'tab' },
    // two flows, each with its destination config node, pointed at the same folder with the same ledger name
    { id: 'destA', type: 'photoshelter-destination', z: 't1', kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}', ledgerName },
    { id: 'destB', type: 'photoshelter-destination', z: 't2', kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}', ledgerName },
    { id: 'put', type: 'photoshelter-deliver', z: 't1', destination: 'destA', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, wires: [['putOut']] },
    { id: 'putOut', type: 'helper', z: 't1' },
    { id: 'list', type: 'photoshelter-deliver', z: 't2', destination: 'destB', action: 'list', actionType: 'str', sidecar: 'none', concurrency: 2, retries: 0, wires: [['listed']] },
    { id: 'listed', type: 'helper', z: 't2' },
    { id: 'rm', type: 'photoshelter-deliver', z: 't2', destination: 'destB', action: 'removeCopies', actionType: 'str', sidecar: 'none', concurrency: 2, retries: 0, wires: [['removed']] },
    { id: 'removed', type: 'helper', z: 't2' },
    { id: 'c2', type: 'catch', z: 't2', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't2' },
  ].map((n) => (['tab', 'photoshelter-destination'].includes(n.type) ? n : { x: 100, y: 100, ...n }));

  it('lists what another flow\'s destination delivered, as one sequence, and a removal through it counts for that destination', async () => {
    await helper.load([destinationNode, deliverNode, catchNode], flow('shared sweep'));
    const put = inbox('putOut');
    const listed = inbox('listed');
    const removed = inbox('removed');
    for (const id of ['I0000bbbbbbbbbbb', 'I0000aaaaaaaaaaa', 'I0000ccccccccccc']) helper.getNode('put').receive({ payload: Buffer.from(`bytes of ${id}`), asset: asset(id) });
    await put.count(3);
    helper.getNode('list').receive({ topic: 'sweep' });
    const seq = await listed.count(3);
    assert.deepEqual(seq.map((m) => m.payload), ['I0000aaaaaaaaaaa', 'I0000bbbbbbbbbbb', 'I0000ccccccccccc']);
    assert.deepEqual(seq.map((m) => [m.parts?.index, m.parts?.count]), [[0, 3], [1, 3], [2, 3]]);
    assert.equal(new Set(seq.map((m) => m.parts?.id)).size, 1, 'one sequence');
    assert.equal(seq[0].topic, 'sweep', 'each message is a copy of the one that asked');
    assert.deepEqual(seq[0].delivered?.places.map((p) => p.location), ['I0000aaaaaaaaaaa/I0000aaaaaaaaaaa.jpg']);
    assert.match(String(seq[0].delivered?.places[0].target), /^folder:/);
    // removing through the second destination: the file goes, and the first destination's ledger knows it
    helper.getNode('rm').receive({ asset: asset('I0000aaaaaaaaaaa') });
    const [r] = await removed.count(1);
    assert.deepEqual(r.delivery?.removedCopies, ['I0000aaaaaaaaaaa/I0000aaaaaaaaaaa.jpg']);
    assert.ok(!existsSync(join(out, 'I0000aaaaaaaaaaa', 'I0000aaaaaaaaaaa.jpg')));
    helper.getNode('put').receive({ payload: Buffer.from('bytes of I0000aaaaaaaaaaa'), asset: asset('I0000aaaaaaaaaaa') });
    const [, , , again] = await put.count(4);
    assert.notEqual(again.delivery?.skipped, true, 'delivered again, not skipped as "already delivered"');
    assert.ok(existsSync(join(out, 'I0000aaaaaaaaaaa', 'I0000aaaaaaaaaaa.jpg')));
    // one ledger file for both, under named/
    assert.deepEqual(readdirSync(join(tmp, 'user', 'photoshelter', 'deliveries', 'named')), ['shared_sweep.jsonl']);
  });

  it('a bad ledger name is an error with the message at Catch; nothing is listed or written', async () => {
    await helper.load([destinationNode, deliverNode, catchNode], flow('../escape'));
    const caught = inbox('caught');
    const listed = inbox('listed');
    helper.getNode('list').receive({ payload: 'go' });
    const [c] = await caught.count(1);
    // the catalogue key (the test helper loads no catalogues; the runtime words it, see photoshelter-destination.json)
    assert.match(String(c.error?.message), /photoshelter-destination\.errors\.ledgerName$/);
    assert.equal(listed.msgs.length, 0);
    assert.ok(!existsSync(join(tmp, 'user', 'photoshelter', 'deliveries')), 'no ledger file was made');
  });
});

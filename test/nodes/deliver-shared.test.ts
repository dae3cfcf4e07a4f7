/**
 * Deliver nodes as flows use them: two nodes sharing one destination (one ledger, one concurrency cap),
 * a dry run of a delivered version ("would be skipped", and nothing written, not even to the ledger), and
 * the node's own retries of a failing HTTP destination.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type Msg = Record<string, unknown> & { topic?: string; delivery?: { skipped?: boolean; dryRun?: boolean; attempts?: number; location?: string; bytes?: number }; error?: { code?: string; message?: string } };
type FlowNode = Record<string, unknown> & { id: string; type: string };

const asset = (id: string, versionKey = 'k1') => ({ id, versionKey, fileName: `${id}.jpg`, iptc: { keywords: [] } });

describe('photoshelter-deliver nodes: a shared destination, dry runs and retries', function () {
  this.timeout(30_000);
  let tmp: string;
  let out: string;
  let server: Server;
  let url: string;
  /** The HTTP destination's behaviour for the next requests. */
  let handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  let seen: Array<{ url: string; at: number }>;

  const deliver = (id: string, extra: Record<string, unknown> = {}): FlowNode => ({
    id, type: 'photoshelter-deliver', z: 'tab1', destination: 'dest', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, x: 100, y: 100, wires: [['out']], ...extra,
  });
  async function load(dest: Record<string, unknown>, delivers: FlowNode[]) {
    const flow: FlowNode[] = [
      { id: 'tab1', type: 'tab' },
      { id: 'dest', type: 'photoshelter-destination', name: 'shared', ...dest },
      ...delivers,
      { id: 'out', type: 'helper', z: 'tab1', x: 300, y: 100 },
      { id: 'c1', type: 'catch', z: 'tab1', scope: null, x: 100, y: 300, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab1', x: 300, y: 300 },
    ];
    await helper.load([destinationNode, deliverNode, catchNode], flow as never, { dest: {} });
    const results: Msg[] = [];
    const caught: Msg[] = [];
    helper.getNode('out').on('input', (m: Msg) => results.push(m));
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    return { results, caught };
  }
  const folder = () => ({ kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}' });
  const ledger = () => {
    const f = join(tmp, 'user', 'photoshelter', 'deliveries', 'dest.jsonl');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { t: string; a: string }) : [];
  };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', at: Date.now() });
        handler(req, res, Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach((done) => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-shared-'));
    out = join(tmp, 'out');
    seen = [];
    handler = (_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    helper.settings({ userDir: join(tmp, 'user') });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    helper.settings({});
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('two deliver nodes, one destination', () => {
    it('share one ledger: what one delivered, the other skips', async () => {
      const { results } = await load(folder(), [deliver('d1'), deliver('d2', { y: 200 })]);
      helper.getNode('d1').receive({ asset: asset('I0000aaaaaaaaaaa'), payload: Buffer.from('first'), topic: 'd1' });
      await waitFor(() => results.length === 1, 'the first delivery');
      helper.getNode('d2').receive({ asset: asset('I0000aaaaaaaaaaa'), payload: Buffer.from('second'), topic: 'd2' });
      await waitFor(() => results.length === 2, 'the second');
      assert.deepEqual(results.map((m) => [m.topic, m.delivery?.skipped]), [['d1', false], ['d2', true]]);
      assert.equal(readFileSync(join(out, 'I0000aaaaaaaaaaa', 'I0000aaaaaaaaaaa.jpg'), 'utf8'), 'first');
      assert.deepEqual(ledger().filter((r) => r.t === 'done').map((r) => r.a), ['I0000aaaaaaaaaaa'], 'one record, in the one ledger of the destination');
    });

    it('the same new version arriving at both at once is delivered once', async () => {
      const { results } = await load(folder(), [deliver('d1'), deliver('d2', { y: 200 })]);
      for (let i = 0; i < 5; i++) {
        const a = asset(`I0000race${i}aaaaaaa`.slice(0, 16));
        helper.getNode('d1').receive({ asset: a, payload: Buffer.from(`d1 ${i}`), topic: 'd1' });
        helper.getNode('d2').receive({ asset: a, payload: Buffer.from(`d2 ${i}`), topic: 'd2' });
      }
      await waitFor(() => results.length === 10, 'ten answers');
      const byAsset = new Map<string, boolean[]>();
      for (const m of results) byAsset.set((m.asset as { id: string }).id, [...(byAsset.get((m.asset as { id: string }).id) ?? []), m.delivery?.skipped === true]);
      for (const [id, skips] of byAsset) assert.deepEqual(skips.sort(), [false, true], `${id}: one delivery, one skip`);
      assert.equal(ledger().filter((r) => r.t === 'done').length, 5);
    });

    it('share one concurrency cap, the smallest any of them asked for', async () => {
      const held: Array<() => void> = [];
      let open = 0;
      let most = 0;
      handler = (_req, res) => {
        open++;
        most = Math.max(most, open);
        held.push(() => {
          open--;
          res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
        });
      };
      const http = { kind: 'http', url: `${url}/{{asset.id}}`, method: 'PUT', bodyMode: 'raw' };
      const { results } = await load(http, [deliver('d1', { concurrency: 3 }), deliver('d2', { concurrency: 2, y: 200 })]);
      // each node asks for its cap with its first message: then the shared cap is 2
      helper.getNode('d1').receive({ asset: asset('I0000cap0aaaaaaa'), payload: Buffer.from('x') });
      helper.getNode('d2').receive({ asset: asset('I0000cap1aaaaaaa'), payload: Buffer.from('x') });
      await waitFor(() => held.length === 2, 'two uploads held');
      held.splice(0).forEach((f) => f());
      await waitFor(() => results.length === 2, 'both done');
      for (let i = 2; i < 8; i++) helper.getNode(i % 2 ? 'd2' : 'd1').receive({ asset: asset(`I0000cap${i}aaaaaaa`), payload: Buffer.from('x') });
      // the server holds every upload: only as many as the cap arrive
      await waitFor(() => held.length === 2, 'the cap reached');
      let rounds = 0;
      while (results.length < 8) {
        held.splice(0).forEach((f) => f());
        await waitFor(() => held.length > 0 || results.length === 8, 'the next uploads');
        assert.ok(open <= 2, `at most 2 uploads open (${open})`);
        if (++rounds > 20) break;
      }
      assert.equal(results.length, 8);
      assert.equal(most, 2, 'never more than the smallest cap, across both nodes');
    });
  });

  describe('dry run', () => {
    it('of a delivered version says it would be skipped, of a new one that it would be delivered; it writes nothing, not even to the ledger', async () => {
      const { results } = await load(folder(), [deliver('d1')]);
      helper.getNode('d1').receive({ asset: asset('I0000dryaaaaaaaa'), payload: Buffer.from('v1') });
      await waitFor(() => results.length === 1, 'the delivery');
      const records = ledger().length;
      helper.getNode('d1').receive({ asset: asset('I0000dryaaaaaaaa'), payload: Buffer.from('v1 again'), dryRun: true, topic: 'same version' });
      helper.getNode('d1').receive({ asset: asset('I0000dryaaaaaaaa', 'k2'), payload: Buffer.from('v2'), dryRun: true, topic: 'new version' });
      helper.getNode('d1').receive({ asset: asset('I0000drybbbbbbbb'), payload: Buffer.from('never seen'), dryRun: true, topic: 'new asset' });
      await waitFor(() => results.length === 4, 'the dry runs');
      const dry = new Map(results.slice(1).map((m) => [m.topic, m.delivery]));
      assert.equal(dry.get('same version')?.skipped, true, 'would be skipped');
      assert.equal(dry.get('same version')?.location, 'I0000dryaaaaaaaa/I0000dryaaaaaaaa.jpg');
      for (const t of ['new version', 'new asset']) {
        assert.equal(dry.get(t)?.skipped, false, `${t}: would be delivered`);
        assert.equal(dry.get(t)?.dryRun, true);
        assert.equal(dry.get(t)?.bytes, 0, 'nothing sent');
      }
      assert.equal(readFileSync(join(out, 'I0000dryaaaaaaaa', 'I0000dryaaaaaaaa.jpg'), 'utf8'), 'v1', 'the file is the delivered one');
      assert.ok(!existsSync(join(out, 'I0000drybbbbbbbb')), 'nothing written for the new asset');
      assert.equal(ledger().length, records, 'no ledger record');
      assert.deepEqual(readdirSync(join(out, 'I0000dryaaaaaaaa')), ['I0000dryaaaaaaaa.jpg'], 'no temporary file');
    });
  });

  describe('retries of the node', () => {
    const http = () => ({ kind: 'http', url: `${url}/{{asset.id}}`, method: 'PUT', bodyMode: 'raw' });
    const failing = (statuses: number[]) => {
      const left = [...statuses];
      handler = (_req, res) => {
        const s = left.shift() ?? 201;
        res.writeHead(s, { 'content-type': 'application/json' }).end(s < 400 ? '{}' : '{"error":"busy"}');
      };
    };

    it('a 503, then a 429, then success: delivered on the third attempt when the node allows 3 retries', async () => {
      failing([503, 429]);
      const { results, caught } = await load(http(), [deliver('d1', { retries: 3 })]);
      helper.getNode('d1').receive({ asset: asset('I0000retryaaaaaa'), payload: Buffer.from('bytes') });
      await waitFor(() => results.length + caught.length === 1, 'the answer', 20_000);
      assert.deepEqual(caught, []);
      assert.equal(results[0].delivery?.attempts, 3);
      assert.equal(seen.length, 3);
      // a pause of 0.25–0.5 s, then 0.5–1 s: half the doubling delay, and a random part of the other half
      // (lower bounds only: a busy machine only makes them longer)
      assert.ok(seen[1].at - seen[0].at >= 240 && seen[2].at - seen[1].at >= 490, `with a growing pause: ${seen[1].at - seen[0].at} ms, ${seen[2].at - seen[1].at} ms`);
    });

    it('with retries 0 the first 503 reaches Catch', async () => {
      failing([503]);
      const { results, caught } = await load(http(), [deliver('d1', { retries: 0 })]);
      helper.getNode('d1').receive({ asset: asset('I0000retrybbbbbb'), payload: Buffer.from('bytes') });
      await waitFor(() => results.length + caught.length === 1, 'the answer');
      assert.equal(caught[0]?.error?.code, 'EHTTP');
      assert.equal(seen.length, 1);
    });

    it('more failures than retries: the last one reaches Catch after retries + 1 attempts', async () => {
      failing([502, 502, 502]);
      const { caught } = await load(http(), [deliver('d1', { retries: 2 })]);
      helper.getNode('d1').receive({ asset: asset('I0000retrycccccc'), payload: Buffer.from('bytes') });
      await waitFor(() => caught.length === 1, 'the error', 20_000);
      assert.equal(seen.length, 3);
    });

    it('a 4xx is not retried, whatever the setting', async () => {
      failing([403]);
      const { caught } = await load(http(), [deliver('d1', { retries: 3 })]);
      helper.getNode('d1').receive({ asset: asset('I0000retrydddddd'), payload: Buffer.from('bytes') });
      await waitFor(() => caught.length === 1, 'the error');
      assert.equal(caught[0].error?.code, 'EAUTH');
      assert.equal(seen.length, 1);
    });

    it('the default (no setting) retries 3 times', async () => {
      failing([503, 503, 503]);
      const d = deliver('d1');
      delete d.retries;
      const { results } = await load(http(), [d]);
      helper.getNode('d1').receive({ asset: asset('I0000retryeeeeee'), payload: Buffer.from('bytes') });
      await waitFor(() => results.length === 1, 'the delivery', 20_000);
      assert.equal(results[0].delivery?.attempts, 4);
    });
  });
});

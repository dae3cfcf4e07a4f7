import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import helper from 'node-red-node-test-helper';
import type { NodeAPI, NodeStatus } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import { startSim, type SimHandle } from '../helpers/sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

type FlowNode = Record<string, unknown> & { id: string; type: string };
type Msg = Record<string, unknown> & { payload?: unknown; delivery?: Record<string, unknown>; error?: Record<string, unknown>; asset?: Record<string, unknown> };

class Inbox {
  readonly msgs: Msg[] = [];
  private waiters: Array<(m: Msg) => void> = [];
  private taken = 0;
  constructor(id: string) {
    helper.getNode(id).on('input', (msg: Msg, _send: unknown, done: () => void) => {
      this.msgs.push(msg);
      done();
      this.waiters.shift()?.(msg);
    });
  }
  next(): Promise<Msg> {
    if (this.msgs.length > this.taken) return Promise.resolve(this.msgs[this.taken++]);
    return new Promise((resolve) => this.waiters.push((m) => {
      this.taken++;
      resolve(m);
    }));
  }
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function walk(dir: string, pre = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), `${pre}${e.name}/`) : [pre + e.name])).sort();
}

describe('photoshelter-deliver node', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let imageId: string;
  let tmp: string;
  let out: string;
  let http: Server;
  let httpUrl: string;
  let received: Array<{ url: string; headers: Record<string, unknown>; body: Buffer }>;
  let httpStatus = 201;

  const flow = (deliver: Record<string, unknown>, dest: Record<string, unknown>, extra: FlowNode[] = []): FlowNode[] =>
    [
      { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' },
      { id: 'dest', type: 'photoshelter-destination', name: 'out', ...dest },
      { id: 'tab1', type: 'tab' },
      { id: 'd1', type: 'photoshelter-deliver', z: 'tab1', destination: 'dest', account: 'acc', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, ...deliver, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'tab1' },
      { id: 'c1', type: 'catch', z: 'tab1', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab1' },
      ...extra,
    ].map((n: FlowNode) => (['photoshelter-account', 'photoshelter-destination', 'tab'].includes(n.type) ? n : { x: 100, y: 100, ...n }));
  const creds = (dest: Record<string, unknown> = {}) => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password }, dest });
  const folder = () => ({ kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}' });
  async function load(deliver: Record<string, unknown> = {}, dest: Record<string, unknown> = folder(), destCreds: Record<string, unknown> = {}, extra: FlowNode[] = []) {
    await helper.load([accountNode, fetchNode, destinationNode, deliverNode, catchNode], flow(deliver, dest, extra), creds(destCreds));
    const statuses: NodeStatus[] = [];
    const d1 = helper.getNode('d1');
    const orig = d1.status.bind(d1);
    d1.status = (s: NodeStatus) => {
      statuses.push(s);
      orig(s);
    };
    return { d1, statuses, results: new Inbox('out'), caught: new Inbox('caught') };
  }
  const anAsset = (extra: Record<string, unknown> = {}) => ({ id: 'I0000abcdefghijk', versionKey: 'k1', fileName: 'a.jpg', iptc: { keywords: [], title: 'T' }, ...extra });

  before(async () => {
    sim = await startSim({ strict: true, seed: 5, assets: 20 });
    for (const id of await sim.control.mediaIds()) {
      const t = await sim.control.media(id);
      if (t.type === 'image' && t.file_size > 100_000) {
        imageId = id;
        break;
      }
    }
    assert.ok(imageId);
    http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(httpStatus, { 'content-type': 'application/json' }).end(httpStatus < 400 ? '{"id":7}' : '{"error":"nope"}');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  after(async () => {
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await sim.close();
  });
  beforeEach((done) => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-node-'));
    out = join(tmp, 'out');
    received = [];
    httpStatus = 201;
    helper.settings({ userDir: join(tmp, 'user') });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    assert.deepEqual(walk(out).filter((f) => f.endsWith('.part')), [], 'no temporary file is left');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('delivers a buffer to a folder, then skips the same version; msg.delivery says so', async () => {
    const { d1, results, statuses } = await load({ sidecar: 'json' });
    const data = Buffer.from('hello file');
    d1.receive({ asset: anAsset(), payload: data, topic: 'keep' });
    const m = await results.next();
    assert.equal(m.topic, 'keep');
    assert.deepEqual({ ...m.delivery, durationMs: 0, attempts: 0 }, {
      destination: 'out', action: 'put', location: 'I0000abcdefghijk/a.jpg', bytes: data.length, sha256: sha(data), skipped: false, durationMs: 0, attempts: 0,
      sidecar: 'I0000abcdefghijk/a.jpg.json',
    });
    assert.equal(readFileSync(join(out, 'I0000abcdefghijk/a.jpg'), 'utf8'), 'hello file');
    assert.ok(existsSync(join(out, 'I0000abcdefghijk/a.jpg.json')));
    d1.receive({ asset: anAsset(), payload: Buffer.from('other') });
    const m2 = await results.next();
    assert.equal(m2.delivery?.skipped, true);
    assert.equal(readFileSync(join(out, 'I0000abcdefghijk/a.jpg'), 'utf8'), 'hello file');
    assert.equal(statuses.at(-1)?.text, 'photoshelter-deliver.status.skipped');
    assert.ok(statuses.some((st) => st.text === 'photoshelter-deliver.status.progress'), 'progress was shown');
    assert.ok(existsSync(join(tmp, 'user', 'photoshelter', 'deliveries', 'dest.jsonl')), 'the ledger lives under userDir');
  });

  it('msg.redeliver sends a delivered version again', async () => {
    const { d1, results } = await load();
    d1.receive({ asset: anAsset(), payload: Buffer.from('first') });
    assert.equal((await results.next()).delivery?.skipped, false);
    d1.receive({ asset: anAsset(), payload: Buffer.from('second'), redeliver: true });
    const m = await results.next();
    assert.equal(m.delivery?.skipped, false);
    assert.equal(m.delivery?.redelivered, true);
    assert.equal(readFileSync(join(out, 'I0000abcdefghijk/a.jpg'), 'utf8'), 'second');
  });

  it('fetches the original by id when the msg has no file', async () => {
    const truth = await sim.control.media(imageId);
    const { d1, results } = await load();
    d1.receive({ payload: imageId });
    const m = await results.next();
    const file = readFileSync(join(out, imageId, truth.file_name));
    assert.equal(file.length, truth.file_size);
    assert.equal(m.delivery?.sha256, sha(file));
    assert.equal(m.asset?.id, imageId);
  });

  it('downloads a JPEG rendition by id when the node asks for one (no fetch node), and refuses a bad size', async () => {
    const { d1, results } = await load({ rendition: 'jpeg', size: '200', sizeType: 'long', template: '{{asset.id}}.jpg' });
    await sim.control.clearRequests();
    d1.receive({ payload: imageId });
    const m = await results.next();
    const file = readFileSync(join(out, `${imageId}.jpg`));
    assert.deepEqual([...file.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    assert.equal(m.delivery?.sha256, sha(file));
    const dl = (await sim.control.requests()).filter((r) => r.path.endsWith('/download'));
    assert.deepEqual(dl.map((r) => r.query), [{ download_filetype: 'jpeg', download_quality: '200' }]);
    await helper.unload();
    const bad = await load({ rendition: 'jpeg', size: 'huge', sizeType: 'box' });
    bad.d1.receive({ payload: imageId });
    assert.match(String((await bad.caught.next()).error?.message), /photoshelter-deliver\.errors\.badSize$/);
  });

  it('delivers the stream of a fetch node in stream mode', async () => {
    const truth = await sim.control.media(imageId);
    const { results } = await load({}, folder(), {}, [
      { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'stream', rendition: 'original', wires: [['d1']] },
    ]);
    helper.getNode('f1').receive({ payload: imageId });
    const m = await results.next();
    const file = readFileSync(join(out, imageId, truth.file_name));
    assert.equal(file.length, truth.file_size);
    assert.equal(m.delivery?.bytes, truth.file_size);
    assert.equal(m.delivery?.sha256, sha(file));
  });

  describe('a fetch node\'s stream downloads only when a delivery needs it', () => {
    const downloads = async () => (await sim.control.requests()).filter((r) => r.path.endsWith('/download'));
    const fetchStream = (wires: string[], rendition: Record<string, unknown> = { rendition: 'original' }): FlowNode => ({ id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'stream', ...rendition, wires: [wires] });

    it('a file delivered already is not downloaded again: the ledger is consulted first', async () => {
      const truth = await sim.control.media(imageId);
      const { results } = await load({}, folder(), {}, [fetchStream(['d1'])]);
      helper.getNode('f1').receive({ payload: imageId });
      assert.equal((await results.next()).delivery?.skipped, false);
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      const again = await results.next();
      assert.equal(again.delivery?.skipped, true);
      assert.deepEqual(await downloads(), [], 'no download for a skipped delivery');
      assert.equal(readFileSync(join(out, imageId, truth.file_name)).length, truth.file_size);
    });

    it('a download that breaks off is opened again by the retry, and the file arrives whole', async () => {
      const truth = await sim.control.media(imageId);
      const { results, caught } = await load({ retries: 2 }, folder(), {}, [fetchStream(['d1'])]);
      await sim.control.clearRequests();
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', reset: 0.3, count: 1 });
      helper.getNode('f1').receive({ payload: imageId });
      const m = await Promise.race([results.next(), caught.next().then((e) => assert.fail(`caught: ${String(e.error?.message)}`))]);
      assert.equal(m.delivery?.attempts, 2, 'the second attempt delivered');
      assert.equal((await downloads()).length, 2, 'the download was opened again');
      const file = readFileSync(join(out, imageId, truth.file_name));
      assert.equal(file.length, truth.file_size);
      assert.equal(m.delivery?.sha256, sha(file));
    });

    it('wired to two deliveries (Node-RED copies the message for the second wire), each opens a download of its own', async () => {
      const truth = await sim.control.media(imageId);
      const { results } = await load({}, folder(), {}, [
        fetchStream(['d1', 'd2']),
        { id: 'd2', type: 'photoshelter-deliver', z: 'tab1', destination: 'dest', account: 'acc', action: 'put', actionType: 'str', template: 'second/{{asset.fileName}}', retries: 0, wires: [['out']] },
      ]);
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      const [a, b] = [await results.next(), await results.next()];
      assert.deepEqual([a.delivery?.bytes, b.delivery?.bytes], [truth.file_size, truth.file_size]);
      assert.equal(a.delivery?.sha256, b.delivery?.sha256);
      assert.equal(readFileSync(join(out, 'second', truth.file_name)).length, truth.file_size);
      assert.equal((await downloads()).length, 2);
    });

    it('a JPEG rendition streamed by the fetch node is delivered as the rendition', async () => {
      const { results } = await load({ template: '{{asset.id}}.jpg' }, folder(), {}, [fetchStream(['d1'], { rendition: 'jpeg', size: '200', sizeType: 'long' })]);
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      const m = await results.next();
      const file = readFileSync(join(out, `${imageId}.jpg`));
      assert.deepEqual([...file.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
      assert.equal(m.delivery?.sha256, sha(file));
      assert.deepEqual((await downloads()).map((r) => r.query), [{ download_filetype: 'jpeg', download_quality: '200' }]);
    });
  });

  it('a path attack reaches Catch with EBADPATH and writes nothing', async () => {
    const { d1, results, caught } = await load({ template: '{{{asset.fileName}}}' });
    d1.receive({ asset: anAsset({ fileName: '../../escape.jpg' }), payload: Buffer.from('x'), topic: 'bad' });
    const e = await caught.next();
    assert.equal(e.topic, 'bad');
    assert.equal(e.error?.code, 'EBADPATH');
    assert.equal(results.msgs.length, 0);
    assert.deepEqual(walk(tmp).filter((f) => !f.startsWith('user/')), []);
  });

  it('removes by msg.action; dry-run writes nothing', async () => {
    const { d1, results } = await load();
    d1.receive({ asset: anAsset(), payload: Buffer.from('x') });
    await results.next();
    d1.receive({ asset: anAsset(), action: 'remove', dryRun: true });
    assert.equal((await results.next()).delivery?.dryRun, true);
    assert.ok(existsSync(join(out, 'I0000abcdefghijk/a.jpg')));
    d1.receive({ asset: anAsset(), action: 'remove' });
    const m = await results.next();
    assert.equal(m.delivery?.removed, true);
    assert.ok(!existsSync(join(out, 'I0000abcdefghijk/a.jpg')));
  });

  it('posts to HTTP with a bearer token kept in credentials; the response lands in msg.delivery; a 4xx reaches Catch', async () => {
    const { d1, results, caught } = await load({}, { kind: 'http', url: `${httpUrl}/media`, auth: 'bearer', bodyMode: 'multipart', headers: [{ name: 'X-Title', value: '{{asset.iptc.title}}' }] }, { token: 'sekret-token' });
    d1.receive({ asset: anAsset(), payload: Readable.from([Buffer.from('abc')]), file: { contentType: 'image/jpeg', contentLength: 3 } });
    const m = await results.next();
    assert.equal(received[0].headers.authorization, 'Bearer sekret-token');
    assert.equal(received[0].headers['x-title'], 'T');
    assert.match(received[0].body.toString(), /filename="a.jpg"\r\nContent-Type: image\/jpeg\r\n\r\nabc\r\n/);
    assert.deepEqual((m.delivery?.response as { body: unknown }).body, { id: 7 });
    assert.ok(!JSON.stringify(m.delivery).includes('sekret'), 'the token stays out of the msg');
    httpStatus = 403;
    d1.receive({ asset: anAsset({ versionKey: 'k2' }), payload: Buffer.from('abc') });
    const e = await caught.next();
    assert.equal(e.error?.code, 'EAUTH');
    assert.ok(!String(e.error?.message).includes('sekret'));
  });

  it('"deliver again on any modification": an asset modified after its delivery is delivered again; without it, the bytes decide', async () => {
    const T0 = '2024-06-01T10:00:00.000Z';
    const T1 = '2024-06-02T10:00:00.000Z';
    const T2 = '2024-06-03T10:00:00.000Z';
    const { d1, results } = await load({ redeliverOnModify: true });
    d1.receive({ asset: anAsset({ modifiedAt: T0 }), payload: Buffer.from('v1') });
    assert.equal((await results.next()).delivery?.skipped, false);
    d1.receive({ asset: anAsset({ modifiedAt: T0 }), payload: Buffer.from('v1') });
    assert.equal((await results.next()).delivery?.skipped, true, 'not modified since: skipped');
    d1.receive({ asset: anAsset({ modifiedAt: T1 }), payload: Buffer.from('v1, edited') });
    const again = await results.next();
    assert.equal(again.delivery?.skipped, false);
    assert.equal(again.delivery?.versionCheck, 'modified');
    assert.equal(readFileSync(join(out, 'I0000abcdefghijk/a.jpg'), 'utf8'), 'v1, edited');
    await helper.unload();
    // the same flow without the option: a modification with the same bytes is skipped (their sha256 tells)
    const off = await load({ redeliverOnModify: false });
    off.d1.receive({ asset: anAsset({ modifiedAt: T2 }), payload: Buffer.from('v1, edited') });
    const m = await off.results.next();
    assert.equal(m.delivery?.skipped, true);
    assert.equal(m.delivery?.versionCheck, 'sha256');
  });

  it('with an account, reads the embedded metadata once per delivery, before the file, and not at all on a skip', async () => {
    const { d1, results } = await load();
    await sim.control.clearRequests();
    d1.receive({ payload: imageId });
    const m = await results.next();
    assert.equal(m.delivery?.skipped, false);
    const paths = (await sim.control.requests()).map((r) => r.path.replace(/^.*\/psapi\/v4\.0/, ''));
    const meta = paths.indexOf(`/media/${imageId}/metadata`);
    assert.ok(meta >= 0, `GET /media/{id}/metadata was sent: ${paths.join(', ')}`);
    assert.ok(meta < paths.indexOf(`/media/${imageId}/download`), 'before the download');
    assert.equal(paths.filter((p) => p.endsWith('/metadata')).length, 1);
    // the asset as the node passed it on (with versionKey and modifiedAt): a skip costs no request at all
    await sim.control.clearRequests();
    d1.receive({ asset: m.asset });
    const again = await results.next();
    assert.equal(again.delivery?.skipped, true);
    assert.equal(again.delivery?.versionCheck, 'key');
    assert.deepEqual(await sim.control.requests(), []);
  });

  it('the destination opens its ledger for its folder: format-1 records are taken over, removals older than "Keep removals" dropped', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const ledgerFile = join(tmp, 'user', 'photoshelter', 'deliveries', 'dest.jsonl');
    mkdirSync(join(tmp, 'user', 'photoshelter', 'deliveries'), { recursive: true });
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 86_400_000).toISOString();
    writeFileSync(
      ledgerFile,
      [
        // written by the previous version: no target
        { t: 'done', a: 'I0000abcdefghijk', v: 'k1', l: 'I0000abcdefghijk/a.jpg', b: 2, h: sha('v1'), at: old },
        { t: 'removed', a: 'I0000bbbbbbbbbbb', v: 'k1', l: 'I0000bbbbbbbbbbb/b.jpg', at: old },
        { t: 'removed', a: 'I0000ccccccccccc', v: 'k1', l: 'I0000ccccccccccc/c.jpg', at: recent },
      ].map((r) => JSON.stringify(r) + '\n').join(''),
    );
    const { d1, results } = await load({}, { ...folder(), retentionDays: 5 });
    d1.receive({ asset: anAsset(), payload: Buffer.from('v1') });
    assert.equal((await results.next()).delivery?.skipped, true, 'delivered before the upgrade: skipped');
    const records = readFileSync(ledgerFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { a: string; d: string });
    assert.deepEqual(records.map((r) => r.a).sort(), ['I0000abcdefghijk', 'I0000ccccccccccc'], 'the 10-day-old removal is gone, the 1-day-old one kept');
    assert.ok(records.every((r) => r.d === `folder:${out}`), 'each record names the folder now');
  });

  it('closing the flow aborts an upload in flight and removes its temporary file', async () => {
    const { d1 } = await load();
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(100_000));
    d1.receive({ asset: anAsset(), payload: body });
    const dir = join(out, 'I0000abcdefghijk');
    const end = Date.now() + 5000;
    while (!walk(dir).some((f) => f.endsWith('.part')) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(walk(dir).some((f) => f.endsWith('.part')), 'the upload is in flight');
    await helper.unload();
    assert.deepEqual(walk(dir), []);
    assert.ok(body.destroyed);
  });
});

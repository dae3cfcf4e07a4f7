import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import helper from 'node-red-node-test-helper';
import { LIFECYCLE_KEYS } from '../../src/nodes/shared/lifecycle';
import * as nrUtil from '@node-red/util';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import { startSim, type SimHandle } from '../helpers/sim';
import { assertEvidenced } from '../helpers/evidence';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const linkNodes = require('@node-red/nodes/core/common/60-link.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

/** The helper's RED has no `hooks`; Node-RED gives nodes the runtime's hook registry, which this is. */
const fetchWithHooks = (RED: NodeAPI): void =>
  fetchNode(new Proxy(RED, { get: (t, p, r) => (p === 'hooks' ? nrUtil.hooks : Reflect.get(t, p, r)) }));

type Msg = Record<string, unknown> & { _msgid?: string; payload?: unknown; asset?: Record<string, unknown>; file?: Record<string, unknown>; error?: Record<string, unknown> };

/** Messages that reach a helper node; `hold` keeps their `done` for the test to call. */
class Inbox {
  readonly msgs: Msg[] = [];
  readonly dones: Array<() => void> = [];
  private waiters: Array<(m: Msg) => void> = [];
  constructor(id: string, opts: { hold?: boolean; forward?: boolean } = {}) {
    helper.getNode(id).on('input', (msg: Msg, send: (m: Msg) => void, done: () => void) => {
      this.msgs.push(msg);
      if (opts.forward) send(msg);
      if (opts.hold) this.dones.push(done);
      else done();
      const w = this.waiters.shift();
      if (w) w(msg);
    });
  }
  next(): Promise<Msg> {
    const waiting = this.msgs.length - this.taken;
    if (waiting > 0) return Promise.resolve(this.msgs[this.taken++]);
    return new Promise((resolve) =>
      this.waiters.push((m) => {
        this.taken++;
        resolve(m);
      }),
    );
  }
  private taken = 0;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('photoshelter-fetch node', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let imageId: string;
  let galleryImageId: string;
  let tmp: string;
  let oldTmp: string | undefined;
  const rejections: unknown[] = [];
  const onRejection = (e: unknown): void => void rejections.push(e);

  const account = (extra: Record<string, unknown> = {}) => ({
    id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', ...extra,
  });
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
  // flow nodes carry a position (x, y): without one the runtime takes a node for a config node
  const flow = (cfg: Record<string, unknown> = {}, opts: { account?: Record<string, unknown>; wires?: string[]; extra?: Array<Record<string, unknown> & { id: string; type: string; wires?: string[][] }> } = {}) => [
    account(opts.account),
    { id: 'tab1', type: 'tab' },
    { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'stream', rendition: 'original', ...cfg, wires: [opts.wires ?? ['out']] },
    { id: 'out', type: 'helper', z: 'tab1', wires: [['out2']] },
    { id: 'out2', type: 'helper', z: 'tab1' },
    { id: 'c1', type: 'catch', z: 'tab1', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab1' },
    ...(opts.extra ?? []),
  ].map((n) => (n.type === 'photoshelter-account' || n.type === 'tab' ? n : { x: 100, y: 100, ...n }));
  async function load(cfg: Record<string, unknown> = {}, opts: Parameters<typeof flow>[1] & { hooks?: boolean } = {}) {
    await helper.load([accountNode, opts.hooks === false ? fetchNode : fetchWithHooks, catchNode, linkNodes], flow(cfg, opts), creds());
    const f1 = helper.getNode('f1') as Node;
    const statuses: NodeStatus[] = [];
    const orig = f1.status.bind(f1);
    f1.status = (s: NodeStatus) => {
      statuses.push(s);
      orig(s);
    };
    return { f1, statuses };
  }
  const downloads = async () => (await sim.control.requests()).filter((r) => r.path.endsWith('/download'));
  const tempEntries = () => readdirSync(tmp).filter((n) => n.startsWith('photoshelter-'));

  before(async () => {
    sim = await startSim({ strict: true, seed: 11, assets: 30 });
    const ids = await sim.control.mediaIds();
    for (const id of ids) {
      const t = await sim.control.media(id);
      if (t.type !== 'image') continue;
      if (!imageId && t.file_size > 200_000) imageId = id;
      if (!galleryImageId && t.galleries.length > 0 && t.iptc.title) galleryImageId = id;
    }
    assert.ok(imageId && galleryImageId, 'the simulator library has images');
    oldTmp = process.env.TMPDIR;
    tmp = mkdtempSync(join(tmpdir(), 'ps-fetch-node-'));
    process.env.TMPDIR = tmp; // temporary files of the node land here, where the tests can see them all
    process.on('unhandledRejection', onRejection);
  });
  after(async () => {
    process.off('unhandledRejection', onRejection);
    if (oldTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = oldTmp;
    rmSync(tmp, { recursive: true, force: true });
    await sim.close();
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    assert.deepEqual(tempEntries(), [], 'no temporary file outlives its flow');
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  });

  describe('file modes', () => {
    it('streams the original: the bytes are the file, stable across fetches, and the msg is reused', async () => {
      const truth = await sim.control.media(imageId);
      await load({ mode: 'stream' });
      const out = new Inbox('out');
      const req = { marker: 'req' };
      const res = { marker: 'res' };
      helper.getNode('f1').receive({ asset: { id: imageId }, topic: 't', req, res, keep: { a: 1 } });
      const m1 = await out.next();
      assert.equal(m1.req, req);
      assert.equal(m1.res, res);
      assert.equal(m1.topic, 't');
      assert.deepEqual(m1.keep, { a: 1 });
      assert.deepEqual(m1.file, { fileName: truth.file_name, contentType: 'application/octet-stream', contentLength: truth.file_size });
      const b1 = await drain(m1.payload as Readable);
      assert.equal(b1.length, truth.file_size);
      assert.equal(b1[0], 0xff);
      assert.equal(b1[1], 0xd8);
      helper.getNode('f1').receive({ payload: imageId });
      const b2 = await drain((await out.next()).payload as Readable);
      assert.equal(sha(b2), sha(b1));
    });

    it('reads a buffer under the cap', async () => {
      const truth = await sim.control.media(imageId);
      await load({ mode: 'buffer', maxSize: 50 });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ payload: imageId, topic: 'b' });
      const m = await out.next();
      assert.ok(Buffer.isBuffer(m.payload));
      assert.equal((m.payload as Buffer).length, truth.file_size);
      assert.equal(m.topic, 'b');
      assert.equal(m.file?.contentLength, truth.file_size);
    });

    it('refuses a buffer over the cap: the error reaches Catch with the msg, and nothing reaches the output', async () => {
      const truth = await sim.control.media(imageId);
      const { statuses } = await load({ mode: 'buffer', maxSize: 0.05 }); // 52 428 bytes
      assert.ok(truth.file_size > 0.05 * 1024 * 1024);
      const out = new Inbox('out');
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId, topic: 'big' });
      const e = await caught.next();
      assert.equal(e.topic, 'big');
      assert.equal(e.error?.code, 'ETOOLARGE');
      assert.match(String(e.error?.message), /photoshelter-fetch\.errors\.tooLarge$/);
      assert.equal(out.msgs.length, 0);
      assert.equal(statuses.at(-1)?.fill, 'red');
    });

    it('writes a temporary file that lives while the msg is in flight and goes when it is done', async () => {
      const truth = await sim.control.media(imageId);
      await load({ mode: 'temp' });
      const out = new Inbox('out', { hold: true });
      helper.getNode('f1').receive({ asset: { id: imageId } });
      const m = await out.next();
      const path = String(m.payload);
      assert.equal(m.file?.path, path);
      assert.ok(path.startsWith(tmp));
      assert.ok(path.endsWith(truth.file_name));
      assert.equal(readFileSync(path).length, truth.file_size);
      // still there while the next node holds the msg
      await new Promise((r) => setTimeout(r, 200)); // time for a wrong removal to happen
      assert.ok(existsSync(path), 'the file exists while the msg is in flight');
      out.dones[0]();
      await until(() => !existsSync(path), 'the file to be removed after the msg completed');
      assert.deepEqual(tempEntries(), []);
    });

    it('keeps a temporary file until the last node of a chain is done', async () => {
      await load({ mode: 'temp' });
      const first = new Inbox('out', { forward: true }); // out → out2, done at once
      const last = new Inbox('out2', { hold: true });
      helper.getNode('f1').receive({ payload: imageId });
      const path = String((await first.next()).payload);
      await last.next();
      await new Promise((r) => setTimeout(r, 200)); // time for a wrong removal to happen
      assert.ok(existsSync(path), 'the first node being done does not remove the file');
      last.dones[0]();
      await until(() => !existsSync(path), 'the file to be removed after the chain completed');
    });

    it('keeps a temporary file across link nodes until the msg is done', async () => {
      await load(
        { mode: 'temp' },
        {
          wires: ['lout'],
          extra: [
            { id: 'lout', type: 'link out', z: 'tab1', mode: 'link', links: ['lin'], wires: [] },
            { id: 'lin', type: 'link in', z: 'tab1', links: ['lout'], wires: [['out2']] },
          ],
        },
      );
      const last = new Inbox('out2', { hold: true });
      helper.getNode('f1').receive({ payload: imageId });
      const path = String((await last.next()).payload);
      await new Promise((r) => setTimeout(r, 200)); // time for a wrong removal to happen
      assert.ok(existsSync(path), 'link out and link in being done does not remove the file');
      last.dones[0]();
      await until(() => !existsSync(path), 'the file to be removed after the msg completed');
    });

    it('removes a temporary file after the time limit when the msg never completes', async () => {
      await load({ mode: 'temp', tempTimeout: 0.3 });
      const out = new Inbox('out', { hold: true });
      // whether the file was there when the msg arrived, and how long after it was asked for
      let arrival: { afterMs: number; exists: boolean } | undefined;
      const asked = performance.now();
      helper.getNode('out').on('input', (m: Msg) => (arrival = { afterMs: performance.now() - asked, exists: existsSync(String(m.payload)) }));
      helper.getNode('f1').receive({ payload: imageId });
      const path = String((await out.next()).payload);
      // the time limit runs from when the file was complete, after the ask: within 300 ms of the ask it must be
      // there (on a machine too slow to deliver it that soon, only the removal can be checked)
      if (arrival && arrival.afterMs < 300) assert.ok(arrival.exists, 'the file exists when the msg arrives');
      await until(() => !existsSync(path), 'the time limit to remove the file');
      assert.ok(out.dones.length === 1, 'the msg never completed');
    });

    it('without message hooks, the time limit still removes temporary files', async () => {
      await load({ mode: 'temp', tempTimeout: 0.3 }, { hooks: false });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ payload: imageId });
      const path = String((await out.next()).payload);
      await until(() => !existsSync(path), 'the time limit to remove the file');
    });

    it('removes temporary files when the flow stops', async () => {
      await load({ mode: 'temp' });
      const out = new Inbox('out', { hold: true });
      helper.getNode('f1').receive({ payload: imageId });
      const path = String((await out.next()).payload);
      assert.ok(existsSync(path));
      await helper.unload();
      assert.ok(!existsSync(path));
    });

    it('leaves no temporary file when the download is truncated', async () => {
      await load({ mode: 'temp' });
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', truncate: 0.5, count: 1 });
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId, topic: 'cut' });
      const e = await caught.next();
      assert.equal(e.error?.code, 'ETRUNCATED');
      assert.equal(e.topic, 'cut');
      assert.deepEqual(tempEntries(), []);
    });

    it('fails a truncated buffer download', async () => {
      await load({ mode: 'buffer' });
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', truncate: 0.5, count: 1 });
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId });
      assert.equal((await caught.next()).error?.code, 'ETRUNCATED');
    });

    it('gives a link that serves the JPEG rendition', async () => {
      await load({ mode: 'link', rendition: 'jpeg', size: '640x480' });
      const out = new Inbox('out');
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      const m = await out.next();
      assert.equal(typeof m.payload, 'string');
      const link = (await sim.control.requests()).find((r) => r.path.endsWith('/link'));
      assert.equal(link?.query.image_size, '640x480');
      const res = await fetch(String(m.payload));
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...body.subarray(0, 2)], [0xff, 0xd8]);
      assert.ok(!String(m.payload).includes(sim.apiKey), 'the link carries no API key');
    });

    it('downloads a JPEG rendition at a size', async () => {
      await load({ mode: 'buffer', rendition: 'jpeg', size: '320x240' });
      const out = new Inbox('out');
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      const m = await out.next();
      const b = m.payload as Buffer;
      assert.deepEqual([...b.subarray(0, 2)], [0xff, 0xd8]);
      assert.equal(m.file?.contentType, 'image/jpeg');
      const [d] = await downloads();
      assert.equal(d.query.download_filetype, 'jpeg');
      assert.equal(d.query.download_quality, '320x240');
    });

    it('downloads a JPEG rendition at full size and at a long side (the production forms)', async () => {
      const truth = await sim.control.media(imageId);
      for (const [cfg, quality] of [[{ sizeType: 'original', size: '' }, 'original'], [{ sizeType: 'long', size: '120' }, '120']] as const) {
        await load({ mode: 'buffer', rendition: 'jpeg', ...cfg });
        const out = new Inbox('out');
        await sim.control.clearRequests();
        helper.getNode('f1').receive({ payload: imageId });
        const m = await out.next();
        assert.deepEqual([...(m.payload as Buffer).subarray(0, 2)], [0xff, 0xd8]);
        const [d] = await downloads();
        assert.deepEqual(d.query, { download_filetype: 'jpeg', download_quality: quality });
        await helper.unload();
      }
      assert.ok(truth.width > 0);
    });

    it('gives a link at a long side as a square box', async () => {
      await load({ mode: 'link', rendition: 'jpeg', size: '300', sizeType: 'long' });
      const out = new Inbox('out');
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ payload: imageId });
      await out.next();
      const link = (await sim.control.requests()).find((r) => r.path.endsWith('/link'));
      assert.deepEqual(link?.query, { image_size: '300x300', image_mode: 'fit' });
    });
  });

  describe('metadata and ids', () => {
    it('fills msg.asset with the parts asked for', async () => {
      const truth = await sim.control.media(galleryImageId);
      await load({ mode: 'none', includeIptc: true, includeCustom: true, includeGalleries: true, includePath: true });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ asset: { id: galleryImageId }, payload: 'unchanged' });
      const m = await out.next();
      assert.equal(m.payload, 'unchanged');
      const a = m.asset as Record<string, unknown> & { iptc: Record<string, unknown>; galleries: Array<{ id: string }>; paths: Array<{ galleryId: string }> };
      assert.equal(a.id, galleryImageId);
      assert.equal(a.fileSize, truth.file_size);
      assert.equal(a.iptc.title, truth.iptc.title);
      assert.deepEqual(a.custom, truth.custom);
      assert.deepEqual(a.galleries.map((g) => g.id).sort(), [...truth.galleries].sort());
      assert.deepEqual(a.paths.map((p) => p.galleryId).sort(), [...truth.galleries].sort());
    });

    it('reads only the media without parts, and keeps an incoming asset of the same id when fetching a file', async () => {
      await load({ mode: 'buffer' });
      const out = new Inbox('out');
      await sim.control.clearRequests();
      const asset = { id: imageId, fromTrigger: true };
      helper.getNode('f1').receive({ asset });
      const m = await out.next();
      assert.equal(m.asset, asset);
      const log = await sim.control.requests();
      assert.equal(log.filter((r) => !r.path.endsWith('/download') && r.path.includes('/media/')).length, 0, 'no metadata request');
      helper.getNode('f1').receive({ payload: imageId });
      const m2 = await out.next();
      assert.equal(m2.asset?.id, imageId, 'an asset is read when the msg has none');
      assert.equal(m2.asset?.iptc, undefined, 'no IPTC unless asked for');
    });

    it('takes the id from msg.payload, msg.payload.id, or a chosen property', async () => {
      await load({ mode: 'none' });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ payload: imageId });
      assert.equal((await out.next()).asset?.id, imageId);
      helper.getNode('f1').receive({ payload: { id: imageId } });
      assert.equal((await out.next()).asset?.id, imageId);
      await helper.unload();
      await load({ mode: 'none', idProp: 'data.media', idPropType: 'msg' });
      const out2 = new Inbox('out');
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ data: { media: imageId }, payload: 'I0000notthisone0' });
      assert.equal((await out2.next()).asset?.id, imageId);
      helper.getNode('f1').receive({ payload: imageId });
      assert.match(String((await caught.next()).error?.message), /errors\.noId$/, 'a chosen property has no fallback');
    });

    it('takes a fixed id from a string property', async () => {
      await load({ mode: 'none', idProp: imageId, idPropType: 'str' });
      const out = new Inbox('out');
      helper.getNode('f1').receive({});
      assert.equal((await out.next()).asset?.id, imageId);
    });
  });

  describe('failures', () => {
    it('fails without an id, and with a malformed id, before any request', async () => {
      const { statuses } = await load({ mode: 'stream' });
      const caught = new Inbox('caught');
      await sim.control.clearRequests();
      helper.getNode('f1').receive({ topic: 'none' });
      const e1 = await caught.next();
      assert.equal(e1.topic, 'none');
      assert.equal(e1.error?.code, 'EVALIDATION');
      assert.match(String(e1.error?.message), /photoshelter-fetch\.errors\.noId$/);
      helper.getNode('f1').receive({ payload: 'I0000../../etc' });
      const e2 = await caught.next();
      assert.match(String(e2.error?.message), /photoshelter-fetch\.errors\.badId$/);
      helper.getNode('f1').receive({ asset: { id: 'G0000abcdefghijk' } });
      assert.equal((await caught.next()).error?.code, 'EVALIDATION');
      assert.deepEqual(await sim.control.requests(), [], 'no request was made');
      assert.equal(statuses.at(-1)?.fill, 'red');
    });

    it('fails an unknown id with its own code (ENOASSET) and a red status, then clears the status on recovery', async () => {
      const { statuses } = await load({ mode: 'buffer' });
      const out = new Inbox('out');
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: 'I0000zzzzzzzzzzz', topic: 'unknown' });
      const e = await caught.next();
      assert.equal(e.topic, 'unknown');
      assert.equal(e.error?.code, 'ENOASSET', 'not ENOTFOUND, which is also Node\'s code for a host name that does not resolve');
      assert.match(String(e.error?.message), /photoshelter-fetch\.problems\.noAsset$/);
      assert.deepEqual(statuses.map((s) => s.fill), ['blue', 'red']);
      assert.equal(statuses[1].shape, 'ring');
      helper.getNode('f1').receive({ payload: imageId });
      await out.next();
      assert.deepEqual(statuses.slice(2).map((s) => s.fill), ['blue', 'green']);
    });

    it('reports a missing account', async () => {
      await load({ mode: 'none', account: '' });
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId });
      assert.match(String((await caught.next()).error?.message), /photoshelter-fetch\.errors\.noAccount$/);
    });

    it('reports a bad configuration on start and on every msg', async () => {
      await load({ mode: 'buffer', rendition: 'jpeg', size: 'large' });
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId });
      assert.match(String((await caught.next()).error?.message), /photoshelter-fetch\.errors\.badSize$/);
      const logged = helper.log().args.some((a: unknown[]) => /errors\.badSize/.test(String((a[0] as { msg?: unknown }).msg)));
      assert.ok(logged, 'the configuration error is logged on start');
    });

    it('rides out a short 429 storm', async () => {
      const truth = await sim.control.media(imageId);
      await load({ mode: 'buffer' });
      const out = new Inbox('out');
      await sim.control.clearRequests();
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', status: 429, retryAfter: 0, count: 3 });
      helper.getNode('f1').receive({ payload: imageId });
      const m = await out.next();
      assert.equal((m.payload as Buffer).length, truth.file_size);
      assert.deepEqual((await downloads()).map((d) => d.status), [429, 429, 429, 200]);
    });

    it('fails clearly when PhotoShelter asks to wait longer than the retry limit', async () => {
      await load({ mode: 'buffer' });
      const caught = new Inbox('caught');
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', status: 429, retryAfter: 3600, count: 1 });
      helper.getNode('f1').receive({ payload: imageId });
      const e = await caught.next();
      assert.equal(e.error?.code, 'ERATELIMIT');
    });

    it('fails clearly when PhotoShelter cannot be reached', async function () {
      this.timeout(120_000); // the client retries connection errors with backoff (at most 6 retries)
      const port = await deadPort();
      const { statuses } = await load({ mode: 'buffer' }, { account: { baseUrl: `http://127.0.0.1:${port}/psapi/v4.0` } });
      const caught = new Inbox('caught');
      helper.getNode('f1').receive({ payload: imageId, topic: 'down' });
      const e = await caught.next();
      assert.equal(e.topic, 'down');
      assert.equal(e.error?.code, 'ENETWORK');
      assert.ok(!String(e.error?.message).includes(sim.password) && !String(e.error?.message).includes(sim.apiKey));
      assert.equal(statuses.at(-1)?.fill, 'red');
    });

    it('aborts work in flight when the flow stops', async () => {
      await load({ mode: 'temp' });
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', slowBytesPerSecond: 20_000 });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ payload: imageId });
      await until(() => tempEntries().length > 0, 'the download to start writing');
      await helper.unload(); // resolves only when the close handler finished
      assert.deepEqual(tempEntries(), [], 'the partial file is removed');
      assert.equal(out.msgs.length, 0);
    });

    it('aborts a handed-on stream when the flow stops', async () => {
      await load({ mode: 'stream' });
      await sim.control.faults({ route: '^/media/.*/download$', method: 'GET', slowBytesPerSecond: 20_000 });
      const out = new Inbox('out');
      helper.getNode('f1').receive({ payload: imageId });
      const stream = (await out.next()).payload as Readable;
      const failed = new Promise<unknown>((resolve) => stream.once('error', resolve).once('close', () => resolve('closed')));
      stream.resume();
      await helper.unload();
      await failed;
      assert.ok(stream.destroyed);
    });
  });

  describe('message catalogue', () => {
    const catalogue = JSON.parse(readFileSync(join(__dirname, '../../nodes/locales/en-US/photoshelter-fetch.json'), 'utf8')) as Record<string, unknown>;
    const has = (key: string): boolean => {
      let o: unknown = catalogue;
      for (const part of key.split('.')) {
        if (!o || typeof o !== 'object' || !(part in o)) return false;
        o = (o as Record<string, unknown>)[part];
      }
      return typeof o === 'string';
    };

    it('has every key the runtime uses', () => {
      const src = readFileSync(join(__dirname, '../../src/nodes/photoshelter-fetch.ts'), 'utf8');
      // the core modules the node calls, whose errors it words from its catalogue by their keys
      const core = ['core/fetch/settings.ts', 'core/fetch/files.ts', 'core/rendition.ts', 'core/message.ts', 'core/limit.ts', 'core/bool.ts']
        .map((f) => readFileSync(join(__dirname, '../../src', f), 'utf8'))
        .join('\n');
      const keys = new Set<string>(['photoshelter-fetch.errors.noAccount']); // asked for by accountOf()
      for (const m of src.matchAll(/RED\._\('photoshelter-fetch\.([\w.]+)'/g)) keys.add(`photoshelter-fetch.${m[1]}`);
      for (const k of LIFECYCLE_KEYS) keys.add(`photoshelter-fetch.errors.${k}`);
      // the keys of the errors thrown in core, and one status per file mode
      for (const m of core.matchAll(/new InputError\(\s*'(\w+)'/g)) keys.add(`photoshelter-fetch.errors.${m[1]}`);
      for (const m of core.matchAll(/\bkey: (?:\w+ \? '(\w+)' : )?'(\w+)'/g)) for (const k of [m[1], m[2]]) if (k) keys.add(`photoshelter-fetch.errors.${k}`);
      for (const m of core.matchAll(/(?:positiveNumber|wholeNumber)\([^)]*'(\w+)'\)/g)) keys.add(`photoshelter-fetch.errors.${m[1]}`);
      for (const mode of ['none', 'stream', 'buffer', 'temp', 'link']) keys.add(`photoshelter-fetch.status.${mode}`);
      assert.ok(src.includes('`photoshelter-fetch.status.${s.mode}`'), 'status keys are per file mode');
      for (const k of ['tooLarge', 'tooLargeRead', 'queueFull', 'badBoolean', 'noId', 'badId', 'badSize', 'badMode', 'badConcurrency']) assert.ok(keys.has(`photoshelter-fetch.errors.${k}`), k);
      assert.ok(keys.size >= 20, `found ${keys.size} keys`);
      const missing = [...keys].filter((k) => !has(k));
      assert.deepEqual(missing, []);
    });

    it('has every key the editor uses', () => {
      const html = readFileSync(join(__dirname, '../../nodes/photoshelter-fetch.html'), 'utf8');
      const keys = new Set<string>();
      for (const m of html.matchAll(/data-i18n="(?:\[\w+\])?(photoshelter-fetch\.[\w.]+)"/g)) keys.add(m[1]);
      for (const m of html.matchAll(/_\('(photoshelter-fetch\.[\w.]*\w)'/g)) keys.add(m[1]);
      // option lists built in oneditprepare
      for (const m of ['none', 'stream', 'buffer', 'temp', 'link']) keys.add(`photoshelter-fetch.mode.${m}`);
      for (const r of ['original', 'jpeg']) keys.add(`photoshelter-fetch.rendition.${r}`);
      assert.ok(html.includes("node._('photoshelter-fetch.mode.' + m)") && html.includes("node._('photoshelter-fetch.rendition.' + r)"));
      assert.ok(keys.size > 20, `found ${keys.size} keys`);
      assert.deepEqual([...keys].filter((k) => !has(k)), []);
    });
  });

  it('sent PhotoShelter only requests the API reference evidences', async () => {
    assertEvidenced(await sim.control.requests());
  });
});

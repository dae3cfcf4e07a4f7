/**
 * Booleans are strict (class 6) and nothing is half-written (class 7). A boolean setting or msg property
 * accepts true/false, or "true"/"false" in any case, and nothing else: "TRUE" keeps TLS verification on,
 * msg.dryRun "true" writes nothing, and "yes", 1, "on" or an object are a clear error that a Catch node
 * sees with the msg. A sidecar's place is checked before the file is written; JSONata and sidecar
 * failures are readable sentences. Nothing is written after any refusal.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountModule from '../../src/nodes/photoshelter-account';
import deliverModule from '../../src/nodes/photoshelter-deliver';
import destinationModule from '../../src/nodes/photoshelter-destination';
import fetchModule from '../../src/nodes/photoshelter-fetch';
import updateModule from '../../src/nodes/photoshelter-update';
import { strictBool } from '../../src/core/bool';
import { createDestination } from '../../src/core/deliver/registry';
import { resolveRights } from '../../src/core/rights/policy';
import { resolveTrigger } from '../../src/core/trigger/config';
import { startSim, type SimHandle } from '../helpers/sim';
import { filesIn, Inbox, outcome, startCapture, withCatalogue, type Capture } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));
const accountNode = withCatalogue(accountModule);
const deliverNode = withCatalogue(deliverModule);
const destinationNode = withCatalogue(destinationModule);
const fetchNode = withCatalogue(fetchModule);
const updateNode = withCatalogue(updateModule);

type Msg = Record<string, unknown> & { error?: { message?: string; code?: string }; delivery?: Record<string, unknown>; update?: Record<string, unknown> };
const NOT_BOOLEANS: Array<[string, unknown]> = [['"yes"', 'yes'], ['1', 1], ['"on"', 'on'], ['"1"', '1'], ['an object', { value: true }], ['"ture" (a typo)', 'ture']];

describe('security: strict booleans (class 6) and nothing half-written (class 7)', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let capture: Capture;
  let tmp: string;
  let out: string;

  before(async () => {
    sim = await startSim({ seed: 3, assets: 10 });
    capture = await startCapture();
  });
  after(async () => {
    await sim.close();
    await capture.close();
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-bool-'));
    out = join(tmp, 'out');
    helper.settings({ userDir: join(tmp, 'user') });
    capture.requests.length = 0;
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A flow: `node` (wired to ok), a Catch for all, the account and a destination. */
  async function load(node: Record<string, unknown>, dest: Record<string, unknown> = { kind: 'folder', folder: out }, destCreds: Record<string, unknown> = {}) {
    const flow = [
      { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' },
      { id: 'dest', type: 'photoshelter-destination', name: 'out', ...dest },
      { id: 'tab', type: 'tab' },
      { id: 'n1', z: 'tab', account: 'acc', wires: [['ok']], ...node },
      { id: 'ok', type: 'helper', z: 'tab' },
      { id: 'c', type: 'catch', z: 'tab', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([accountNode, destinationNode, deliverNode, fetchNode, updateNode, catchNode], flow as never, {
      acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password },
      dest: destCreds,
    } as never);
    const ok = new Inbox<Msg>(helper.getNode('ok') as never);
    const caught = new Inbox<Msg>(helper.getNode('caught') as never);
    return async (msg: Record<string, unknown>) => {
      const o = outcome(ok, caught);
      helper.getNode('n1').receive(msg as never);
      return o;
    };
  }
  const deliver = (extra: Record<string, unknown> = {}) => ({ type: 'photoshelter-deliver', destination: 'dest', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 1, retries: 0, template: '{{asset.fileName}}', ...extra });
  const asset = (extra: Record<string, unknown> = {}) => ({ id: 'I0000abcdefghijk', versionKey: 'v1', fileName: 'photo.jpg', iptc: { title: 'T', keywords: [] }, ...extra });
  const patches = async () => (await sim.control.requests()).filter((r) => r.method !== 'GET' && r.path.includes('/media'));

  /** The msg reaches Catch with `code` and a message matching `text`; nothing was written or sent. */
  function refusedWith(r: { sent?: Msg; caught?: Msg }, code: string, text: RegExp): void {
    assert.ok(r.caught, `sent on instead of refused: ${JSON.stringify(r.sent?.delivery ?? r.sent?.update)}`);
    assert.equal(r.caught.topic, 'hostile', 'the Catch node has the msg');
    assert.equal(r.caught.error?.code, code, r.caught.error?.message);
    assert.match(String(r.caught.error?.message), text);
    assert.doesNotMatch(String(r.caught.error?.message), /\[object Object\]|TypeError/);
    assert.deepEqual(filesIn(out), [], 'nothing was written');
    assert.deepEqual(capture.requests, [], 'nothing was sent');
  }

  describe('msg.dryRun of the deliver node', () => {
    for (const v of ['true', 'TRUE', ' True ']) {
      it(`msg.dryRun ${JSON.stringify(v)} is a dry run: nothing is written`, async () => {
        const send = await load(deliver());
        const r = await send({ asset: asset(), payload: Buffer.from('x'), dryRun: v });
        assert.ok(r.sent, r.caught?.error?.message);
        assert.equal(r.sent.delivery?.dryRun, true);
        assert.deepEqual(filesIn(out), []);
      });
    }
    for (const [what, v] of NOT_BOOLEANS) {
      it(`msg.dryRun ${what} is refused and writes nothing`, async () => {
        const send = await load(deliver());
        refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x'), dryRun: v }), 'EVALIDATION', /msg\.dryRun must be true or false/);
      });
    }
    it('the node setting dryRun "sometimes" is refused and writes nothing', async () => {
      const send = await load(deliver({ dryRun: 'sometimes' }));
      refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /dryRun must be true or false/);
    });
  });

  describe('msg.redeliver of the deliver node', () => {
    it('msg.redeliver "TRUE" delivers a delivered version again; false is a plain repeat, skipped', async () => {
      const send = await load(deliver());
      assert.ok((await send({ asset: asset(), payload: Buffer.from('x') })).sent);
      const repeat = await send({ asset: asset(), payload: Buffer.from('x'), redeliver: false });
      assert.equal(repeat.sent?.delivery?.skipped, true, repeat.caught?.error?.message);
      const again = await send({ asset: asset(), payload: Buffer.from('x'), redeliver: 'TRUE' });
      assert.equal(again.sent?.delivery?.redelivered, true, again.caught?.error?.message);
    });
    for (const [what, v] of NOT_BOOLEANS) {
      it(`msg.redeliver ${what} is refused and writes nothing`, async () => {
        const send = await load(deliver());
        refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x'), redeliver: v }), 'EVALIDATION', /msg\.redeliver must be true or false/);
      });
    }
  });

  describe('destination settings', () => {
    it('createBase "maybe" on a folder is refused and creates nothing', async () => {
      const send = await load(deliver(), { kind: 'folder', folder: out, createBase: 'maybe' });
      refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /createBase must be true or false/);
      assert.equal(existsSync(out), false, 'the base folder was not made');
    });
    const http = (extra: Record<string, unknown>) => ({ kind: 'http', method: 'PUT', url: `${capture.url}/m/{{asset.fileName}}`, auth: 'none', headers: [], ...extra });
    for (const [what, v] of NOT_BOOLEANS.slice(0, 4)) {
      it(`rejectUnauthorized ${what} is a configuration error, and nothing is sent`, async () => {
        const send = await load(deliver(), http({ rejectUnauthorized: v }));
        refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /rejectUnauthorized must be true or false/);
      });
    }
    it('rejectUnauthorized "TRUE" and "False " are read as booleans; "TRUE" keeps verification on', () => {
      const on = createDestination(http({ rejectUnauthorized: 'TRUE' })) as unknown as { opts: { rejectUnauthorized: boolean } };
      const off = createDestination(http({ rejectUnauthorized: 'False ' })) as unknown as { opts: { rejectUnauthorized: boolean } };
      assert.equal(on.opts.rejectUnauthorized, true);
      assert.equal(off.opts.rejectUnauthorized, false);
    });
    it('fsync "maybe" on a folder is refused and writes nothing', async () => {
      const send = await load(deliver(), { kind: 'folder', folder: out, fsync: 'maybe' });
      refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /fsync must be true or false/);
    });
    it('insecureSkipHostKey "yes" on SFTP is refused before any connection', async () => {
      const send = await load(deliver(), { kind: 'sftp', host: '127.0.0.1', port: capture.port, user: 'u', insecureSkipHostKey: 'yes' }, { password: 'pw' });
      refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /insecureSkipHostKey must be true or false/);
    });
    it('forcePathStyle 2 on S3 is refused before any request', async () => {
      const send = await load(deliver(), { kind: 's3', endpoint: capture.url, bucket: 'b', forcePathStyle: 2 }, { accessKeyId: 'a', secretAccessKey: 'b' });
      refusedWith(await send({ topic: 'hostile', asset: asset(), payload: Buffer.from('x') }), 'ECONFIG', /forcePathStyle must be true or false/);
    });
  });

  describe('the update and fetch nodes', () => {
    const update = (extra: Record<string, unknown> = {}) => ({ type: 'photoshelter-update', rows: [{ target: 'Campaign', op: 'set', value: 'payload.campaign', valueType: 'msg' }], concurrency: 1, ...extra });
    it('msg.dryRun "TRUE" on the update node writes nothing to PhotoShelter', async () => {
      const [id] = await sim.control.mediaIds();
      const send = await load(update());
      await sim.control.clearRequests();
      const r = await send({ asset: { id }, payload: { campaign: 'Dry' }, dryRun: 'TRUE' });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.equal(r.sent.update?.dryRun, true);
      assert.deepEqual(await patches(), []);
    });
    for (const [what, v] of [['"no"', 'no'], ['0', 0], ['an empty text', '']] as Array<[string, unknown]>) {
      it(`msg.dryRun ${what} on the update node is refused and writes nothing`, async () => {
        const [id] = await sim.control.mediaIds();
        const send = await load(update());
        await sim.control.clearRequests();
        refusedWith(await send({ topic: 'hostile', asset: { id }, payload: { campaign: 'Wet' }, dryRun: v }), 'EVALIDATION', /msg\.dryRun must be true or false/);
        assert.deepEqual(await patches(), []);
      });
    }
    it('the update node setting dryRun "yes" is refused (every msg gets the error)', async () => {
      const [id] = await sim.control.mediaIds();
      const send = await load(update({ dryRun: 'yes' }));
      await sim.control.clearRequests();
      refusedWith(await send({ topic: 'hostile', asset: { id }, payload: { campaign: 'Wet' } }), 'ECONFIG', /dryRun must be true or false/);
      assert.deepEqual(await patches(), []);
    });
    it('the fetch node setting includeIptc "yes" is refused, and nothing is asked of PhotoShelter', async () => {
      const [id] = await sim.control.mediaIds();
      const send = await load({ type: 'photoshelter-fetch', mode: 'none', rendition: 'original', includeIptc: 'yes' });
      await sim.control.clearRequests();
      refusedWith(await send({ topic: 'hostile', payload: id }), 'ECONFIG', /includeIptc must be true or false/);
      assert.deepEqual((await sim.control.requests()).filter((r) => r.path.includes('/media/')), []);
    });
  });

  describe('settings read by the core', () => {
    it('strictBool reads "FALSE", "true ", true and false; unset is the default', () => {
      assert.deepEqual(['FALSE', 'true ', true, false, undefined, '', null].map((v) => strictBool(v, 'x', true)), [false, true, true, false, true, true, true]);
    });
    it('a trigger with acknowledge "nope" is a configuration error naming the field', () => {
      assert.throws(() => resolveTrigger({ mode: 'walk', acknowledge: 'nope' as unknown as boolean }), (e: unknown) => (e as { field?: string }).field === 'acknowledge' && /acknowledge must be true or false/.test((e as Error).message));
    });
    it('a trigger with includeCustom "false" (text) includes no custom fields', () => {
      assert.deepEqual(resolveTrigger({ mode: 'changed', includeCustom: 'false' as unknown as boolean, includeIptc: 'TRUE' as unknown as boolean }).include, ['iptc']);
    });
    it('a rights policy with requireModel "on" is a configuration error', () => {
      assert.throws(() => resolveRights({ requireModel: 'on' } as never), (e: unknown) => (e as { key?: string }).key === 'badBoolean');
    });
  });

  describe('nothing half-written (class 7)', () => {
    it('a sidecar whose name would be too long is refused before the file is written; the ledger holds no intent', async () => {
      const send = await load(deliver({ sidecar: 'json' }));
      const name = `${'n'.repeat(251)}.jpg`; // 255 bytes: the file would fit, its sidecar (…jpg.json) would not
      refusedWith(await send({ topic: 'hostile', asset: asset({ fileName: name }), payload: Buffer.from('x') }), 'EBADPATH', /255/);
      const ledger = join(tmp, 'user', 'photoshelter', 'deliveries', 'dest.jsonl');
      assert.ok(!existsSync(ledger) || !readFileSync(ledger, 'utf8').includes('"intent"'), 'no intent was recorded');
    });
    it('a JSON sidecar of an asset that refers to itself is a readable error, and nothing is written', async () => {
      const send = await load(deliver({ sidecar: 'json' }));
      const a: Record<string, unknown> = asset();
      a.self = a;
      refusedWith(await send({ topic: 'hostile', asset: a, payload: Buffer.from('x') }), 'ESIDECAR', /JSON sidecar of I0000abcdefghijk cannot be made: msg\.asset refers to itself/);
    });
    it('a JSON sidecar of an asset that holds a BigInt is a readable error, and nothing is written', async () => {
      const send = await load(deliver({ sidecar: 'json' }));
      refusedWith(await send({ topic: 'hostile', asset: asset({ size: BigInt(5) }), payload: Buffer.from('x') }), 'ESIDECAR', /BigInt/);
    });
    it('an XMP sidecar of odd metadata (numbers, objects, no keywords list) is written, not a TypeError (control)', async () => {
      const send = await load(deliver({ sidecar: 'xmp' }));
      const r = await send({ asset: asset({ iptc: { title: 42, caption: { a: 1 }, keywords: [1, null, 'x'] } }), payload: Buffer.from('x') });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.match(readFileSync(join(out, 'photo.jpg.xmp'), 'utf8'), /<rdf:li>1<\/rdf:li>/);
    });
    for (const [what, expr] of [
      ['a JSONata expression that fails', '$error("the master system sent nonsense")'],
      ['a JSONata expression that does not parse', 'payload.(('],
      ['a JSONata expression that calls what is no function', 'payload.campaign()'],
    ]) {
      it(`${what} is a readable sentence naming the field, and nothing is written`, async () => {
        const [id] = await sim.control.mediaIds();
        const send = await load({ type: 'photoshelter-update', rows: [{ target: 'Campaign', op: 'set', value: expr, valueType: 'jsonata' }], concurrency: 1 });
        await sim.control.clearRequests();
        refusedWith(await send({ topic: 'hostile', asset: { id }, payload: { campaign: 'x' } }), 'EVALUE', /The value of Campaign \(jsonata\) could not be computed: .{8,}/);
        assert.deepEqual(await patches(), []);
      });
    }
  });
});

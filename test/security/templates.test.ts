/**
 * Templates (class 4), through the deliver node to an HTTP destination, each hostile value in a msg: a URL
 * path segment that renders to . or .. is refused; header values from metadata are quoted and escaped
 * (Content-Disposition with RFC 6266 filename*); a remove with msg.location goes only to the destination's
 * own origin; an error body copied into a message is scrubbed of every secret. Every refusal reaches a
 * Catch node with the msg and sends nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import deliverModule from '../../src/nodes/photoshelter-deliver';
import destinationModule from '../../src/nodes/photoshelter-destination';
import { assertNoSecret, withCatalogue, Inbox, outcome, startCapture, type Capture } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));
const deliverNode = withCatalogue(deliverModule);
const destinationNode = withCatalogue(destinationModule);

type Msg = Record<string, unknown> & { error?: { message?: string; code?: string }; delivery?: Record<string, unknown> };
const TOKEN = 'template-test-bearer-token';
const HEADER_SECRET = 'template-test-header-secret';

describe('security: templates (class 4)', function () {
  this.timeout(30_000);
  let stored: Capture;
  let evil: Capture;
  let tmp: string;

  before(async () => {
    stored = await startCapture();
    evil = await startCapture();
  });
  after(async () => {
    await stored.close();
    await evil.close();
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-tpl-'));
    helper.settings({ userDir: tmp });
    stored.requests.length = 0;
    evil.requests.length = 0;
    stored.answer = { status: 201, body: '{"id":7}' };
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function load(dest: Record<string, unknown>, deliver: Record<string, unknown> = {}, creds: Record<string, unknown> = { token: TOKEN }) {
    const flow = [
      { id: 'dest', type: 'photoshelter-destination', name: 'cms', kind: 'http', method: 'PUT', auth: 'bearer', headers: [], ...dest },
      { id: 'tab', type: 'tab' },
      { id: 'd1', type: 'photoshelter-deliver', z: 'tab', destination: 'dest', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 1, retries: 0, ...deliver, wires: [['ok']] },
      { id: 'ok', type: 'helper', z: 'tab' },
      { id: 'c', type: 'catch', z: 'tab', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([destinationNode, deliverNode, catchNode], flow as never, { dest: creds } as never);
    const ok = new Inbox<Msg>(helper.getNode('ok') as never);
    const caught = new Inbox<Msg>(helper.getNode('caught') as never);
    const send = async (msg: Record<string, unknown>) => {
      const o = outcome(ok, caught);
      helper.getNode('d1').receive(msg as never);
      return o;
    };
    return { send };
  }
  const asset = (extra: Record<string, unknown> = {}) => ({ id: 'I0000abcdefghijk', versionKey: 'v1', fileName: 'photo.jpg', iptc: { title: 'Title' }, ...extra });

  /** The refusal reaches Catch with the msg (its topic), names the problem, and nothing was sent. */
  async function refused(send: (m: Record<string, unknown>) => Promise<{ sent?: Msg; caught?: Msg }>, msg: Record<string, unknown>, code: string, text: RegExp) {
    const r = await send({ topic: 'hostile', ...msg });
    assert.ok(r.caught, `sent on instead of refused: ${JSON.stringify(r.sent?.delivery)}`);
    assert.equal(r.caught.topic, 'hostile', 'the Catch node has the msg');
    assert.equal(r.caught.error?.code, code, r.caught.error?.message);
    assert.match(String(r.caught.error?.message), text);
    assertNoSecret(JSON.stringify(r.caught), [TOKEN, HEADER_SECRET], 'the caught msg');
    assert.deepEqual(stored.requests, [], 'nothing was sent to the destination');
    assert.deepEqual(evil.requests, [], 'nothing was sent elsewhere');
  }

  describe('a URL path segment that renders to . or ..', () => {
    const DOTS: Array<[string, string]> = [
      ['".."', '..'],
      ['"."', '.'],
      ['"%2e%2e" through a raw template', '%2e%2e'],
      ['"%2E." through a raw template', '%2E.'],
      ['"a/../../admin" through a raw template', 'a/../../admin'],
      ['"a\\\\..\\\\admin" (backslashes) through a raw template', 'a\\..\\admin'],
    ];
    for (const [what, name] of DOTS) {
      it(`a file name ${what} is refused (EBADPATH)`, async () => {
        const raw = name.includes('%') || name.includes('/') || name.includes('\\');
        const { send } = await load({ url: `${stored.url}/media/${raw ? '{{{asset.fileName}}}' : '{{asset.fileName}}'}` });
        await refused(send, { asset: asset({ fileName: name }), payload: Buffer.from('x') }, 'EBADPATH', /segment/);
      });
    }
    it('a node path that climbs out of the destination URL is refused', async () => {
      const { send } = await load({ url: `${stored.url}/wp/v2/media/` }, { template: 'sub/{{{where}}}/x.jpg' });
      await refused(send, { asset: asset(), where: '../..', payload: Buffer.from('x') }, 'EBADPATH', /segment/);
    });
    it('a Remove URL whose id from the server renders to .. is refused', async () => {
      const { send } = await load({ method: 'POST', url: `${stored.url}/media`, removeUrl: `${stored.url}/media/{{delivery.response.body.id}}` });
      await refused(send, { asset: asset(), action: 'remove', delivery: { response: { body: { id: '..' } } } }, 'EBADPATH', /segment/);
    });
    it('an ordinary name with dots inside is delivered (control)', async () => {
      const { send } = await load({ url: `${stored.url}/media/{{asset.fileName}}` });
      const r = await send({ asset: asset({ fileName: 'a..b.jpg' }), payload: Buffer.from('x') });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.equal(stored.requests[0]?.url, '/media/a..b.jpg');
    });
  });

  describe('header values rendered from metadata', () => {
    const CD = [{ name: 'Content-Disposition', value: 'attachment; filename="{{asset.fileName}}"' }, { name: 'X-Title', value: '{{asset.iptc.title}}' }];
    const put = async (fileName: string, title = 'Title') => {
      const { send } = await load({ url: `${stored.url}/media`, method: 'POST', headers: CD });
      const r = await send({ asset: asset({ fileName, iptc: { title } }), payload: Buffer.from('x') });
      assert.ok(r.sent, r.caught?.error?.message);
      return stored.requests[0].headers;
    };
    it('a file name that closes the quote and adds filename* stays one quoted value', async () => {
      const h = await put(`x.jpg"; filename*=UTF-8''evil.exe`);
      assert.equal(h['content-disposition'], `attachment; filename="x.jpg\\"; filename*=UTF-8''evil.exe"`);
    });
    it('a file name with a backslash before the quote cannot end the quoted string', async () => {
      const h = await put('x\\"; name=evil');
      assert.equal(h['content-disposition'], 'attachment; filename="x\\\\\\"; name=evil"');
    });
    it('a line break in a file name adds no header', async () => {
      const h = await put('x.jpg\r\nX-Injected: 1');
      assert.equal(h['x-injected'], undefined);
      assert.equal(h['content-disposition'], 'attachment; filename="x.jpg X-Injected: 1"');
    });
    it('a title with ; , and quotes outside quotes is sent as one quoted-string', async () => {
      const h = await put('a.jpg', 'a, b; c="d"');
      assert.equal(h['x-title'], '"a, b; c=\\"d\\""');
    });
    it('a name beyond ASCII is sent as RFC 6266 filename* too', async () => {
      const h = await put('Ωμέγα.jpg');
      const raw = Buffer.from(String(h['content-disposition']), 'latin1').toString('utf8');
      assert.equal(raw, `attachment; filename="Ωμέγα.jpg"; filename*=UTF-8''${encodeURIComponent('Ωμέγα.jpg')}`);
    });
  });

  describe('remove with msg.location', () => {
    const dest = () => ({ method: 'PUT', url: `${stored.url}/media/{{asset.fileName}}` });
    it('to another host is refused and sends nothing there', async () => {
      const { send } = await load(dest());
      await refused(send, { asset: asset(), action: 'remove', location: `${evil.url}/media/photo.jpg` }, 'EBADPATH', /origin/);
    });
    it('to another port of the same host is refused', async () => {
      const { send } = await load(dest());
      await refused(send, { asset: asset(), action: 'remove', location: `http://127.0.0.1:${evil.port}/media/photo.jpg` }, 'EBADPATH', /origin/);
    });
    it('with another scheme is refused', async () => {
      const { send } = await load(dest());
      await refused(send, { asset: asset(), action: 'remove', location: `https://127.0.0.1:${stored.port}/media/photo.jpg` }, 'EBADPATH', /origin/);
    });
    it('with credentials in the URL is refused', async () => {
      const { send } = await load(dest());
      await refused(send, { asset: asset(), action: 'remove', location: `http://u:p@127.0.0.1:${stored.port}/media/photo.jpg` }, 'EBADPATH', /credentials/);
    });
    it('to a file: URL is refused', async () => {
      const { send } = await load(dest());
      await refused(send, { asset: asset(), action: 'remove', location: 'file:///etc/passwd' }, 'EBADPATH', /not supported/);
    });
    it('on a destination whose URL starts with a template (no origin of its own) is refused', async () => {
      const { send } = await load({ method: 'PUT', url: '{{msg.target}}' });
      await refused(send, { asset: asset(), action: 'remove', location: `${evil.url}/x` }, 'EBADPATH', /origin/);
    });
    it('on the destination\'s own origin is sent, with its authentication (control)', async () => {
      const { send } = await load(dest());
      const r = await send({ asset: asset(), action: 'remove', location: `${stored.url}/media/photo.jpg` });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.equal(stored.requests[0]?.method, 'DELETE');
      assert.equal(stored.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
    });
  });

  describe('an HTTP answer copied into a message', () => {
    it('an error body that echoes the bearer token reaches Catch without it', async () => {
      stored.answer = { status: 400, body: JSON.stringify({ error: 'bad', youSent: `Bearer ${TOKEN}`, encoded: encodeURIComponent(TOKEN) }) };
      const { send } = await load({ url: `${stored.url}/media/{{asset.fileName}}` });
      const r = await send({ topic: 't', asset: asset(), payload: Buffer.from('x') });
      assert.ok(r.caught);
      assert.match(String(r.caught.error?.message), /answered 400/);
      assertNoSecret(JSON.stringify(r.caught), [TOKEN], 'the caught msg');
    });
    it('an error body that echoes a basic password (also base64) reaches Catch without it', async () => {
      const basic = Buffer.from(`deliver:${HEADER_SECRET}`).toString('base64');
      stored.answer = { status: 401, body: `<html>Authorization: Basic ${basic} (${HEADER_SECRET})</html>`, headers: { 'content-type': 'text/html' } };
      const { send } = await load({ url: `${stored.url}/media/{{asset.fileName}}`, auth: 'basic', httpUser: 'deliver' }, {}, { httpPassword: HEADER_SECRET });
      const r = await send({ asset: asset(), payload: Buffer.from('x') });
      assert.ok(r.caught);
      assert.equal(r.caught.error?.code, 'EAUTH');
      assertNoSecret(JSON.stringify(r.caught), [HEADER_SECRET, basic], 'the caught msg');
    });
    it('an error body that echoes a custom auth header value reaches Catch without it', async () => {
      stored.answer = { status: 500, body: `upstream said: X-Api-Key=${HEADER_SECRET}`, headers: { 'content-type': 'text/plain', 'x-echo': HEADER_SECRET } };
      const { send } = await load({ url: `${stored.url}/media/{{asset.fileName}}`, auth: 'header', authHeader: 'X-Api-Key' }, {}, { authValue: HEADER_SECRET });
      const r = await send({ asset: asset(), payload: Buffer.from('x') });
      assert.ok(r.caught);
      assertNoSecret(JSON.stringify(r.caught), [HEADER_SECRET], 'the caught msg');
    });
    it('a 2xx answer that echoes the token lands in msg.delivery.response without it', async () => {
      stored.answer = { status: 201, body: JSON.stringify({ id: 9, headers: { authorization: `Bearer ${TOKEN}` } }), headers: { 'x-echo': `Bearer ${TOKEN}` } };
      const { send } = await load({ url: `${stored.url}/media/{{asset.fileName}}` });
      const r = await send({ asset: asset(), payload: Buffer.from('x') });
      assert.ok(r.sent, r.caught?.error?.message);
      assertNoSecret(JSON.stringify(r.sent.delivery), [TOKEN], 'msg.delivery');
      assert.equal((r.sent.delivery?.response as { body: { id: number } }).body.id, 9);
    });
  });
});

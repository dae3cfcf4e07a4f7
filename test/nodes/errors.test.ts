/**
 * Errors a person can read: the cause first, then what to do; a medium that is not there has its own
 * code; the debug sidebar gets one line (the message), Catch nodes the error with its code; the status
 * shows the cause alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI, NodeStatus } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import fetchNode from '../../src/nodes/photoshelter-fetch';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import { clientProblem, shortError } from '../../src/nodes/shared/errors';
import { NotFoundError, NetworkError } from '../../src/photoshelter';
import { startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));

// Node-RED answers RED._ from the catalogues; the test helper answers with the key. These tests read the
// texts, so they get the catalogues' texts, interpolated as Node-RED does.
const LOCALES = join(__dirname, '../../nodes/locales/en-US');
const CATALOGUE = Object.assign({}, ...readdirSync(LOCALES).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(LOCALES, f), 'utf8')))) as Record<string, unknown>;
function translate(key: string, values: Record<string, unknown> = {}): string {
  let o: unknown = CATALOGUE;
  for (const part of key.split('.')) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[part] : undefined;
  if (typeof o !== 'string') throw new Error(`no catalogue entry ${key}`);
  return o.replace(/__(\w+)__/g, (_m, name: string) => String(values[name] ?? `__${name}__`));
}
const withCatalogue = <T extends (RED: NodeAPI) => void>(register: T) => (RED: NodeAPI): void =>
  register(new Proxy(RED, { get: (target, prop, receiver) => (prop === '_' ? translate : Reflect.get(target, prop, receiver)) }));

describe('errors as a person reads them', function () {
  this.timeout(30_000);

  describe('short forms and client problems', () => {
    it('the status shows the cause: the message up to its first ": " or ". ", cut at a word', () => {
      assert.equal(shortError(new Error('Media I0000abcdefghijk was not found in PhotoShelter: check the id')), 'Media I0000abcdefghijk was not found in PhotoShelter');
      assert.equal(shortError('PhotoShelter rejected the session: check the email and password'), 'PhotoShelter rejected the session');
      assert.equal(shortError('The base folder /srv/exports does not exist. Create it'), 'The base folder /srv/exports does not exist');
      assert.equal(shortError('C:\\data\\x is full'), 'C:\\data\\x is full', 'a colon without a space is no cut');
      const long = shortError('The base folder /a/very/long/path/that/goes/on/and/on/and/on/for/ever/and/more does not exist. Create it');
      assert.ok(long.length <= 60 && long.endsWith('…') && !long.includes('/more'), long);
    });

    it('a medium that is not there gets ENOASSET and a text that names it; other client errors keep their code and get advice', () => {
      const RED = { _: translate } as unknown as NodeAPI;
      const missing = clientProblem(RED, 'photoshelter-fetch', new NotFoundError('PhotoShelter answered 404 ResourceNotFoundException to GET /media/I0000abcdefghijk', { status: 404, path: '/media/I0000abcdefghijk' }));
      assert.equal(missing?.code, 'ENOASSET');
      assert.match(missing?.message ?? '', /^Media I0000abcdefghijk was not found in PhotoShelter: check the id/);
      const gallery = clientProblem(RED, 'photoshelter-fetch', new NotFoundError('PhotoShelter answered 404 to GET /galleries/G0000abcdefghijk', { status: 404, path: '/galleries/G0000abcdefghijk' }));
      assert.equal(gallery?.code, 'ENOTFOUND', 'only a medium is an asset');
      const net = clientProblem(RED, 'photoshelter-fetch', new NetworkError('Network error on GET /media/I0000abcdefghijk: ECONNREFUSED'));
      assert.equal(net?.code, 'ENETWORK');
      assert.match(net?.message ?? '', /^Network error on GET \/media\/I0000abcdefghijk: ECONNREFUSED\. Check the account's base URL/);
      assert.equal(clientProblem(RED, 'photoshelter-fetch', new Error('x')), undefined);
    });
  });

  describe('in a flow', () => {
    let sim: SimHandle;
    let tmp: string;
    before(async () => {
      sim = await startSim({ seed: 5, assets: 5 });
      tmp = mkdtempSync(join(tmpdir(), 'ps-errors-'));
      // the delivery ledger lives under the user directory
      helper.settings({ userDir: tmp });
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

    const account = () => ({ id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' });
    const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
    async function load(withCatch: boolean) {
      const flow = [
        account(),
        { id: 'tab1', type: 'tab' },
        { id: 'f1', type: 'photoshelter-fetch', z: 'tab1', account: 'acc', mode: 'none', x: 100, y: 100, wires: [[]] },
        ...(withCatch ? [{ id: 'c1', type: 'catch', z: 'tab1', scope: null, x: 100, y: 200, wires: [['caught']] }, { id: 'caught', type: 'helper', z: 'tab1', x: 300, y: 200 }] : []),
      ];
      await helper.load([withCatalogue(accountNode), withCatalogue(fetchNode), catchNode], flow as never, creds());
      const f1 = helper.getNode('f1');
      const statuses: NodeStatus[] = [];
      const orig = f1.status.bind(f1);
      f1.status = (s: NodeStatus) => {
        statuses.push(s);
        return orig(s);
      };
      return { f1, statuses };
    }
    const errorsLogged = () =>
      (helper.log().args as Array<[{ level: number; id?: string; msg: unknown }]>).map((a) => a[0]).filter((e) => e.level === 20 && e.id === 'f1');

    it('an error no Catch node takes is logged as one line: its message, cause first', async () => {
      const { f1, statuses } = await load(false);
      f1.receive({ payload: 'I0000NoSuchAsset' });
      await waitFor(() => errorsLogged().length === 1, 'the error in the log');
      const [entry] = errorsLogged();
      assert.equal(typeof entry.msg, 'string', `a line, not an error object: ${String(entry.msg)}`);
      assert.match(String(entry.msg), /^Media I0000NoSuchAsset was not found in PhotoShelter: check the id/);
      assert.deepEqual(statuses.at(-1), { fill: 'red', shape: 'ring', text: 'Media I0000NoSuchAsset was not found in PhotoShelter' });
    });

    it('Catch nodes get the error with its code, and nothing is logged besides', async () => {
      const { f1 } = await load(true);
      const caught = new Promise<Record<string, unknown>>((resolve) => helper.getNode('caught').on('input', (m: Record<string, unknown>) => resolve(m)));
      f1.receive({ payload: 'I0000NoSuchAsset', topic: 't' });
      const msg = await caught;
      assert.equal((msg.error as { code?: string }).code, 'ENOASSET');
      assert.match(String((msg.error as { message?: string }).message), /Media I0000NoSuchAsset was not found/);
      assert.equal(msg.topic, 't');
      assert.equal(errorsLogged().length, 0);
    });

    it('a folder error names the folder', async () => {
      const flow = [
        account(),
        { id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: '/nonexistent/ps-errors-test', createBase: false },
        { id: 'tab1', type: 'tab' },
        { id: 'd1', type: 'photoshelter-deliver', z: 'tab1', destination: 'dest', x: 100, y: 100, wires: [[]] },
      ];
      await helper.load([withCatalogue(accountNode), withCatalogue(destinationNode), withCatalogue(deliverNode)], flow as never, creds());
      const entries = () => (helper.log().args as Array<[{ level: number; id?: string; msg: unknown }]>).map((a) => a[0]).filter((e) => e.level === 20 && e.id === 'd1');
      helper.getNode('d1').receive({ payload: Buffer.from('x'), asset: { id: 'I0000abcdefghijk', versionKey: 'v1', fileName: 'a.jpg' } });
      await waitFor(() => entries().length === 1, 'the error');
      assert.match(String(entries()[0].msg), /^The base folder \/nonexistent\/ps-errors-test does not exist\. Create it/);
    });
  });
});

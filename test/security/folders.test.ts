/**
 * Folders (class 5), through the deliver node to a folder destination: writes and deletes never follow a
 * symbolic link out of the base folder; valid names beyond ASCII are accepted (NFC-normalised); CONIN$,
 * CONOUT$, names ending in a dot or a space, control and direction characters and invalid Unicode are
 * refused. Every refusal reaches a Catch node with the msg and writes nothing, anywhere.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import deliverModule from '../../src/nodes/photoshelter-deliver';
import destinationModule from '../../src/nodes/photoshelter-destination';
import { filesIn, Inbox, outcome, withCatalogue } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));
const deliverNode = withCatalogue(deliverModule);
const destinationNode = withCatalogue(destinationModule);

type Msg = Record<string, unknown> & { error?: { message?: string; code?: string }; delivery?: Record<string, unknown> };

describe('security: folders (class 5)', function () {
  this.timeout(30_000);
  let tmp: string;
  let base: string;
  let outside: string;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-folder-'));
    base = join(tmp, 'base');
    outside = join(tmp, 'outside');
    mkdirSync(base);
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.txt'), 'keep me');
    helper.settings({ userDir: join(tmp, 'user') });
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function load(template = '{{{asset.fileName}}}') {
    const flow = [
      { id: 'dest', type: 'photoshelter-destination', name: 'folder', kind: 'folder', folder: base },
      { id: 'tab', type: 'tab' },
      { id: 'd1', type: 'photoshelter-deliver', z: 'tab', destination: 'dest', action: 'put', actionType: 'str', template, sidecar: 'none', overwrite: 'overwrite', concurrency: 1, retries: 0, wires: [['ok']] },
      { id: 'ok', type: 'helper', z: 'tab' },
      { id: 'c', type: 'catch', z: 'tab', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([destinationNode, deliverNode, catchNode], flow as never);
    const ok = new Inbox<Msg>(helper.getNode('ok') as never);
    const caught = new Inbox<Msg>(helper.getNode('caught') as never);
    return async (msg: Record<string, unknown>) => {
      const o = outcome(ok, caught);
      helper.getNode('d1').receive(msg as never);
      return o;
    };
  }
  const asset = (fileName: string) => ({ id: 'I0000abcdefghijk', versionKey: 'v1', fileName });
  const outsideUntouched = () => assert.deepEqual(filesIn(outside), ['victim.txt'], 'nothing was written outside the base folder');

  async function refused(fileName: string, text: RegExp, prepare?: () => void) {
    prepare?.();
    const before = filesIn(base);
    const send = await load();
    const r = await send({ topic: 'hostile', asset: asset(fileName), payload: Buffer.from('data') });
    assert.ok(r.caught, `written instead of refused: ${JSON.stringify(r.sent?.delivery)}`);
    assert.equal(r.caught.topic, 'hostile');
    assert.equal(r.caught.error?.code, 'EBADPATH', r.caught.error?.message);
    assert.match(String(r.caught.error?.message), text);
    assert.deepEqual(filesIn(base), before, 'nothing was written in the base folder');
    outsideUntouched();
  }

  describe('symbolic links', () => {
    it('a write through a linked folder that leads out of the base is refused', () =>
      refused('link/x.jpg', /leads out of the base folder/, () => symlinkSync(outside, join(base, 'link'))));
    it('a write through a deeper linked folder is refused, and no folder is made outside', () =>
      refused('a/link/new/x.jpg', /leads out of the base folder/, () => {
        mkdirSync(join(base, 'a'));
        symlinkSync(outside, join(base, 'a', 'link'));
      }));
    it('a write through a link to the parent folder is refused', () => refused('up/outside/x.jpg', /leads out of the base folder/, () => symlinkSync(tmp, join(base, 'up'))));
    it('a write through a link to nothing is refused', () => refused('gone/x.jpg', /link to nothing/, () => symlinkSync(join(tmp, 'missing'), join(base, 'gone'))));
    it('a delete through a linked folder that leads out of the base is refused, and the file stays', async () => {
      symlinkSync(outside, join(base, 'link'));
      const send = await load();
      const r = await send({ topic: 'rm', asset: asset('x.jpg'), action: 'remove', location: 'link/victim.txt' });
      assert.ok(r.caught, JSON.stringify(r.sent?.delivery));
      assert.equal(r.caught.error?.code, 'EBADPATH');
      assert.equal(readFileSync(join(outside, 'victim.txt'), 'utf8'), 'keep me');
    });
    it('a link at the target itself is replaced, not followed: the file it pointed to is untouched', async () => {
      symlinkSync(join(outside, 'victim.txt'), join(base, 'x.jpg'));
      const send = await load();
      const r = await send({ asset: asset('x.jpg'), payload: Buffer.from('new') });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.equal(readFileSync(join(outside, 'victim.txt'), 'utf8'), 'keep me');
      assert.ok(lstatSync(join(base, 'x.jpg')).isFile(), 'a file now, not a link');
    });
    it('a link that stays inside the base is followed (control)', async () => {
      mkdirSync(join(base, 'real'));
      symlinkSync(join(base, 'real'), join(base, 'alias'));
      const send = await load();
      const r = await send({ asset: asset('alias/x.jpg'), payload: Buffer.from('ok') });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.equal(readFileSync(join(base, 'real', 'x.jpg'), 'utf8'), 'ok');
      outsideUntouched();
    });
  });

  describe('names', () => {
    const BAD: Array<[string, string, RegExp]> = [
      ['CONIN$', 'CONIN$', /reserved device name/],
      ['CONOUT$ with an extension', 'CONOUT$.jpg', /reserved device name/],
      ['conin$ in lower case, in a folder', 'a/conin$/x.jpg', /reserved device name/],
      ['NUL with an extension and a space', 'nul .txt', /reserved device name/],
      ['a name ending in a dot', 'photo.', /ends in a dot or a space/],
      ['a name ending in a space', 'photo.jpg ', /ends in a dot or a space/],
      ['a folder ending in a space', 'folder /x.jpg', /ends in a dot or a space/],
      ['a folder ending in dots', 'folder../x.jpg', /ends in a dot or a space/],
      ['a C1 control character (NEL)', 'a\u0085b.jpg', /control character/],
      ['a right-to-left override', 'photo\u202egpj.exe', /direction mark/],
      ['a lone surrogate', 'a\ud800b.jpg', /not valid Unicode/],
      ['an escape character', 'a\u001b[31mb.jpg', /control character/],
    ];
    for (const [what, name, text] of BAD) it(`${what} is refused`, () => refused(name, text));

    it('a name in decomposed form (NFD) is written once, in composed form (NFC)', async () => {
      const send = await load();
      const r = await send({ asset: asset('Cafe\u0301 cre\u0300me.jpg'), payload: Buffer.from('x') });
      assert.ok(r.sent, r.caught?.error?.message);
      assert.deepEqual(filesIn(base), ['Caf\u00e9 cr\u00e8me.jpg']);
      assert.equal(r.sent.delivery?.location, 'Caf\u00e9 cr\u00e8me.jpg');
    });
    for (const name of ['Ωμέγα-Αθήνα.jpg', 'قمر.jpg', '東京タワー.jpg', 'Zürich Hafen.jpg', 'emoji 📷.jpg']) {
      it(`a valid name beyond ASCII is accepted: ${name}`, async () => {
        const send = await load();
        const r = await send({ asset: asset(name), payload: Buffer.from('x') });
        assert.ok(r.sent, r.caught?.error?.message);
        assert.deepEqual(filesIn(base), [name.normalize('NFC')]);
      });
    }
  });
});

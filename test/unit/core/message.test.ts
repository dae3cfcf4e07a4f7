import assert from 'node:assert/strict';
import { InputError } from '../../../src/core/errors';
import { assetOf, assetSource, messageId, pickMediaId } from '../../../src/core/message';

const ID = 'I0000abcdefghijk';
const OTHER = 'I0000otherassetx';
const complete = (id = ID, extra: Record<string, unknown> = {}) => ({ id, versionKey: '1-2x3-a.jpg', metadataKey: 'm', fileName: 'a.jpg', ...extra });
const keyOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof InputError ? `${e.key}:${e.values.value ?? ''}` : 'other';
  }
  return 'none';
};

describe('core/message: the id and the asset a message carries', () => {
  it('the id: msg.asset.id, else msg.payload (a string, or an object\'s id), checked before any request', () => {
    assert.equal(messageId({ asset: { id: ID }, payload: OTHER }), ID);
    assert.equal(messageId({ asset: { id: '' }, payload: ` ${ID} ` }), ID);
    assert.equal(messageId({ payload: { id: ID } }), ID);
    assert.equal(messageId({ asset: 'not a record', payload: ID }), ID);
    assert.equal(keyOf(() => messageId({})), 'noId:');
    assert.equal(keyOf(() => messageId({ payload: Buffer.from(ID) })), 'noId:', 'a buffer is a file, not an id');
    assert.equal(keyOf(() => messageId({ payload: 'G0000abcdefghijk' })), 'badId:G0000abcdefghijk');
    assert.equal(keyOf(() => pickMediaId([42])), 'badId:number');
  });

  it('reuses msg.asset when it holds what the node needs, else loads by id', () => {
    const full = complete(ID, { iptc: { title: 't' } });
    assert.deepEqual(assetSource({ asset: full }, { complete: true }), { asset: full });
    assert.deepEqual(assetSource({ asset: full }, { parts: ['iptc'] }), { asset: full });
    assert.deepEqual(assetSource({ asset: full }, { parts: ['custom'] }), { load: ID }, 'a part it lacks');
    assert.deepEqual(assetSource({ asset: { id: ID } }, { complete: true }), { load: ID }, 'not complete');
    assert.deepEqual(assetSource({ asset: full }, { fresh: true }), { load: ID }, 'a node whose job is reading reads anew');
    // a user's own asset without an id, holding the parts: the message's own
    const parts = { custom: {}, iptc: {} };
    assert.deepEqual(assetSource({ asset: parts }, { parts: ['custom', 'iptc'] }), { asset: parts });
    assert.ok('asset' in assetSource({ asset: { galleries: [], paths: [] } }, { parts: ['galleries', 'path'] }));
  });

  it('with the node\'s own id setting, msg.asset counts only when it is that asset', () => {
    const full = complete();
    assert.deepEqual(assetSource({ asset: full }, {}, [ID]), { asset: full });
    assert.deepEqual(assetSource({ asset: full }, {}, [OTHER]), { load: OTHER });
    assert.deepEqual(assetSource({ asset: { custom: {} } }, { parts: ['custom'] }, [OTHER]), { load: OTHER }, 'an asset without an id is not the one named');
    assert.equal(keyOf(() => assetSource({ asset: full }, {}, [undefined])), 'noId:');
  });

  it('puts a loaded asset in msg.asset for the nodes that follow', async () => {
    const msg: { asset?: unknown; payload?: unknown } = { payload: ID };
    const loaded: string[] = [];
    const a = await assetOf(msg, { complete: true }, async (id) => (loaded.push(id), complete(id)));
    assert.deepEqual(loaded, [ID]);
    assert.equal(msg.asset, a);
    const again = await assetOf(msg, { complete: true }, async () => assert.fail('not loaded twice'));
    assert.equal(again, a);
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertDraftValid, assertValid, call, draftPath, login, validator } from './util';

describe('simulator: conformance with the project schemas', () => {
  let sim: SimHandle;
  let token: string;
  let galleryId: string;
  let collectionId: string;
  let mediaIds: string[];

  before(async () => {
    sim = await startSim({ assets: 300 });
    token = await login(sim);
    const state = await sim.control.state();
    galleryId = state.galleries.find((g) => g.parents.length > 0 && g.media > 3)!.id;
    collectionId = state.galleries.find((g) => g.id === galleryId)!.parents[0];
    mediaIds = await sim.control.mediaIds();
  });
  after(() => sim.close());

  it('the schemas reject wrong shapes (they can fail)', () => {
    assert.equal(validator('error')({ errors: [{ id: 'X', status: 404 }] }), false);
    assert.equal(validator('envelope')({ data: [] }), false);
    assert.equal(validator('media')({ id: 'I0000short', type: 'image', attributes: {} }), false);
    assert.equal(validator('paging-meta')({ total: 1, page: 0, first: 'x', last: 'y' }), false);
  });

  it('library, collections and galleries validate', async () => {
    const lib = await call(sim, '/library', { token });
    assertValid('envelope', lib.json);
    for (const item of lib.json.data) assertValid(item.type === 'gallery' ? 'gallery' : 'collection', item);
    const cols = await call(sim, '/collections?per_page=1000', { token });
    assertValid('envelope', cols.json);
    assert.ok(cols.json.data.length >= 5);
    for (const c of cols.json.data) assertValid('collection', c);
    const gals = await call(sim, '/galleries?per_page=1000', { token });
    for (const g of gals.json.data) assertValid('gallery', g);
    const children = await call(sim, `/collections/${collectionId}/children`, { token });
    assertValid('envelope', children.json);
    for (const x of children.json.data) assertValid(x.type === 'gallery' ? 'gallery' : 'collection', x);
  });

  it('media of every type, IPTC and custom metadata validate', async () => {
    const types = new Set<string>();
    for (const id of mediaIds.slice(0, 120)) {
      const m = await call(sim, `/media/${id}?include=iptc,custom_metadata,galleries`, { token });
      assertValid('envelope', m.json);
      assertValid('media', m.json.data);
      assertValid('iptc', m.json.data.includes.iptc.data);
      assertValid('custom-metadata', m.json.data.includes.custom_metadata.data);
      for (const g of m.json.data.includes.galleries.data) assertValid('gallery', g);
      types.add(m.json.data.type);
    }
    assert.ok(types.has('image') && types.size >= 3, `types seen: ${[...types]}`);
  });

  it('paging meta and errors validate', async () => {
    const page = await call(sim, `/media?org_id=${sim.orgId}&per_page=10&page=2`, { token });
    assertValid('envelope', page.json);
    assertValid('paging-meta', page.json.meta.paging);
    for (const bad of [
      await call(sim, '/library', { apiKey: null }),
      await call(sim, '/media/I0000nonexistent1', { token }),
      await call(sim, '/media', { token }),
      await call(sim, '/library'),
    ]) {
      assert.ok(bad.status >= 400);
      assertValid('error', bad.json);
    }
  });

  describe('against the 2019 OpenAPI draft', function () {
    before(function () {
      if (!existsSync(draftPath)) this.skip();
    });

    it('gallery, gallery children, child count', async () => {
      assertDraftValid('inline_response_200', (await call(sim, `/galleries/${galleryId}`, { token })).json);
      const children = await call(sim, `/galleries/${galleryId}/children?per_page=2`, { token });
      assertDraftValid('inline_response_200_1', children.json);
      assertDraftValid('inline_response_200_3', (await call(sim, `/galleries/${galleryId}/children/count`, { token })).json);
      assertDraftValid('inline_response_200_3', (await call(sim, `/galleries/${galleryId}/child-count`, { token })).json);
    });

    it('collections, collection children, count and link', async () => {
      assertDraftValid('inline_response_200_6', (await call(sim, '/collections', { token })).json);
      assertDraftValid('inline_response_200_8', (await call(sim, `/collections/${collectionId}`, { token })).json);
      assertDraftValid('inline_response_200_9', (await call(sim, `/collections/${collectionId}/children`, { token })).json);
      assertDraftValid('inline_response_200_11', (await call(sim, `/collections/${collectionId}/count`, { token })).json);
      assertDraftValid('inline_response_200_12', (await call(sim, `/collections/${collectionId}/link`, { token })).json);
    });

    it('media by id (image, video, audio, document attributes)', async () => {
      for (const id of mediaIds.slice(0, 150)) {
        const m = await call(sim, `/media/${id}`, { token });
        assertDraftValid('inline_response_200_15', m.json);
      }
    });

    it('paging meta, rate limit meta and errors', async () => {
      const page = await call(sim, `/media?org_id=${sim.orgId}&per_page=5&page=3`, { token });
      assertDraftValid('PaginationMetaTag', page.json.meta);
      assertDraftValid('MetaTag', page.json.meta);
      assertDraftValid('Error', (await call(sim, '/library', { apiKey: 'WRONGKEY000' })).json);
      assertDraftValid('Error', (await call(sim, `/galleries/G0000nonexistent1`, { token })).json);
    });

    it('the draft validators can fail', async () => {
      const gallery = (await call(sim, `/galleries/${galleryId}`, { token })).json;
      delete gallery.data.attributes.access_id;
      assert.throws(() => assertDraftValid('inline_response_200', gallery));
    });
  });
});

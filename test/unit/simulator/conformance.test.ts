import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startSim, type SimHandle } from '../../helpers/sim';
import { SCHEMA_NAMES, type SchemaName } from '../../schemas';
import { assertDraftValid, assertValid, call, draftPath, draftValidator, login, validator } from './util';

const RATE = { limit: 0, current: 0, expires: 0 };
const PAGING = { total: 1, page: 1, first: 'http://x/a?page=1', last: 'http://x/a?page=1' };

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

  /** For every project schema: answers it must reject (each a plausible wrong answer). */
  const WRONG: Record<SchemaName, unknown[]> = {
    envelope: [{ data: [] }, { meta: { rate_limit: RATE } }, { data: {}, meta: {} }],
    resource: [{}, { id: 'I0000abcdefghijk', type: 'image' }, { id: '', type: 'x', attributes: {} }],
    media: [{ id: 'I0000short', type: 'image', attributes: {} }, { id: 'I0000abcdefghijk', type: 'video', attributes: {} }],
    iptc: [{ id: 'I0000abcdefghijk', type: 'iptc', attributes: { colour: 'red' } }, { id: 'I0000abcdefghijk', type: 'iptc', attributes: {} }],
    'custom-metadata': [{ id: 'I0000abcdefghijk', type: 'custom_metadata', attributes: { custom_metadata: [{ field_id: 'x' }] } }],
    collection: [{ id: 'G0000abcdefghijk', type: 'collection', attributes: {} }],
    gallery: [{ id: 'G0000abcdefghijk', type: 'gallery', attributes: { name: 'x' } }],
    'paging-meta': [{}, { total: 1, page: 0, first: 'x', last: 'y' }, { total: 1, page: 1 }],
    error: [{ errors: [] }, { errors: [{ id: 'X', status: 404 }] }, { error: { id: 'NotFoundException' } }, {}],
    meta: [{}, { rate_limit: {} }, { rate_limit: { limit: 1, current: 1 } }],
    list: [{ data: [], meta: { rate_limit: RATE } }, { data: {}, meta: { rate_limit: RATE, paging: PAGING } }, { meta: {} }],
    'child-count': [{ meta: {} }, { meta: { children_count: {} } }, { meta: { children_count: { total: 1, images: 1 } } }, { data: {} }],
    cover: [{}, { data: { id: 'I0000abcdefghijk', type: 'image' } }, { data: [{ id: 'G0000abcdefghijk', type: 'gallery' }] }],
    'key-image': [{}, { id: 'I0000abcdefghijk', type: 'keyImage', attributes: {} }, { id: 'G0000abcdefghijk', type: 'keyImage', attributes: { image_id: 'I0000abcdefghijk', custom: false, image_url: null, public: null } }],
    metadata: [{}, { attributes: { raw: { a: 1 } } }, { attributes: {} }],
    'metadata-raw': [{}, { FileName: 'a.jpg' }, { 'File:FileName': 'a', 'File:FileSize': 1, 'XMP-xmpMM:InstanceID': 'x', 'XMP-xmpMM:DocumentID': 'y', 'XMP-xmp:ModifyDate': '2024-01-01T00:00:00' }],
  };

  it('every project schema rejects wrong answers (each can fail)', () => {
    for (const name of SCHEMA_NAMES) {
      assert.ok(WRONG[name]?.length, `a wrong answer for ${name}`);
      for (const bad of WRONG[name]) assert.equal(validator(name)(bad), false, `${name} rejects ${JSON.stringify(bad)}`);
    }
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

  it('the answers production clients read validate: search, metadata, cover, key image, counts, includes', async () => {
    const search = await call(sim, `/search?media_type=image,video,audio,doc&org_id=${sim.orgId}&mode=library&per_page=100&sort_by=creation_time&sort_direction=descending`, { token });
    assertValid('list', search.json);
    for (const m of search.json.data) assertValid('media', m);
    for (const id of mediaIds.slice(0, 40)) {
      const md = await call(sim, `/media/${id}/metadata`, { token });
      assertValid('envelope', md.json);
      assertValid('metadata', md.json.data);
      assertValid('metadata-raw', JSON.parse(md.json.data.attributes.raw));
    }
    const cover = await call(sim, `/galleries/${galleryId}/cover`, { token });
    assertValid('cover', cover.json);
    assertValid('key-image', (await call(sim, `/collections/${collectionId}/key-image`, { token })).json.data);
    assertValid('key-image', (await call(sim, `/galleries/${galleryId}/key-image`, { token })).json.data);
    assertValid('child-count', (await call(sim, `/galleries/${galleryId}/child-count`, { token })).json);
    assertValid('child-count', (await call(sim, `/collections/${collectionId}/child-count`, { token })).json);
    const gals = await call(sim, '/galleries?include=permissions,parent,child-count', { token });
    assertValid('list', gals.json);
    for (const g of gals.json.data) {
      assertValid('gallery', g);
      if (g.includes.parent.data) assertValid('collection', g.includes.parent.data);
    }
    const mg = await call(sim, `/media/${mediaIds[0]}/galleries?include=gallery`, { token });
    assertValid('list', mg.json);
    for (const g of mg.json.data) assertValid('gallery', g.includes.gallery.data);
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

    it('cover, key images and the search list', async () => {
      assertDraftValid('inline_response_200_2', (await call(sim, `/galleries/${galleryId}/cover`, { token })).json);
      assertDraftValid('inline_response_200_13', (await call(sim, `/collections/${collectionId}/key-image`, { token })).json);
      assertDraftValid('inline_response_200_13', (await call(sim, `/galleries/${galleryId}/key-image`, { token })).json);
      const search = await call(sim, `/search?org_id=${sim.orgId}&mode=library&per_page=20`, { token });
      assertDraftValid('PaginationMetaTag', search.json.meta);
      for (const m of search.json.data) assertDraftValid('inline_response_200_15', { data: m });
    });

    it('each draft validator rejects a wrong answer (they can fail)', async () => {
      const gallery = (await call(sim, `/galleries/${galleryId}`, { token })).json;
      delete gallery.data.attributes.access_id;
      const media = (await call(sim, `/media/${mediaIds[0]}`, { token })).json;
      delete media.data.attributes.file_name;
      const wrong: Record<string, unknown[]> = {
        inline_response_200: [gallery, {}],
        inline_response_200_1: [{}, { data: {} }],
        inline_response_200_2: [{}, { data: [{ type: 'image' }] }],
        inline_response_200_3: [{ meta: {} }, { meta: { children_count: { total: 1 } } }, {}],
        inline_response_200_6: [{}, { data: {} }],
        inline_response_200_8: [{}, { data: { id: 'G0000abcdefghijk' } }],
        inline_response_200_9: [{}],
        inline_response_200_11: [{ meta: {} }, { meta: { children_count: { total: 1 } } }],
        inline_response_200_12: [{}],
        inline_response_200_13: [{}, { data: { id: 'I0000abcdefghijk', type: 'keyImage', attributes: {} } }],
        inline_response_200_15: [media, {}],
        PaginationMetaTag: [{}, { paging: {} }, { paging: { total: 1, page: 1 } }],
        MetaTag: [{}, { rate_limit: {} }],
        Error: [{ errors: [] }, {}, { errors: [{}] }],
      };
      for (const [component, answers] of Object.entries(wrong)) {
        const v = draftValidator(component)!;
        for (const bad of answers) assert.equal(v(bad), false, `${component} rejects ${JSON.stringify(bad).slice(0, 120)}`);
      }
    });
  });
});

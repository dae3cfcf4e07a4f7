// Every call of the client, made against the simulator, holds against what the API reference evidences
// (test/helpers/evidence.ts, written from the reference, not from the client's endpoint map).
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertEvidenced, unevidenced } from '../../helpers/evidence';
import { collect } from './helpers';

describe('client: only evidenced requests', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let client: PhotoShelterClient;
  before(async () => {
    sim = await startSim({ strict: true, seed: 4, assets: 80 });
    client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
  });
  after(async () => {
    await client.close();
    await sim.close();
  });

  it('the oracle refuses what nothing evidences (it can fail)', () => {
    const bad: Array<[string, string, Record<string, string>]> = [
      ['GET', '/media', { org_id: sim.orgId, sort_by: 'modified_at' }],
      ['GET', '/media', { org_id: sim.orgId, sort_direction: 'ascending', sort_by: 'date' }],
      ['GET', '/media', { owner_id: sim.userId }],
      ['GET', '/media', { org_id: sim.orgId, modify_start: '2025-01-01T00:00:00' }],
      ['GET', '/media', { org_id: sim.orgId, include: 'iptc' }],
      ['GET', '/media/I0000abcdefghijk', { include: 'iptc,custom_metadata' }],
      ['GET', '/galleries/G0000abcdefghijk/children', { include: 'galleries' }],
      ['GET', '/galleries/G0000abcdefghijk/children', { sort_by: 'modified_at' }],
      ['GET', '/collections/C0000abcdefghijk/children', { sort_by: 'modified_at' }],
      ['GET', '/media/I0000abcdefghijk/download', { download_filetype: 'png' }],
      ['GET', '/media/I0000abcdefghijk/versions', {}],
    ];
    for (const [method, path, query] of bad) assert.ok(unevidenced({ method, path, query }), `${path} ${JSON.stringify(query)}`);
    assert.equal(unevidenced({ method: 'GET', path: '/media', query: { org_id: sim.orgId, modify_start: '2025-01-01 00:00:00 GMT', sort_by: 'upload_time', sort_dir: 'asc' } }), undefined);
  });

  it('every call the client makes is evidenced', async () => {
    await sim.control.clearRequests();
    const state = await sim.control.state();
    const gallery = state.galleries.find((g) => g.media > 2 && g.parents.length > 0) as { id: string; parents: string[]; media: number };
    const collection = gallery.parents[0];
    const [id] = await sim.control.mediaIds(gallery.id);

    await client.session({ includeOrganizations: true });
    await collect(client.library());
    await collect(client.library({ sortBy: 'display_order' }));
    await collect(client.collections(undefined, { sortBy: 'name' }));
    await collect(client.collections(collection, { sortBy: 'creation_time', sortDirection: 'descending' }));
    await client.collection(collection);
    await collect(client.collectionChildren(collection));
    await collect(client.collectionChildren(collection, { sortBy: 'name', sortDirection: 'descending' }));
    await collect(client.galleries(collection, { sortBy: 'display_order' }));
    await client.gallery(gallery.id);
    await collect(client.galleryChildren(gallery.id, { sortBy: 'added_at', sortDirection: 'descending', perPage: 2 }));
    await client.path('gallery', gallery.id);
    await client.path('collection', collection);
    const counts = await client.childCount('gallery', gallery.id);
    assert.equal(counts.total, gallery.media, 'the gallery count is read (meta.children_count or attributes)');
    assert.ok((await client.childCount('collection', collection)).total !== undefined);
    await client.getMedia(id, { include: ['iptc'] });
    await client.getIptc(id);
    const custom = await client.getCustomMetadata(id);
    const galleries = await client.getMediaGalleries(id);
    assert.ok(galleries.some((g) => g.id === gallery.id && typeof g.attributes.name === 'string'));
    await client.getLink(id, { imageSize: '300x200', imageMode: 'fill' });
    for (const [fileType, quality] of [['original', undefined], ['jpeg', 'original'], ['jpeg', '640'], ['jpeg', '320x240']] as const) {
      const s = await client.download(id, { fileType, quality });
      s.destroy();
    }
    await collect(client.searchMedia({ orgId: sim.orgId, terms: 'harbour', sortBy: 'date', sortDirection: 'descending' }, { maxPages: 1 }));
    await collect(client.searchMedia({ collections: [collection], createdSince: '2023-01-01', createdBefore: '2030-01-01T00:00:00.5Z', modifiedSince: 0 }, { maxPages: 1 }));
    const since = Date.UTC(2020, 0, 1);
    await collect(client.changes({ since }));
    await collect(client.changes({ since, scope: { kind: 'gallery', id: gallery.id } }));
    await collect(client.changes({ since, scope: { kind: 'collection', id: collection } }));
    await collect(client.changes({ since, scope: { kind: 'owner', id: sim.userId } }));
    await client.updateIptc(id, { headline: 'evidence', keywords: ['a', 'b'] });
    const field = custom.attributes.custom_metadata.find((f) => f.type === 'text');
    if (field) await client.updateCustomMetadata(id, [{ field_id: field.field_id, value: 'evidence' }]);
    await client.logout();

    const log = await sim.control.requests();
    assert.ok(log.length >= 30, `${log.length} requests`);
    assert.ok(log.every((r) => r.status < 400), log.filter((r) => r.status >= 400).map((r) => `${r.path} ${r.status}`).join());
    assertEvidenced(log);
  });

  it('refuses sorts an endpoint is not evidenced to take, before any request', async () => {
    await sim.control.clearRequests();
    assert.throws(() => client.searchMedia({ orgId: sim.orgId, sortBy: 'modified_at' }), { code: 'EVALIDATION' });
    assert.throws(() => client.galleryChildren('G0000abcdefghijk', { sortBy: 'modified_at' }), /creation_time, modification_time, added_at/);
    assert.throws(() => client.library({ sortBy: 'modified_at' }), { code: 'EVALIDATION' });
    assert.throws(() => client.collectionChildren('C0000abcdefghijk', { sortBy: 'created_at' }), { code: 'EVALIDATION' });
    assert.deepEqual(await sim.control.requests(), []);
  });
});

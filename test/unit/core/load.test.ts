import assert from 'node:assert/strict';
import { assetFromMedia, loadAsset, PathCache, readMedia, type AssetPart } from '../../../src/core/load';
import { PhotoShelterClient, type MediaResource } from '../../../src/photoshelter';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertEvidenced } from '../../helpers/evidence';

describe('core/load against the simulator', () => {
  let sim: SimHandle;
  let client: PhotoShelterClient;

  before(async () => {
    sim = await startSim({ strict: true, seed: 7, assets: 60 });
    client = new PhotoShelterClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId },
    });
    await client.session();
  });
  after(async () => {
    await client.close();
    await sim.close();
  });

  const mediaLog = async () => (await sim.control.requests()).filter((r) => r.path.startsWith('/media/') || r.path.startsWith('/galleries/'));

  it('reads a medium with IPTC, custom fields, galleries and paths, matching the simulator truth', async () => {
    const state = await sim.control.state();
    const shared = state.galleries.find((g) => g.media > 0);
    assert.ok(shared, 'the seeded library has a gallery with media');
    const [id] = await sim.control.mediaIds(shared.id);
    const truth = await sim.control.media(id);
    const asset = await loadAsset(client, id, { include: ['iptc', 'custom', 'path'] });
    assert.equal(asset.id, id);
    assert.equal(asset.fileName, truth.file_name);
    assert.equal(asset.fileSize, truth.file_size);
    assert.equal(asset.iptc?.caption ?? null, truth.iptc.caption ?? null);
    assert.deepEqual(asset.custom, truth.custom);
    assert.deepEqual(asset.galleries?.map((g) => g.id).sort(), [...truth.galleries].sort());
    assert.ok(asset.galleries?.every((g) => g.name.length > 0), 'gallery names are read');
    assert.equal(asset.paths?.length, truth.galleries.length);
    for (const p of asset.paths ?? []) {
      assert.equal(p.ids[p.ids.length - 1], p.galleryId, 'a path ends at its gallery');
      assert.match(p.ids[0], /^C0000/, 'a path starts at a collection');
    }
    assert.match(asset.modifiedAt ?? '', /Z$/);
  });

  it('makes one evidenced request per part wanted, and none beyond GET /media/{id} when none is', async () => {
    const [id] = await sim.control.mediaIds();
    const cases: Array<[AssetPart[], string[]]> = [
      [[], [`GET /media/${id} {}`]],
      [['iptc'], [`GET /media/${id} {"include":"iptc"}`]],
      [['custom'], [`GET /media/${id} {}`, `GET /media/${id}/custom-metadata {}`]],
      [['iptc', 'custom', 'galleries'], [`GET /media/${id} {"include":"iptc"}`, `GET /media/${id}/custom-metadata {}`, `GET /media/${id}/galleries {"include":"gallery","page":"1","per_page":"1000"}`]],
    ];
    for (const [parts, expected] of cases) {
      await sim.control.clearRequests();
      await loadAsset(client, id, { include: parts });
      const log = await mediaLog();
      assertEvidenced(log);
      assert.deepEqual(log.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`).sort(), [...expected].sort(), parts.join(',') || 'no parts');
    }
  });

  it('adds parts to a medium from a listing with no request when none is wanted, and reads each path once per cache', async () => {
    const state = await sim.control.state();
    const gallery = state.galleries.find((g) => g.media >= 2) as { id: string };
    const listed: MediaResource[] = [];
    for await (const m of client.galleryChildren(gallery.id, { perPage: 2, maxPages: 1 })) listed.push(m);
    await sim.control.clearRequests();
    const bare = await assetFromMedia(client, listed[0], {});
    assert.equal(bare.id, listed[0].id);
    assert.equal(bare.iptc, undefined);
    assert.deepEqual(await mediaLog(), [], 'no part, no request');
    const paths = new PathCache();
    for (const m of listed) await assetFromMedia(client, m, { include: ['path'], paths });
    const log = await mediaLog();
    assertEvidenced(log);
    const pathReads = log.filter((r) => r.path === `/galleries/${gallery.id}/path`);
    assert.equal(pathReads.length, 1, 'the shared gallery path is read once');
  });

  it('reads IPTC on its own when the server ignored include=iptc', async () => {
    const [id] = await sim.control.mediaIds();
    const truth = await sim.control.media(id);
    const calls: string[] = [];
    const forgetful = {
      getMedia: async (mid: string) => {
        calls.push('media');
        const m = await client.getMedia(mid);
        return m; // no includes: as if include=iptc were ignored
      },
      getIptc: async (mid: string) => {
        calls.push('iptc');
        return client.getIptc(mid);
      },
      getCustomMetadata: client.getCustomMetadata.bind(client),
      getMediaGalleries: client.getMediaGalleries.bind(client),
      path: client.path.bind(client),
    };
    const { media } = await readMedia(forgetful, id, { include: ['iptc'] });
    assert.deepEqual(calls, ['media', 'iptc']);
    const iptc = (media.includes?.iptc?.data as { attributes?: Record<string, unknown> } | undefined)?.attributes;
    assert.equal(iptc?.caption ?? null, truth.iptc.caption ?? null);
  });

  it('refuses includes nothing evidences, before any request', async () => {
    const [id] = await sim.control.mediaIds();
    await sim.control.clearRequests();
    await assert.rejects(client.getMedia(id, { include: ['custom_metadata' as never] }), { code: 'EVALIDATION' });
    assert.throws(() => client.galleryChildren('G0000abcdefghijk', { include: ['galleries'] } as never), { code: 'EVALIDATION' });
    assert.throws(() => client.searchMedia({ orgId: sim.orgId, include: ['iptc'] } as never), { code: 'EVALIDATION' });
    assert.deepEqual(await sim.control.requests(), []);
  });

  it('rejects a malformed id before any request', async () => {
    await sim.control.clearRequests();
    await assert.rejects(loadAsset(client, 'I0000short'), { code: 'EVALIDATION' });
    assert.equal((await sim.control.requests()).length, 0);
  });
});

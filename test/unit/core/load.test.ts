import assert from 'node:assert/strict';
import { loadAsset } from '../../../src/core/load';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { startSim, type SimHandle } from '../../helpers/sim';

describe('core/load against the simulator', () => {
  let sim: SimHandle;
  let client: PhotoShelterClient;

  before(async () => {
    sim = await startSim({ seed: 7, assets: 60 });
    client = new PhotoShelterClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId },
    });
  });
  after(async () => {
    await client.close();
    await sim.close();
  });

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
    assert.equal(asset.paths?.length, truth.galleries.length);
    for (const p of asset.paths ?? []) {
      assert.equal(p.ids[p.ids.length - 1], p.galleryId, 'a path ends at its gallery');
      assert.match(p.ids[0], /^C0000/, 'a path starts at a collection');
    }
    assert.match(asset.modifiedAt ?? '', /Z$/);
  });

  it('makes one request when no path is wanted', async () => {
    const [id] = await sim.control.mediaIds();
    await sim.control.clearRequests();
    await loadAsset(client, id, { include: ['iptc', 'custom', 'galleries'] });
    const log = (await sim.control.requests()).filter((r) => r.path.includes('/media/'));
    assert.equal(log.length, 1);
  });

  it('rejects a malformed id before any request', async () => {
    await sim.control.clearRequests();
    await assert.rejects(loadAsset(client, 'I0000short'), { code: 'EVALIDATION' });
    assert.equal((await sim.control.requests()).length, 0);
  });
});

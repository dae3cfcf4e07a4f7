import assert from 'node:assert/strict';
import type { PhotoShelterClient } from '../../../src/photoshelter';
import { handleSessionAuth, json, MEDIA, sessionClient, startServer, type TestServer } from './helpers';

describe('client: child counts and the galleries of a medium, as production answers them', () => {
  let srv: TestServer | undefined;
  let client: PhotoShelterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await srv?.close();
    client = srv = undefined;
  });

  it('reads child counts from meta.children_count, from attributes, or sums the parts', async () => {
    const answers: Record<string, unknown> = {
      '/galleries/G0000aaaaaaaaaaa/child-count': { data: null, meta: { children_count: { images: 3, videos: 1, audio: 0, documents: 2 } } },
      '/galleries/G0000bbbbbbbbbbb/child-count': { data: { id: 'G0000bbbbbbbbbbb', type: 'child_count', attributes: { images: '4', total: '4' } } },
      '/collections/C0000ccccccccccc/child-count': { data: {}, meta: { children_count: { collections: 2, galleries: 5, total: 7 } } },
    };
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      json(res, 200, answers[req.path] ?? { data: null });
    });
    client = sessionClient(srv.baseUrl);
    assert.deepEqual(await client.childCount('gallery', 'G0000aaaaaaaaaaa'), { images: 3, videos: 1, audio: 0, documents: 2, total: 6 });
    assert.deepEqual(await client.childCount('gallery', 'G0000bbbbbbbbbbb'), { images: 4, total: 4 });
    assert.deepEqual(await client.childCount('collection', 'C0000ccccccccccc'), { collections: 2, galleries: 5, total: 7 });
  });

  it('asks the galleries of a medium with include=gallery and reads id and name from the include when the item lacks them', async () => {
    srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      json(res, 200, {
        data: [
          { id: 'X1', type: 'gallery_media', attributes: {}, includes: { gallery: { data: { id: 'G0000aaaaaaaaaaa', type: 'gallery', attributes: { name: 'Spring' } } } } },
          { id: 'G0000bbbbbbbbbbb', type: 'gallery', attributes: { name: 'Autumn' } },
        ],
        meta: { paging: { total: 2, page: 1 } },
      });
    });
    client = sessionClient(srv.baseUrl);
    const g = await client.getMediaGalleries(MEDIA);
    assert.deepEqual(g.map((x) => [x.id, x.attributes.name]), [['G0000aaaaaaaaaaa', 'Spring'], ['G0000bbbbbbbbbbb', 'Autumn']]);
    const q = srv.requests.find((r) => r.path === `/media/${MEDIA}/galleries`)!;
    assert.equal(q.query.get('include'), 'gallery');
  });
});

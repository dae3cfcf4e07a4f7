/**
 * getEmbeddedMetadata: GET /media/{id}/metadata, `data.attributes.raw` as the API sends it (a JSON string),
 * and the errors the deliverer reads as "no evidence" (404) or as a failure (5xx).
 */
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { evidenceFromEmbedded, isNoEvidence } from '../../../src/core/deliver/version';
import { apiError, json, MEDIA, ORG, SECRETS, startServer, type TestServer } from './helpers';

describe('client: getEmbeddedMetadata', () => {
  let srv: TestServer;
  let client: PhotoShelterClient;
  let status = 200;

  before(async () => {
    srv = await startServer((req, res) => {
      if (status !== 200) return apiError(res, status, status === 404 ? 'ResourceNotFoundException' : 'ServiceUnavailableException');
      json(res, 200, {
        data: { id: req.path.split('/')[2], type: 'metadata', attributes: { raw: JSON.stringify({ 'XMP-xmpMM:InstanceID': 'xmp.iid:7', 'File:FileName': 'a.tif' }), author: 'Ana' } },
        meta: {},
      });
    });
    client = new PhotoShelterClient({ baseUrl: srv.baseUrl, apiKey: SECRETS.apiKey, auth: { mode: 'bearer', token: SECRETS.bearer, orgId: ORG }, maxRetries: 0 });
  });
  after(async () => {
    await client.close();
    await srv.close();
  });

  it('reads GET /media/{id}/metadata and returns the resource, raw as sent', async () => {
    status = 200;
    srv.requests.length = 0;
    const r = await client.getEmbeddedMetadata(MEDIA);
    const req = srv.requests.find((x) => x.path.endsWith('/metadata'));
    assert.equal(req?.method, 'GET');
    assert.equal(req?.path, `/media/${MEDIA}/metadata`);
    assert.equal(typeof r.attributes.raw, 'string');
    assert.deepEqual(evidenceFromEmbedded(r), { instance: 'xmp.iid:7' });
  });

  it('checks the id before sending anything', async () => {
    srv.requests.length = 0;
    await assert.rejects(client.getEmbeddedMetadata('../x'), { code: 'EVALIDATION' });
    assert.equal(srv.requests.length, 0);
  });

  it('a 404 is "no evidence" to the deliverer, a 503 is a failure', async () => {
    status = 404;
    const notFound = await client.getEmbeddedMetadata(MEDIA).catch((e: unknown) => e);
    assert.equal(isNoEvidence(notFound), true, String(notFound));
    status = 503;
    const down = await client.getEmbeddedMetadata(MEDIA).catch((e: unknown) => e);
    assert.ok(down instanceof Error);
    assert.equal(isNoEvidence(down), false, String(down));
  });
});

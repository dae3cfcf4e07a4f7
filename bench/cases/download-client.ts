// Stream one original to /dev/null through the client's download(): the measured side.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PhotoShelterClient } from '../../src/photoshelter';
import { byteCounter, caseMain, measure } from '../lib';

interface Arg { baseUrl: string; credentials: Record<string, string>; mediaId: string }

caseMain<Arg>(async ({ baseUrl, credentials, mediaId }) => {
  const { apiKey, email, password, orgId } = credentials;
  const client = new PhotoShelterClient({ baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  await client.session();
  try {
    return await measure(async () => {
      const stream = await client.download(mediaId, { fileType: 'original' });
      const count = byteCounter();
      await pipeline(stream, count, createWriteStream('/dev/null'));
      return { bytes: count.bytes, requests: 1, extra: { chunks: count.chunks } };
    });
  } finally {
    await client.close();
  }
});

// Page every medium of the library through the client (searchMedia, with its one page of read-ahead).
import { PhotoShelterClient } from '../../src/photoshelter';
import { caseMain, measure } from '../lib';

interface Arg { baseUrl: string; credentials: Record<string, string>; perPage: number }

caseMain<Arg>(async ({ baseUrl, credentials, perPage }) => {
  const { apiKey, email, password, orgId } = credentials;
  const client = new PhotoShelterClient({ baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  let requests = 0;
  client.on('request', () => requests++);
  await client.session();
  requests = 0;
  try {
    return await measure(async () => {
      let items = 0;
      for await (const _m of client.searchMedia({ orgId }, { perPage })) items++;
      return { items, requests };
    });
  } finally {
    await client.close();
  }
});

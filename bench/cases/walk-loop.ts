// The baseline of a walk: the client's own paging over the same galleries, found the same way (library,
// then collections breadth first) and listed with the same page size and order as the Walker.
import { PhotoShelterClient } from '../../src/photoshelter';
import { caseMain, measure, type SimInfo } from '../lib';

const PER_PAGE = 100; // the Walker's default page size

caseMain<SimInfo>(async (sim) => {
  const { apiKey, email, password, orgId } = sim.credentials;
  const client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  let requests = 0;
  client.on('request', () => requests++);
  await client.session();
  requests = 0;
  try {
    return await measure(async () => {
      const galleries: string[] = [];
      const seen = new Set<string>();
      const queue: Array<string | undefined> = [undefined];
      while (queue.length) {
        const parent = queue.shift();
        for await (const c of parent ? client.collectionChildren(parent) : client.library()) {
          if (c.type === 'gallery') {
            if (!seen.has(c.id)) {
              seen.add(c.id);
              galleries.push(c.id);
            }
          } else queue.push(c.id);
        }
      }
      let items = 0;
      for (const id of galleries) {
        for await (const _m of client.galleryChildren(id, { sortBy: 'added_at', sortDirection: 'ascending', perPage: PER_PAGE })) items++;
      }
      return { items, requests, extra: { galleries: galleries.length } };
    });
  } finally {
    await client.close();
  }
});

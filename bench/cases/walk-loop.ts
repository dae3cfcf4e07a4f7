// The baseline of a walk: the client's own paging over the same galleries, found the same way (library,
// then collections breadth first) and listed with the same page size and order as the Walker. Two forms:
// the listing alone (every medium once per gallery that holds it, nothing done with it), and
// (`output: 'assets'`) the same listing giving what a walk gives: each asset once (a Set of the ids
// seen), made an asset of the core's model with its gallery's path.
import { PhotoShelterClient } from '../../src/photoshelter';
import { normalizeAsset } from '../../src/core/asset';
import { caseMain, measure, type SimInfo } from '../lib';

const PER_PAGE = 100; // the Walker's default page size

interface Gallery {
  id: string;
  ids: string[];
  names: string[];
}

caseMain<SimInfo & { output?: 'assets' }>(async (sim) => {
  const { apiKey, email, password, orgId } = sim.credentials;
  const client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  let requests = 0;
  client.on('request', () => requests++);
  await client.session();
  requests = 0;
  try {
    return await measure(async () => {
      const galleries: Gallery[] = [];
      const seen = new Set<string>();
      const queue: Array<{ id?: string; ids: string[]; names: string[] }> = [{ ids: [], names: [] }];
      while (queue.length) {
        const parent = queue.shift() as { id?: string; ids: string[]; names: string[] };
        for await (const c of parent.id ? client.collectionChildren(parent.id) : client.library()) {
          const ids = [...parent.ids, c.id];
          const names = [...parent.names, String(c.attributes?.name ?? c.id)];
          if (c.type === 'gallery') {
            if (!seen.has(c.id)) {
              seen.add(c.id);
              galleries.push({ id: c.id, ids, names });
            }
          } else queue.push({ id: c.id, ids, names });
        }
      }
      let items = 0;
      const listing = (g: Gallery) => client.galleryChildren(g.id, { sortBy: 'added_at', sortDirection: 'ascending', perPage: PER_PAGE });
      if (sim.output === 'assets') {
        const emitted = new Set<string>();
        for (const g of galleries) {
          const path = g.names.join('/');
          for await (const m of listing(g)) {
            if (emitted.has(m.id)) continue;
            emitted.add(m.id);
            const asset = normalizeAsset({ media: m }, { timeZone: 'UTC' });
            asset.paths = [{ galleryId: g.id, ids: g.ids, names: g.names }];
            asset.path = path;
            items++;
          }
        }
      } else {
        for (const g of galleries) for await (const _m of listing(g)) items++;
      }
      return { items, requests, extra: { galleries: galleries.length } };
    });
  } finally {
    await client.close();
  }
});

// A walk of the whole library with the Walker, each item acknowledged as it is emitted.
import { PhotoShelterClient } from '../../src/photoshelter';
import { Walker, type WalkProgress } from '../../src/core/trigger/walker';
import { MemoryStore } from '../../src/core/trigger/state';
import { caseMain, measure, type SimInfo } from '../lib';

caseMain<SimInfo>(async (sim) => {
  const { apiKey, email, password, orgId } = sim.credentials;
  const client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  let requests = 0;
  client.on('request', () => requests++);
  await client.session();
  requests = 0;
  try {
    return await measure(async () => {
      let items = 0;
      let finish!: (p: WalkProgress) => void;
      let fail!: (e: unknown) => void;
      const finished = new Promise<WalkProgress>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      const walker = new Walker(
        client,
        new MemoryStore(),
        'k',
        { window: 50, acknowledge: true, include: [], timeZone: 'UTC' },
        (item) => {
          items++;
          walker.ack(item.walkId, item.index);
        },
        (p) => {
          if (p.done) finish(p);
        },
        fail,
      );
      await walker.start({ kind: 'library' });
      const p = await finished;
      await walker.stop();
      return { items, requests, extra: { galleries: p.galleries } };
    });
  } finally {
    await client.close();
  }
});

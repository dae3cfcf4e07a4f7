// A walk of the whole library with the Walker, each item acknowledged as it is emitted; its state in
// memory, or (`store: 'file'`) in the trigger's state file as the node keeps it (atomic, synced writes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhotoShelterClient } from '../../src/photoshelter';
import { Walker, type WalkProgress } from '../../src/core/trigger/walker';
import { MemoryStore } from '../../src/core/trigger/state';
import { TriggerStateFile } from '../../src/core/trigger/state-file';
import { caseMain, measure, type SimInfo } from '../lib';

caseMain<SimInfo & { store?: 'file' }>(async (sim) => {
  const dir = sim.store === 'file' ? mkdtempSync(join(tmpdir(), 'ps-bench-walk-')) : undefined;
  const file = dir ? new TriggerStateFile(join(dir, 'photoshelter', 'triggers', 'walk.json')) : undefined;
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
        file?.state ?? new MemoryStore(),
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
      return { items, requests, extra: { galleries: p.galleries, ...(file ? { writes: file.writes } : {}) } };
    });
  } finally {
    await client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * One worker process of the PostgreSQL ledger's race tests: delivers the same items as its siblings, through
 * the deliverer, into a shared folder, with the PostgreSQL ledger. Every upload that reaches the folder is
 * logged (one line per upload, appended to a shared file) before it is written, so that the test can count
 * uploads across processes. Prints `uploading <asset>` when an upload starts and a JSON summary at the end.
 *
 *   node --import tsx test/helpers/ledger-worker.ts '<json settings>'
 */
import { appendFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Deliverer } from '../../src/core/deliver/deliver';
import { FolderDestination } from '../../src/core/deliver/folder';
import { PostgresStore, type PostgresLedgerSettings } from '../../src/core/deliver/ledger-postgres';
import type { PutRequest } from '../../src/core/deliver/types';

interface WorkerSettings {
  db: PostgresLedgerSettings;
  folder: string;
  uploads: string;
  items: number;
  /** How long each upload takes at least (ms). */
  uploadMs: number;
  waitMs: number;
  /** Start at this item and go round (so that the processes meet in different orders). */
  offset: number;
  concurrency: number;
}

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2]) as WorkerSettings;
  const store = await PostgresStore.open(s.db);
  const folder = new FolderDestination({ base: s.folder });
  const destination = Object.assign(Object.create(folder) as FolderDestination, {
    async put(req: PutRequest) {
      appendFileSync(s.uploads, `${req.location} ${s.db.worker}\n`);
      process.stdout.write(`uploading ${req.location}\n`);
      await new Promise((r) => setTimeout(r, s.uploadMs));
      return folder.put(req);
    },
  });
  const target = `folder:${s.folder}`;
  const deliverer = new Deliverer({ destination, templates: { context: 'path', location: '', removeAtLocation: true, metadata: {} }, ledger: store.ledger(target), target, name: 'race', retries: 0 });
  const counts = { delivered: 0, skipped: 0, inProgress: 0, failed: 0, recovered: 0 };
  let next = 0;
  const work = async () => {
    for (;;) {
      const i = next++;
      if (i >= s.items) return;
      const n = (i + s.offset) % s.items;
      const id = `I${String(n).padStart(15, '0')}`;
      try {
        const d = await deliverer.put({
          asset: { id, versionKey: `10-1x1-${n}`, fileName: `${id}.txt` },
          view: { asset: { id, fileName: `${id}.txt` } },
          source: { kind: 'stream', stream: Readable.from([Buffer.from(`bytes of ${id}\n`)]) },
          signal: new AbortController().signal,
          claimWaitMs: s.waitMs,
        });
        if (d.skipped === 'in-progress') counts.inProgress++;
        else if (d.skipped) counts.skipped++;
        else counts.delivered++;
        if (d.recovered) counts.recovered++;
      } catch (e) {
        counts.failed++;
        process.stderr.write(`${id}: ${(e as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, work));
  process.stdout.write(`${JSON.stringify({ ...counts, ...store.stats })}\n`);
  await store.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

// One original delivered the way the deliver node does it: the Deliverer (ledger in a temp folder,
// sha256 and byte count on the fly) with the asset fetched through the client's download(), to a
// destination built by createDestination() from a destination node's configuration. The measured side.
import { join } from 'node:path';
import { Deliverer } from '../../src/core/deliver/deliver';
import { FileLedger } from '../../src/core/deliver/ledger';
import { createDestination, destinationTemplates, type DestinationConfig } from '../../src/core/deliver/registry';
import { PhotoShelterClient } from '../../src/photoshelter';
import { caseMain, measure } from '../lib';

export interface DeliverCaseArg {
  baseUrl: string;
  credentials: Record<string, string>;
  mediaId: string;
  /** The destination node's settings and credentials (kind, folder, url, host, bucket…). */
  config: DestinationConfig;
  /** Folder/SFTP/S3: the location template (a literal path here); HTTP: the URL is in config.url. */
  location: string;
  /** A temporary folder for the ledger. */
  ledgerDir: string;
}

caseMain<DeliverCaseArg>(async ({ baseUrl, credentials, mediaId, config, location, ledgerDir }) => {
  const { apiKey, email, password, orgId } = credentials;
  const client = new PhotoShelterClient({ baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  await client.session();
  const destination = createDestination(config);
  const ledger = await FileLedger.open(join(ledgerDir, `ledger-${process.pid}.jsonl`));
  // the time spent in the ledger's appends (each written and fsync'd before the step it guards goes on),
  // reported apart so that the table can tell it from the rest of the path
  let ledgerMs = 0;
  const timed = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => async (...args: A): Promise<void> => {
    const t = performance.now();
    try {
      await fn(...args);
    } finally {
      ledgerMs += performance.now() - t;
    }
  };
  ledger.intent = timed(ledger.intent.bind(ledger));
  ledger.done = timed(ledger.done.bind(ledger));
  const deliverer = new Deliverer({ destination, name: 'bench', templates: destinationTemplates(config), ledger });
  try {
    let sha256 = '';
    const r = await measure(async () => {
      const d = await deliverer.put({
        asset: { id: mediaId, versionKey: `v-${process.pid}`, fileName: 'large original.jpg' },
        template: config.kind === 'http' ? '' : location,
        view: {},
        source: { kind: 'fetch', open: (signal) => client.download(mediaId, { fileType: 'original', signal }) },
        signal: AbortSignal.timeout(9 * 60_000),
      });
      if (d.skipped) throw new Error('the delivery was skipped');
      sha256 = d.sha256 ?? '';
      return { bytes: d.bytes, requests: 1 };
    });
    return Object.assign(r, { sha256, extra: { ...r.extra, ledgerMs } });
  } finally {
    await destination.close();
    await ledger.close();
    await client.close();
  }
});

// Small assets through the real node path, in a Node-RED runtime embedded in this process: a trigger
// walks the library (window 2 × the concurrency, each item acknowledged by the deliver node's output wired
// back to it) and feeds a deliver node (with the account: it reads the embedded metadata before each
// original, as flows with an account do) to a folder or the HTTP sink. The package is installed in the
// user directory the way the palette manager installs it. A second pass with the same user directory finds
// every asset in the ledger: it measures skips.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { caseMain, measure, type SimInfo } from '../lib';

interface Arg extends SimInfo {
  target: { kind: 'folder'; path: string } | { kind: 'http'; url: string };
  concurrency: number;
  assets: number;
  userDir: string;
}

/** What the bench reads of the deliver node's ledger (a FileLedger's counters). */
type Ledger = { stats?: { syncs: number; records: number; compactions: number; syncMs?: number } };
type RedLike = {
  init(server: unknown, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown };
  hooks: { add(name: string, fn: (e: { msg: Record<string, unknown>; destination?: { id: string } }) => void): void };
};

const ROOT = resolve(__dirname, '..', '..');

caseMain<Arg>(async (a) => {
  if (!existsSync(join(a.userDir, 'node_modules'))) {
    mkdirSync(join(a.userDir, 'node_modules', '@shelterflow'), { recursive: true });
    symlinkSync(ROOT, join(a.userDir, 'node_modules', '@shelterflow', 'node-red-photoshelter'), 'dir');
  }
  const { apiKey, email, password, orgId } = a.credentials;
  const dest = a.target.kind === 'folder' ? { kind: 'folder', folder: a.target.path, template: '{{asset.fileName}}', createBase: true } : { kind: 'http', url: `${a.target.url}/{{asset.id}}`, method: 'PUT', bodyMode: 'raw' };
  const z = 'bs.tab';
  // the flow and its credentials (not encrypted: a throwaway user directory) as files, read when the runtime starts
  writeFileSync(join(a.userDir, 'flows.json'), JSON.stringify([
    { id: z, type: 'tab', label: 'small assets' },
    { id: 'bs.acc', type: 'photoshelter-account', baseUrl: a.baseUrl, authMode: 'session', orgId, timeZone: 'UTC', maxConcurrency: a.concurrency, timeout: 120 },
    { id: 'bs.dest', type: 'photoshelter-destination', name: 'bench', ...dest },
    { id: 'bs.walk', type: 'photoshelter-trigger', z, account: 'bs.acc', mode: 'walk', scope: '', includeIptc: false, includeCustom: false, window: 2 * a.concurrency, acknowledge: true, x: 100, y: 100, wires: [['bs.deliver']] },
    { id: 'bs.deliver', type: 'photoshelter-deliver', z, destination: 'bs.dest', account: 'bs.acc', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: a.concurrency, retries: 3, x: 300, y: 100, wires: [['bs.walk']] },
    { id: 'bs.catch', type: 'catch', z, scope: null, uncaught: false, x: 100, y: 200, wires: [['bs.failed']] },
    { id: 'bs.failed', type: 'debug', z, active: true, tosidebar: false, console: true, complete: 'error', x: 300, y: 200, wires: [] },
  ]));
  writeFileSync(join(a.userDir, 'flows_cred.json'), JSON.stringify({ 'bs.acc': { apiKey, email, password } }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as RedLike;
  RED.init(createServer(), {
    userDir: a.userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    contextStorage: { default: { module: 'localfilesystem', config: { flushInterval: 1 } } },
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
  });
  await RED.start();
  // the flows start a moment after they are set
  for (const deadline = Date.now() + 30_000; !RED.nodes.getNode('bs.deliver'); ) {
    if (Date.now() > deadline) throw new Error(`the flow did not start: ${JSON.stringify((RED.nodes as unknown as { getNodeList(): unknown }).getNodeList())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let delivered = 0;
  let skipped = 0;
  let failed = 0;
  // when each fifth of the assets was through (ms from the start): does the rate hold over the run?
  const step = Math.max(1, Math.floor(a.assets / 5));
  const marks: number[] = [];
  let t0 = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  // every delivery's result reaches the trigger (the acknowledgement); errors reach the catch node
  RED.hooks.add('onReceive.bench', (e) => {
    const d = e.msg.delivery as { skipped?: unknown } | undefined;
    if (e.destination?.id === 'bs.walk' && d) {
      if (d.skipped) skipped++;
      else delivered++;
    } else if (e.destination?.id === 'bs.failed') failed++;
    else return;
    if ((delivered + skipped + failed) % step === 0) marks.push(Math.round(performance.now() - t0));
    if (delivered + skipped + failed >= a.assets) done();
  });
  // signed in before the timed part, as the bare script is (its login is not timed either)
  await (RED.nodes.getNode('bs.acc') as { getClient(): { session(): Promise<unknown> } }).getClient().session();
  const trigger = RED.nodes.getNode('bs.walk') as { receive(m: unknown): void };
  const destination = RED.nodes.getNode('bs.dest') as { open(): Promise<{ ledger: Ledger }> };
  const zero = { syncs: 0, records: 0, compactions: 0, syncMs: 0 };
  const before = { ...zero, ...(await destination.open()).ledger.stats };
  try {
    return await measure(async () => {
      t0 = performance.now();
      trigger.receive({ restart: true });
      await finished;
      const stats = { ...zero, ...(await destination.open()).ledger.stats };
      const fifths = Object.fromEntries(marks.map((m, i) => [`fifth${i + 1}Ms`, m - (marks[i - 1] ?? 0)]));
      return { items: delivered + skipped, extra: { delivered, skipped, failed, syncs: stats.syncs - before.syncs, records: stats.records - before.records, syncMs: Math.round(stats.syncMs - before.syncMs), ...fifths } };
    });
  } finally {
    await RED.stop();
  }
});

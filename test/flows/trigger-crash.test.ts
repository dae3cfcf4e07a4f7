/**
 * A poll-mode trigger in a real Node-RED (messaging hooks on), its msg wired to two deliver nodes: one
 * to a folder, one by HTTP PUT to a server that holds its answer until the test lets it go. The event
 * stays in the trigger's state file (its window of unfinished events) until both deliveries are done;
 * Node-RED killed (SIGKILL) in between sends the event again after the restart, the folder's ledger
 * skips its repeat, and the held delivery is made. An event both finished is not sent again after a kill.
 * Node-RED's file context store is at its own default (written every 30 s): the trigger does not use it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle, simAccountNode } from '../helpers/sim';
import { debugTap } from '../helpers/debug-tap';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from './runtime';

/** Node-RED's own default for a file store: no flushInterval set (30 s). */
const FILE_STORE = { default: { module: 'localfilesystem' } };

describe('a trigger whose msg goes to two deliver nodes, killed with SIGKILL before both were done', function () {
  this.timeout(240_000);
  let sim: SimHandle;
  let red: Runtime | undefined;
  let server: Server;
  let out: string;
  /** The PUTs the server got (asset ids, in order), and the answers it holds back. */
  const puts: string[] = [];
  let hold = false;
  const held: ServerResponse[] = [];

  const flows = () => [
    { id: 'tab1', type: 'tab', label: 'two deliveries' },
    simAccountNode(sim, 'acc1'),
    { id: 'trg', z: 'tab1', type: 'photoshelter-trigger', account: 'acc1', mode: 'changed', interval: 3600, start: 'now', maxEvents: 100, x: 150, y: 80, wires: [['put', 'folder']] },
    { id: 'd.http', type: 'photoshelter-destination', name: 'held', kind: 'http', method: 'PUT', bodyMode: 'raw', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/put/{{asset.id}}`, auth: 'none', timeout: 120, credentials: {} },
    { id: 'd.folder', type: 'photoshelter-destination', name: 'folder', kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}', fsync: false, credentials: {} },
    { id: 'put', z: 'tab1', type: 'photoshelter-deliver', destination: 'd.http', account: 'acc1', action: 'put', actionType: 'str', template: '', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, dryRun: false, x: 350, y: 60, wires: [[]] },
    { id: 'folder', z: 'tab1', type: 'photoshelter-deliver', destination: 'd.folder', account: 'acc1', action: 'put', actionType: 'str', template: '', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, dryRun: false, x: 350, y: 120, wires: [[]] },
  ];
  const stateFile = () => join((red as Runtime).userDir, 'photoshelter', 'triggers', 'trg.json');
  /** The asset ids in the trigger's window of unfinished events, as on disk. */
  const unfinished = (): string[] => {
    if (!existsSync(stateFile())) return [];
    const s = JSON.parse(readFileSync(stateFile(), 'utf8')) as { window?: { items: Array<{ item: { asset: { id: string } } }> } };
    return (s.window?.items ?? []).map((i) => i.item.asset.id);
  };
  /** Folder deliveries recorded done in its ledger (asset ids). */
  const inFolder = (): string[] => {
    const ledger = join((red as Runtime).userDir, 'photoshelter', 'deliveries', 'd_folder.jsonl');
    if (!existsSync(ledger)) return [];
    return readFileSync(ledger, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { t: string; a: string }).filter((r) => r.t === 'done').map((r) => r.a);
  };
  const firstPoll = async () => {
    const tap = await debugTap((red as Runtime).url);
    try {
      await waitFor(() => tap.polls('trg').length >= 1, 'the first poll after the start', 60_000);
    } finally {
      tap.close();
    }
  };
  const release = () => {
    hold = false;
    for (const res of held.splice(0)) res.writeHead(201).end();
  };

  before(async () => {
    sim = await startSim({ seed: 41, assets: 30 });
    out = mkdtempSync(join(tmpdir(), 'ps-trigger-crash-'));
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        puts.push(decodeURIComponent(String(req.url).split('/')[2]));
        if (hold) held.push(res);
        else res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    red = await startRuntime({ contextStorage: FILE_STORE });
    await red.deploy(flows());
    await firstPoll();
  });
  after(async () => {
    release();
    await red?.stop();
    server.close();
    await sim?.close();
    rmSync(out, { recursive: true, force: true });
  });

  let ids: string[];
  it('an event is finished once both deliver nodes are done with it: it leaves the window then, and a kill afterwards repeats nothing', async () => {
    ids = (await sim.control.mediaIds()).slice(0, 3);
    const [a] = ids;
    await sim.control.patchMedia(a, { iptc: { caption: 'delivered twice over' } });
    await pollAfterChange(sim, red as Runtime, ['trg']);
    await waitFor(() => inFolder().includes(a) && puts.includes(a), 'both deliveries of a');
    await waitFor(() => unfinished().length === 0, 'a out of the window once both were done');
    await (red as Runtime).crash();
    red = await startRuntime({ userDir: (red as Runtime).userDir, contextStorage: FILE_STORE });
    await firstPoll();
    assert.deepEqual(puts.filter((p) => p === a), [a], 'not sent again after the kill');
  });

  it('killed while one delivery is held and the other done: the event is sent again after the restart, and both end done once', async () => {
    const [, b] = ids;
    hold = true;
    await sim.control.patchMedia(b, { iptc: { caption: 'one delivery held' } });
    await pollAfterChange(sim, red as Runtime, ['trg']);
    await waitFor(() => inFolder().includes(b) && held.length === 1, 'the folder delivery of b done, its PUT held');
    assert.deepEqual(unfinished(), [b], 'b in the window on disk while its PUT is held');
    // the folder's completion was handled synchronously; a wrongly finished event would leave the window
    // on disk within its save delay (250 ms): still there a second later
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(unfinished(), [b], 'still there: one of its two deliveries is not done');
    // the position on disk has moved past b already: only the window brings it back
    await (red as Runtime).crash();
    held.splice(0).forEach((res) => res.destroy());
    hold = false;
    const before = puts.length;
    red = await startRuntime({ userDir: (red as Runtime).userDir, contextStorage: FILE_STORE });
    await waitFor(() => puts.slice(before).includes(b), 'b sent again after the restart');
    await waitFor(() => unfinished().length === 0, 'b finished at last');
    assert.deepEqual(inFolder().filter((x) => x === b), [b], 'the folder delivered b once: its repeat was skipped');
    await firstPoll();
    assert.deepEqual(puts.slice(before), [b], 'b once more, and nothing else');
  });
});

/**
 * photoshelter-deliver across restarts of a real Node-RED runtime: the delivery ledger lives in the user
 * directory, so a restarted runtime skips what it delivered before, leaves the files alone, and delivers
 * a new version again. And a crash (SIGKILL) between an HTTP upload and its ledger record: the next
 * attempt puts the same bytes at the same URL (an overwrite), then the asset counts as delivered.
 *
 * The flows take an asset id by HTTP (`http in` → deliver → `http response` with msg.delivery), so each
 * request is one delivery and its answer is the node's output.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle, simAccountNode } from '../helpers/sim';
import { startRuntime, type Runtime } from './runtime';

type FlowNode = Record<string, unknown> & { id: string; type: string };
interface Delivery {
  location: string;
  bytes: number;
  sha256: string | null;
  skipped: boolean;
  recovered?: boolean;
  response?: { status: number };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The pid of the Node-RED process started with `tag` in its environment (Linux: from /proc). Node-RED
 * renames its process ("node-red"), which overwrites the command line, so the environment is what tells
 * which runtime is this test's.
 */
function runtimePid(tag: string): number | undefined {
  if (!existsSync('/proc/self/environ')) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`PS_DELIVER_RESTART_TAG=${tag}`)) return Number(entry);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

describe('photoshelter-deliver in a real Node-RED runtime, across restarts', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime | undefined;
  let tmp: string;

  before(async () => {
    sim = await startSim({ strict: true, seed: 57, assets: 12 });
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-restart-'));
  });
  after(async () => {
    await red?.stop();
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    await red?.stop();
    red = undefined;
  });

  /** A tab: POST /deliver/<route> with an asset id as text → deliver → the delivery (or the error, 500) as JSON. */
  const flows = (route: string, destination: Record<string, unknown>, destinationCredentials: Record<string, string> = {}): FlowNode[] => [
    { id: 'dr.tab', type: 'tab', label: 'deliver restart' },
    simAccountNode(sim, 'dr.acc'),
    { id: 'dr.dest', type: 'photoshelter-destination', name: 'out', ...destination, credentials: destinationCredentials },
    { id: 'dr.in', z: 'dr.tab', type: 'http in', url: `/deliver/${route}`, method: 'post', upload: false, x: 100, y: 80, wires: [['dr.deliver']] },
    {
      id: 'dr.deliver', z: 'dr.tab', type: 'photoshelter-deliver', destination: 'dr.dest', account: 'dr.acc', action: 'put', actionType: 'str',
      template: '', sidecar: 'none', overwrite: 'overwrite', concurrency: 2, retries: 0, dryRun: false, x: 300, y: 80, wires: [['dr.answer']],
    },
    { id: 'dr.answer', z: 'dr.tab', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'delivery', tot: 'msg' }], x: 500, y: 80, wires: [['dr.res']] },
    { id: 'dr.res', z: 'dr.tab', type: 'http response', statusCode: '', headers: {}, x: 680, y: 80, wires: [] },
    { id: 'dr.catch', z: 'dr.tab', type: 'catch', scope: null, uncaught: false, x: 100, y: 160, wires: [['dr.err']] },
    { id: 'dr.err', z: 'dr.tab', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'error', tot: 'msg' }], x: 300, y: 160, wires: [['dr.res500']] },
    { id: 'dr.res500', z: 'dr.tab', type: 'http response', statusCode: '500', headers: {}, x: 500, y: 160, wires: [] },
  ];

  async function deliver(route: string, id: string): Promise<Delivery> {
    const res = await fetch(`${red!.url}/deliver/${route}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: id });
    const text = await res.text();
    assert.equal(res.status, 200, `delivery of ${id}: ${text}`);
    return JSON.parse(text) as Delivery;
  }

  it('a folder: a restarted runtime skips what was delivered, leaves the files alone, and delivers a new version', async () => {
    const out = join(tmp, 'folder');
    const ids = (await sim.control.mediaIds()).slice(0, 3);
    const truth = await Promise.all(ids.map((id) => sim.control.media(id)));
    red = await startRuntime();
    await red.deploy(flows('folder', { kind: 'folder', folder: out, template: '{{asset.id}}/{{asset.fileName}}', fsync: false }));

    const first = [];
    for (const id of ids) first.push(await deliver('folder', id));
    const files = truth.map((t) => join(out, t.id, t.file_name));
    for (const [i, d] of first.entries()) {
      assert.equal(d.skipped, false, `${ids[i]} delivered`);
      assert.equal(d.location, `${truth[i].id}/${truth[i].file_name}`);
      assert.equal(d.bytes, truth[i].file_size);
      assert.equal(statSync(files[i]).size, truth[i].file_size, 'the whole file is there');
      assert.equal(sha(readFileSync(files[i])), d.sha256, 'the file holds the bytes the node hashed');
    }
    const stats = files.map((f) => statSync(f));
    const ledger = join(red.userDir, 'photoshelter', 'deliveries', 'dr_dest.jsonl');
    assert.ok(existsSync(ledger), 'the ledger is in the user directory');

    // stop Node-RED and start it again on the same user directory (flows, credentials and ledger kept)
    const userDir = red.userDir;
    await red.halt();
    red = await startRuntime({ userDir });
    // nothing was deployed this time: the runtime runs the flows it saved
    for (const [i, id] of ids.entries()) {
      const d = await deliver('folder', id);
      assert.equal(d.skipped, true, `${id} is skipped after the restart`);
      assert.equal(d.sha256, first[i].sha256, 'the ledger remembers the bytes delivered');
      assert.equal(d.bytes, truth[i].file_size);
    }
    for (const [i, f] of files.entries()) {
      const s = statSync(f);
      assert.equal(s.ino, stats[i].ino, `${f} was not replaced`);
      assert.equal(s.mtimeMs, stats[i].mtimeMs, `${f} was not rewritten`);
    }
    assert.deepEqual(readdirSync(join(out, ids[0])), [truth[0].file_name], 'no temporary file or second copy');

    // a new version of one asset (its file replaced in PhotoShelter) is delivered again, to the same place
    const newSize = truth[0].file_size + 4099;
    await sim.control.patchMedia(ids[0], { size: newSize });
    const again = await deliver('folder', ids[0]);
    assert.equal(again.skipped, false, 'the new version is delivered');
    assert.equal(again.location, first[0].location);
    assert.equal(again.bytes, newSize);
    assert.equal(statSync(files[0]).size, newSize, 'the file at the destination is the new version');
    assert.equal(sha(readFileSync(files[0])), again.sha256);
    assert.notEqual(again.sha256, first[0].sha256);
    assert.deepEqual(readdirSync(join(out, ids[0])), [truth[0].file_name], 'replaced in place, no second copy');
    // the others are still skipped, and that version now is too
    assert.equal((await deliver('folder', ids[1])).skipped, true);
    assert.equal((await deliver('folder', ids[0])).skipped, true, 'the new version, once delivered, is skipped');
    assert.equal(statSync(files[1]).ino, stats[1].ino);
  });

  it('HTTP PUT: a crash between the upload and its ledger record leads to the same bytes put at the same URL, once more', async function () {
    const puts: Array<{ url: string; bytes: number; sha256: string }> = [];
    let crashNext = true;
    let uploaded: (() => void) | undefined;
    const server: Server = createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => {
        puts.push({ url: `${req.method} ${req.url}`, bytes, sha256: hash.digest('hex') });
        if (crashNext) {
          // the whole file has arrived; Node-RED dies before it hears back, so before `done` is recorded
          crashNext = false;
          uploaded?.();
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ stored: req.url }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const [id] = (await sim.control.mediaIds()).slice(5, 6);
      const truth = await sim.control.media(id);
      const env = { PS_DELIVER_RESTART_TAG: `${process.pid}-${Date.now()}` };
      red = await startRuntime({ env });
      const userDir = red.userDir;
      await red.deploy(flows('http', { kind: 'http', method: 'PUT', bodyMode: 'raw', url: `${base}/assets/{{asset.id}}/{{asset.fileName}}`, auth: 'none', timeout: 60 }));
      const pid = runtimePid(env.PS_DELIVER_RESTART_TAG);
      if (pid === undefined) this.skip(); // no /proc: the runtime cannot be killed from here

      const arrived = new Promise<void>((r) => (uploaded = r));
      const pending = fetch(`${red.url}/deliver/http`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: id }).catch(() => undefined);
      await arrived;
      process.kill(pid as number, 'SIGKILL');
      const crashed = red;
      red = undefined;
      await crashed.halt(); // called before the exit is seen: waits for it
      await pending;
      const ledger = readFileSync(join(userDir, 'photoshelter', 'deliveries', 'dr_dest.jsonl'), 'utf8');
      assert.match(ledger, /"t":"intent"/, 'the intent was recorded before the upload');
      assert.doesNotMatch(ledger, /"t":"done"/, 'the crash came before the done record');

      try {
        red = await startRuntime({ userDir });
      } finally {
        if (!red) rmSync(userDir, { recursive: true, force: true });
      }
      const d = await deliver('http', id);
      assert.equal(d.skipped, false);
      assert.equal(d.recovered, true, 'reported as the completion of an interrupted delivery');
      assert.equal(d.response?.status, 201);
      assert.equal(puts.length, 2, 'one upload more, not a different one');
      assert.equal(puts[1].url, puts[0].url, 'both to the same URL');
      assert.equal(decodeURIComponent(puts[0].url), `PUT /assets/${truth.id}/${truth.file_name}`);
      assert.deepEqual(puts.map((p) => p.bytes), [truth.file_size, truth.file_size]);
      assert.equal(puts[0].sha256, puts[1].sha256, 'the same bytes: an overwrite');
      assert.equal(puts[1].sha256, d.sha256);

      // delivered now: skipped, no further request, also after another restart
      assert.equal((await deliver('http', id)).skipped, true);
      await red.halt();
      red = await startRuntime({ userDir });
      assert.equal((await deliver('http', id)).skipped, true);
      assert.equal(puts.length, 2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

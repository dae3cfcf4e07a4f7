/**
 * A walk that delivers every asset of a gallery to a folder, in a real Node-RED, against the simulator's
 * own rate limit (a token bucket, no injected 429s): without a cap the flow rides out the refusals and
 * delivers each asset once; with the account's Requests/s below the bucket nothing is refused.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../helpers/sim';
import { debugTap, type DebugTap } from '../helpers/debug-tap';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime } from './runtime';

describe('a walk delivering to a folder against the simulator\'s rate limit (real Node-RED)', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let out: string;
  let galleries: Array<{ id: string; media: number }>;

  const flows = (gallery: string, limits: Record<string, unknown>) => [
    { id: 'tab1', type: 'tab', label: 'rate' },
    { id: 'acc1', type: 'photoshelter-account', name: 'limited', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', ...limits, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } },
    { id: 'dest1', type: 'photoshelter-destination', name: 'folder', kind: 'folder', folder: out, template: '{{asset.id}} {{asset.fileName}}' },
    { id: 'go', z: 'tab1', type: 'inject', name: 'walk', props: [{ p: 'payload' }], payload: '', payloadType: 'date', x: 100, y: 100, wires: [['walk']] },
    { id: 'walk', z: 'tab1', type: 'photoshelter-trigger', account: 'acc1', mode: 'walk', scope: gallery, window: 6, acknowledge: true, x: 250, y: 100, wires: [['put']] },
    // the deliver node fetches each original itself; its msg goes back to the walk as the acknowledgement
    { id: 'put', z: 'tab1', type: 'photoshelter-deliver', destination: 'dest1', account: 'acc1', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: 4, retries: 2, x: 400, y: 100, wires: [['walk', 'done']] },
    { id: 'done', z: 'tab1', type: 'debug', name: 'done', active: true, tosidebar: true, console: false, complete: 'delivery', targetType: 'msg', x: 550, y: 100, wires: [] },
    { id: 'c1', z: 'tab1', type: 'catch', scope: null, uncaught: false, x: 250, y: 200, wires: [['failed']] },
    { id: 'failed', z: 'tab1', type: 'debug', name: 'failed', active: true, tosidebar: true, console: true, complete: 'error', targetType: 'msg', x: 400, y: 200, wires: [] },
  ];
  /** Runs one walk of the gallery to its end; resolves with what the simulator logged meanwhile. */
  async function walkAll(gallery: string, limits: Record<string, unknown>) {
    await red.deploy(flows(gallery, limits));
    tap?.close();
    tap = await debugTap(red.url);
    await sim.control.clearRequests();
    assert.equal((await red.admin('POST', '/inject/go')).status, 200);
    await waitFor(() => tap.statuses('walk').at(-1)?.fill === 'green' || tap.from('failed').length > 0, 'the end of the walk', 150_000);
    assert.deepEqual(tap.from('failed'), [], 'no delivery failed');
    return sim.control.requests();
  }
  const delivered = () => (existsSync(out) ? readdirSync(out).filter((f) => !f.startsWith('.')) : []);

  before(async () => {
    sim = await startSim({ seed: 5, assets: 40 });
    out = mkdtempSync(join(tmpdir(), 'ps-ratelimit-'));
    galleries = (await sim.control.state()).galleries.filter((g) => g.media >= 5 && g.media <= 8);
    assert.ok(galleries.length >= 2, 'two small galleries');
    red = await startRuntime();
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('without Requests/s: the bucket refuses part of the walk\'s requests, and every asset is delivered once', async () => {
    const gallery = galleries[0];
    const ids = await sim.control.mediaIds(gallery.id);
    await sim.control.setRateLimit(3);
    const log = await walkAll(gallery.id, { maxConcurrency: 8, timeout: 30 });
    const refused = log.filter((e) => e.status === 429);
    assert.ok(refused.length >= 1, 'the simulator refused some requests');
    assert.ok(log.every((e) => e.faults.length === 0), 'its own limit: nothing injected');
    assert.deepEqual(delivered().map((f) => f.split(' ')[0]).sort(), [...ids].sort(), 'each asset of the gallery, once');
    assert.equal(log.filter((e) => e.status === 200 && e.path.endsWith('/download')).length, ids.length, 'each original downloaded once');
    assert.deepEqual(tap.json<{ skipped: boolean }>('done').map((d) => d.skipped), ids.map(() => false));
  });

  it('with Requests/s below the bucket: nothing is refused', async () => {
    const gallery = galleries[1];
    const ids = await sim.control.mediaIds(gallery.id);
    await sim.control.setRateLimit(4);
    const log = await walkAll(gallery.id, { maxConcurrency: 8, requestsPerSecond: 3, timeout: 30 });
    assert.deepEqual(log.filter((e) => e.status !== 200).map((e) => `${e.status} ${e.path}`), []);
    for (const id of ids) assert.ok(delivered().some((f) => f.startsWith(`${id} `)), `${id} delivered`);
  });
});

// One request budget across workers: three Node-RED processes on one PhotoShelter account, each reading
// assets as fast as its fetch node lets it, against the simulator's rate limit (a token bucket per account).
// Each takes a third of the account's requests per second: the simulator answers no 429 at all, and every
// message reaches the end of its flow. The control: at their full rate each, the same three make the
// simulator answer 429 (which the client retries), so the first result is the shares' doing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { startRuntime, type Runtime } from './runtime';

const RATE = 12;
const PER_WORKER = 30;

describe('one request budget: 3 workers share the account\'s rate limit (runtime, simulator)', function () {
  this.timeout(240_000);
  let sim: SimHandle;
  const workers: Runtime[] = [];
  let ids: string[];

  const flow = (share: number, n: number, file: string) => [
    { id: 'bud.tab', type: 'tab', label: 'budget' },
    { id: 'bud.acc', type: 'photoshelter-account', z: 'bud.tab', name: 'sim', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', maxConcurrency: 8, requestsPerSecond: RATE, share, timeout: 30, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } },
    { id: 'bud.go', type: 'inject', z: 'bud.tab', props: [{ p: 'payload' }], payload: '', payloadType: 'date', once: false, wires: [['bud.split']] },
    { id: 'bud.split', type: 'function', z: 'bud.tab', func: `const ids = ${JSON.stringify(ids.slice(n * PER_WORKER, (n + 1) * PER_WORKER))};\nreturn [ids.map((id) => ({ asset: { id } }))];`, outputs: 1, wires: [['bud.fetch']] },
    { id: 'bud.fetch', type: 'photoshelter-fetch', z: 'bud.tab', account: 'bud.acc', idProp: 'asset.id', idPropType: 'msg', includeIptc: true, includeCustom: true, mode: 'none', concurrency: 8, queue: 1000, wires: [['bud.ok']] },
    { id: 'bud.ok', type: 'function', z: 'bud.tab', func: `return { payload: 'ok ' + msg.asset.id + '\\n', filename: ${JSON.stringify(file)} };`, outputs: 1, wires: [['bud.file']] },
    { id: 'bud.catch', type: 'catch', z: 'bud.tab', scope: null, wires: [['bud.err']] },
    { id: 'bud.err', type: 'function', z: 'bud.tab', func: `return { payload: 'error ' + (msg.error && msg.error.message) + '\\n', filename: ${JSON.stringify(file)} };`, outputs: 1, wires: [['bud.file']] },
    { id: 'bud.file', type: 'file', z: 'bud.tab', filename: 'filename', filenameType: 'msg', appendNewline: false, createDir: true, overwriteFile: 'false', encoding: 'utf8', wires: [] },
  ];
  const out = (w: Runtime) => join(w.userDir, 'budget.log');
  const lines = (w: Runtime) => (existsSync(out(w)) ? readFileSync(out(w), 'utf8').trim().split('\n').filter(Boolean) : []);

  /** Deploys with the share, starts all three at once, waits for every result; returns the simulator's statuses. */
  async function round(share: number, tag: string): Promise<{ statuses: number[]; results: string[][] }> {
    await Promise.all(workers.map((w, n) => w.deploy(flow(share, n, out(w)))));
    const before = workers.map((w) => lines(w).length);
    await sim.control.clearRequests();
    await Promise.all(workers.map((w) => w.admin('POST', '/inject/bud.go')));
    await waitFor(async () => workers.every((w, n) => lines(w).length >= before[n] + PER_WORKER), `every message of ${tag} reached the end of its flow`, 180_000);
    const statuses = (await sim.control.requests()).filter((r) => r.path.includes('/media/')).map((r) => r.status);
    return { statuses, results: workers.map((w, n) => lines(w).slice(before[n])) };
  }

  before(async () => {
    sim = await startSim({ strict: true, seed: 3, assets: 120, rateLimit: RATE });
    ids = (await sim.control.mediaIds()).slice(0, 3 * PER_WORKER);
    assert.equal(ids.length, 3 * PER_WORKER);
    for (let i = 0; i < 3; i++) workers.push(await startRuntime());
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await sim?.close();
  });

  it('each takes a third (share 33%): no 429 from PhotoShelter, every message delivered', async () => {
    const { statuses, results } = await round(33, 'share 33%');
    assert.equal(statuses.filter((s) => s === 429).length, 0, `429 answers: ${statuses.filter((s) => s === 429).length} of ${statuses.length}`);
    assert.ok(statuses.length >= 3 * PER_WORKER * 2, `two reads per asset (${statuses.length})`);
    for (const r of results) assert.deepEqual(r.filter((l) => !l.startsWith('ok ')), [], 'no error reached a flow');
  });

  it('the control: each at the full rate, the simulator answers 429 (retried by the client)', async () => {
    const { statuses } = await round(100, 'share 100%');
    assert.ok(statuses.filter((s) => s === 429).length > 0, 'the rate limit was reached without shares');
  });
});

// A poll-mode trigger as the leader of workers, in a real runtime with a persistent context store: with
// "Issue again" set, its events wait in a bounded window for acknowledgements (msg.event.ackId sent back);
// a late one is issued again (msg.event.issue counts up); after the leader is killed (SIGKILL) and started
// again, the item that was still out is issued again and none is lost.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from './runtime';

describe('the trigger as a leader: poll mode with "Issue again" (runtime, persistent context)', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let log: string;
  let ids: string[];

  const flow = (acknowledge: boolean) => [
    { id: 'lead.tab', type: 'tab', label: 'leader', env: [] },
    { id: 'lead.acc', type: 'photoshelter-account', z: 'lead.tab', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', maxConcurrency: 4, timeout: 30, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } },
    { id: 'lead.trg', type: 'photoshelter-trigger', z: 'lead.tab', account: 'lead.acc', mode: 'changed', scope: '', interval: 3600, start: 'now', maxEvents: 100, window: 3, acknowledge: true, ackTimeout: 3, wires: [['lead.work']] },
    // the stand-in worker: logs every item it gets, and acknowledges it (or not: a worker that is stuck)
    { id: 'lead.work', type: 'function', z: 'lead.tab', outputs: 2, func: `const line = msg.asset.id + ' ' + msg.event.issue + ' ' + msg.event.ackId + '\\n';\nreturn [${acknowledge} ? { event: msg.event } : null, { payload: line, filename: ${JSON.stringify(log)} }];`, wires: [['lead.trg'], ['lead.file']] },
    { id: 'lead.file', type: 'file', z: 'lead.tab', filename: 'filename', filenameType: 'msg', appendNewline: false, createDir: true, overwriteFile: 'false', encoding: 'utf8', wires: [] },
  ];
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')) : []);

  before(async () => {
    sim = await startSim({ strict: true, seed: 4, assets: 30 });
    red = await startRuntime({ env: photoshelterEnv(sim) });
    log = join(red.userDir, 'worker.log');
    ids = (await sim.control.mediaIds()).slice(0, 5);
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
  });

  it('hands out at most the window, issues late items again, and after a kill and restart issues what was out; none is lost', async () => {
    await red.deploy(flow(false));
    // the first poll sets the start
    assert.equal((await red.admin('POST', '/photoshelter/trigger/lead.trg/poll')).status, 200);
    for (const id of ids) await sim.control.patchMedia(id, { iptc: { title: `changed ${id}` } });
    await pollAfterChange(sim, red, ['lead.trg']);
    // nothing is acknowledged: three go out (the window), and are issued again when late; the other two wait
    await waitFor(() => lines().filter((l) => Number(l[1]) >= 2).length >= 3, 'the three items out issued again', 60_000);
    await red.admin('POST', '/photoshelter/trigger/lead.trg/poll');
    const out = new Set(lines().map((l) => l[0]));
    assert.equal(out.size, 3, `only the window's three were handed out: ${[...out].join(', ')}`);
    assert.match(lines()[0][2], /^updated:I0000.*@\d{4}-/);
    // the leader crashes with them out (the context store has been flushed in the meantime)
    await new Promise((r) => setTimeout(r, 1500));
    const before = lines().length;
    await red.crash();
    red = await startRuntime({ userDir: red.userDir, env: photoshelterEnv(sim) });
    await red.deploy(flow(true));
    await waitFor(() => new Set(lines().slice(before).map((l) => l[0])).size === 5, 'after the restart: the three issued again, and the two that waited', 60_000);
    const after = lines().slice(before);
    for (const id of out) assert.ok(after.some((l) => l[0] === id && Number(l[1]) >= 3), `${id}: issued again, its count going on from before the crash`);
    for (const id of ids.filter((i) => !out.has(i))) assert.deepEqual(after.filter((l) => l[0] === id).map((l) => l[1]), ['1'], `${id}: handed out once`);
  });
});

/**
 * Known defect (fails today; not part of `npm test`): a walk's state is saved through Node-RED's context
 * store, which writes to disk every `flushInterval` (30 s by default). A Node-RED killed after the walk
 * started and before that write is not resumed: the assets it had sent, and all the others, are never sent
 * again, although the msg that started the walk was done. The fault suite shows it as "kill -9 mid-walk".
 *
 * Run: npx mocha test/known-defects/walk-start.test.ts (needs `npm run build`)
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSim, simAccountNode, type SimHandle } from '../helpers/sim';
import { startRuntime, type Runtime } from '../flows/runtime';

describe('known defect: a walk killed before the context store wrote its state', function () {
  this.timeout(120_000);
  let sim: SimHandle;
  let red: Runtime | undefined;
  let server: Server;
  const emitted: string[] = [];

  before(async () => {
    sim = await startSim({ seed: 21, assets: 40 });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        emitted.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await red?.stop();
    server.close();
    await sim.close();
  });

  it('resumes the walk after the restart', async () => {
    const gallery = (await sim.control.state()).galleries.find((g) => g.media >= 3) as { id: string };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // Node-RED's own default for a file store: written every 30 s
    const contextStorage = { default: { module: 'localfilesystem' } };
    red = await startRuntime({ contextStorage, env: { PHOTOSHELTER_TEST_CRASH_AT: 'walk@2' } });
    const userDir = red.userDir;
    await red.deploy([
      { id: 'w.tab', type: 'tab', label: 'walk' },
      simAccountNode(sim, 'w.acc'),
      { id: 'w.go', z: 'w.tab', type: 'inject', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [['w.trig']] },
      { id: 'w.trig', z: 'w.tab', type: 'photoshelter-trigger', account: 'w.acc', mode: 'walk', scope: gallery.id, window: 5, acknowledge: true, wires: [['w.id']] },
      { id: 'w.id', z: 'w.tab', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'asset.id', tot: 'msg' }], wires: [['w.post']] },
      { id: 'w.post', z: 'w.tab', type: 'http request', method: 'POST', ret: 'txt', url, wires: [] },
    ]);
    // the walk starts, sends two assets, and the process is killed (a crash point: SIGKILL)
    await red.admin('POST', '/inject/w.go').catch(() => undefined);
    const deadline = Date.now() + 30_000;
    while (!/crash point walk reached/.test(red.output())) {
      assert.ok(Date.now() < deadline, 'the crash point was reached');
      await new Promise((r) => setTimeout(r, 50));
    }
    await red.halt();
    emitted.length = 0;
    red = await startRuntime({ userDir, contextStorage });
    const until = Date.now() + 20_000;
    while (emitted.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.ok(emitted.length > 0, 'the restarted walk sends the assets again');
  });
});

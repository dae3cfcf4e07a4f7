/**
 * Bounded resources (class 8): the fetch node runs at most `concurrency` fetches and holds at most `queue`
 * waiting messages; one more is refused at once with a clear error a Catch node sees with the msg. What a
 * crash left behind (temporary files of folder deliveries, temporary folders of fetches) is removed at
 * start, and nothing else is.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountModule from '../../src/nodes/photoshelter-account';
import deliverModule from '../../src/nodes/photoshelter-deliver';
import destinationModule from '../../src/nodes/photoshelter-destination';
import fetchModule from '../../src/nodes/photoshelter-fetch';
import { FolderDestination } from '../../src/core/deliver/folder';
import { fetchSettings } from '../../src/core/fetch/settings';
import { sweepStaleTempDirs, TEMP_PREFIX } from '../../src/core/fetch/files';
import { WorkLimiter } from '../../src/core/limit';
import { startSim, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { filesIn, Inbox, outcome, withCatalogue } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: NodeAPI) => void;

helper.init(require.resolve('node-red'));
const accountNode = withCatalogue(accountModule);
const deliverNode = withCatalogue(deliverModule);
const destinationNode = withCatalogue(destinationModule);
const fetchNode = withCatalogue(fetchModule);

type Msg = Record<string, unknown> & { error?: { message?: string; code?: string } };

/** A process id that runs no process here (the highest ids are free on any ordinary system). */
function deadPid(): number {
  for (let pid = 4_194_000; pid > 4_000_000; pid--) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free process id found');
}

describe('security: bounded resources (class 8)', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let tmp: string;

  before(async () => {
    sim = await startSim({ seed: 4, assets: 12 });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-res-'));
    helper.settings({ userDir: join(tmp, 'user') });
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('the fetch node', () => {
    async function load(fetch: Record<string, unknown>) {
      const flow = [
        { id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' },
        { id: 'tab', type: 'tab' },
        { id: 'f1', type: 'photoshelter-fetch', z: 'tab', account: 'acc', mode: 'none', rendition: 'original', includeIptc: true, ...fetch, wires: [['ok']] },
        { id: 'ok', type: 'helper', z: 'tab' },
        { id: 'c', type: 'catch', z: 'tab', scope: null, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab' },
      ];
      await helper.load([accountNode, fetchNode, catchNode], flow as never, { acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } } as never);
      return { ok: new Inbox<Msg>(helper.getNode('ok') as never), caught: new Inbox<Msg>(helper.getNode('caught') as never) };
    }

    it('holds at most concurrency + queue messages: the next ones are refused at once with EQUEUEFULL, with their msg', async () => {
      const ids = await sim.control.mediaIds();
      const { ok, caught } = await load({ concurrency: 2, queue: 1 });
      // all five arrive in one go: two run, one waits, two are refused
      for (let i = 0; i < 5; i++) helper.getNode('f1').receive({ topic: `m${i}`, payload: ids[i] } as never);
      await waitFor(() => ok.msgs.length + caught.msgs.length === 5, 'every msg fetched or refused');
      assert.deepEqual(caught.msgs.map((m) => m.topic).sort(), ['m3', 'm4']);
      for (const m of caught.msgs) {
        assert.equal(m.error?.code, 'EQUEUEFULL');
        assert.match(String(m.error?.message), /Too many messages at once: 2 fetches are running and 1 messages are waiting/);
      }
      assert.deepEqual(ok.msgs.map((m) => m.topic).sort(), ['m0', 'm1', 'm2']);
    });
    it('runs 4 at once by default, never more (the limiter, counted)', async () => {
      const limiter = new WorkLimiter(fetchSettings({}).concurrency, fetchSettings({}).queue);
      assert.equal(limiter.concurrency, 4);
      let active = 0;
      let most = 0;
      await Promise.all(Array.from({ length: 20 }, async () => {
        const release = await limiter.acquire();
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setImmediate(r));
        active--;
        release();
      }));
      assert.equal(most, 4);
    });
    for (const [what, setting] of [['concurrency "lots"', { concurrency: 'lots' }], ['concurrency 0', { concurrency: 0 }], ['queue -1', { queue: -1 }]] as Array<[string, Record<string, unknown>]>) {
      it(`a fetch node with ${what} refuses every msg with a clear error`, async () => {
        const { caught } = await load(setting);
        const o = outcome(new Inbox<Msg>(helper.getNode('ok') as never), caught);
        helper.getNode('f1').receive({ topic: 'hostile', payload: 'I0000abcdefghijk' } as never);
        const r = await o;
        assert.ok(r.caught);
        assert.equal(r.caught.topic, 'hostile');
        assert.match(String(r.caught.error?.message), /must be a whole number/);
      });
    }
    it('names its temporary folders by process, so that a restart can tell what a crash left', async () => {
      const ids = await sim.control.mediaIds();
      const old = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      try {
        const { ok } = await load({ mode: 'temp', includeIptc: false });
        const o = outcome(ok, new Inbox<Msg>(helper.getNode('caught') as never));
        helper.getNode('f1').receive({ payload: ids[0] } as never);
        const r = await o;
        assert.ok(r.sent);
        assert.ok(String(r.sent.payload).startsWith(join(tmp, `${TEMP_PREFIX}${process.pid}-`)), String(r.sent.payload));
      } finally {
        if (old === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = old;
      }
    });
  });

  describe('at start', () => {
    it('removes the temporary folders of fetches whose process is gone, or of an earlier run with this id; keeps the rest', async () => {
      const dead = join(tmp, `${TEMP_PREFIX}${deadPid()}-abcdef`);
      const earlier = join(tmp, `${TEMP_PREFIX}${process.pid}-ghijkl`);
      const mine = join(tmp, `${TEMP_PREFIX}${process.pid}-mnopqr`);
      const alive = join(tmp, `${TEMP_PREFIX}${process.ppid}-stuvwx`);
      const foreign = join(tmp, 'photoshelter-something-else');
      for (const d of [dead, earlier, mine, alive, foreign]) {
        mkdirSync(d);
        writeFileSync(join(d, 'photo.jpg'), 'x');
      }
      const past = new Date(Date.now() - process.uptime() * 1000 - 60_000);
      utimesSync(earlier, past, past);
      assert.equal(await sweepStaleTempDirs(tmp), 2);
      assert.deepEqual([dead, earlier, mine, alive, foreign].map(existsSync), [false, false, true, true, true]);
    });
    it('a folder destination removes the temporary files an interrupted delivery left, older than its start only', async () => {
      const base = join(tmp, 'base');
      mkdirSync(join(base, 'a', 'b'), { recursive: true });
      const stale = [join(base, '.photo.jpg.0123456789ab.part'), join(base, 'a', 'b', '.Ωμέγα.jpg.abcdefabcdef.part')];
      const kept = [join(base, 'photo.jpg'), join(base, '.notes.part'), join(base, 'a', 'x.part'), join(base, 'a', '.fresh.jpg.fedcba987654.part')];
      const past = new Date(Date.now() - 3_600_000);
      for (const f of [...stale, ...kept]) writeFileSync(f, 'x');
      for (const f of [...stale, ...kept.slice(0, 3)]) utimesSync(f, past, past);
      // the fresh one is being written by this run
      const future = new Date(Date.now() + 3_600_000);
      utimesSync(kept[3], future, future);
      const flow = [
        { id: 'dest', type: 'photoshelter-destination', name: 'out', kind: 'folder', folder: base },
        { id: 'tab', type: 'tab' },
        { id: 'd1', type: 'photoshelter-deliver', z: 'tab', destination: 'dest', action: 'put', actionType: 'str', template: 'new.jpg', sidecar: 'none', overwrite: 'overwrite', concurrency: 1, retries: 0, wires: [['ok']] },
        { id: 'ok', type: 'helper', z: 'tab' },
      ];
      await helper.load([destinationNode, deliverNode], flow as never);
      const ok = new Inbox<Msg>(helper.getNode('ok') as never);
      helper.getNode('d1').receive({ asset: { id: 'I0000abcdefghijk', versionKey: 'v', fileName: 'new.jpg' }, payload: Buffer.from('x') } as never);
      await waitFor(() => ok.msgs.length === 1 && stale.every((f) => !existsSync(f)), 'the delivery and the clean-up');
      assert.deepEqual(kept.map(existsSync), [true, true, true, true]);
      assert.deepEqual(filesIn(base).filter((f) => !f.startsWith('.') && !f.includes('/.')), ['a/x.part', 'new.jpg', 'photo.jpg']);
    });
    it('the clean-up never follows a link out of the base folder', async () => {
      const base = join(tmp, 'base');
      const outside = join(tmp, 'outside');
      mkdirSync(base);
      mkdirSync(outside);
      const victim = join(outside, '.photo.jpg.0123456789ab.part');
      writeFileSync(victim, 'x');
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(victim, past, past);
      symlinkSync(outside, join(base, 'link'));
      assert.equal(await new FolderDestination({ base }).cleanup(), 0);
      assert.ok(existsSync(victim));
    });
  });
});

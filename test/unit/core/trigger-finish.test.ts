/**
 * A poll-mode trigger and the flow finishing its events: an event handed on is kept (saved with the
 * position) until the flow has finished it, so that a process killed before then sends it again after the
 * restart; a window full of unfinished events holds the polls back, and says so; without a way to know
 * when the flow finished an event (no messaging hooks), an event counts as finished once handed on.
 */
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { resolveTrigger, type TriggerSettings } from '../../../src/core/trigger/config';
import { createTrigger, type TriggerMessage, type TriggerReport, type TriggerRunner } from '../../../src/core/trigger/runner';
import type { SavedWindow, WindowStore } from '../../../src/core/trigger/reissue';
import { MemoryStore } from '../../../src/core/trigger/state';
import { startSim, type SimHandle } from '../../helpers/sim';
import { waitFor } from '../../helpers/wait';

class MemoryWindow implements WindowStore<TriggerMessage> {
  saved?: string;
  async load(): Promise<SavedWindow<TriggerMessage> | undefined> {
    return this.saved ? (JSON.parse(this.saved) as SavedWindow<TriggerMessage>) : undefined;
  }
  async save(w: SavedWindow<TriggerMessage>): Promise<void> {
    this.saved = JSON.stringify(w);
  }
}

interface Sent {
  msg: TriggerMessage;
  finished?: () => void;
}

describe('a poll-mode trigger and the events the flow has not finished', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let client: PhotoShelterClient;
  const runners: TriggerRunner[] = [];

  beforeEach(async () => {
    sim = await startSim({ seed: 13, assets: 40 });
    client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
    await client.session();
  });
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    await client.close();
    await sim.close();
  });

  /** A trigger over these stores, as a process runs it; `sent` gets every msg with its `finished`. */
  function trigger(stores: { store: MemoryStore; windowStore: MemoryWindow }, settings: TriggerSettings = {}, completion = true) {
    const sent: Sent[] = [];
    const held: number[] = [];
    const failures: unknown[] = [];
    const report: TriggerReport = {
      send: (msg, finished) => void sent.push({ msg, finished }),
      held: (n) => void held.push(n),
      backoff: () => undefined,
      polling: () => undefined,
      polled: () => undefined,
      nothingVisible: () => undefined,
      pollFailed: (e) => void failures.push(e),
      startFailed: (e) => void failures.push(e),
      walkIdle: () => undefined,
      walkProgress: () => undefined,
      walkResumed: () => undefined,
      walkFailed: (e) => void failures.push(e),
      windowFailed: (e) => void failures.push(e),
    };
    const cfg = resolveTrigger({ mode: 'changed', interval: 3600, start: 'now', ...settings });
    const runner = createTrigger(cfg, { client, timeZone: 'UTC', accountId: 'acc', ...stores, completion, report });
    runners.push(runner);
    return { runner, sent, held, failures };
  }
  const settle = async () => {
    await sim.control.clock(3);
    await client.session();
  };
  const ids = (sent: Sent[]) => sent.map((s) => s.msg.asset.id);

  it('sends again, after a restart, the events that were sent but never finished (and only those)', async () => {
    const stores = { store: new MemoryStore(), windowStore: new MemoryWindow() };
    await settle();
    const first = trigger(stores);
    first.runner.start();
    await first.runner.pollNow?.(); // the position: now
    const [a, b] = await sim.control.mediaIds();
    await sim.control.patchMedia(a, { replaceFile: true });
    await sim.control.patchMedia(b, { iptc: { title: 'finished in time' } });
    await settle();
    await first.runner.pollNow?.();
    assert.deepEqual(ids(first.sent).sort(), [a, b].sort(), 'the changes are sent');
    // the flow finishes b; a is still under way when the process dies (no stop: the stores keep what was saved)
    first.sent.find((s) => s.msg.asset.id === b)?.finished?.();
    await waitFor(async () => !(await stores.windowStore.load())?.items.some((i) => i.item.asset.id === b), 'b out of the saved window');
    runners.splice(0);
    const second = trigger(stores);
    second.runner.start();
    await waitFor(() => second.sent.length > 0, 'the unfinished event sent again');
    await settle();
    await second.runner.pollNow?.();
    assert.deepEqual(ids(second.sent), [a], 'a again, once; b not, and the position did not move back');
    assert.equal(second.sent[0].msg.event.type, 'updated');
    assert.deepEqual(second.failures, []);
    // finished now: after the next restart nothing comes again
    second.sent[0].finished?.();
    await second.runner.stop();
    runners.splice(0);
    const third = trigger(stores);
    third.runner.start();
    await settle();
    await third.runner.pollNow?.();
    assert.deepEqual(ids(third.sent), []);
  });

  it('a window full of unfinished events holds the polls back and says so, once; a finished one lets the next poll in', async () => {
    const stores = { store: new MemoryStore(), windowStore: new MemoryWindow() };
    await settle();
    const t = trigger(stores, { window: 2 });
    t.runner.start();
    await t.runner.pollNow?.();
    const changed = (await sim.control.mediaIds()).slice(0, 3);
    for (const id of changed) await sim.control.patchMedia(id, { iptc: { title: 'three changes' } });
    await settle();
    await t.runner.pollNow?.();
    assert.equal(t.sent.length, 2, 'a poll brings at most the room in the window');
    await t.runner.pollNow?.();
    await t.runner.pollNow?.();
    assert.equal(t.sent.length, 2, 'no poll while the window is full');
    assert.deepEqual(t.held, [2], 'said once, with the count');
    t.sent[0].finished?.();
    await t.runner.pollNow?.();
    assert.deepEqual(ids(t.sent).sort(), [...changed].sort(), 'the third once there was room');
  });

  it('without a way to know when the flow finished an event, it counts as finished once sent: a restart sends nothing again', async () => {
    const stores = { store: new MemoryStore(), windowStore: new MemoryWindow() };
    await settle();
    const first = trigger(stores, {}, false);
    first.runner.start();
    await first.runner.pollNow?.();
    const [a] = await sim.control.mediaIds();
    await sim.control.patchMedia(a, { iptc: { title: 'no hooks' } });
    await settle();
    await first.runner.pollNow?.();
    assert.deepEqual(ids(first.sent), [a]);
    assert.equal(first.sent[0].finished, undefined, 'nothing to call back');
    assert.equal(stores.windowStore.saved, undefined, 'no window');
    runners.splice(0);
    const second = trigger(stores, {}, false);
    second.runner.start();
    await settle();
    await second.runner.pollNow?.();
    assert.deepEqual(ids(second.sent), []);
  });
});

/**
 * A trigger killed with SIGKILL, with Node-RED's file context store as settings.js configures it by
 * default (`localfilesystem`, flushInterval 30 s). The trigger stores its position after each poll's
 * messages were sent, but the store writes to disk only every flushInterval: what a crash repeats is
 * every poll since the last flush (up to 30 s of them), not only the last one. A clean stop flushes at
 * once and repeats nothing. The help of the trigger says so.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, type SimHandle, simAccountNode } from '../helpers/sim';
import { debugTap } from '../helpers/debug-tap';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from './runtime';

/** Node-RED's own default for a file store: no flushInterval set (30 s). */
const FILE_STORE = { default: { module: 'localfilesystem' } };

describe('a trigger killed with SIGKILL (file context store, default flush every 30 s)', function () {
  this.timeout(240_000);
  let sim: SimHandle;
  let red: Runtime | undefined;
  const outputs: string[] = [];

  const flows = () => [
    { id: 'tab1', type: 'tab', label: 'crash' },
    simAccountNode(sim, 'acc1'),
    { id: 'trg', z: 'tab1', type: 'photoshelter-trigger', account: 'acc1', mode: 'changed', interval: 3600, start: 'now', maxEvents: 100, x: 150, y: 80, wires: [['seen']] },
    { id: 'seen', z: 'tab1', type: 'function', name: 'emitted', func: "node.log('emitted ' + msg.asset.id);\nreturn null;", outputs: 1, x: 350, y: 80, wires: [[]] },
  ];
  /** How often each asset was emitted, over every runtime of this test. */
  const emitted = (id: string) => [...outputs, red?.output() ?? ''].join('\n').split(`emitted ${id}`).length - 1;
  const contextFile = () => join((red as Runtime).userDir, 'context', 'tab1', 'trg.json');
  /** The position as the file store last wrote it to disk. */
  const onDisk = (): string | undefined => {
    if (!existsSync(contextFile())) return undefined;
    const state = (JSON.parse(readFileSync(contextFile(), 'utf8')) as Record<string, { positions: Record<string, { at: string }> }>)['photoshelter-trigger'];
    return state?.positions['*']?.at;
  };
  /** The position the trigger stored last, as the runtime holds it (the file store's cache). */
  const inMemory = async (): Promise<string | undefined> => {
    const res = await (red as Runtime).admin<Record<string, Record<string, { msg: string }>>>('GET', '/context/node/trg');
    const entry = res.body?.default?.['photoshelter-trigger'];
    return entry ? (JSON.parse(entry.msg) as { positions: Record<string, { at: string }> }).positions['*']?.at : undefined;
  };
  const start = async (userDir?: string) => {
    if (red) outputs.push(red.output());
    red = await startRuntime({ userDir, contextStorage: FILE_STORE });
  };
  /** The trigger's first poll after a start is done: its status says "polled". */
  const firstPoll = async () => {
    const tap = await debugTap((red as Runtime).url);
    try {
      await waitFor(() => tap.polls('trg').length >= 1, 'the first poll after the start', 60_000);
    } finally {
      tap.close();
    }
  };
  const change = async (id: string, caption: string) => {
    await sim.control.patchMedia(id, { iptc: { caption } });
    await pollAfterChange(sim, red as Runtime, ['trg']);
    await waitFor(() => emitted(id) >= 1, `${id} emitted`);
  };

  before(async () => {
    sim = await startSim({ seed: 41, assets: 30 });
    await start();
    await (red as Runtime).deploy(flows());
    await firstPoll();
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
  });

  let ids: string[];
  it('a clean stop writes the position at once', async () => {
    ids = (await sim.control.mediaIds()).slice(0, 5);
    assert.equal(onDisk(), undefined, 'nothing on disk yet: the first flush is 30 s after the first poll');
    await (red as Runtime).halt();
    assert.ok(onDisk(), 'the position is on disk after a clean stop');
    await start((red as Runtime).userDir);
    await firstPoll();
  });

  it('SIGKILL within the flush interval repeats every poll since the last flush, not only the last one', async () => {
    const flushed = onDisk();
    const [a, b, c] = ids;
    await change(a, 'first poll after the restart');
    await change(b, 'second poll');
    assert.notEqual(await inMemory(), flushed, 'the trigger has stored newer positions');
    assert.equal(onDisk(), flushed, 'both are in memory only: the file store has not flushed yet');
    await (red as Runtime).crash();
    await sim.control.patchMedia(c, { iptc: { caption: 'while Node-RED was down' } });
    await sim.control.clock(3);
    await start((red as Runtime).userDir);
    await firstPoll();
    // the start's poll reads from the position on disk: a and b again (two polls' worth), c once
    assert.deepEqual([emitted(a), emitted(b), emitted(c)], [2, 2, 1]);
  });

  it('once the store has flushed (30 s after the first write since the last flush), a SIGKILL repeats nothing', async () => {
    const [, , , d, e] = ids;
    await change(d, 'before the flush');
    const afterD = await inMemory();
    assert.ok(afterD && afterD !== onDisk(), 'the position after d is in memory, not yet on disk');
    // the file store's own flush, 30 s after the start's poll wrote the position: the decisive event
    await waitFor(() => onDisk() === afterD, 'the file store to flush the position after d', 60_000);
    await (red as Runtime).crash();
    await sim.control.patchMedia(e, { iptc: { caption: 'while Node-RED was down, again' } });
    await sim.control.clock(3);
    await start((red as Runtime).userDir);
    await firstPoll();
    assert.deepEqual([emitted(d), emitted(e)], [1, 1], 'd was flushed before the crash: not repeated');
  });
});

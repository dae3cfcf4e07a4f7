/**
 * The re-issue window of a leader trigger: bounded, an item issued again when its acknowledgement is
 * late (and not otherwise), one send per key, saved before it is sent, and issued again after a restart.
 */
import assert from 'node:assert/strict';
import { ReissueWindow, type SavedWindow, type WindowStore } from '../../../src/core/trigger/reissue';

class Store<T> implements WindowStore<T> {
  saved?: string;
  saves = 0;
  async load(): Promise<SavedWindow<T> | undefined> {
    return this.saved ? (JSON.parse(this.saved) as SavedWindow<T>) : undefined;
  }
  async save(w: SavedWindow<T>): Promise<void> {
    this.saves++;
    this.saved = JSON.stringify(w);
  }
}

describe('core/trigger/reissue: the window of unacknowledged items', () => {
  let now = 1_000_000;
  const clock = () => now;
  const windows: Array<ReissueWindow<unknown>> = [];
  const make = <T>(o: Partial<ConstructorParameters<typeof ReissueWindow<T>>[0]> & { sent: Array<[T, number]> }) => {
    const w = new ReissueWindow<T>({ timeoutMs: 10_000, capacity: 3, now: clock, send: (item, { issues }) => o.sent.push([item, issues]), saveDelayMs: 1, ...o });
    windows.push(w as ReissueWindow<unknown>);
    return w;
  };
  afterEach(async () => {
    for (const w of windows.splice(0)) await w.stop();
  });

  it('sends each item once; a late one is sent again with its issue count, an acknowledged one never', async () => {
    const sent: Array<[string, number]> = [];
    const w = make<string>({ sent });
    await w.start();
    assert.equal(await w.issue([{ key: 'a', item: 'A' }, { key: 'b', item: 'B' }, { key: 'a', item: 'A again' }]), 2);
    assert.deepEqual(sent, [['A', 1], ['B', 1]]);
    assert.equal(await w.issue([{ key: 'b', item: 'B' }]), 0, 'a key waiting already is not sent again now');
    now += 5_000;
    assert.equal(w.reissueDue(), 0, 'not late yet');
    assert.equal(w.ack('a'), true);
    assert.equal(w.ack('a'), false, 'a second acknowledgement is ignored');
    now += 5_000;
    assert.equal(w.reissueDue(), 1);
    assert.deepEqual(sent.at(-1), ['B', 2]);
    now += 10_000;
    w.reissueDue();
    assert.deepEqual(sent.at(-1), ['B', 3]);
    assert.equal(w.reissued, 2);
    w.ack('b');
    now += 60_000;
    assert.equal(w.reissueDue(), 0);
  });

  it('is bounded: room() waits while it is full and says how much room there is', async () => {
    const w = make<number>({ sent: [] });
    await w.start();
    assert.equal(await w.room(), 3);
    await w.issue([1, 2, 3].map((n) => ({ key: String(n), item: n })));
    let room: number | undefined;
    const waiting = w.room().then((r) => (room = r));
    await new Promise((r) => setImmediate(r));
    assert.equal(room, undefined, 'no room while full');
    w.ack('2');
    await waiting;
    assert.equal(room, 1);
    const ac = new AbortController();
    await w.issue([{ key: '4', item: 4 }]);
    const aborted = w.room(ac.signal);
    ac.abort(new Error('stopped'));
    await assert.rejects(aborted, /stopped/);
  });

  it('persistent: saved before it is sent; after a restart the items are issued again once due, under the same configuration only', async () => {
    const store = new Store<string>();
    const sent: Array<[string, number]> = [];
    const first = make<string>({ sent, store, configKey: 'k1', send: (item, { issues }) => {
      assert.ok(store.saved?.includes(item), `${item} was saved before it was sent`);
      sent.push([item, issues]);
    } });
    await first.start();
    await first.issue([{ key: 'a', item: 'A' }, { key: 'b', item: 'B' }]);
    first.ack('a');
    await first.stop();
    assert.deepEqual((JSON.parse(store.saved as string) as SavedWindow<string>).items.map((i) => i.key), ['b']);
    // the leader comes back: B waits its time, then goes out again
    const again: Array<[string, number]> = [];
    const second = make<string>({ sent: again, store, configKey: 'k1' });
    assert.equal(await second.start(), 1);
    assert.equal(second.reissueDue(), 0);
    now += 10_000;
    assert.equal(second.reissueDue(), 1);
    assert.deepEqual(again, [['B', 2]]);
    await second.stop();
    // another configuration starts empty
    const other = make<string>({ sent: [], store, configKey: 'k2' });
    assert.equal(await other.start(), 0);
  });

  it('its timer issues a late item by itself', async () => {
    const sent: Array<[string, number]> = [];
    const w = new ReissueWindow<string>({ timeoutMs: 50, capacity: 2, send: (item, { issues }) => sent.push([item, issues]) });
    windows.push(w as ReissueWindow<unknown>);
    await w.start();
    await w.issue([{ key: 'x', item: 'X' }]);
    const deadline = Date.now() + 5_000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(sent.slice(0, 2), [['X', 1], ['X', 2]]);
  });
});

/**
 * A trigger's stored state that cannot be read is an explicit error, never "no state": taken for no state,
 * the trigger would start again from "now" and skip, unnoticed, every change since its last position.
 */
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { configKeyOf, TriggerPoller, type PollerOptions } from '../../../src/core/trigger/poller';
import { asState, MemoryStore, TriggerStateError, type StateStore, type TriggerState } from '../../../src/core/trigger/state';
import { startSim, type SimHandle } from '../../helpers/sim';

const KEY = configKeyOf({ mode: 'changed', scopes: [] });
const good = (): TriggerState => ({ v: 1, configKey: KEY, positions: { '*': { at: '2024-05-01T10:00:00.000Z', seen: ['I0000aaaaaaaaaaa@2024-05-01T10:00:00.123456'] } } });

/** A store holding exactly what it was given, and recording what is saved. */
class RawStore implements StateStore {
  saved: TriggerState[] = [];
  constructor(public raw: unknown) {}
  async load(): Promise<TriggerState | undefined> {
    return this.raw as TriggerState | undefined;
  }
  async save(s: TriggerState): Promise<void> {
    this.saved.push(s);
    this.raw = s;
  }
}

describe('core/trigger: stored state that cannot be read', () => {
  it('nothing stored, or a state of another configuration, is no state: the trigger starts as configured', () => {
    assert.equal(asState(undefined, KEY), undefined);
    assert.equal(asState(null, KEY), undefined);
    assert.equal(asState({ ...good(), configKey: configKeyOf({ mode: 'changed', scopes: [{ kind: 'gallery', id: 'G0000aaaaaaaaaaa' }] }) }, KEY), undefined);
    assert.deepEqual(asState(good(), KEY), good());
    const full: TriggerState = { ...good(), matching: ['I0000aaaaaaaaaaa'], recent: [['I0000aaaaaaaaaaa', 'Approved'], ['I0000bbbbbbbbbbb', null]], baselineDone: true, galleries: { ids: ['G0000aaaaaaaaaaa'], pollsSinceRefresh: 3, refreshedAt: '2024-05-01T10:00:00.000Z' } };
    assert.deepEqual(asState(full, KEY), full);
  });

  it('anything else is TriggerStateError (ESTATE), naming what is wrong and how to start again', () => {
    const damaged: Array<[unknown, RegExp]> = [
      ['{"v":1', /a string instead of an object/],
      [42, /a number instead of an object/],
      [[good()], /a list instead of an object/],
      [{ ...good(), v: 2 }, /format 2, this version reads format 1/],
      [{ positions: {} }, /format missing/],
      [{ v: 1, positions: {} }, /no configuration key/],
      [{ v: 1, configKey: KEY }, /no positions/],
      [{ ...good(), positions: { '*': { at: 'yesterday', seen: [] } } }, /the position of \* is not a time/],
      [{ ...good(), positions: { '*': { at: '2024-05-01T10:00:00Z' } } }, /has no list of records seen/],
      [{ ...good(), positions: { '*': null } }, /is not a time/],
      [{ ...good(), matching: 'I0000aaaaaaaaaaa' }, /matching assets are not a list of ids/],
      [{ ...good(), recent: [['I0000aaaaaaaaaaa']] }, /last values seen are not a list/],
      [{ ...good(), recent: {} }, /last values seen are not a list/],
      [{ ...good(), baselineDone: 'yes' }, /baseline flag/],
      [{ ...good(), galleries: { ids: ['G0000aaaaaaaaaaa'] } }, /galleries under the chosen collections/],
    ];
    for (const [raw, why] of damaged) {
      assert.throws(
        () => asState(raw, KEY),
        (e: unknown) => e instanceof TriggerStateError && e.code === 'ESTATE' && why.test(e.message) && /delete the file/.test(e.message),
        JSON.stringify(raw),
      );
    }
  });

  describe('in a poller against the simulator', function () {
    this.timeout(30_000);
    let sim: SimHandle;
    let client: PhotoShelterClient;
    const options = (o: Partial<PollerOptions> = {}): PollerOptions => ({ mode: 'changed', scopes: [], start: { from: 'now' }, maxEvents: 100, include: [], timeZone: 'UTC', now: () => client.serverNow(), ...o });

    before(async () => {
      sim = await startSim({ seed: 13, assets: 30 });
      client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
      await client.session();
    });
    after(async () => {
      await client.close();
      await sim.close();
    });

    it('a damaged position fails the poll and is left as it is; once removed, the trigger starts again as configured', async () => {
      // a position whose time cannot be read: before, every poll skipped that scope, for ever, without a word
      const raw = { v: 1, configKey: KEY, positions: { '*': { at: 'not a time', seen: [] } } };
      const store = new RawStore(structuredClone(raw));
      const p = new TriggerPoller(client, options(), store);
      await sim.control.patchMedia((await sim.control.mediaIds())[0], { iptc: { caption: 'changed while the state was damaged' } });
      await assert.rejects(p.needsBaseline(), { code: 'ESTATE' });
      await assert.rejects(p.poll(), (e: unknown) => e instanceof TriggerStateError && /position of \* is not a time/.test(e.message));
      await assert.rejects(p.poll(), { code: 'ESTATE' }, 'and the next poll again: nothing is cached');
      assert.deepEqual(store.raw, raw, 'the stored value is untouched');
      assert.equal(store.saved.length, 0);
      // the user removes it (the Context sidebar): the next poll reads the store again and starts afresh
      store.raw = undefined;
      const r = await p.poll();
      await p.commit(r);
      assert.equal(store.saved.length, 1);
      assert.ok(!Number.isNaN(Date.parse(store.saved[0].positions['*'].at)));
    });

    it('a state this version wrote reads back', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options(), store);
      await p.commit(await p.poll());
      const again = new TriggerPoller(client, options(), store);
      assert.equal((await again.poll()).events.length, 0);
    });
  });
});

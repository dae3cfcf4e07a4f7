import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { Walker, type WalkEmit, type WalkOptions } from '../../../src/core/trigger/walker';
import { MemoryStore } from '../../../src/core/trigger/state';
import { startSim, type SimHandle } from '../../helpers/sim';
import { waitFor } from '../../helpers/wait';
import { assertEvidenced } from '../../helpers/evidence';


describe('core/trigger: walk', function () {
  let sim: SimHandle;
  let client: PhotoShelterClient;
  const opts = (o: Partial<WalkOptions> = {}): WalkOptions => ({ window: 5, acknowledge: true, include: ['iptc'], timeZone: 'UTC', perPage: 7, ...o });

  before(async () => {
    sim = await startSim({ strict: true, seed: 5, assets: 120 });
    client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
  });
  after(async () => {
    try {
      assertEvidenced(await sim.control.requests());
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('emits every asset of the library once, with its path, never more than the window in flight', async () => {
    const got: WalkEmit[] = [];
    let maxInFlight = 0;
    let inFlight = 0;
    const walker = new Walker(client, new MemoryStore(), 'k', opts(), (item) => {
      got.push(item);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setImmediate(() => {
        inFlight--;
        walker.ack(item.walkId, item.index);
      });
    });
    await walker.start({ kind: 'library' });
    await waitFor(() => walker.progress()?.done === true, 'the walk to finish');
    const all = await sim.control.mediaIds();
    const ids = got.map((g) => g.asset.id);
    assert.equal(new Set(ids).size, ids.length, 'no asset twice');
    assert.deepEqual([...ids].sort(), [...all].sort(), 'every asset');
    assert.ok(maxInFlight <= 5, `in flight ${maxInFlight}`);
    assert.deepEqual(got.map((g) => g.index), got.map((_, i) => i));
    assert.equal(got[got.length - 1].count, got.length, 'the last one carries the count');
    assert.ok(got.slice(0, -1).every((g) => g.count === undefined));
    const state = await sim.control.state();
    for (const g of got.slice(0, 10)) {
      const p = g.asset.paths?.[0];
      assert.ok(p && p.galleryId === g.galleryId && p.ids[p.ids.length - 1] === g.galleryId);
      assert.equal(g.asset.path, p.names.join('/'));
      assert.ok(state.galleries.some((x) => x.id === g.galleryId));
    }
  });

  it('reads no parts when none are wanted: the listings are all the requests, each asset once', async () => {
    const got: WalkEmit[] = [];
    await sim.control.clearRequests();
    const walker = new Walker(client, new MemoryStore(), 'k', opts({ include: [], acknowledge: false }), (item) => got.push(item));
    await walker.start({ kind: 'library' });
    await waitFor(() => walker.progress()?.done === true, 'the walk to finish');
    const all = await sim.control.mediaIds();
    assert.deepEqual(got.map((g) => g.asset.id).sort(), [...all].sort());
    assert.ok(got.every((g) => g.asset.iptc === undefined && g.asset.paths?.length === 1));
    const perMedium = (await sim.control.requests()).filter((r) => /^\/media\//.test(r.path));
    assert.deepEqual(perMedium, [], 'no request per asset');
  });

  it('stops at the window until acknowledgements arrive', async () => {
    const got: WalkEmit[] = [];
    const walker = new Walker(client, new MemoryStore(), 'k', opts({ window: 4 }), (item) => got.push(item));
    await walker.start({ kind: 'library' });
    await waitFor(() => got.length === 4, 'four items');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(got.length, 4, 'no fifth item without an acknowledgement');
    walker.ack(got[1].walkId, got[1].index);
    await waitFor(() => got.length === 5, 'a fifth item');
    assert.equal(walker.ack('another-walk', 0), false, 'foreign acknowledgements are ignored');
    await walker.stop();
  });

  it('resumes after a stop at the first unacknowledged asset: nothing lost, repeats only the unacknowledged', async () => {
    const store = new MemoryStore();
    const first: WalkEmit[] = [];
    const w1 = new Walker(client, store, 'k', opts(), (item) => first.push(item));
    await w1.start({ kind: 'library' });
    // acknowledge the first 23 as they come, leave the rest in flight
    const acked = new Set<string>();
    while (acked.size < 23) {
      await waitFor(() => first.length > acked.size, 'more items');
      const item = first[acked.size];
      w1.ack(item.walkId, item.index);
      acked.add(item.asset.id);
    }
    await waitFor(() => first.length === 28, 'a full window');
    await w1.stop();

    const second: WalkEmit[] = [];
    const w2 = new Walker(client, store, 'k', opts(), (item) => {
      second.push(item);
      setImmediate(() => w2.ack(item.walkId, item.index));
    });
    assert.equal(await w2.resume(), true);
    await waitFor(() => w2.progress()?.done === true, 'the resumed walk to finish');
    const all = await sim.control.mediaIds();
    const union = new Set([...acked, ...second.map((s) => s.asset.id)]);
    assert.deepEqual([...union].sort(), [...all].sort(), 'nothing lost');
    assert.equal(second.filter((s) => acked.has(s.asset.id)).length, 0, 'nothing acknowledged is repeated');
    assert.equal(second[0].index, 23, 'indexes continue');
    assert.equal(await w2.resume(), false, 'a finished walk does not resume');
  });

  it('walks one collection and refuses a second walk while one runs', async () => {
    const state = await sim.control.state();
    const top = state.collections.find((c) => c.parent === null) as { id: string };
    const got: WalkEmit[] = [];
    const walker = new Walker(client, new MemoryStore(), 'k', opts({ acknowledge: false }), (item) => got.push(item));
    await walker.start({ kind: 'collection', id: top.id });
    await assert.rejects(walker.start({ kind: 'library' }), { code: 'EWALKBUSY' });
    await waitFor(() => walker.progress()?.done === true, 'the walk to finish');
    // expected: media of every gallery below the collection
    const below = new Set<string>();
    const queue = [top.id];
    while (queue.length) {
      const c = queue.shift() as string;
      for (const child of state.collections.filter((x) => x.parent === c)) queue.push(child.id);
      for (const g of state.galleries.filter((x) => x.parents.includes(c))) below.add(g.id);
    }
    const expected = new Set<string>();
    for (const g of below) for (const id of await sim.control.mediaIds(g)) expected.add(id);
    assert.deepEqual(got.map((g) => g.asset.id).sort(), [...expected].sort());
    assert.ok(got.every((g) => g.asset.paths?.[0].ids[0] === top.id), 'paths start at the root collection');
  });
});

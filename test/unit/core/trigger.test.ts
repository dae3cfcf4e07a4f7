import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import { TriggerPoller, type PollerOptions } from '../../../src/core/trigger/poller';
import { MemoryStore } from '../../../src/core/trigger/state';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertEvidenced } from '../../helpers/evidence';

describe('core/trigger: polling against the simulator', function () {
  let sim: SimHandle;
  let client: PhotoShelterClient;

  const options = (o: Partial<PollerOptions> = {}): PollerOptions => ({
    mode: 'changed',
    scopes: [],
    start: { from: 'now' },
    maxEvents: 100,
    include: ['iptc', 'custom'],
    timeZone: 'UTC',
    now: () => client.serverNow(),
    ...o,
  });
  /** Let the writes settle: move the simulator's clock on, and let the client see the new time. */
  const settle = async () => {
    await sim.control.clock(3);
    await client.session();
  };
  const mediaRequests = async () => (await sim.control.requests()).filter((r) => !r.path.startsWith('/authenticate') && !r.path.startsWith('/organization'));

  beforeEach(async () => {
    sim = await startSim({ strict: true, seed: 11, assets: 80 });
    client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
    await client.session();
  });
  afterEach(async function () {
    // every request the trigger made (since the last clear) is one the API reference evidences
    try {
      if (this.currentTest?.state === 'passed') assertEvidenced(await sim.control.requests());
    } finally {
      await client.close();
      await sim.close();
    }
  });

  async function pollAndCommit(p: TriggerPoller) {
    await settle();
    const r = await p.poll();
    await p.commit(r);
    return r;
  }

  describe('changed', () => {
    it('emits nothing at first, then created and updated once each; an unchanged poll costs one request', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options(), store);
      assert.equal((await pollAndCommit(p)).events.length, 0);
      const [gallery] = (await sim.control.state()).galleries;
      const [existing] = await sim.control.mediaIds(gallery.id);
      await sim.control.patchMedia(existing, { iptc: { caption: 'A new caption' } });
      const created = await sim.control.addMedia({ galleryId: gallery.id, fileName: 'new upload.jpg', size: 2048 });
      const r = await pollAndCommit(p);
      const byId = new Map(r.events.map((e) => [e.asset.id, e]));
      assert.equal(r.events.length, 2);
      assert.equal(byId.get(existing)?.topic, 'updated');
      assert.equal(byId.get(existing)?.asset.iptc?.caption, 'A new caption');
      assert.equal(byId.get(created)?.topic, 'created');
      await settle();
      await sim.control.clearRequests();
      const quiet = await p.poll();
      await p.commit(quiet);
      assert.equal(quiet.events.length, 0, 'nothing is repeated');
      assert.equal((await mediaRequests()).length, 1, 'an unchanged poll is one request');
    });

    it('neither misses nor repeats across a restart (a new poller on the same store)', async () => {
      const store = new MemoryStore();
      await pollAndCommit(new TriggerPoller(client, options(), store));
      const ids = (await sim.control.mediaIds()).slice(0, 3);
      for (const id of ids) await sim.control.patchMedia(id, { custom: { Campaign: 'Autumn' } });
      const second = new TriggerPoller(client, options(), store);
      assert.deepEqual((await pollAndCommit(second)).events.map((e) => e.asset.id).sort(), [...ids].sort());
      const third = new TriggerPoller(client, options(), store);
      assert.equal((await pollAndCommit(third)).events.length, 0);
    });

    it('caps events per poll and hands the rest to the next polls, each change exactly once', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options({ maxEvents: 2 }), store);
      await pollAndCommit(p);
      const ids = (await sim.control.mediaIds()).slice(0, 5);
      for (const id of ids) await sim.control.patchMedia(id, { iptc: { headline: `h ${id}` } });
      const seen: string[] = [];
      const sizes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await pollAndCommit(p);
        sizes.push(r.events.length);
        seen.push(...r.events.map((e) => e.asset.id));
        if (!r.more && r.events.length === 0) break;
      }
      assert.deepEqual(sizes.slice(0, 3), [2, 2, 1]);
      assert.deepEqual([...seen].sort(), [...ids].sort());
    });

    it('a poll that is never committed is repeated (at least once)', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options(), store);
      await pollAndCommit(p);
      const [id] = await sim.control.mediaIds();
      await sim.control.patchMedia(id, { iptc: { city: 'Lisbon' } });
      await settle();
      const lost = await new TriggerPoller(client, options(), store).poll();
      assert.equal(lost.events.length, 1);
      const again = await pollAndCommit(new TriggerPoller(client, options(), store));
      assert.deepEqual(again.events.map((e) => e.asset.id), [id]);
    });

    it('watches only the chosen gallery', async () => {
      const [g1, g2] = (await sim.control.state()).galleries.filter((g) => g.media > 0);
      const p = new TriggerPoller(client, options({ scopes: [{ kind: 'gallery', id: g1.id }] }), new MemoryStore());
      await pollAndCommit(p);
      const inside = (await sim.control.mediaIds(g1.id))[0];
      const outside = (await sim.control.mediaIds(g2.id)).find((id) => !(inside === id));
      await sim.control.patchMedia(inside, { iptc: { title: 'inside' } });
      if (outside) await sim.control.patchMedia(outside, { iptc: { title: 'outside' } });
      const r = await pollAndCommit(p);
      const truthOutside = outside ? await sim.control.media(outside) : undefined;
      const expected = [inside, ...(truthOutside?.galleries.includes(g1.id) ? [outside as string] : [])].sort();
      assert.deepEqual(r.events.map((e) => e.asset.id).sort(), expected);
    });
  });

  describe('a watched gallery or collection that does not exist', () => {
    const rule = { source: 'custom' as const, field: 'Approval Status', op: 'eq' as const, value: 'Approved' };
    const missingGallery = 'G0000zzzzzzzzzzz';
    const missingCollection = 'C0000zzzzzzzzzzz';

    for (const mode of ['approved', 'changed', 'added'] as const) {
      it(`${mode}: the first poll fails naming it (ENOSCOPE), keeps no position, and fails again at the next poll`, async () => {
        const [real] = (await sim.control.state()).galleries.filter((g) => g.media > 0);
        const store = new MemoryStore();
        const p = new TriggerPoller(client, options({ mode, rule, scopes: [{ kind: 'gallery', id: real.id }, { kind: 'gallery', id: missingGallery }] }), store);
        await settle();
        const named = (e: Error & { code?: string; key?: string; values?: Record<string, string> }) =>
          e.code === 'ENOSCOPE' && e.key === 'scopeMissing' && e.values?.id === missingGallery && e.values?.kind === 'gallery' && e.message.includes(missingGallery) && /check the trigger's scope/.test(e.message);
        await assert.rejects(p.poll(), named);
        assert.equal(await store.load(), undefined, 'nothing stored');
        // a poll later: the same error, not silence
        await assert.rejects(p.poll(), named);
        const collection = new TriggerPoller(client, options({ mode, rule, scopes: [{ kind: 'collection', id: missingCollection }] }), new MemoryStore());
        await assert.rejects(collection.poll(), (e: Error & { code?: string; values?: Record<string, string> }) => e.code === 'ENOSCOPE' && e.values?.kind === 'collection' && e.values?.id === missingCollection);
      });
    }

    it('an existing scope is checked once per start: the polls that follow make no such request', async () => {
      const [real] = (await sim.control.state()).galleries.filter((g) => g.media > 0);
      const p = new TriggerPoller(client, options({ scopes: [{ kind: 'gallery', id: real.id }] }), new MemoryStore());
      await sim.control.clearRequests();
      await pollAndCommit(p);
      await pollAndCommit(p);
      const checks = (await sim.control.requests()).filter((r) => r.path === `/galleries/${real.id}`);
      assert.equal(checks.length, 1);
    });
  });

  describe('approved', () => {
    const rule = { source: 'custom' as const, field: 'Approval Status', op: 'eq' as const, value: 'Approved' };

    it('fires only on the transition into the rule, with the previous value', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options({ mode: 'approved', rule }), store);
      assert.equal(await p.needsBaseline(), true);
      assert.equal((await pollAndCommit(p)).events.length, 0, 'the baseline emits nothing');
      assert.equal(await p.needsBaseline(), false);
      const all = await sim.control.mediaIds();
      const truths = await Promise.all(all.map((id) => sim.control.media(id)));
      const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending');
      const approved = truths.find((t) => t.custom['Approval Status'] === 'Approved');
      assert.ok(pending && approved, 'the seeded library has pending and approved media');
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Pending' }, iptc: { caption: 'reviewed soon' } });
      await sim.control.patchMedia(approved.id, { iptc: { caption: 'already approved, edited' } });
      assert.equal((await pollAndCommit(p)).events.length, 0, 'edits that do not enter the rule fire nothing');
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
      const r = await pollAndCommit(p);
      assert.equal(r.events.length, 1);
      assert.equal(r.events[0].topic, 'approved');
      assert.equal(r.events[0].asset.id, pending.id);
      assert.equal(r.events[0].event.previous, 'Pending');
      assert.equal(r.events[0].event.previousKnown, true);
      assert.equal(r.events[0].event.rule, 'Approval Status = Approved');
      // leaving and re-entering the rule fires again, once
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Rejected' } });
      assert.equal((await pollAndCommit(p)).events.length, 0);
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
      const again = await pollAndCommit(p);
      assert.deepEqual(again.events.map((e) => [e.asset.id, e.event.previous]), [[pending.id, 'Rejected']]);
    });

    it('with "also when an approved asset changes": a metadata edit or a new file of an approved asset fires, saying what changed', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options({ mode: 'approved', rule, approvedChanges: true }), store);
      assert.equal((await pollAndCommit(p)).events.length, 0, 'the baseline emits nothing');
      const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
      const [approved, other] = truths.filter((t) => t.custom['Approval Status'] === 'Approved');
      const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending');
      assert.ok(approved && other && pending);
      // entering the rule: as without the option, no `changed`
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
      const entered = await pollAndCommit(p);
      assert.deepEqual(entered.events.map((e) => [e.asset.id, e.event.changed]), [[pending.id, undefined]]);
      // staying approved: a metadata edit, then a new file (another size: a new version key; its modification time moves too)
      await sim.control.patchMedia(approved.id, { iptc: { caption: 'approved, and edited' } });
      await sim.control.patchMedia(other.id, { size: other.file_size + 1000 });
      const edited = await pollAndCommit(p);
      const byId = new Map(edited.events.map((e) => [e.asset.id, e]));
      assert.equal(edited.events.length, 2);
      assert.deepEqual(byId.get(approved.id)?.event.changed, ['metadata']);
      assert.equal(byId.get(approved.id)?.topic, 'approved');
      assert.equal(byId.get(approved.id)?.asset.iptc?.caption, 'approved, and edited');
      assert.deepEqual(byId.get(other.id)?.event.changed, ['file', 'metadata']);
      // the asset that entered the rule is known from then on: its next edit is a change
      await sim.control.patchMedia(pending.id, { iptc: { caption: 'published, then corrected' } });
      assert.deepEqual((await pollAndCommit(p)).events.map((e) => [e.asset.id, e.event.changed]), [[pending.id, ['metadata']]]);
      // nothing more: nothing repeated; leaving the rule fires nothing, and forgets the asset's keys
      assert.equal((await pollAndCommit(p)).events.length, 0);
      await sim.control.patchMedia(approved.id, { custom: { 'Approval Status': 'Rejected' } });
      assert.equal((await pollAndCommit(p)).events.length, 0);
      const saved = await store.load();
      assert.ok(saved?.approvedKeys?.some((k) => k.startsWith(`${other.id} `)));
      assert.ok(!saved?.approvedKeys?.some((k) => k.startsWith(`${approved.id} `)), 'a rejected asset is not kept');
      assert.equal(saved?.approvedKeys?.length, saved?.matching?.length, 'one entry per matching asset');
    });

    it('without the option, a changed approved asset fires nothing, and the state keeps no keys', async () => {
      const store = new MemoryStore();
      const p = new TriggerPoller(client, options({ mode: 'approved', rule }), store);
      await pollAndCommit(p);
      const approved = (await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)))).find((t) => t.custom['Approval Status'] === 'Approved');
      assert.ok(approved);
      await sim.control.patchMedia(approved.id, { size: approved.file_size + 1 });
      assert.equal((await pollAndCommit(p)).events.length, 0);
      assert.equal((await store.load())?.approvedKeys, undefined);
    });

    it('started now: an asset approved before the start but edited in its last seconds fires nothing; one approved after fires once', async () => {
      const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
      const approved = truths.filter((t) => t.custom['Approval Status'] === 'Approved').slice(0, 3);
      const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending');
      assert.ok(approved.length === 3 && pending);
      await settle();
      // edited a moment before the trigger starts: younger than the poll's settling time
      for (const a of approved) await sim.control.patchMedia(a.id, { iptc: { caption: 'edited just before the start' } });
      const p = new TriggerPoller(client, options({ mode: 'approved', rule }), new MemoryStore());
      const baseline = await p.poll();
      await p.commit(baseline);
      assert.equal(baseline.events.length, 0, 'the baseline emits nothing');
      await sim.control.patchMedia(pending.id, { custom: { 'Approval Status': 'Approved' } });
      const r = await pollAndCommit(p);
      assert.deepEqual(r.events.map((e) => e.asset.id), [pending.id], 'only the approval made after the start');
      assert.equal((await pollAndCommit(p)).events.length, 0);
    });

    it('from the beginning, every matching asset fires once', async () => {
      const p = new TriggerPoller(client, options({ mode: 'approved', rule, start: { from: 'beginning' }, maxEvents: 1000 }), new MemoryStore());
      const r = await pollAndCommit(p);
      const all = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
      const expected = all.filter((t) => t.custom['Approval Status'] === 'Approved').map((t) => t.id).sort();
      assert.ok(expected.length > 0);
      assert.deepEqual(r.events.map((e) => e.asset.id).sort(), expected);
      assert.equal((await pollAndCommit(p)).events.length, 0);
    });

    it('starts afresh when the rule changes', async () => {
      const store = new MemoryStore();
      await pollAndCommit(new TriggerPoller(client, options({ mode: 'approved', rule }), store));
      const other = new TriggerPoller(client, options({ mode: 'approved', rule: { ...rule, value: 'Rejected' } }), store);
      assert.equal(await other.needsBaseline(), true);
    });
  });

  describe('added', () => {
    it('emits media newly placed in a gallery, once; an unchanged poll is one request', async () => {
      const galleries = (await sim.control.state()).galleries.filter((g) => g.media > 0);
      const target = galleries[0];
      const p = new TriggerPoller(client, options({ mode: 'added', scopes: [{ kind: 'gallery', id: target.id }] }), new MemoryStore());
      assert.equal((await pollAndCommit(p)).events.length, 0);
      let elsewhere: string | undefined;
      let truth;
      for (const id of await sim.control.mediaIds(galleries[1].id)) {
        truth = await sim.control.media(id);
        if (!truth.galleries.includes(target.id)) {
          elsewhere = id;
          break;
        }
      }
      assert.ok(elsewhere && truth);
      await sim.control.patchMedia(elsewhere, { galleries: [...truth.galleries, target.id] });
      const uploaded = await sim.control.addMedia({ galleryId: target.id, fileName: 'fresh.jpg', size: 1000 });
      const r = await pollAndCommit(p);
      assert.deepEqual(r.events.map((e) => e.asset.id).sort(), [elsewhere, uploaded].sort());
      assert.ok(r.events.every((e) => e.topic === 'added' && e.event.galleryId === target.id));
      await settle();
      await sim.control.clearRequests();
      const quiet = await p.poll();
      await p.commit(quiet);
      assert.equal(quiet.events.length, 0);
      assert.equal((await mediaRequests()).length, 1);
    });

    it('watches the galleries under a collection', async () => {
      const state = await sim.control.state();
      const gallery = state.galleries.find((g) => g.parents.length > 0) as { id: string; parents: string[] };
      const p = new TriggerPoller(client, options({ mode: 'added', scopes: [{ kind: 'collection', id: gallery.parents[0] }] }), new MemoryStore());
      await pollAndCommit(p);
      const id = await sim.control.addMedia({ galleryId: gallery.id, fileName: 'under collection.jpg', size: 500 });
      const r = await pollAndCommit(p);
      assert.deepEqual(r.events.map((e) => e.asset.id), [id]);
    });
  });
});

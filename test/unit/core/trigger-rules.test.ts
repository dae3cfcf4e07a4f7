/**
 * Approval rules, every source and operator: how each is validated, what it reads of an asset, how it
 * compares; then each source in an approval trigger against the simulator, where the rule's data must be
 * read for the rule to fire (IPTC, custom fields, rating, galleries).
 */
import { changesBetween } from '../../../src/core/trigger/modes/approved';
import assert from 'node:assert/strict';
import { PhotoShelterClient } from '../../../src/photoshelter';
import type { Asset } from '../../../src/core/asset';
import { TriggerPoller, type PollerOptions } from '../../../src/core/trigger/poller';
import { describeRule, evaluateRule, ruleKey, ruleNeeds, validateRule, type ApprovalRule, type RuleOperator, type RuleSource } from '../../../src/core/trigger/rules';
import { MemoryStore } from '../../../src/core/trigger/state';
import { startSim, type SimHandle } from '../../helpers/sim';

function asset(over: Partial<Asset> = {}): Asset {
  return {
    id: 'I0000abcdefghijk', kind: 'image', fileName: 'a.jpg', fileSize: 1, width: 1, height: 1, createdAt: null, modifiedAt: null,
    rating: null, flagged: false, searchable: null, releases: { model: null, property: null }, ownerId: null, organizationId: null,
    photographerId: null, versionKey: 'k', metadataKey: 'm', ...over,
  };
}

describe('core/trigger: approval rules', () => {
  describe('validation', () => {
    it('takes each source with its own operators, and the first as the default', () => {
      const ops: Record<RuleSource, RuleOperator[]> = { custom: ['eq', 'neq', 'contains', 'set'], iptc: ['eq', 'neq', 'contains', 'set'], rating: ['eq', 'gte', 'lte'], gallery: ['in'] };
      const all: RuleOperator[] = ['eq', 'neq', 'contains', 'gte', 'lte', 'set', 'in'];
      for (const [source, allowed] of Object.entries(ops) as Array<[RuleSource, RuleOperator[]]>) {
        const base = { source, field: source === 'custom' || source === 'iptc' ? 'F' : undefined, value: source === 'rating' ? '3' : 'x' };
        for (const op of all) {
          if (allowed.includes(op)) assert.equal(validateRule({ ...base, op }).op, op, `${source} ${op}`);
          else assert.throws(() => validateRule({ ...base, op }), new RegExp(`"${op}" does not apply to ${source} rules \\(use ${allowed.join(', ')}\\)`));
        }
        assert.equal(validateRule(base).op, allowed[0], `${source}: default operator`);
      }
    });

    it('names what is missing or wrong', () => {
      assert.throws(() => validateRule(undefined), /needs a source: custom, iptc, rating or gallery/);
      assert.throws(() => validateRule({ source: 'exif' as RuleSource, op: 'eq', value: 'x' }), /needs a source/);
      assert.throws(() => validateRule({ source: 'custom', op: 'eq', field: '  ', value: 'x' }), /A custom rule needs a field name/);
      assert.throws(() => validateRule({ source: 'iptc', op: 'eq', value: 'x' }), /A iptc rule needs a field name/);
      assert.throws(() => validateRule({ source: 'custom', field: 'F', op: 'eq', value: '' }), /needs a value to compare with/);
      assert.throws(() => validateRule({ source: 'gallery', op: 'in' }), /needs a value/);
      assert.throws(() => validateRule({ source: 'rating', op: 'gte', value: 'five' }), /The rating "five" is not a number/);
      assert.deepEqual(validateRule({ source: 'custom', field: ' Approval Status ', op: 'set' }), { source: 'custom', field: 'Approval Status', op: 'set', value: undefined }, '"is set" needs no value; the field is trimmed');
    });

    it('says which parts of an asset each source needs read, and describes and keys each rule apart', () => {
      const rules: ApprovalRule[] = [
        { source: 'custom', field: 'Approval Status', op: 'eq', value: 'Approved' },
        { source: 'custom', field: 'Approval Status', op: 'neq', value: 'Approved' },
        { source: 'iptc', field: 'edit_status', op: 'contains', value: 'final' },
        { source: 'iptc', field: 'edit_status', op: 'set' },
        { source: 'rating', op: 'gte', value: '4' },
        { source: 'rating', op: 'lte', value: '4' },
        { source: 'rating', op: 'eq', value: '4' },
        { source: 'gallery', op: 'in', value: 'G0000aaaaaaaaaaa' },
      ];
      assert.deepEqual(rules.map(ruleNeeds), ['custom', 'custom', 'iptc', 'iptc', undefined, undefined, undefined, 'galleries']);
      assert.deepEqual(rules.map(describeRule), [
        'Approval Status = Approved', 'Approval Status ≠ Approved', 'edit_status ∋ final', 'edit_status is set',
        'rating ≥ 4', 'rating ≤ 4', 'rating = 4', 'in gallery G0000aaaaaaaaaaa',
      ]);
      assert.equal(new Set(rules.map(ruleKey)).size, rules.length, 'no two rules share a key (stored state is per rule)');
    });
  });

  describe('evaluation', () => {
    const check = (rule: ApprovalRule, cases: Array<[Partial<Asset>, boolean]>) => {
      for (const [over, want] of cases) assert.equal(evaluateRule(validateRule(rule), asset(over)).matches, want, `${describeRule(rule)} on ${JSON.stringify(over)}`);
    };

    it('custom eq / neq / contains / set: case and surrounding space ignored; an unset field is no value', () => {
      check({ source: 'custom', field: 'Approval Status', op: 'eq', value: 'Approved' }, [
        [{ custom: { 'Approval Status': 'Approved' } }, true],
        [{ custom: { 'Approval Status': '  approved ' } }, true],
        [{ custom: { 'Approval Status': 'Approved later' } }, false],
        [{ custom: { 'Approval Status': null } }, false],
        [{ custom: {} }, false],
        [{}, false],
      ]);
      check({ source: 'custom', field: 'Approval Status', op: 'neq', value: 'Rejected' }, [
        [{ custom: { 'Approval Status': 'Approved' } }, true],
        [{ custom: { 'Approval Status': 'REJECTED' } }, false],
        [{ custom: { 'Approval Status': null } }, true],
        [{}, true],
      ]);
      check({ source: 'custom', field: 'Usage Rights', op: 'contains', value: 'web' }, [
        [{ custom: { 'Usage Rights': 'Print and Web, EU' } }, true],
        [{ custom: { 'Usage Rights': 'Print only' } }, false],
        [{ custom: { 'Usage Rights': null } }, false],
      ]);
      check({ source: 'custom', field: 'Campaign', op: 'set' }, [
        [{ custom: { Campaign: 'Spring' } }, true],
        [{ custom: { Campaign: '   ' } }, false],
        [{ custom: { Campaign: null } }, false],
        [{}, false],
      ]);
    });

    it('Unicode forms compare equal (NFC)', () => {
      check({ source: 'custom', field: 'Region', op: 'eq', value: 'Zu\u0308rich' }, [[{ custom: { Region: 'Z\u00fcrich' } }, true]]);
    });

    it('iptc eq / neq / contains / set, keywords as one list', () => {
      const iptc = (o: Record<string, unknown>) => ({ iptc: { keywords: [], ...o } as Asset['iptc'] });
      check({ source: 'iptc', field: 'edit_status', op: 'eq', value: 'final' }, [[iptc({ edit_status: 'Final' }), true], [iptc({ edit_status: 'draft' }), false], [iptc({ edit_status: null }), false], [{}, false]]);
      check({ source: 'iptc', field: 'edit_status', op: 'neq', value: 'final' }, [[iptc({ edit_status: 'draft' }), true], [iptc({ edit_status: ' FINAL' }), false], [iptc({}), true]]);
      check({ source: 'iptc', field: 'keywords', op: 'contains', value: 'harbour' }, [[iptc({ keywords: ['boat', 'Harbour at dawn'] }), true], [iptc({ keywords: ['boat'] }), false]]);
      check({ source: 'iptc', field: 'keywords', op: 'eq', value: 'boat, sea' }, [[iptc({ keywords: ['boat', 'sea'] }), true]]);
      check({ source: 'iptc', field: 'headline', op: 'set' }, [[iptc({ headline: 'x' }), true], [iptc({ headline: '' }), false], [iptc({}), false]]);
    });

    it('rating eq / gte / lte; no rating matches none', () => {
      check({ source: 'rating', op: 'eq', value: '3' }, [[{ rating: 3 }, true], [{ rating: 4 }, false], [{ rating: null }, false]]);
      check({ source: 'rating', op: 'gte', value: '3' }, [[{ rating: 3 }, true], [{ rating: 5 }, true], [{ rating: 2 }, false], [{ rating: 0 }, false], [{ rating: null }, false]]);
      check({ source: 'rating', op: 'lte', value: '3' }, [[{ rating: 3 }, true], [{ rating: 0 }, true], [{ rating: 4 }, false], [{ rating: null }, false]]);
    });

    it('gallery in: the asset sits in the gallery (among others)', () => {
      check({ source: 'gallery', op: 'in', value: 'G0000bbbbbbbbbbb' }, [
        [{ galleries: [{ id: 'G0000aaaaaaaaaaa', name: 'A' }, { id: 'G0000bbbbbbbbbbb', name: 'B' }] }, true],
        [{ galleries: [{ id: 'G0000aaaaaaaaaaa', name: 'A' }] }, false],
        [{ galleries: [] }, false],
        [{}, false],
      ]);
    });

    it('reports the value it looked at', () => {
      assert.deepEqual(evaluateRule(validateRule({ source: 'rating', op: 'gte', value: '1' }), asset({ rating: 2 })), { matches: true, value: 2 });
      assert.deepEqual(evaluateRule(validateRule({ source: 'gallery', op: 'in', value: 'G0000bbbbbbbbbbb' }), asset({ galleries: [{ id: 'G0000aaaaaaaaaaa', name: 'A' }] })), { matches: false, value: ['G0000aaaaaaaaaaa'] });
      assert.deepEqual(evaluateRule(validateRule({ source: 'iptc', field: 'city', op: 'set' }), asset({ iptc: { keywords: [], city: 'Brest' } })), { matches: true, value: 'Brest' });
    });
  });

  describe('each source in an approval trigger against the simulator', function () {
    this.timeout(30_000);
    let sim: SimHandle;
    let client: PhotoShelterClient;
    const options = (rule: ApprovalRule, o: Partial<PollerOptions> = {}): PollerOptions => ({
      mode: 'approved', scopes: [], rule, start: { from: 'now' }, maxEvents: 500, include: [], timeZone: 'UTC', now: () => client.serverNow(), ...o,
    });
    const pollAndCommit = async (p: TriggerPoller) => {
      await sim.control.clock(3);
      await client.session();
      const r = await p.poll();
      await p.commit(r);
      return r;
    };

    before(async () => {
      sim = await startSim({ seed: 12, assets: 60 });
      client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId } });
      await client.session();
    });
    after(async () => {
      await client.close();
      await sim.close();
    });

    it('iptc contains: fires when an edit makes the field match, with the value; not for an edit that does not', async () => {
      const p = new TriggerPoller(client, options({ source: 'iptc', field: 'edit_status', op: 'contains', value: 'final' }), new MemoryStore());
      assert.equal((await pollAndCommit(p)).events.length, 0, 'the baseline');
      const [a, b] = await sim.control.mediaIds();
      await sim.control.patchMedia(a, { iptc: { edit_status: 'FINAL cut' } });
      await sim.control.patchMedia(b, { iptc: { edit_status: 'first draft' } });
      const r = await pollAndCommit(p);
      assert.deepEqual(r.events.map((e) => [e.asset.id, e.event.value, e.event.rule]), [[a, 'FINAL cut', 'edit_status ∋ final']]);
      assert.equal(r.events[0].asset.iptc?.edit_status, 'FINAL cut', 'the IPTC was read for the rule, though not asked for');
    });

    it('custom neq and set: fire on entering the rule, again after leaving and re-entering', async () => {
      const ids = await sim.control.mediaIds();
      const id = ids[5];
      await sim.control.patchMedia(id, { custom: { 'Approval Status': 'Rejected', Campaign: null } });
      const neq = new TriggerPoller(client, options({ source: 'custom', field: 'Approval Status', op: 'neq', value: 'Rejected' }), new MemoryStore());
      const set = new TriggerPoller(client, options({ source: 'custom', field: 'Campaign', op: 'set' }), new MemoryStore());
      await pollAndCommit(neq);
      await pollAndCommit(set);
      await sim.control.patchMedia(id, { custom: { 'Approval Status': 'Pending', Campaign: 'Autumn' } });
      assert.deepEqual((await pollAndCommit(neq)).events.map((e) => [e.asset.id, e.event.value, e.event.previous]), [[id, 'Pending', 'Rejected']]);
      assert.deepEqual((await pollAndCommit(set)).events.map((e) => [e.asset.id, e.event.value]), [[id, 'Autumn']]);
      await sim.control.patchMedia(id, { custom: { Campaign: null } });
      assert.equal((await pollAndCommit(set)).events.length, 0, 'leaving the rule fires nothing');
      await sim.control.patchMedia(id, { custom: { Campaign: 'Winter' } });
      const again = await pollAndCommit(set);
      assert.deepEqual(again.events.map((e) => [e.asset.id, e.event.value, e.event.previous, e.event.previousKnown]), [[id, 'Winter', null, true]]);
    });

    it('rating gte / lte / eq from the beginning: exactly the assets whose rating matches, each once', async () => {
      const ids = await sim.control.mediaIds();
      const rating = new Map<string, number | null>();
      for (const id of ids) {
        const r = (await client.getMedia(id)).attributes?.rating;
        rating.set(id, typeof r === 'number' ? r : null);
      }
      for (const [op, test] of [['gte', (r: number) => r >= 3], ['lte', (r: number) => r <= 1], ['eq', (r: number) => r === 2]] as const) {
        const p = new TriggerPoller(client, options({ source: 'rating', op, value: op === 'eq' ? '2' : op === 'gte' ? '3' : '1' }, { start: { from: 'beginning' } }), new MemoryStore());
        const r = await pollAndCommit(p);
        const want = ids.filter((id) => rating.get(id) !== null && test(rating.get(id) as number)).sort();
        assert.ok(want.length > 0 && want.length < ids.length, `the library has ratings on both sides of ${op} (${want.length} of ${ids.length})`);
        assert.deepEqual(r.events.map((e) => e.asset.id).sort(), want, `rating ${op}`);
        assert.equal((await pollAndCommit(p)).events.length, 0, 'each once');
      }
    });

    it('gallery in: fires when an asset is placed in the gallery, with its galleries as the value', async () => {
      const state = await sim.control.state();
      const target = state.galleries.find((g) => g.media > 0) as { id: string };
      const outside = (await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)))).find((t) => !t.galleries.includes(target.id)) as { id: string; galleries: string[] };
      const p = new TriggerPoller(client, options({ source: 'gallery', op: 'in', value: target.id }), new MemoryStore());
      await pollAndCommit(p);
      await sim.control.patchMedia(outside.id, { galleries: [...outside.galleries, target.id] });
      const r = await pollAndCommit(p);
      assert.deepEqual(r.events.map((e) => e.asset.id), [outside.id]);
      assert.deepEqual([...(r.events[0].event.value as string[])].sort(), [...outside.galleries, target.id].sort());
      assert.ok(r.events[0].asset.galleries?.some((g) => g.id === target.id), 'the galleries were read for the rule');
    });
  });
});

describe('core/trigger/modes/approved: what changed of an asset that stays approved', () => {
  it('the version key says file, the metadata key says metadata; a hash only one side has does not count', () => {
    const entry = (b: string, h: string, m: string) => `I0000abcdefghijk ${b} ${h} ${m}`;
    assert.deepEqual(changesBetween(entry('aaaaaaaa', '-', '11111111'), entry('aaaaaaaa', '-', '22222222')), ['metadata']);
    assert.deepEqual(changesBetween(entry('aaaaaaaa', '-', '11111111'), entry('bbbbbbbb', '-', '22222222')), ['file', 'metadata']);
    assert.deepEqual(changesBetween(entry('aaaaaaaa', 'cccccccc', '11111111'), entry('aaaaaaaa', 'dddddddd', '11111111')), ['file']);
    assert.deepEqual(changesBetween(entry('aaaaaaaa', '-', '11111111'), entry('aaaaaaaa', 'dddddddd', '11111111')), [], 'a hash the API began to give is no new file');
    assert.deepEqual(changesBetween(entry('aaaaaaaa', '-', '11111111'), entry('aaaaaaaa', '-', '11111111')), []);
  });
});

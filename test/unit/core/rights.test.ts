import assert from 'node:assert/strict';
import { evaluateRights, readDate, REASON_CODES, type RightsResult, type RightsUse } from '../../../src/core/rights/evaluate';
import { assetSource, evaluationTime, hasParts, RightsInputError, useValue } from '../../../src/core/rights/input';
import { InputError } from '../../../src/core/errors';
import { DAY_MS, DEFAULT_RULES, partsNeeded, resolveRights, RightsConfigError, type RightsConfig } from '../../../src/core/rights/policy';
import { fold, parseList, textOf } from '../../../src/core/rights/text';

const EXPIRY = 'License Expiration Date';
const TERMS = 'Usage Rights';
const ID = 'I0000abcdefghijk';

interface TestAsset {
  id: string;
  custom: Record<string, unknown>;
  iptc: Record<string, unknown>;
  releases: { model: unknown; property: unknown };
}

function asset(custom: Record<string, unknown> = {}, extra: Partial<TestAsset> = {}): TestAsset {
  return {
    id: ID,
    custom: { [EXPIRY]: null, [TERMS]: null, ...custom },
    iptc: { keywords: [], rights: null },
    releases: { model: true, property: true },
    ...extra,
  };
}

const iso = (s: string) => Date.parse(s);
function run(a: unknown, config: RightsConfig = {}, use: Partial<RightsUse> = {}): RightsResult {
  return evaluateRights(a, resolveRights(config), { at: iso('2025-06-01T12:00:00Z'), timeZone: 'UTC', ...use });
}
const codes = (r: RightsResult) => r.reasons.map((x) => x.code);

describe('core/rights', () => {
  describe('expiry dates', () => {
    it('a date-only expiry is valid through the end of that day in the zone (UTC)', () => {
      const a = asset({ [EXPIRY]: '2025-06-10' });
      const before = run(a, {}, { at: iso('2025-06-10T23:59:59.999Z') });
      assert.equal(before.expiresAt, '2025-06-11T00:00:00.000Z');
      assert.equal(before.status, 'expiring');
      assert.equal(before.daysLeft, 0);
      const at = run(a, {}, { at: iso('2025-06-11T00:00:00.000Z') });
      assert.equal(at.status, 'expired');
      assert.deepEqual(codes(at), ['EXPIRED']);
      assert.equal(at.reasons[0].field, `custom.${EXPIRY}`);
    });

    it('Europe/Berlin: the end of day moves with daylight saving time', () => {
      const zone = 'Europe/Berlin';
      const cases: Array<[string, string]> = [
        ['2025-03-29', '2025-03-29T23:00:00.000Z'], // ends 00:00 Mar 30, still CET (+1)
        ['2025-03-30', '2025-03-30T22:00:00.000Z'], // the 23-hour day: ends 00:00 Mar 31 CEST (+2)
        ['2025-10-25', '2025-10-25T22:00:00.000Z'], // ends 00:00 Oct 26, still CEST
        ['2025-10-26', '2025-10-26T23:00:00.000Z'], // the 25-hour day: ends 00:00 Oct 27 CET
      ];
      for (const [day, end] of cases) {
        const r = run(asset({ [EXPIRY]: day }), { timeZone: zone });
        assert.equal(r.expiresAt, end, day);
        assert.equal(run(asset({ [EXPIRY]: day }), { timeZone: zone }, { at: iso(end) - 1 }).status, 'expiring', `${day} 1 ms before`);
        assert.equal(run(asset({ [EXPIRY]: day }), { timeZone: zone }, { at: iso(end) }).status, 'expired', `${day} at the instant`);
      }
      // from the start of the 23-hour day to its end: less than 24 h, so no whole day is left
      const r = run(asset({ [EXPIRY]: '2025-03-30' }), { timeZone: zone }, { at: iso('2025-03-29T23:00:00Z') });
      assert.equal(r.daysLeft, 0);
      // the zone can come from the use (the account) when the policy names none
      assert.equal(run(asset({ [EXPIRY]: '2025-03-30' }), {}, { timeZone: zone }).expiresAt, '2025-03-30T22:00:00.000Z');
      assert.equal(run(asset({ [EXPIRY]: '2025-03-30' }), { timeZone: 'UTC' }, { timeZone: zone }).expiresAt, '2025-03-31T00:00:00.000Z');
    });

    it('Pacific/Chatham (+13:45 / +12:45) and its DST change', () => {
      const zone = 'Pacific/Chatham';
      assert.equal(run(asset({ [EXPIRY]: '2025-01-15' }), { timeZone: zone }).expiresAt, '2025-01-15T10:15:00.000Z');
      assert.equal(run(asset({ [EXPIRY]: '2025-04-05' }), { timeZone: zone }).expiresAt, '2025-04-05T10:15:00.000Z');
      assert.equal(run(asset({ [EXPIRY]: '2025-04-06' }), { timeZone: zone }).expiresAt, '2025-04-06T11:15:00.000Z');
    });

    it('negative offsets: Los Angeles, St John\'s (-2:30), Honolulu', () => {
      assert.equal(run(asset({ [EXPIRY]: '2025-07-04' }), { timeZone: 'America/Los_Angeles' }).expiresAt, '2025-07-05T07:00:00.000Z');
      assert.equal(run(asset({ [EXPIRY]: '2025-07-04' }), { timeZone: 'America/St_Johns' }).expiresAt, '2025-07-05T02:30:00.000Z');
      assert.equal(run(asset({ [EXPIRY]: '2025-12-31' }), { timeZone: 'Pacific/Honolulu' }).expiresAt, '2026-01-01T10:00:00.000Z');
      // in Los Angeles it is still the 4th of July at 06:59 UTC on the 5th
      const r = run(asset({ [EXPIRY]: '2025-07-04' }), { timeZone: 'America/Los_Angeles' }, { at: iso('2025-07-05T06:59:59.999Z') });
      assert.equal(r.status, 'expiring');
    });

    it('leap days: 2024-02-29 is a date, 2023-02-29 is not (restricted, unparseable)', () => {
      const ok = run(asset({ [EXPIRY]: '2024-02-29' }), {}, { at: iso('2024-02-29T12:00:00Z') });
      assert.equal(ok.expiresAt, '2024-03-01T00:00:00.000Z');
      assert.equal(ok.status, 'expiring');
      const bad = run(asset({ [EXPIRY]: '2023-02-29' }));
      assert.equal(bad.status, 'restricted');
      assert.deepEqual(codes(bad), ['DATE_INVALID']);
      assert.equal(bad.reasons[0].field, `custom.${EXPIRY}`);
      assert.equal(bad.expiresAt, null);
      assert.equal(bad.daysLeft, null);
      for (const junk of ['2024-13-01', 'soon', '31.12.2025', '2025-06-31', '12/31/2025']) {
        assert.equal(run(asset({ [EXPIRY]: junk })).status, 'restricted', junk);
      }
    });

    it('an expiry with a time is exact: expired at the instant, not one millisecond before', () => {
      const a = asset({ [EXPIRY]: '2025-06-01T12:00:00Z' });
      const at = iso('2025-06-01T12:00:00Z');
      const r = run(a, {}, { at });
      assert.equal(r.status, 'expired');
      assert.equal(r.daysLeft, 0);
      const before = run(a, {}, { at: at - 1 });
      assert.equal(before.status, 'expiring');
      assert.equal(before.daysLeft, 0);
      assert.equal(run(a, {}, { at: at + 1 }).daysLeft, -1);
      // zone-less times are wall-clock times in the zone
      assert.equal(run(asset({ [EXPIRY]: '2025-06-01T12:00:00' }), { timeZone: 'Europe/Berlin' }).expiresAt, '2025-06-01T10:00:00.000Z');
      // microseconds past the evaluation millisecond: not yet expired
      assert.equal(run(asset({ [EXPIRY]: '2025-06-01T12:00:00.000500Z' }), {}, { at }).status, 'expiring');
    });

    it('the window boundary: exactly the window left is allowed, a millisecond less is expiring', () => {
      const a = asset({ [EXPIRY]: '2025-07-01T00:00:00Z' });
      const end = iso('2025-07-01T00:00:00Z');
      const atWindow = run(a, { window: 30 }, { at: end - 30 * DAY_MS });
      assert.equal(atWindow.status, 'allowed');
      assert.equal(atWindow.daysLeft, 30);
      const inside = run(a, { window: 30 }, { at: end - 30 * DAY_MS + 1 });
      assert.equal(inside.status, 'expiring');
      assert.equal(inside.daysLeft, 29);
      assert.deepEqual(codes(inside), ['EXPIRING_SOON']);
      assert.equal(run(a, { window: 0 }, { at: end - 1 }).status, 'allowed', 'window 0: never expiring');
      assert.equal(run(a, { window: '7' }, { at: end - 7 * DAY_MS + 1 }).status, 'expiring');
    });

    it('missing expiry: no expiry by default, restricted when the policy says so', () => {
      for (const missing of [null, undefined, '', '   ']) {
        const r = run(asset({ [EXPIRY]: missing }));
        assert.equal(r.status, 'allowed');
        assert.equal(r.expiresAt, null);
        assert.equal(r.daysLeft, null);
      }
      const r = run(asset(), { missingExpiry: 'restrict' });
      assert.equal(r.status, 'restricted');
      assert.deepEqual(codes(r), ['EXPIRY_MISSING']);
    });

    it('unreadable dates can be ignored (treated as missing)', () => {
      assert.equal(run(asset({ [EXPIRY]: 'soon' }), { invalidDate: 'ignore' }).status, 'allowed');
      assert.deepEqual(codes(run(asset({ [EXPIRY]: 'soon' }), { invalidDate: 'ignore', missingExpiry: 'restrict' })), ['EXPIRY_MISSING']);
    });

    it('reads the expiry from an IPTC field and finds custom fields whatever their case', () => {
      const a = asset({}, { iptc: { keywords: [], rights: null, instructions: '2020-01-01' } });
      assert.equal(run(a, { expirySource: 'iptc', expiryField: 'instructions' }).status, 'expired');
      assert.equal(run({ custom: { 'license expiration date': '2020-01-01' } }, { missingTerms: 'allow' }).status, 'expired');
    });

    it('a date-only expiry is said as written, with its zone: "expired after 2020-01-01 (Europe/Berlin)", not the next midnight', () => {
      const r = run(asset({ [EXPIRY]: '2020-01-01' }), { timeZone: 'Europe/Berlin' });
      const reason = r.reasons.find((x) => x.code === 'EXPIRED');
      assert.equal(reason?.detail, 'expired after 2020-01-01 (Europe/Berlin)');
      assert.deepEqual({ date: reason?.values.date, zone: reason?.values.zone }, { date: '2020-01-01', zone: 'Europe/Berlin' });
      assert.equal(r.expiresAt, '2020-01-01T23:00:00.000Z', 'the instant stays exact');
      const timed = run(asset({ [EXPIRY]: '2020-01-01T12:00:00Z' }), { timeZone: 'UTC' }).reasons.find((x) => x.code === 'EXPIRED');
      assert.equal(timed?.detail, 'expired at 2020-01-01T12:00:00.000Z');
      assert.equal(timed?.values.date, undefined);
    });

    it('readDate: start and end of a date-only day; unix numbers and Date objects', () => {
      assert.deepEqual(readDate('2025-01-01', 'UTC', 'start'), { kind: 'instant', epochMs: iso('2025-01-01T00:00:00Z'), micros: 0, dateOnly: true, day: '2025-01-01' });
      assert.equal(readDate('0099-12-31', 'UTC', 'end').kind, 'instant');
      assert.equal((readDate('0099-12-31', 'UTC', 'end') as { epochMs: number }).epochMs, Date.parse('0100-01-01T00:00:00Z'));
      assert.equal((readDate(1_750_000_000, 'UTC', 'end') as { epochMs: number }).epochMs, 1_750_000_000_000);
      assert.equal((readDate(new Date(5), 'UTC', 'end') as { epochMs: number }).epochMs, 5);
      assert.deepEqual(readDate({}, 'UTC', 'end'), { kind: 'invalid', text: 'object' });
    });
  });

  describe('embargo (not before)', () => {
    const cfg: RightsConfig = { embargoField: 'Embargo', timeZone: 'Europe/Berlin' };
    it('restricted before the embargo lifts at 00:00 of the day in the zone', () => {
      const a = asset({ Embargo: '2025-06-02' });
      const lift = iso('2025-06-01T22:00:00Z');
      const before = run(a, cfg, { at: lift - 1 });
      assert.equal(before.status, 'restricted');
      assert.deepEqual(codes(before), ['EMBARGO']);
      assert.equal(before.embargoUntil, '2025-06-01T22:00:00.000Z');
      assert.equal(run(a, cfg, { at: lift }).status, 'allowed');
    });
    it('an unreadable embargo is restricted (or ignored); a missing one is no embargo', () => {
      assert.deepEqual(codes(run(asset({ Embargo: 'tomorrow' }), cfg)), ['DATE_INVALID']);
      assert.equal(run(asset({ Embargo: 'tomorrow' }), { ...cfg, invalidDate: 'ignore' }).status, 'allowed');
      assert.equal(run(asset({ Embargo: null }), cfg).status, 'allowed');
    });
  });

  describe('usage terms', () => {
    it('the default rules map the usual terms to channels', () => {
      const a = asset({ [TERMS]: 'Internal use only' });
      assert.equal(run(a, {}, { channel: 'intranet' }).status, 'allowed');
      const web = run(a, {}, { channel: 'web' });
      assert.equal(web.status, 'restricted');
      assert.deepEqual(codes(web), ['CHANNEL_NOT_ALLOWED']);
      assert.equal(web.reasons[0].field, 'channel');
      assert.deepEqual(web.rules, ['Internal use only']);
      assert.equal(web.terms, 'Internal use only');
      assert.equal(run(asset({ [TERMS]: 'Editorial use only' }), {}, { channel: 'Print' }).status, 'allowed', 'channel case is ignored');
      assert.equal(run(asset({ [TERMS]: 'Unlimited use' }), {}, { channel: 'billboard', region: 'Mars' }).status, 'allowed');
      assert.equal(run(a, {}, {}).status, 'allowed', 'no channel given: not checked');
    });

    it('regions, and combinations that no single rule allows', () => {
      const rules = [
        { term: 'Editorial', channels: 'web', regions: 'EU' },
        { term: 'Editorial', channels: 'print', regions: 'US' },
      ];
      const a = asset({ [TERMS]: 'Editorial' });
      assert.equal(run(a, { rules }, { channel: 'web', region: 'eu' }).status, 'allowed');
      assert.deepEqual(codes(run(a, { rules }, { channel: 'web', region: 'APAC' })), ['REGION_NOT_ALLOWED']);
      assert.deepEqual(codes(run(a, { rules }, { channel: 'tv', region: 'EU' })), ['CHANNEL_NOT_ALLOWED']);
      assert.deepEqual(codes(run(a, { rules }, { channel: 'tv', region: 'APAC' })), ['CHANNEL_NOT_ALLOWED', 'REGION_NOT_ALLOWED']);
      assert.deepEqual(codes(run(a, { rules }, { channel: 'web', region: 'US' })), ['USE_NOT_ALLOWED']);
      assert.equal(run(a, { rules }, { region: 'US' }).status, 'allowed', 'region only: some rule allows it');
    });

    it('deny rules forbid what they list, or everything', () => {
      const rules = [
        { term: 'Editorial', channels: '*' },
        { term: 'no social', effect: 'deny', channels: 'social' },
        { term: 'do not use', op: 'equals', effect: 'deny' },
      ];
      assert.equal(run(asset({ [TERMS]: 'Editorial, no social' }), { rules }, { channel: 'web' }).status, 'allowed');
      assert.deepEqual(codes(run(asset({ [TERMS]: 'Editorial, no social' }), { rules }, { channel: 'social' })), ['USE_DENIED']);
      assert.deepEqual(codes(run(asset({ [TERMS]: 'Do not use' }), { rules })), ['USE_DENIED']);
      assert.deepEqual(codes(run(asset({ [TERMS]: 'Do not use it here' }), { rules })), ['TERMS_UNMATCHED'], 'equals is the whole text');
    });

    it('unmatched terms follow the policy; missing terms too', () => {
      const a = asset({ [TERMS]: 'Ask the photographer' });
      const r = run(a);
      assert.equal(r.status, 'restricted');
      assert.deepEqual(codes(r), ['TERMS_UNMATCHED']);
      assert.equal(r.reasons[0].field, `custom.${TERMS}`);
      assert.equal(run(a, { unmatchedTerms: 'allow' }).status, 'allowed');
      assert.equal(run(asset()).status, 'allowed');
      assert.deepEqual(codes(run(asset(), { missingTerms: 'restrict' })), ['TERMS_MISSING']);
      // a value that is not text is never taken for permission
      assert.deepEqual(codes(run(asset({ [TERMS]: { any: 'thing' } }))), ['TERMS_UNMATCHED']);
    });

    it('falls back to IPTC rights when the terms field is empty (unless told not to)', () => {
      const a = asset({}, { iptc: { keywords: [], rights: 'Internal use only' } });
      const r = run(a, {}, { channel: 'web' });
      assert.deepEqual(codes(r), ['CHANNEL_NOT_ALLOWED']);
      assert.equal(r.terms, 'Internal use only');
      assert.equal(run(a, { termsFallback: false }, { channel: 'web' }).status, 'allowed');
      assert.equal(run(asset({ [TERMS]: 'Unlimited' }, { iptc: { rights: 'Internal use only' } }), {}, { channel: 'web' }).status, 'allowed', 'the field wins');
    });

    it('empty and huge rule lists, keyword lists and terms', () => {
      assert.deepEqual(codes(run(asset({ [TERMS]: 'Editorial' }), { rules: [] })), ['TERMS_UNMATCHED']);
      const many = Array.from({ length: 5000 }, (_, i) => ({ term: `term ${i}`, channels: `c${i}` }));
      assert.equal(run(asset({ [TERMS]: 'this is term 4999' }), { rules: many }, { channel: 'c4999' }).status, 'allowed');
      const huge = `${'lorem ipsum '.repeat(100_000)}Internal use only`;
      assert.equal(run(asset({ [TERMS]: huge }), {}, { channel: 'intranet' }).status, 'allowed');
      // IPTC keywords as the terms field: an empty list is no terms, a long one is searched
      const kw = (keywords: string[]) => asset({}, { iptc: { keywords, rights: null } });
      const cfg: RightsConfig = { termsSource: 'iptc', termsField: 'keywords', termsFallback: false, missingTerms: 'restrict' };
      assert.deepEqual(codes(run(kw([]), cfg)), ['TERMS_MISSING']);
      const keywords = [...Array.from({ length: 20_000 }, (_, i) => `kw${i}`), 'Editorial'];
      assert.equal(run(kw(keywords), cfg, { channel: 'web' }).status, 'allowed');
    });

    it('unicode: NFC and NFD forms of the same term match, and so do case and spacing variants', () => {
      const nfc = 'Réservé à l’usage éditorial'.normalize('NFC');
      const nfd = nfc.normalize('NFD');
      assert.notEqual(nfc, nfd);
      const rules = [{ term: nfd, channels: 'web' }];
      assert.equal(run(asset({ [TERMS]: nfc }), { rules }, { channel: 'web' }).status, 'allowed');
      assert.equal(run(asset({ [TERMS]: `  ${nfc.toUpperCase()}  ` }), { rules: [{ term: nfc, channels: 'web' }] }, { channel: 'WEB' }).status, 'allowed');
      assert.equal(run(asset({ [TERMS]: 'Nur für interne Zwecke' }), { rules: [{ term: 'nur fu\u0308r interne', channels: 'intranet' }] }, { channel: 'intranet' }).status, 'allowed');
      assert.equal(run(asset({ [TERMS]: 'Internal use only' }), { rules: [{ term: 'Internal', channels: 'Intra\u0301net' }] }, { channel: 'intránet' }).status, 'allowed');
    });
  });

  describe('releases', () => {
    it('a required release that is missing restricts; unknown follows the policy', () => {
      const cfg: RightsConfig = { requireModel: true, requireProperty: true };
      assert.equal(run(asset(), cfg).status, 'allowed');
      const none = run(asset({}, { releases: { model: false, property: true } }), cfg);
      assert.deepEqual(codes(none), ['RELEASE_MISSING']);
      assert.equal(none.reasons[0].field, 'releases.model');
      assert.deepEqual(codes(run(asset({}, { releases: { model: true, property: null } }), cfg)), ['RELEASE_UNKNOWN']);
      assert.equal(run(asset({}, { releases: { model: true, property: null } }), { ...cfg, unknownRelease: 'allow' }).status, 'allowed');
      assert.deepEqual(codes(run({ custom: {} }, cfg)), ['RELEASE_UNKNOWN', 'RELEASE_UNKNOWN']);
      assert.equal(run(asset({}, { releases: { model: false, property: false } })).status, 'allowed', 'not required: not checked');
    });
  });

  describe('precedence', () => {
    it('expired > restricted > expiring > allowed, with every reason listed', () => {
      const cfg: RightsConfig = { requireModel: true };
      const expiredAndRestricted = run(asset({ [EXPIRY]: '2020-01-01', [TERMS]: 'Internal use only' }, { releases: { model: false, property: true } }), cfg, { channel: 'web' });
      assert.equal(expiredAndRestricted.status, 'expired');
      assert.deepEqual(codes(expiredAndRestricted), ['EXPIRED', 'CHANNEL_NOT_ALLOWED', 'RELEASE_MISSING']);
      const restrictedAndExpiring = run(asset({ [EXPIRY]: '2025-06-05', [TERMS]: 'Internal use only' }), cfg, { channel: 'web' });
      assert.equal(restrictedAndExpiring.status, 'restricted');
      assert.deepEqual(codes(restrictedAndExpiring), ['EXPIRING_SOON', 'CHANNEL_NOT_ALLOWED']);
      assert.equal(restrictedAndExpiring.daysLeft, 4); // 12:00 on 1 June to 00:00 on 6 June: 4.5 days
      assert.equal(run(asset({ [EXPIRY]: '2025-06-05' })).status, 'expiring');
      assert.equal(run(asset({ [EXPIRY]: '2026-06-05' })).status, 'allowed');
    });
  });

  describe('odd input', () => {
    it('never throws: assets that are not objects, parts of the wrong type, prototype names', () => {
      for (const a of [null, undefined, 42, 'I0000abcdefghijk', [], { custom: 'x' }, { custom: [] }, { custom: null, iptc: 7 }, Object.create(null)]) {
        const r = run(a);
        assert.ok(['allowed', 'restricted'].includes(r.status), JSON.stringify(a));
      }
      const proto = run(asset(), { expiryField: '__proto__', termsField: 'constructor' });
      assert.equal(proto.status, 'allowed');
      assert.equal(run(asset({ [EXPIRY]: { toString: 1, valueOf: 2 } })).status, 'restricted');
    });
    it('an evaluation time that is not an instant ends restricted, not in an exception', () => {
      const r = run(asset(), {}, { at: NaN });
      assert.equal(r.status, 'restricted');
      assert.deepEqual(codes(r), ['EVALUATION_FAILED']);
    });
  });

  describe('policy', () => {
    it('defaults', () => {
      const p = resolveRights({});
      assert.deepEqual(p.expiry, { source: 'custom', name: EXPIRY });
      assert.deepEqual(p.terms, { source: 'custom', name: TERMS });
      assert.equal(p.embargo, undefined);
      assert.equal(p.termsFallback, true);
      assert.equal(p.rules.length, DEFAULT_RULES.length);
      assert.equal(p.missingExpiry, 'allow');
      assert.equal(p.invalidDate, 'restrict');
      assert.equal(p.missingTerms, 'allow');
      assert.equal(p.unmatchedTerms, 'restrict');
      assert.equal(p.unknownRelease, 'restrict');
      assert.equal(p.windowMs, 30 * DAY_MS);
      assert.equal(p.timeZone, undefined);
      assert.deepEqual(partsNeeded(p).sort(), ['custom', 'iptc']);
      assert.deepEqual(partsNeeded(resolveRights({ termsFallback: false })), ['custom']);
    });
    it('parses rules from the editor (comma lists, *, JSON text)', () => {
      const p = resolveRights({ rules: JSON.stringify([{ term: ' Editorial ', channels: 'Web, print,,', regions: '*' }]) });
      assert.deepEqual(p.rules, [{ op: 'contains', term: 'Editorial', key: 'editorial', effect: 'allow', channels: ['web', 'print'], regions: null }]);
    });
    it('refuses bad settings with a catalogue key', () => {
      const bad: Array<[RightsConfig, string]> = [
        [{ window: -1 }, 'badWindow'],
        [{ window: 'soon' }, 'badWindow'],
        [{ timeZone: 'Mars/Olympus' }, 'badZone'],
        [{ rules: [{ term: '' }] }, 'emptyTerm'],
        [{ rules: [null] }, 'badRule'],
        [{ rules: 'not json' }, 'badRules'],
        [{ rules: { term: 'x' } }, 'badRules'],
        [{ missingExpiry: 'maybe' }, 'badChoice'],
        [{ expirySource: 'exif' }, 'badChoice'],
        [{ rules: [{ term: 'x', op: 'regex' }] }, 'badChoice'],
      ];
      for (const [config, key] of bad) {
        assert.throws(() => resolveRights(config), (e: unknown) => e instanceof RightsConfigError && e.key === key, JSON.stringify(config));
      }
    });
  });

  describe('input', () => {
    const p = resolveRights({});
    it('uses msg.asset when it has the parts, else fetches by msg.asset.id, msg.payload or msg.payload.id', () => {
      const a = asset();
      assert.deepEqual(assetSource({ asset: a }, p), { asset: a });
      assert.ok(hasParts(a as unknown as Record<string, unknown>, p));
      assert.deepEqual(assetSource({ asset: { id: ID } }, p), { fetchId: ID });
      assert.deepEqual(assetSource({ payload: ` ${ID} ` }, p), { fetchId: ID });
      assert.deepEqual(assetSource({ payload: { id: ID } }, p), { fetchId: ID });
      assert.deepEqual(assetSource({ asset: 'junk', payload: ID }, p), { fetchId: ID });
      assert.deepEqual(assetSource({ asset: { custom: {}, iptc: {} } }, p), { asset: { custom: {}, iptc: {} } });
    });
    it('refuses a missing or malformed id', () => {
      const key = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return e instanceof InputError ? `${e.key}:${e.values.value ?? ''}` : 'other';
        }
        return 'none';
      };
      assert.equal(key(() => assetSource({}, p)), 'noId:');
      assert.equal(key(() => assetSource({ payload: '' }, p)), 'noId:');
      assert.equal(key(() => assetSource({ payload: '../../etc' }, p)), 'badId:../../etc');
      assert.equal(key(() => assetSource({ payload: 1700000000000 }, p)), 'badId:number');
      assert.equal(key(() => assetSource({ payload: 'G0000abcdefghijk' }, p)), 'badId:G0000abcdefghijk');
    });
    it('reads the evaluation time', () => {
      assert.equal(evaluationTime(1_750_000_000_000, 'UTC'), 1_750_000_000_000);
      assert.equal(evaluationTime('1750000000000', 'UTC'), 1_750_000_000_000);
      assert.equal(evaluationTime(new Date(7), 'UTC'), 7);
      assert.equal(evaluationTime('2025-06-01', 'Europe/Berlin'), iso('2025-05-31T22:00:00Z'));
      assert.equal(evaluationTime('2025-06-01T08:00:00+02:00', 'UTC'), iso('2025-06-01T06:00:00Z'));
      for (const bad of ['launch day', '', null, undefined, {}, NaN, new Date(NaN), '2023-02-29']) {
        assert.throws(() => evaluationTime(bad, 'UTC'), (e: unknown) => e instanceof RightsInputError && e.key === 'badTime', String(bad));
      }
    });
    it('reads channel and region', () => {
      assert.equal(useValue(' web ', 'channel'), 'web');
      assert.equal(useValue(undefined, 'channel'), null);
      assert.equal(useValue('', 'region'), null);
      assert.equal(useValue(44, 'region'), '44');
      assert.throws(() => useValue(['web'], 'channel'), (e: unknown) => e instanceof RightsInputError && e.key === 'badUse');
    });
  });

  describe('text', () => {
    it('folds, lists and reads text safely', () => {
      assert.equal(fold('  A\u0301  b\tC '), 'á b c');
      assert.deepEqual(parseList('Web, web ,PRINT;*'), ['web', 'print', '*']);
      assert.deepEqual(parseList(['a', 3, null, {}]), ['a', '3']);
      assert.equal(textOf(['a', ' b ', '', null]), 'a, b');
      assert.equal(textOf({ toString: () => 'x' }), undefined);
    });
    it('every reason code has a catalogue text', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cat = require('../../../nodes/locales/en-US/photoshelter-rights.json') as Record<string, { reason: Record<string, string> }>;
      assert.deepEqual(REASON_CODES.filter((c) => typeof cat['photoshelter-rights'].reason[c] !== 'string'), []);
    });
  });
});

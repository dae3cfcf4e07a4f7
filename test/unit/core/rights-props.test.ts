import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateRights, RIGHTS_OUTPUTS, type RightsResult } from '../../../src/core/rights/evaluate';
import { DAY_MS, resolveRights, type RightsConfig } from '../../../src/core/rights/policy';

const EXPIRY = 'License Expiration Date';
const TERMS = 'Usage Rights';
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Pacific/Chatham',
  'America/St_Johns',
  'America/Los_Angeles',
  'America/Santiago', // DST changes at midnight
  'America/Havana', // DST changes at midnight
  'Asia/Kolkata',
  'Australia/Lord_Howe', // 30-minute DST
  'Pacific/Kiritimati', // +14
  'Pacific/Pago_Pago', // -11
];

const dayFormatters = new Map<string, Intl.DateTimeFormat>();
/** `YYYY-MM-DD` of an instant on the wall calendar of `zone`. */
function dayIn(zone: string, epochMs: number): string {
  let f = dayFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormatters.set(zone, f);
  }
  const parts = f.formatToParts(new Date(epochMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

const configArb: fc.Arbitrary<RightsConfig> = fc.record(
  {
    missingExpiry: fc.constantFrom('allow', 'restrict'),
    invalidDate: fc.constantFrom('restrict', 'ignore'),
    missingTerms: fc.constantFrom('allow', 'restrict'),
    unmatchedTerms: fc.constantFrom('allow', 'restrict'),
    unknownRelease: fc.constantFrom('allow', 'restrict'),
    requireModel: fc.boolean(),
    requireProperty: fc.boolean(),
    embargoField: fc.constantFrom('', 'Embargo'),
    termsSource: fc.constantFrom('custom', 'iptc'),
    termsField: fc.constantFrom(TERMS, 'rights', 'keywords'),
    window: fc.integer({ min: 0, max: 400 }),
    timeZone: fc.constantFrom(...ZONES),
  },
  { requiredKeys: [] },
);

const dayArb = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

function wellFormed(r: RightsResult): void {
  assert.ok(RIGHTS_OUTPUTS.includes(r.status), r.status);
  assert.ok(Array.isArray(r.reasons));
  for (const reason of r.reasons) {
    assert.equal(typeof reason.code, 'string');
    assert.equal(typeof reason.detail, 'string');
  }
  const has = (c: string) => r.reasons.some((x) => x.code === c);
  const expected = has('EXPIRED')
    ? 'expired'
    : r.reasons.some((x) => x.code !== 'EXPIRING_SOON')
      ? 'restricted'
      : has('EXPIRING_SOON')
        ? 'expiring'
        : 'allowed';
  assert.equal(r.status, expected, 'the status follows the precedence of the reasons');
  assert.ok(r.expiresAt === null || !Number.isNaN(Date.parse(r.expiresAt)));
  assert.ok(r.daysLeft === null || Number.isInteger(r.daysLeft));
  JSON.stringify(r); // serializable for a msg
}

describe('core/rights properties', () => {
  it('never throws on arbitrary assets and settings, and the result is consistent', () => {
    fc.assert(
      fc.property(fc.anything(), configArb, fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.option(fc.string()), (asset, config, at, channel) => {
        wellFormed(evaluateRights(asset, resolveRights(config), { at, channel, timeZone: 'Europe/Berlin' }));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary attribute values in the fields it reads', () => {
    const value = fc.oneof(fc.anything(), fc.string(), dayArb, fc.constant('2023-02-29'));
    fc.assert(
      fc.property(value, value, value, value, fc.anything(), fc.anything(), configArb, (expiry, embargo, terms, rights, model, property, config) => {
        const asset = {
          id: 'I0000abcdefghijk',
          custom: { [EXPIRY]: expiry, Embargo: embargo, [TERMS]: terms },
          iptc: { rights, keywords: terms },
          releases: { model, property },
        };
        wellFormed(evaluateRights(asset, resolveRights(config), { at: Date.parse('2025-06-01T12:00:00Z'), channel: 'web', region: 'EU' }));
      }),
      { numRuns: 300 },
    );
  });

  it('a date-only expiry D ends at the first instant of D+1 on the zone\'s calendar', () => {
    fc.assert(
      fc.property(dayArb, fc.constantFrom(...ZONES), (day, zone) => {
        const policy = resolveRights({ timeZone: zone });
        const r = evaluateRights({ custom: { [EXPIRY]: day } }, policy, { at: Date.parse(`${day}T12:00:00Z`) });
        assert.ok(r.expiresAt);
        const end = Date.parse(r.expiresAt);
        assert.equal(dayIn(zone, end - 1), day, 'the last millisecond is on day D');
        assert.notEqual(dayIn(zone, end), day, 'the expiry instant is on the next day');
        const just = evaluateRights({ custom: { [EXPIRY]: day } }, policy, { at: end - 1 });
        assert.notEqual(just.status, 'expired');
        assert.equal(evaluateRights({ custom: { [EXPIRY]: day } }, policy, { at: end }).status, 'expired');
      }),
      { numRuns: 400 },
    );
  });

  it('daysLeft, expiring and expired follow from the time left; expiry never un-expires', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: -400 * DAY_MS, max: 400 * DAY_MS }),
        fc.integer({ min: 0, max: 5 * DAY_MS }),
        fc.integer({ min: 0, max: 365 }),
        (expiryMs, offset, later, window) => {
          const policy = resolveRights({ window, missingTerms: 'allow' });
          const asset = { custom: { [EXPIRY]: new Date(expiryMs).toISOString() } };
          const at = expiryMs - offset;
          const r = evaluateRights(asset, policy, { at });
          const left = expiryMs - at;
          assert.equal(r.daysLeft, Math.floor(left / DAY_MS));
          const expected = left <= 0 ? 'expired' : left < window * DAY_MS ? 'expiring' : 'allowed';
          assert.equal(r.status, expected);
          const next = evaluateRights(asset, policy, { at: at + later });
          if (r.status === 'expired') assert.equal(next.status, 'expired');
          assert.ok((next.daysLeft as number) <= (r.daysLeft as number));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a term matches its NFC and NFD forms, in any case, inside longer terms', () => {
    const letters = fc.constantFrom('a', 'e', 'o', 'é', 'ü', 'ñ', 'Å', 'ç', 'ø', 'ắ', 'ệ', 'Ō', 'ż', 'k', ' ');
    const word = fc.array(letters, { minLength: 1, maxLength: 12 }).map((a) => a.join('')).filter((w) => w.trim() !== '');
    fc.assert(
      fc.property(word, fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.boolean(), fc.boolean(), (w, before, after, upper, ruleNfd) => {
        const rule = ruleNfd ? w.normalize('NFD') : w.normalize('NFC');
        const inTerms = (upper ? w.toUpperCase() : w).normalize(ruleNfd ? 'NFC' : 'NFD');
        const policy = resolveRights({ rules: [{ term: rule, channels: 'web' }], termsFallback: false });
        const terms = `${before} ${inTerms} ${after}`;
        const r = evaluateRights({ custom: { [TERMS]: terms } }, policy, { at: 0, channel: 'web' });
        assert.equal(r.status, 'allowed', JSON.stringify({ rule, terms }));
        const elsewhere = evaluateRights({ custom: { [TERMS]: terms } }, policy, { at: 0, channel: 'print' });
        assert.equal(elsewhere.status, 'restricted');
      }),
      { numRuns: 300 },
    );
  });

  it('the channel of a use is compared without regard to case or Unicode form', () => {
    const name = fc.string({ unit: fc.constantFrom('w', 'e', 'b', 'é', 'ö', 'I', 'x'), minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(name, (ch) => {
        const policy = resolveRights({ rules: [{ term: 'Editorial', channels: ch.normalize('NFD') }] });
        const asset = { custom: { [TERMS]: 'Editorial' } };
        assert.equal(evaluateRights(asset, policy, { at: 0, channel: ch.toUpperCase().normalize('NFC') }).status, 'allowed');
      }),
      { numRuns: 200 },
    );
  });
});

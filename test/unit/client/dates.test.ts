import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareDates, isValidTimeZone, parseApiDate, zoneOffsetMs } from '../../../src/photoshelter/dates';

describe('photoshelter/dates', () => {
  it('reads the API default (zone-less, microseconds) as UTC and keeps the microseconds', () => {
    const d = parseApiDate('2019-04-25T14:54:12.136828');
    assert.ok(d);
    assert.equal(d.iso, '2019-04-25T14:54:12.136828Z');
    assert.equal(d.epochMs, Date.UTC(2019, 3, 25, 14, 54, 12, 136));
    assert.equal(d.micros, 828);
  });

  it('reads explicit offsets, Z, unix seconds and date-only values', () => {
    assert.equal(parseApiDate('2019-04-25T14:54:12+02:00')?.iso, '2019-04-25T12:54:12.000Z');
    assert.equal(parseApiDate('2019-04-25T14:54:12-0530')?.iso, '2019-04-25T20:24:12.000Z');
    assert.equal(parseApiDate('2019-04-25T14:54:12Z')?.iso, '2019-04-25T14:54:12.000Z');
    assert.equal(parseApiDate(1556204052)?.iso, '2019-04-25T14:54:12.000Z');
    assert.equal(parseApiDate('1556204052')?.iso, '2019-04-25T14:54:12.000Z');
    assert.equal(parseApiDate('2024-02-29')?.iso, '2024-02-29T00:00:00.000Z');
    // the 2019 draft's examples: `2019-10-02 14:39:23 GMT`, whatever zone the account is in
    assert.equal(parseApiDate('2019-10-02 14:39:23 GMT', 'Europe/Berlin')?.iso, '2019-10-02T14:39:23.000Z');
    assert.equal(parseApiDate('2019-10-02T14:39:23.250 utc')?.iso, '2019-10-02T14:39:23.250Z');
  });

  it('rejects impossible dates without throwing', () => {
    for (const bad of ['2023-02-29', '2024-13-01', '2024-04-31', '2024-01-01T24:00:00', 'soon', '', '12/31/2024', {}, [], NaN, null, undefined]) {
      assert.equal(parseApiDate(bad as unknown), undefined, String(bad));
    }
    assert.equal(parseApiDate('2024-01-01', 'Not/AZone'), undefined);
  });

  it('interprets zone-less values in the given IANA zone, across DST', () => {
    // Berlin: CET (+1) in winter, CEST (+2) in summer.
    assert.equal(parseApiDate('2024-01-15T12:00:00', 'Europe/Berlin')?.iso, '2024-01-15T11:00:00.000Z');
    assert.equal(parseApiDate('2024-07-15T12:00:00', 'Europe/Berlin')?.iso, '2024-07-15T10:00:00.000Z');
    // 02:30 on 31 March 2024 does not exist in Berlin (gap): it moves forward by the gap, to 03:30 CEST.
    assert.equal(parseApiDate('2024-03-31T02:30:00', 'Europe/Berlin')?.iso, '2024-03-31T01:30:00.000Z');
    // 02:30 on 27 October 2024 happens twice (overlap): the earlier instant is chosen.
    assert.equal(parseApiDate('2024-10-27T02:30:00', 'Europe/Berlin')?.iso, '2024-10-27T00:30:00.000Z');
    assert.equal(parseApiDate('2024-03-10T12:00:00', 'America/New_York')?.iso, '2024-03-10T16:00:00.000Z');
  });

  it('knows zones', () => {
    assert.equal(isValidTimeZone('Asia/Kolkata'), true);
    assert.equal(isValidTimeZone('Mars/Olympus'), false);
    assert.equal(zoneOffsetMs('Asia/Kolkata', Date.UTC(2024, 0, 1)), 5.5 * 3600_000);
  });

  it('property: any UTC instant round-trips through its ISO form and its zone-less form', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2099, 11, 31) }), (ms) => {
        const iso = new Date(ms).toISOString();
        assert.equal(parseApiDate(iso)?.epochMs, ms);
        assert.equal(parseApiDate(iso.slice(0, -1))?.epochMs, ms);
      }),
    );
  });

  it('property: wall time in a zone maps back to the same wall time (outside DST gaps)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Pacific/Chatham'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), fc.constantFrom(...zones), (ms, zone) => {
        const instant = Math.floor(ms / 1000) * 1000;
        const wall = instant + zoneOffsetMs(zone, instant);
        const wallStr = new Date(wall).toISOString().slice(0, 19);
        const parsed = parseApiDate(wallStr, zone);
        assert.ok(parsed);
        // The parsed instant shows the same wall clock in that zone.
        assert.equal(parsed.epochMs + zoneOffsetMs(zone, parsed.epochMs), wall);
      }),
    );
  });

  it('orders at microsecond precision', () => {
    const a = parseApiDate('2024-05-01T10:00:00.000001');
    const b = parseApiDate('2024-05-01T10:00:00.000002');
    assert.ok(a && b);
    assert.ok(compareDates(a, b) < 0);
    assert.equal(compareDates(b, b), 0);
  });
  it('property: the usual UTC form read by position gives what the general reading gives, valid or not', () => {
    const two = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));
    const form = fc.tuple(
      fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
      two(0, 13), two(0, 32), two(0, 24), two(0, 60), two(0, 60),
      fc.constantFrom('T', ' '),
      fc.option(fc.tuple(fc.constantFrom('.', ','), fc.stringMatching(/^\d{0,10}$/)), { nil: undefined }),
    ).map(([y, mo, d, h, mi, s, sep, frac]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac ? frac[0] + frac[1] : ''}`);
    fc.assert(
      fc.property(form, (text) => {
        // a space before the zone is read by the regular expression only: the reference
        const general = parseApiDate(`${text} Z`);
        assert.deepEqual(parseApiDate(`${text}Z`), general, text);
        assert.deepEqual(parseApiDate(`${text}z`), general, text);
        assert.deepEqual(parseApiDate(text), general, text);
        assert.deepEqual(parseApiDate(text, 'Etc/UTC'), general, text);
      }),
      { numRuns: 2000 },
    );
    // leap days, as the calendar has them
    assert.equal(parseApiDate('2024-02-29T00:00:00')?.iso, '2024-02-29T00:00:00.000Z');
    assert.equal(parseApiDate('2100-02-29T00:00:00'), undefined);
    assert.equal(parseApiDate('2000-02-29T00:00:00Z')?.epochMs, Date.UTC(2000, 1, 29));
  });
});

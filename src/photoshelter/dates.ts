/**
 * Dates as PhotoShelter sends them, made unambiguous.
 *
 * The API sends `2019-04-25T14:54:12.136828` (no zone), ISO 8601 with an offset, unix seconds, or — in
 * custom fields — a bare `YYYY-MM-DD`. A zone-less value means wall-clock time in a zone: UTC unless the
 * caller knows the account's zone (an IANA name such as `Europe/Berlin`).
 */

export interface ParsedDate {
  /** Milliseconds since the epoch. */
  epochMs: number;
  /** ISO 8601 with an explicit zone (`Z`), keeping the sub-millisecond digits the API sent. */
  iso: string;
  /** Microseconds past `epochMs`' millisecond (0–999), so ordering is exact at the API's precision. */
  micros: number;
}

// the zone: Z, an offset, or GMT/UTC as the 2019 draft's examples write it (`2019-10-02 14:39:23 GMT`)
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|GMT|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

const validZones = new Map<string, boolean>();

/** True when `zone` is an IANA time-zone name this runtime knows (or `UTC`). */
export function isValidTimeZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  let ok = validZones.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    validZones.set(zone, ok);
  }
  return ok;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Offset of `zone` from UTC at the instant `epochMs`, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(zone: string, epochMs: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const parts = formatterFor(zone).formatToParts(new Date(epochMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const truncated = epochMs - (((epochMs % 1000) + 1000) % 1000);
  return wall - truncated;
}

/**
 * The instant at which the wall clock in `zone` shows the given UTC-encoded wall time. A wall time in a
 * DST gap (one that never happens) moves forward by the gap; in an overlap the earlier instant is used.
 */
export function wallTimeToEpoch(wallAsUtcMs: number, zone: string): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return wallAsUtcMs;
  const day = 86_400_000;
  const before = zoneOffsetMs(zone, wallAsUtcMs - day);
  const after = zoneOffsetMs(zone, wallAsUtcMs + day);
  const fits = [wallAsUtcMs - before, wallAsUtcMs - after]
    .filter((c) => c + zoneOffsetMs(zone, c) === wallAsUtcMs)
    .sort((x, y) => x - y);
  return fits.length ? fits[0] : wallAsUtcMs - before;
}

function isRealDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Parse a date as the API (or a user) writes it. Returns `undefined` for anything that is not a real
 * date — never throws — so callers decide what an unparseable value means.
 */
export function parseApiDate(value: unknown, zone = 'UTC'): ParsedDate | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const ms = Math.round(value * 1000);
    return fromEpoch(ms, 0);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : fromEpoch(ms, 0);
  }
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  const fast = parseUtcForm(s, zone);
  if (fast) return fast;
  if (/^\d{9,11}(\.\d+)?$/.test(s)) return parseApiDate(Number(s), zone);
  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, tz] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const h = hs === undefined ? 0 : Number(hs);
  const mi = mis === undefined ? 0 : Number(mis);
  const sec = ss === undefined ? 0 : Number(ss);
  if (!isRealDate(y, mo, d) || h > 23 || mi > 59 || sec > 59) return undefined;
  const digits = (frac ?? '').padEnd(6, '0').slice(0, 6);
  const ms = Number(digits.slice(0, 3));
  const micros = Number(digits.slice(3, 6));
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const utc = tz === undefined ? zone === 'UTC' || zone === 'Etc/UTC' : /^(Z|GMT|UTC)$/i.test(tz);
  // already a UTC wall time with four-digit year (Date.UTC reads 0–99 as 1900–1999): the text is the ISO form
  if (utc && y >= 1000) {
    return { epochMs: wall, iso: `${ys}-${mos}-${ds}T${hs ?? '00'}:${mis ?? '00'}:${ss ?? '00'}.${digits.slice(0, 3)}${micros ? digits.slice(3, 6) : ''}Z`, micros };
  }
  let epochMs: number;
  if (tz === undefined) {
    if (!isValidTimeZone(zone)) return undefined;
    epochMs = wallTimeToEpoch(wall, zone);
  } else if (/^(Z|GMT|UTC)$/i.test(tz)) {
    epochMs = wall;
  } else {
    const sign = tz.startsWith('-') ? -1 : 1;
    const body = tz.slice(1).replace(':', '');
    const oh = Number(body.slice(0, 2));
    const om = body.length > 2 ? Number(body.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    epochMs = wall - sign * (oh * 60 + om) * 60_000;
  }
  return fromEpoch(epochMs, micros);
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const twoDigits = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DIGIT_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * The form the API sends nearly always, `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` in UTC, read by position
 * (a walk reads two dates per asset). Anything else, or anything out of range, is left to the regular
 * expression (undefined here); what this returns is exactly what the general path returns.
 */
function parseUtcForm(s: string, zone: string): ParsedDate | undefined {
  const n = s.length;
  if (n < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 32) return undefined; // T or a space
  for (const i of DIGIT_AT) if (!isDigit(s.charCodeAt(i))) return undefined;
  let i = 19;
  let fracEnd = 19;
  const dot = i < n ? s.charCodeAt(i) : 0;
  if (dot === 46 || dot === 44) {
    i++;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    fracEnd = i;
    if (fracEnd - 20 < 1 || fracEnd - 20 > 9) return undefined;
  }
  if (i === n) {
    if (zone !== 'UTC' && zone !== 'Etc/UTC') return undefined;
  } else if (i !== n - 1 || (s.charCodeAt(i) | 32) !== 122) return undefined; // Z or z
  const y = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  const mo = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const sec = twoDigits(s, 17);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1])) return undefined;
  // the first six digits of the fraction (missing ones are zeros): milliseconds, then microseconds
  let ms = 0;
  let micros = 0;
  for (let k = 20; k < 26; k++) {
    const digit = k < fracEnd ? s.charCodeAt(k) - 48 : 0;
    if (k < 23) ms = ms * 10 + digit;
    else micros = micros * 10 + digit;
  }
  const head = sep === 84 ? s.slice(0, 19) : `${s.slice(0, 10)}T${s.slice(11, 19)}`;
  const fraction = micros ? pad(ms * 1000 + micros, 6) : pad(ms, 3);
  return { epochMs: Date.UTC(y, mo - 1, d, h, mi, sec, ms), iso: `${head}.${fraction}Z`, micros };
}

function fromEpoch(epochMs: number, micros: number): ParsedDate | undefined {
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return undefined;
  const base = d.toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  const iso = micros ? `${base.slice(0, 23)}${pad(micros, 3)}Z` : base;
  return { epochMs, iso, micros };
}

/** Compare two parsed dates at microsecond precision. */
export function compareDates(a: ParsedDate, b: ParsedDate): number {
  return a.epochMs - b.epochMs || a.micros - b.micros;
}

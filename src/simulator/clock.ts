// The simulator's clock: real time plus an offset that the control API can advance.
// Times are integer microseconds since the epoch, strictly increasing per reading.

export class SimClock {
  private offsetMs = 0;
  private lastMicros = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** A fresh, strictly increasing timestamp in microseconds. */
  tickMicros(): number {
    const ms = this.nowMs();
    const sub = Math.floor((performance.now() % 1) * 1000);
    let us = ms * 1000 + sub;
    if (us <= this.lastMicros) us = this.lastMicros + 1;
    this.lastMicros = us;
    return us;
  }

  /** A fresh timestamp no earlier than `us` (later stamps stay strictly increasing after it). */
  tickAtLeast(us: number): number {
    const t = this.tickMicros();
    if (t >= us) return t;
    this.lastMicros = us;
    return us;
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  reset(): void {
    this.offsetMs = 0;
  }

  /** What a restart must keep: the offset and the last timestamp handed out. */
  saved(): { offsetMs: number; lastMicros: number } {
    return { offsetMs: this.offsetMs, lastMicros: this.lastMicros };
  }

  restore(saved: { offsetMs: number; lastMicros: number }): void {
    this.offsetMs = saved.offsetMs;
    this.lastMicros = saved.lastMicros;
  }
}

/** `2019-04-25T14:54:12.136828`, zone-less UTC (the API's iso8601ps). */
export function formatIsoPs(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  const micros = us - seconds * 1_000_000;
  return new Date(seconds * 1000).toISOString().slice(0, 19) + '.' + String(micros).padStart(6, '0');
}

export type DateFormat = 'iso8601ps' | 'iso8601' | 'unix';

export function formatDate(us: number, format: DateFormat): string | number {
  if (format === 'unix') return Math.floor(us / 1_000_000);
  if (format === 'iso8601') return formatIsoPs(us).slice(0, 19) + '+00:00';
  return formatIsoPs(us);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses a client-supplied date to microseconds: the draft's `2019-10-15 12:00:00 GMT`, or
 * `YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|±HH:MM]` (zone-less = UTC).
 */
export function parseClientDate(value: string): number | undefined {
  const trimmed = value.trim();
  const gmt = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT$/.exec(trimmed);
  const m = DATE_RE.exec(gmt ? `${gmt[1]}Z` : trimmed);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d) return undefined;
  if (+h > 23 || +mi > 59 || +s > 59) return undefined;
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return (ms - offsetMin * 60_000) * 1000 + Number(frac.padEnd(6, '0') || '0');
}

/** Strict `YYYY-MM-DD` calendar date check. */
export function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

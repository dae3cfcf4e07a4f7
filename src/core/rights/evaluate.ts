/**
 * May this asset be used, here and now — and if not, why not?
 *
 * Semantics (the node's help says the same):
 * - A date-only expiry `D` is valid through the end of day `D` in the configured zone: the licence
 *   expires at 00:00 of `D+1` there (DST-aware). An expiry with a time is exact (zone-less times are
 *   wall-clock times in the configured zone). `expiresAt` is that instant: the first moment of non-use.
 * - Expired when the evaluation time ≥ expiresAt. `daysLeft` = floor((expiresAt − time) / 24 h): zero or
 *   negative once expired. Expiring soon when 0 ≤ time left < window.
 * - A date-only embargo ("not before") `D` lifts at 00:00 of `D` in the zone; before it: restricted.
 * - Usage terms are matched against the rules (Unicode-normalized, case-insensitive). Among the rules
 *   that match, some `allow` rule must permit the channel and region of the use and no `deny` rule may
 *   forbid them. A channel or region that is not given is not checked. Terms that no rule matches
 *   follow the `unmatchedTerms` policy.
 * - Precedence: expired > restricted > expiring > allowed; `reasons` lists everything that applies.
 * - Never throws: odd data ends as a reason, and an unexpected failure as `restricted`.
 */
import { isValidTimeZone, parseApiDate, wallTimeToEpoch } from '../../photoshelter/dates';
import { DAY_MS, type FieldRef, type RightsPolicy, type TermRule } from './policy';
import { fold, own, textOf } from './text';

export type RightsStatus = 'allowed' | 'expiring' | 'expired' | 'restricted';

/** Output order of the node: allowed, expiring soon, expired, restricted. */
export const RIGHTS_OUTPUTS: readonly RightsStatus[] = ['allowed', 'expiring', 'expired', 'restricted'];

export const REASON_CODES = [
  'EXPIRED',
  'EXPIRING_SOON',
  'EXPIRY_MISSING',
  'DATE_INVALID',
  'EMBARGO',
  'TERMS_MISSING',
  'TERMS_UNMATCHED',
  'CHANNEL_NOT_ALLOWED',
  'REGION_NOT_ALLOWED',
  'USE_NOT_ALLOWED',
  'USE_DENIED',
  'RELEASE_MISSING',
  'RELEASE_UNKNOWN',
  'EVALUATION_FAILED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface RightsReason {
  code: ReasonCode;
  /** Where it comes from: `custom.License Expiration Date`, `iptc.rights`, `releases.model`, `channel`, … */
  field: string | null;
  /** In English; `values` hold the parts a translation needs. */
  detail: string;
  values: Record<string, string | number>;
}

export interface RightsResult {
  status: RightsStatus;
  reasons: RightsReason[];
  /** The first instant at which the licence is no longer valid (ISO 8601, UTC), or null. */
  expiresAt: string | null;
  /** Whole days (floor of 24-hour periods) from the evaluation time to `expiresAt`, or null. */
  daysLeft: number | null;
  /** The instant the embargo lifts, when there is one. */
  embargoUntil: string | null;
  evaluatedAt: string;
  channel: string | null;
  region: string | null;
  /** The usage terms read, or null. */
  terms: string | null;
  /** The terms of the rules that matched. */
  rules: string[];
}

export interface RightsUse {
  /** Evaluation instant, epoch milliseconds. */
  at: number;
  channel?: string | null;
  region?: string | null;
  /** Zone of date-only and zone-less values when the policy names none (the account's zone). */
  timeZone?: string;
}

export type DateReading =
  | { kind: 'missing' }
  | { kind: 'invalid'; text: string }
  | { kind: 'instant'; epochMs: number; micros: number; dateOnly: boolean; /** The day as written, for a date-only value. */ day?: string };

const DATE_ONLY = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/u;

function utcDay(y: number, m: number, d: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return date.getTime();
}

function shown(value: unknown): string {
  const t = textOf(value);
  return (t ?? (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)).slice(0, 60);
}

/**
 * Reads a date-valued field. A date-only value is the start (`start`) or the end (`end`: 00:00 of the next
 * day) of that day in `zone`; anything else is parsed as the API writes dates (zone-less = `zone`).
 */
export function readDate(value: unknown, zone: string, role: 'start' | 'end'): DateReading {
  if (value === undefined || value === null) return { kind: 'missing' };
  if (typeof value === 'string' && value.trim() === '') return { kind: 'missing' };
  const m = typeof value === 'string' ? DATE_ONLY.exec(value) : null;
  if (m) {
    if (!parseApiDate(`${m[1]}-${m[2]}-${m[3]}`, 'UTC')) return { kind: 'invalid', text: shown(value) };
    const day = utcDay(Number(m[1]), Number(m[2]), Number(m[3]) + (role === 'end' ? 1 : 0));
    const epochMs = wallTimeToEpoch(day, zone);
    return Number.isFinite(epochMs) ? { kind: 'instant', epochMs, micros: 0, dateOnly: true, day: `${m[1]}-${m[2]}-${m[3]}` } : { kind: 'invalid', text: shown(value) };
  }
  const parsed = parseApiDate(value, zone);
  if (!parsed) return { kind: 'invalid', text: shown(value) };
  return { kind: 'instant', epochMs: parsed.epochMs, micros: parsed.micros, dateOnly: false };
}

const fieldName = (ref: FieldRef): string => `${ref.source}.${ref.name}`;

/** The value of a field on an asset: exact name first, then the same name folded (case, Unicode form). */
export function readField(asset: unknown, ref: FieldRef): unknown {
  const part = own(asset, ref.source);
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return undefined;
  const exact = own(part, ref.name);
  if (exact !== undefined) return exact;
  const want = fold(ref.name);
  const key = Object.keys(part).find((k) => fold(k) === want);
  return key === undefined ? undefined : own(part, key);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function release(value: unknown): boolean | null {
  if (value === true || value === 1 || value === 'true' || value === '1' || value === 'yes') return true;
  if (value === false || value === 0 || value === 'false' || value === '0' || value === 'no') return false;
  return null;
}

function matches(rule: TermRule, terms: string): boolean {
  return rule.op === 'equals' ? terms === rule.key : terms.includes(rule.key);
}

const permits = (list: string[] | null, value: string | null): boolean => list === null || value === null || list.includes(value);

class Collector {
  readonly reasons: RightsReason[] = [];
  add(code: ReasonCode, field: string | null, detail: string, values: Record<string, string | number> = {}): void {
    this.reasons.push({ code, field, detail, values });
  }
}

function statusOf(reasons: readonly RightsReason[]): RightsStatus {
  if (reasons.some((r) => r.code === 'EXPIRED')) return 'expired';
  if (reasons.some((r) => r.code !== 'EXPIRING_SOON')) return 'restricted';
  return reasons.length ? 'expiring' : 'allowed';
}

function checkExpiry(asset: unknown, policy: RightsPolicy, at: number, zone: string, out: Collector, result: RightsResult): void {
  const field = fieldName(policy.expiry);
  let reading = readDate(readField(asset, policy.expiry), zone, 'end');
  if (reading.kind === 'invalid') {
    if (policy.invalidDate === 'restrict') {
      out.add('DATE_INVALID', field, `"${reading.text}" is not a date`, { value: reading.text });
      return;
    }
    reading = { kind: 'missing' };
  }
  if (reading.kind === 'missing') {
    if (policy.missingExpiry === 'restrict') out.add('EXPIRY_MISSING', field, 'no expiry date');
    return;
  }
  const { epochMs, micros, day } = reading;
  const iso = new Date(epochMs).toISOString();
  result.expiresAt = iso;
  const left = epochMs - at;
  result.daysLeft = Math.floor(left / DAY_MS);
  const expired = at > epochMs || (at === epochMs && micros === 0);
  // a date-only expiry is the last day of use: said as written, with the zone it is read in
  const when: Record<string, string> = day ? { date: day, zone } : {};
  const text = day ? `after ${day} (${zone})` : `at ${iso}`;
  if (expired) out.add('EXPIRED', field, `expired ${text}`, { expiresAt: iso, ...when });
  else if (left < policy.windowMs) out.add('EXPIRING_SOON', field, `expires ${text}`, { expiresAt: iso, days: result.daysLeft, ...when });
}

function checkEmbargo(asset: unknown, policy: RightsPolicy, at: number, zone: string, out: Collector, result: RightsResult): void {
  if (!policy.embargo) return;
  const field = fieldName(policy.embargo);
  const reading = readDate(readField(asset, policy.embargo), zone, 'start');
  if (reading.kind === 'invalid') {
    if (policy.invalidDate === 'restrict') out.add('DATE_INVALID', field, `"${reading.text}" is not a date`, { value: reading.text });
    return;
  }
  if (reading.kind === 'missing') return;
  const iso = new Date(reading.epochMs).toISOString();
  result.embargoUntil = iso;
  const when: Record<string, string> = reading.day ? { date: reading.day, zone } : {};
  if (at < reading.epochMs) out.add('EMBARGO', field, reading.day ? `embargoed until ${reading.day} (${zone})` : `embargoed until ${iso}`, { until: iso, ...when });
}

function checkTerms(asset: unknown, policy: RightsPolicy, channel: string | null, region: string | null, out: Collector, result: RightsResult): void {
  let ref = policy.terms;
  let value = readField(asset, ref);
  const rightsRef: FieldRef = { source: 'iptc', name: 'rights' };
  if (isBlank(value) && policy.termsFallback && !(ref.source === 'iptc' && ref.name === 'rights')) {
    ref = rightsRef;
    value = readField(asset, ref);
  }
  const field = fieldName(ref);
  if (isBlank(value) || (Array.isArray(value) && (textOf(value) ?? '') === '')) {
    if (policy.missingTerms === 'restrict') out.add('TERMS_MISSING', fieldName(policy.terms), 'no usage terms');
    return;
  }
  const text = textOf(value);
  result.terms = text ?? null;
  const folded = text === undefined ? undefined : fold(text);
  const matched = folded === undefined ? [] : policy.rules.filter((r) => matches(r, folded));
  result.rules = matched.map((r) => r.term);
  if (!matched.length) {
    if (policy.unmatchedTerms === 'restrict') {
      const t = text === undefined ? shown(value) : text.slice(0, 60);
      out.add('TERMS_UNMATCHED', field, `no rule matches the terms "${t}"`, { terms: t });
    }
    return;
  }
  const allows = matched.filter((r) => r.effect === 'allow');
  if (allows.length && !allows.some((r) => permits(r.channels, channel) && permits(r.regions, region))) {
    const channelOk = allows.some((r) => permits(r.channels, channel));
    const regionOk = allows.some((r) => permits(r.regions, region));
    const terms = allows.map((r) => r.term).join(', ');
    if (!channelOk) out.add('CHANNEL_NOT_ALLOWED', 'channel', `channel "${channel}" is not allowed by ${terms}`, { channel: channel ?? '', terms });
    if (!regionOk) out.add('REGION_NOT_ALLOWED', 'region', `region "${region}" is not allowed by ${terms}`, { region: region ?? '', terms });
    if (channelOk && regionOk) {
      out.add('USE_NOT_ALLOWED', field, `"${channel}" in "${region}" is not allowed by ${terms}`, { channel: channel ?? '', region: region ?? '', terms });
    }
  }
  for (const rule of matched) {
    if (rule.effect !== 'deny') continue;
    const hitsChannel = rule.channels === null || (channel !== null && rule.channels.includes(channel));
    const hitsRegion = rule.regions === null || (region !== null && rule.regions.includes(region));
    if (hitsChannel && hitsRegion) out.add('USE_DENIED', field, `denied by "${rule.term}"`, { term: rule.term });
  }
}

function checkReleases(asset: unknown, policy: RightsPolicy, out: Collector): void {
  const releases = own(asset, 'releases');
  const wanted: Array<['model' | 'property', boolean]> = [
    ['model', policy.requireModelRelease],
    ['property', policy.requirePropertyRelease],
  ];
  for (const [kind, required] of wanted) {
    if (!required) continue;
    const state = release(own(releases, kind));
    if (state === false) out.add('RELEASE_MISSING', `releases.${kind}`, `no ${kind} release`, { kind });
    else if (state === null && policy.unknownRelease === 'restrict') out.add('RELEASE_UNKNOWN', `releases.${kind}`, `${kind} release unknown`, { kind });
  }
}

function useName(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const f = fold(value);
  return f === '' ? null : f;
}

/** Evaluates an asset (normally the normalized `Asset`, but anything is accepted) for one use. */
export function evaluateRights(asset: unknown, policy: RightsPolicy, use: RightsUse): RightsResult {
  const channel = typeof use.channel === 'string' ? useName(use.channel) : null;
  const region = typeof use.region === 'string' ? useName(use.region) : null;
  const at = use.at;
  const result: RightsResult = {
    status: 'allowed',
    reasons: [],
    expiresAt: null,
    daysLeft: null,
    embargoUntil: null,
    evaluatedAt: Number.isFinite(at) && Math.abs(at) <= 8.64e15 ? new Date(at).toISOString() : String(at),
    channel,
    region,
    terms: null,
    rules: [],
  };
  const out = new Collector();
  try {
    if (!Number.isFinite(at) || Math.abs(at) > 8.64e15) throw new Error('the evaluation time is not a valid instant');
    const zoneWanted = policy.timeZone ?? use.timeZone ?? 'UTC';
    const zone = isValidTimeZone(zoneWanted) ? zoneWanted : 'UTC';
    checkExpiry(asset, policy, at, zone, out, result);
    checkEmbargo(asset, policy, at, zone, out, result);
    checkTerms(asset, policy, channel, region, out, result);
    checkReleases(asset, policy, out);
  } catch (e) {
    const detail = e instanceof Error ? e.message : 'evaluation failed';
    out.add('EVALUATION_FAILED', null, detail, { detail });
  }
  result.reasons = out.reasons;
  result.status = statusOf(out.reasons);
  return result;
}

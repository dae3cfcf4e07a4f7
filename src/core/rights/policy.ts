/**
 * The settings of a rights evaluation: which fields hold the expiry, the embargo and the usage terms,
 * the rules that turn terms into allowed channels and regions, and the policy for missing or odd data.
 * `resolveRights` checks a node's configuration once, so evaluating an asset never meets a bad setting.
 */
import { InputError } from '../errors';
import { BooleanSettingError, strictBool } from '../bool';
import { isValidTimeZone } from '../../photoshelter/dates';
import { fold, parseList, textOf } from './text';

export type FieldSource = 'custom' | 'iptc';

/** Where a value lives on the normalized asset: `asset.custom[name]` or `asset.iptc[name]`. */
export interface FieldRef {
  source: FieldSource;
  name: string;
}

export type RuleOp = 'contains' | 'equals';
export type RuleEffect = 'allow' | 'deny';

/** A usage-terms rule as a user writes it (channels and regions as comma-separated text or lists). */
export interface RuleConfig {
  op?: unknown;
  term?: unknown;
  effect?: unknown;
  channels?: unknown;
  regions?: unknown;
}

/** A checked rule. Empty `channels` / `regions`, or `*` in them, mean "any". */
export interface TermRule {
  op: RuleOp;
  /** As written, for reasons and msg.rights.rules. */
  term: string;
  /** Folded, for matching. */
  key: string;
  effect: RuleEffect;
  channels: string[] | null;
  regions: string[] | null;
}

export type AllowOrRestrict = 'allow' | 'restrict';

export interface RightsPolicy {
  expiry: FieldRef;
  /** Absent: no embargo field. */
  embargo?: FieldRef;
  terms: FieldRef;
  /** Read IPTC `rights` when the terms field is empty. */
  termsFallback: boolean;
  rules: TermRule[];
  /** An expiry field with no value: no expiry (allow), or restricted. */
  missingExpiry: AllowOrRestrict;
  /** A date that cannot be read: restricted, or treated as if the field were empty (`ignore`). */
  invalidDate: 'restrict' | 'ignore';
  /** No usage terms at all. */
  missingTerms: AllowOrRestrict;
  /** Terms that no rule matches (or that are not text). */
  unmatchedTerms: AllowOrRestrict;
  requireModelRelease: boolean;
  requirePropertyRelease: boolean;
  /** A required release whose state is not known (neither true nor false). A `false` always restricts. */
  unknownRelease: AllowOrRestrict;
  /** "Expiring soon" when less than this is left (milliseconds). */
  windowMs: number;
  /** Zone of date-only and zone-less values; absent: the caller's (the account's) zone. */
  timeZone?: string;
}

/** What a node's configuration may hold (everything optional and loosely typed, as flow JSON is). */
export interface RightsConfig {
  expirySource?: unknown;
  expiryField?: unknown;
  embargoSource?: unknown;
  embargoField?: unknown;
  termsSource?: unknown;
  termsField?: unknown;
  termsFallback?: unknown;
  rules?: unknown;
  missingExpiry?: unknown;
  invalidDate?: unknown;
  missingTerms?: unknown;
  unmatchedTerms?: unknown;
  requireModel?: unknown;
  requireProperty?: unknown;
  unknownRelease?: unknown;
  /** Days. */
  window?: unknown;
  timeZone?: unknown;
}

/** A configuration problem; `key` names the catalogue entry, `values` fill it in. */
export class RightsConfigError extends InputError {}

export const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 30;
export const DEFAULT_EXPIRY_FIELD = 'License Expiration Date';
export const DEFAULT_TERMS_FIELD = 'Usage Rights';

/** The rules a new node starts with: they cover the usual wording of usage terms. */
export const DEFAULT_RULES: ReadonlyArray<Required<Pick<RuleConfig, 'op' | 'term' | 'effect' | 'channels' | 'regions'>>> = [
  { op: 'contains', term: 'Internal use only', effect: 'allow', channels: 'intranet', regions: '' },
  { op: 'contains', term: 'Editorial', effect: 'allow', channels: 'web, print', regions: '' },
  { op: 'contains', term: 'Social media', effect: 'allow', channels: 'social', regions: '' },
  { op: 'contains', term: 'Web and print', effect: 'allow', channels: 'web, print', regions: '' },
  { op: 'contains', term: 'Unlimited', effect: 'allow', channels: '*', regions: '*' },
];

function choice<T extends string>(value: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new RightsConfigError('badChoice', { setting: what, value: String(textOf(value) ?? typeof value).slice(0, 40) });
}

function flag(value: unknown, fallback: boolean, setting: string): boolean {
  try {
    return strictBool(value, setting, fallback);
  } catch (e) {
    throw new RightsConfigError('badBoolean', { setting, value: (e as BooleanSettingError).value });
  }
}

function fieldRef(source: unknown, name: unknown, fallbackName: string, what: string): FieldRef | undefined {
  const s = choice<FieldSource>(source, ['custom', 'iptc'], 'custom', `${what}Source`);
  const n = (textOf(name) ?? '').trim();
  if (!n && !fallbackName) return undefined;
  return { source: s, name: n || fallbackName };
}

/** "any" when the list is empty or holds `*`. */
function anyOr(list: string[]): string[] | null {
  return list.length === 0 || list.includes('*') ? null : list;
}

export function resolveRule(rule: RuleConfig, index: number): TermRule {
  if (!rule || typeof rule !== 'object') throw new RightsConfigError('badRule', { index: index + 1 });
  const term = (textOf(rule.term) ?? '').trim();
  if (!term) throw new RightsConfigError('emptyTerm', { index: index + 1 });
  return {
    op: choice<RuleOp>(rule.op, ['contains', 'equals'], 'contains', 'op'),
    term,
    key: fold(term),
    effect: choice<RuleEffect>(rule.effect, ['allow', 'deny'], 'allow', 'effect'),
    channels: anyOr(parseList(rule.channels)),
    regions: anyOr(parseList(rule.regions)),
  };
}

/** Checks a configuration and fills in the defaults. Throws `RightsConfigError`. */
export function resolveRights(config: RightsConfig = {}): RightsPolicy {
  const expiry = fieldRef(config.expirySource, config.expiryField, DEFAULT_EXPIRY_FIELD, 'expiry') as FieldRef;
  const embargo = fieldRef(config.embargoSource, config.embargoField, '', 'embargo');
  const terms = fieldRef(config.termsSource, config.termsField, DEFAULT_TERMS_FIELD, 'terms') as FieldRef;
  let rulesIn: unknown = config.rules;
  if (typeof rulesIn === 'string') {
    try {
      rulesIn = JSON.parse(rulesIn);
    } catch {
      throw new RightsConfigError('badRules');
    }
  }
  if (rulesIn === undefined || rulesIn === null) rulesIn = DEFAULT_RULES;
  if (!Array.isArray(rulesIn)) throw new RightsConfigError('badRules');
  const rules = (rulesIn as RuleConfig[]).map(resolveRule);

  let windowDays = DEFAULT_WINDOW_DAYS;
  if (config.window !== undefined && config.window !== null && config.window !== '') {
    windowDays = typeof config.window === 'number' ? config.window : Number(textOf(config.window) ?? NaN);
    if (!Number.isFinite(windowDays) || windowDays < 0 || windowDays > 36_500) {
      throw new RightsConfigError('badWindow', { value: String(textOf(config.window) ?? typeof config.window).slice(0, 20) });
    }
  }
  const zone = (textOf(config.timeZone) ?? '').trim();
  if (zone && !isValidTimeZone(zone)) throw new RightsConfigError('badZone', { zone: zone.slice(0, 60) });

  const policy: RightsPolicy = {
    expiry,
    terms,
    termsFallback: flag(config.termsFallback, true, 'termsFallback'),
    rules,
    missingExpiry: choice<AllowOrRestrict>(config.missingExpiry, ['allow', 'restrict'], 'allow', 'missingExpiry'),
    invalidDate: choice(config.invalidDate, ['restrict', 'ignore'] as const, 'restrict', 'invalidDate'),
    missingTerms: choice<AllowOrRestrict>(config.missingTerms, ['allow', 'restrict'], 'allow', 'missingTerms'),
    unmatchedTerms: choice<AllowOrRestrict>(config.unmatchedTerms, ['allow', 'restrict'], 'restrict', 'unmatchedTerms'),
    requireModelRelease: flag(config.requireModel, false, 'requireModel'),
    requirePropertyRelease: flag(config.requireProperty, false, 'requireProperty'),
    unknownRelease: choice<AllowOrRestrict>(config.unknownRelease, ['allow', 'restrict'], 'restrict', 'unknownRelease'),
    windowMs: Math.round(windowDays * DAY_MS),
  };
  if (embargo) policy.embargo = embargo;
  if (zone) policy.timeZone = zone;
  return policy;
}

/** The asset parts a policy reads (what a fetched asset must include, what a given asset must have). */
export function partsNeeded(policy: RightsPolicy): Array<'custom' | 'iptc'> {
  const set = new Set<'custom' | 'iptc'>();
  for (const ref of [policy.expiry, policy.embargo, policy.terms]) if (ref) set.add(ref.source);
  if (policy.termsFallback) set.add('iptc');
  return [...set];
}

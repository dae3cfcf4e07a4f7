/**
 * The trigger's settings as a user writes them (editor fields, all strings or booleans), validated into
 * what the poller and the walker take. Every problem is an Error that names the field and what to do.
 */
import { CoreError } from '../errors';
import { isId } from '../../photoshelter';
import { strictBool } from '../bool';
import { parseApiDate } from '../../photoshelter/dates';
import type { AssetPart } from '../load';
import { TRIGGER_MODES } from './modes';
import type { ContainerScope, StartFrom } from './poller';
import { validateRule, type ApprovalRule, type RuleOperator, type RuleSource } from './rules';

/** A mode's name (modes/index.ts lists them). */
export type TriggerModeSetting = string;

export interface TriggerSettings {
  mode?: string;
  /** Comma- or space-separated collection (C0000…) and gallery (G0000…) ids; empty = whole library. */
  scope?: string;
  ruleSource?: string;
  ruleField?: string;
  ruleOp?: string;
  ruleValue?: string;
  /** Approved mode: also fire when an approved asset's file or metadata changes (default false). */
  approvedChanges?: boolean | string;
  /** Seconds between polls. */
  interval?: string | number;
  start?: string;
  startDate?: string;
  maxEvents?: string | number;
  includeIptc?: boolean;
  includeCustom?: boolean;
  includeGalleries?: boolean;
  includePath?: boolean;
  window?: string | number;
  acknowledge?: boolean;
  /** Seconds after which an unacknowledged item is issued again (empty or 0: never). */
  ackTimeout?: string | number;
}

export interface ResolvedTrigger {
  mode: TriggerModeSetting;
  scopes: ContainerScope[];
  rule?: ApprovalRule;
  /** Approved mode: also report changes of assets that stay approved. */
  approvedChanges: boolean;
  intervalMs: number;
  start: StartFrom;
  maxEvents: number;
  include: AssetPart[];
  window: number;
  acknowledge: boolean;
  /** Re-issue unacknowledged items after this long (ms); 0: never (and poll modes do not wait for acknowledgements). */
  ackTimeoutMs: number;
}

export class TriggerConfigError extends CoreError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('ECONFIG', message);
  }
}

function num(v: unknown, field: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === null || String(v).trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new TriggerConfigError(field, `${field} must be a number from ${min} to ${max}`);
  return n;
}

/** Parse a scope list: `C0000…` collections and `G0000…` galleries. */
export function parseScopes(text: unknown): ContainerScope[] {
  const parts = String(text ?? '')
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const out: ContainerScope[] = [];
  for (const p of parts) {
    if (isId('collection', p)) out.push({ kind: 'collection', id: p });
    else if (isId('gallery', p)) out.push({ kind: 'gallery', id: p });
    else throw new TriggerConfigError('scope', `"${String(p).slice(0, 40)}" is neither a collection id (C0000…) nor a gallery id (G0000…)`);
  }
  return out;
}

export function resolveTrigger(s: TriggerSettings): ResolvedTrigger {
  const mode = (s.mode || 'changed') as TriggerModeSetting;
  if (!TRIGGER_MODES.includes(mode)) throw new TriggerConfigError('mode', `Unknown mode "${String(s.mode)}"`);
  const scopes = parseScopes(s.scope);
  if (mode === 'added' && scopes.length === 0) throw new TriggerConfigError('scope', 'Choose at least one gallery or collection to watch for added media');
  let rule: ApprovalRule | undefined;
  if (mode === 'approved') {
    try {
      rule = validateRule({
        source: s.ruleSource as RuleSource,
        field: s.ruleField,
        op: (s.ruleOp || undefined) as RuleOperator | undefined,
        value: s.ruleValue,
      });
    } catch (e) {
      throw new TriggerConfigError('rule', (e as Error).message);
    }
  }
  let start: StartFrom;
  switch (s.start || 'now') {
    case 'now':
      start = { from: 'now' };
      break;
    case 'beginning':
      start = { from: 'beginning' };
      break;
    case 'date':
      if (!parseApiDate(s.startDate)) throw new TriggerConfigError('startDate', `The start date "${String(s.startDate ?? '')}" is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)`);
      start = { from: 'date', date: String(s.startDate) };
      break;
    default:
      throw new TriggerConfigError('start', `Unknown start "${String(s.start)}"`);
  }
  const flag = (v: unknown, field: string, fallback: boolean): boolean => {
    try {
      return strictBool(v, field, fallback);
    } catch (e) {
      throw new TriggerConfigError(field, (e as Error).message);
    }
  };
  const include: AssetPart[] = [];
  if (flag(s.includeIptc, 'includeIptc', false)) include.push('iptc');
  if (flag(s.includeCustom, 'includeCustom', false)) include.push('custom');
  if (flag(s.includeGalleries, 'includeGalleries', false)) include.push('galleries');
  if (flag(s.includePath, 'includePath', false)) include.push('path');
  return {
    mode,
    scopes,
    rule,
    approvedChanges: mode === 'approved' && flag(s.approvedChanges, 'approvedChanges', false),
    intervalMs: Math.round(num(s.interval, 'interval', 5, 86_400, 60) * 1000),
    start,
    maxEvents: Math.floor(num(s.maxEvents, 'maxEvents', 1, 100_000, 100)),
    include,
    window: Math.floor(num(s.window, 'window', 1, 10_000, 50)),
    acknowledge: flag(s.acknowledge, 'acknowledge', true),
    ackTimeoutMs: Math.round(num(s.ackTimeout, 'ackTimeout', 0, 86_400, 0) * 1000),
  };
}

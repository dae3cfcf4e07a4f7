/**
 * Approval rules: PhotoShelter has no approval state, so "approved" is a rule over data the API has —
 * a custom field, an IPTC field, the rating or gallery membership.
 */
import type { Asset } from '../asset';

export type RuleSource = 'custom' | 'iptc' | 'rating' | 'gallery';
export type RuleOperator = 'eq' | 'neq' | 'contains' | 'gte' | 'lte' | 'set' | 'in';

export interface ApprovalRule {
  source: RuleSource;
  /** Field name for custom and IPTC rules (e.g. "Approval Status", "edit_status"). */
  field?: string;
  op: RuleOperator;
  /** Compared value; a gallery id for gallery rules. */
  value?: string;
}

export interface RuleResult {
  matches: boolean;
  /** The value the rule looked at (for gallery rules: the asset's gallery ids). */
  value: string | number | string[] | null;
}

const OPS_BY_SOURCE: Record<RuleSource, RuleOperator[]> = {
  custom: ['eq', 'neq', 'contains', 'set'],
  iptc: ['eq', 'neq', 'contains', 'set'],
  rating: ['eq', 'gte', 'lte'],
  gallery: ['in'],
};

/** Throws an Error naming the problem when the rule cannot be evaluated. */
export function validateRule(rule: Partial<ApprovalRule> | undefined): ApprovalRule {
  if (!rule || !rule.source || !(rule.source in OPS_BY_SOURCE)) throw new Error('The approval rule needs a source: custom, iptc, rating or gallery');
  const ops = OPS_BY_SOURCE[rule.source];
  const op = rule.op ?? ops[0];
  if (!ops.includes(op)) throw new Error(`The operator "${op}" does not apply to ${rule.source} rules (use ${ops.join(', ')})`);
  if ((rule.source === 'custom' || rule.source === 'iptc') && !rule.field?.trim()) throw new Error(`A ${rule.source} rule needs a field name`);
  if (op !== 'set' && (rule.value === undefined || rule.value === '')) throw new Error('The approval rule needs a value to compare with');
  if (rule.source === 'rating' && !Number.isFinite(Number(rule.value))) throw new Error(`The rating "${rule.value}" is not a number`);
  return { source: rule.source, field: rule.field?.trim(), op, value: rule.value };
}

/** Which parts of an asset a rule reads (what the trigger must include when it fetches). */
export function ruleNeeds(rule: ApprovalRule): 'custom' | 'iptc' | 'galleries' | undefined {
  if (rule.source === 'custom') return 'custom';
  if (rule.source === 'iptc') return 'iptc';
  if (rule.source === 'gallery') return 'galleries';
  return undefined;
}

function fold(s: string): string {
  return s.normalize('NFC').trim().toLocaleLowerCase();
}

function textValue(asset: Asset, rule: ApprovalRule): string | null {
  if (rule.source === 'custom') return asset.custom?.[rule.field ?? ''] ?? null;
  const v = asset.iptc?.[rule.field ?? ''];
  if (Array.isArray(v)) return v.join(', ');
  return v ?? null;
}

/** Evaluate a validated rule; text comparisons ignore case and surrounding space. Never throws. */
export function evaluateRule(rule: ApprovalRule, asset: Asset): RuleResult {
  switch (rule.source) {
    case 'rating': {
      const r = asset.rating;
      const want = Number(rule.value);
      const matches = r !== null && (rule.op === 'eq' ? r === want : rule.op === 'gte' ? r >= want : r <= want);
      return { matches, value: r };
    }
    case 'gallery': {
      const ids = (asset.galleries ?? []).map((g) => g.id);
      return { matches: ids.includes(rule.value ?? ''), value: ids };
    }
    default: {
      const v = textValue(asset, rule);
      const want = fold(rule.value ?? '');
      let matches: boolean;
      switch (rule.op) {
        case 'set':
          matches = v !== null && v.trim() !== '';
          break;
        case 'neq':
          matches = v === null || fold(v) !== want;
          break;
        case 'contains':
          matches = v !== null && fold(v).includes(want);
          break;
        default:
          matches = v !== null && fold(v) === want;
      }
      return { matches, value: v };
    }
  }
}

/** A stable key of a rule: stored state made under another rule is not reused. */
export function ruleKey(rule: ApprovalRule): string {
  return JSON.stringify([rule.source, rule.field ?? '', rule.op, rule.value ?? '']);
}

/** A short description for labels and events, e.g. `Approval Status = Approved`. */
export function describeRule(rule: ApprovalRule): string {
  const sym: Record<RuleOperator, string> = { eq: '=', neq: '≠', contains: '∋', gte: '≥', lte: '≤', set: 'is set', in: 'in' };
  const subject = rule.source === 'rating' ? 'rating' : rule.source === 'gallery' ? 'gallery' : rule.field ?? '';
  if (rule.op === 'set') return `${subject} ${sym.set}`;
  if (rule.source === 'gallery') return `in gallery ${rule.value}`;
  return `${subject} ${sym[rule.op]} ${rule.value}`;
}

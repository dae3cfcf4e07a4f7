/**
 * The mapping of an update: which fields to change, how (set, append, remove, clear) and with what value.
 * Rows come from the node's configuration; per-asset `fields` objects add `set` changes. Targets are
 * resolved against the fields an asset really has (IPTC vocabulary, custom fields by name) and values are
 * coerced to what each field accepts, so that bad input fails before anything is written.
 */
import Mustache from 'mustache';
import { IPTC_FIELDS } from '../asset';
import { strictBool } from '../bool';
import { parseApiDate, zoneOffsetMs } from '../../photoshelter/dates';
import { normText } from './diff';
import { UpdateError } from './errors';

export const OPERATIONS = ['set', 'append', 'remove', 'clear'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Typed-input types a row value may have (`str` is a mustache template over the msg). */
export const VALUE_TYPES = ['str', 'num', 'bool', 'json', 'msg', 'flow', 'global', 'jsonata', 'date', 'env'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** A mapping row as the editor stores it. */
export interface Row {
  target: string;
  op: Operation;
  value: string;
  valueType: ValueType;
}

export interface UpdateConfig {
  rows?: unknown;
  dryRun?: unknown;
  concurrency?: unknown;
}

export interface UpdateSettings {
  rows: Row[];
  dryRun: boolean;
  concurrency: number;
}

export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 16;

/** Checks the node configuration; throws UpdateError (code ECONFIG) naming the bad row. */
export function updateSettings(def: UpdateConfig): UpdateSettings {
  const rawRows = def.rows === undefined || def.rows === null || def.rows === '' ? [] : def.rows;
  if (!Array.isArray(rawRows)) throw new UpdateError('badRows', {}, 'ECONFIG');
  const rows = rawRows.map((r: unknown, i): Row => {
    const row = (r && typeof r === 'object' ? r : {}) as Record<string, unknown>;
    const target = typeof row.target === 'string' ? row.target.trim() : '';
    if (!target) throw new UpdateError('badTarget', { row: i + 1 }, 'ECONFIG');
    const op = (row.op ?? 'set') as Operation;
    if (!OPERATIONS.includes(op)) throw new UpdateError('badOp', { op: String(row.op), target }, 'ECONFIG');
    const valueType = (row.valueType || 'str') as ValueType;
    if (!VALUE_TYPES.includes(valueType)) throw new UpdateError('badValueType', { type: String(row.valueType), target }, 'ECONFIG');
    const value = row.value === undefined || row.value === null ? '' : String(row.value);
    // what can be checked without an asset: operations IPTC fields do not support
    const iptc = /^iptc\./i.test(target) ? iptcName(target) : IPTC_SET.has(target) ? target : undefined;
    if (iptc && op !== 'set' && op !== 'clear' && iptcKind(iptc) === 'urgency') {
      throw new UpdateError('opNotAllowed', { op, field: iptc }, 'ECONFIG');
    }
    if (valueType === 'str' && op !== 'clear') checkTemplate(value, target);
    return { target, op, value, valueType };
  });
  const c = def.concurrency === undefined || def.concurrency === '' ? DEFAULT_CONCURRENCY : Number(def.concurrency);
  if (!Number.isInteger(c) || c < 1 || c > MAX_CONCURRENCY) {
    throw new UpdateError('badConcurrency', { value: String(def.concurrency), max: MAX_CONCURRENCY }, 'ECONFIG');
  }
  return { rows, dryRun: strictBool(def.dryRun, 'dryRun', false), concurrency: c };
}

// ---- templates ----

function checkTemplate(text: string, target: string): void {
  try {
    Mustache.parse(text);
  } catch (e) {
    throw new UpdateError('badTemplate', { target, detail: e instanceof Error ? e.message : String(e) }, 'ECONFIG');
  }
}

function lookup(view: unknown, name: string): unknown {
  if (name === '.') return view;
  let cur: unknown = view;
  for (const part of name.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Renders a `{{mustache}}` template over `view` (the msg), without HTML escaping: metadata is plain text.
 * A plain `{{name}}` (outside sections) whose property is missing is an error rather than an empty
 * string, so a typo or an absent property never clears a field; sections (`{{#x}}…{{/x}}`) handle
 * optional parts.
 */
export function renderTemplate(text: string, view: unknown, target = ''): string {
  if (!text.includes('{{')) return text;
  let tokens: ReturnType<typeof Mustache.parse>;
  try {
    tokens = Mustache.parse(text);
  } catch (e) {
    throw new UpdateError('badTemplate', { target, detail: e instanceof Error ? e.message : String(e) });
  }
  for (const t of tokens) {
    if ((t[0] === 'name' || t[0] === '&') && lookup(view, String(t[1])) === undefined) {
      throw new UpdateError('missingVariable', { target, name: String(t[1]) });
    }
  }
  const view2 = view && typeof view === 'object' ? view : {};
  return Mustache.render(text, view2, {}, { escape: (s: unknown) => String(s) });
}

// ---- targets ----

export type FieldKind = 'keywords' | 'text' | 'urgency' | 'date' | 'select';

export interface CustomFieldDef {
  id: string;
  type: string;
  /** Allowed values of a select field, when the API told them. */
  options?: string[];
}

/** The fields an asset offers: IPTC names and custom fields by name. */
export interface FieldCatalog {
  iptc: ReadonlySet<string>;
  custom: Readonly<Record<string, CustomFieldDef>>;
}

export interface FieldRef {
  /** The name used in reports (`msg.update.fields`). */
  key: string;
  area: 'iptc' | 'custom';
  /** The IPTC field name or the custom field name. */
  name: string;
  /** Custom field id. */
  id?: string;
  kind: FieldKind;
  options?: string[];
}

const IPTC_SET: ReadonlySet<string> = new Set(IPTC_FIELDS);

/** The IPTC vocabulary name a target means (case-insensitive, `iptc.` prefix allowed), if any. */
export function iptcName(target: string): string | undefined {
  const t = target.replace(/^iptc\./i, '').toLowerCase();
  return IPTC_SET.has(t) ? t : undefined;
}

function iptcKind(name: string): FieldKind {
  return name === 'keywords' ? 'keywords' : name === 'urgency' ? 'urgency' : 'text';
}

function customKind(type: string): FieldKind {
  return type === 'date' ? 'date' : type === 'select' ? 'select' : 'text';
}

export function catalogOf(iptcFields: Iterable<string>, custom: Record<string, CustomFieldDef>): FieldCatalog {
  return { iptc: new Set([...IPTC_FIELDS, ...iptcFields]), custom };
}

/**
 * Resolves a target name: `iptc.<name>` and `custom.<name>` are explicit; otherwise an exact IPTC name,
 * an exact custom field name, a custom field id (F0000…), then a case-insensitive match that must be
 * unique across both.
 */
export function resolveTarget(target: string, cat: FieldCatalog): FieldRef {
  const t = target.trim();
  const customNames = Object.keys(cat.custom);
  const iptcRef = (name: string): FieldRef => ({ key: name, area: 'iptc', name, kind: iptcKind(name) });
  const customRef = (name: string): FieldRef => {
    const def = cat.custom[name];
    const clash = [...cat.iptc].some((n) => n.toLowerCase() === name.toLowerCase());
    const ref: FieldRef = { key: clash ? `custom.${name}` : name, area: 'custom', name, id: def.id, kind: customKind(def.type) };
    if (def.options && def.options.length) ref.options = def.options;
    return ref;
  };
  const findCustom = (s: string): string[] => {
    if (Object.hasOwn(cat.custom, s)) return [s];
    const byId = customNames.filter((n) => cat.custom[n].id === s);
    if (byId.length) return byId;
    return customNames.filter((n) => n.toLowerCase() === s.toLowerCase());
  };
  const findIptc = (s: string): string[] => (cat.iptc.has(s) ? [s] : [...cat.iptc].filter((n) => n.toLowerCase() === s.toLowerCase()));

  let iptcHits: string[];
  let customHits: string[];
  if (/^iptc\./i.test(t)) {
    iptcHits = findIptc(t.slice(5));
    customHits = [];
  } else if (/^custom\./i.test(t)) {
    iptcHits = [];
    customHits = findCustom(t.slice(7));
  } else {
    if (cat.iptc.has(t)) return iptcRef(t);
    if (Object.hasOwn(cat.custom, t)) return customRef(t);
    iptcHits = findIptc(t);
    customHits = findCustom(t);
  }
  if (iptcHits.length + customHits.length === 1) return iptcHits.length ? iptcRef(iptcHits[0]) : customRef(customHits[0]);
  if (iptcHits.length + customHits.length > 1) throw new UpdateError('ambiguousField', { target: t });
  const known = [...customNames].sort().join(', ');
  throw new UpdateError('unknownField', { target: t, custom: known || '-' });
}

// ---- values ----

/** A change after resolution: a typed operation on one field. */
export type Prepared =
  | { ref: FieldRef; op: Operation; list: string[] }
  | { ref: FieldRef; op: Operation; value: string | null };

/** A wanted change, before resolution. `value === undefined` (a missing msg property) skips it. */
export interface Change {
  target: string;
  op: Operation;
  value?: unknown;
}

const ALLOWED: Record<FieldKind, readonly Operation[]> = {
  keywords: OPERATIONS,
  text: OPERATIONS,
  urgency: ['set', 'clear'],
  date: ['set', 'clear'],
  select: ['set', 'clear'],
};

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Date ? 'date' : typeof v;
}

/** Splits keyword input (a comma-separated string or an array) into trimmed items. */
export function keywordItems(value: unknown, field: string): string[] {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string' && typeof item !== 'number') throw new UpdateError('wrongType', { field, type: typeName(item), expected: 'text or a list of text' });
    for (const part of String(item).split(',')) {
      const k = normText(part);
      if (k !== null) out.push(k);
    }
  }
  return out;
}

function text(value: unknown, field: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  throw new UpdateError('wrongType', { field, type: typeName(value), expected: 'text' });
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function calendarDate(epochMs: number, zone: string): string {
  const d = new Date(epochMs + zoneOffsetMs(zone, epochMs));
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * A value for a custom date field: `YYYY-MM-DD` as is; a date-time (ISO string, Date, or a number of
 * milliseconds since the epoch as Node-RED timestamps are) becomes its calendar date in `zone`.
 */
export function toCalendarDate(value: unknown, zone: string, field: string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UpdateError('badDate', { field, value: 'Invalid Date' });
    return calendarDate(value.getTime(), zone);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UpdateError('badDate', { field, value: String(value) });
    return calendarDate(value, zone);
  }
  if (typeof value !== 'string') throw new UpdateError('wrongType', { field, type: typeName(value), expected: 'a date' });
  const s = value.trim();
  const parsed = parseApiDate(s, zone);
  if (!parsed) throw new UpdateError('badDate', { field, value: s.slice(0, 40) });
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  return calendarDate(parsed.epochMs, zone);
}

/** Checks a change against its field and turns its value into what the field holds. */
export function prepare(change: Change, ref: FieldRef, zone = 'UTC'): Prepared {
  const { op } = change;
  const field = ref.key;
  if (!OPERATIONS.includes(op)) throw new UpdateError('badOp', { op: String(op), target: field });
  if (!ALLOWED[ref.kind].includes(op)) throw new UpdateError('opNotAllowed', { op, field });
  if (ref.kind === 'keywords') return { ref, op, list: op === 'clear' ? [] : keywordItems(change.value, field) };
  if (op === 'clear') return { ref, op, value: null };
  const raw = change.value;
  if (ref.kind === 'text') return { ref, op, value: text(raw, field) };
  if (raw === null || raw === '') return { ref, op, value: null };
  if (ref.kind === 'urgency') {
    const s = typeof raw === 'number' || typeof raw === 'string' ? String(raw).trim() : undefined;
    if (s === undefined) throw new UpdateError('wrongType', { field, type: typeName(raw), expected: 'a digit 0-8' });
    if (s === '') return { ref, op, value: null };
    if (!/^[0-8]$/.test(s)) throw new UpdateError('badUrgency', { field, value: s.slice(0, 20) });
    return { ref, op, value: s };
  }
  if (ref.kind === 'date') return { ref, op, value: toCalendarDate(raw, zone, field) };
  // select
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new UpdateError('wrongType', { field, type: typeName(raw), expected: 'one of its options' });
  const s = String(raw).normalize('NFC').trim();
  if (s === '') return { ref, op, value: null };
  if (ref.options) {
    const hit = ref.options.find((o) => o.toLowerCase() === s.toLowerCase());
    if (!hit) throw new UpdateError('badSelect', { field, value: s.slice(0, 40), options: ref.options.join(', ') });
    return { ref, op, value: hit };
  }
  return { ref, op, value: s };
}

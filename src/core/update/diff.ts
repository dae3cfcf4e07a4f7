/**
 * The difference between an asset and what a mapping wants: per field, the value before and after.
 * Fields whose wanted value equals the current one under the comparison rules below are left out, so an
 * update that changes nothing writes nothing.
 *
 * Comparison rules
 * - Text: line ends (CRLF) become LF, Unicode is compared in NFC, leading and trailing whitespace is
 *   ignored, and an empty text equals "not set" (null). Case matters: "acme" → "Acme" is a change.
 * - Keywords: a list of trimmed items (NFC); order does not matter; a `set` to the same items in another
 *   order changes nothing. `append` and `remove` match items without regard to case.
 * - Select values: case-insensitive. Dates: `YYYY-MM-DD` strings. Urgency: the digit.
 */
import type { Asset } from '../asset';
import type { FieldKind, FieldRef, Prepared } from './mapping';

export type FieldValue = string | string[] | null;

export interface FieldChange {
  key: string;
  ref: FieldRef;
  before: FieldValue;
  after: FieldValue;
}

/** What the diff reads of an asset. */
export type AssetValues = Pick<Asset, 'iptc' | 'custom'>;

/** A text as it is compared and written: LF line ends, NFC, trimmed; empty → null. */
export function normText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).replace(/\r\n?/g, '\n').normalize('NFC').trim();
  return s === '' ? null : s;
}

/** Keywords as compared and written: items split at commas (the wire format cannot hold one), normalized. */
function normList(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  const out: string[] = [];
  for (const item of list) {
    if (item === null || item === undefined) continue;
    for (const part of String(item).split(',')) {
      const k = normText(part);
      if (k !== null) out.push(k);
    }
  }
  return out;
}

const lower = (s: string): string => s.toLowerCase();

/** Removes case-insensitive duplicates, keeping the first spelling. */
export function dedupe(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const k of items) {
    const l = lower(k);
    if (!seen.has(l)) {
      seen.add(l);
      out.push(k);
    }
  }
  return out;
}

export function currentValue(asset: AssetValues, ref: FieldRef): FieldValue {
  if (ref.area === 'iptc') {
    const v = asset.iptc?.[ref.name];
    if (ref.kind === 'keywords') return normList(v);
    return v === undefined || v === null ? null : Array.isArray(v) ? v.join(', ') : String(v);
  }
  const v = asset.custom?.[ref.name];
  return v === undefined || v === null ? null : String(v);
}

function applyList(current: string[], p: Prepared): string[] {
  const items = 'list' in p ? p.list : [];
  switch (p.op) {
    case 'clear':
      return [];
    case 'set':
      return dedupe(items);
    case 'append': {
      const have = new Set(current.map(lower));
      const out = [...current];
      for (const k of items) {
        if (!have.has(lower(k))) {
          have.add(lower(k));
          out.push(k);
        }
      }
      return out;
    }
    case 'remove': {
      const drop = new Set(items.map(lower));
      return current.filter((k) => !drop.has(lower(k)));
    }
  }
}

/**
 * Text operations. `append` adds the text after the current value, separated by one space, unless the
 * value already contains it (so appending twice adds it once). `remove` deletes every occurrence of the
 * text with the whitespace around it, joining the pieces with one space.
 */
function applyText(current: string | null, p: Prepared): string | null {
  const v = 'value' in p ? normText(p.value) : null;
  switch (p.op) {
    case 'clear':
      return null;
    case 'set':
      return v;
    case 'append':
      if (v === null) return current;
      if (current === null) return v;
      return current.includes(v) ? current : `${current} ${v}`;
    case 'remove': {
      if (v === null || current === null) return current;
      let out = current;
      while (out.includes(v)) {
        out = out
          .split(v)
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .join(' ');
      }
      return out === '' ? null : out;
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((k, i) => k === y[i]);
}

export function sameValue(kind: FieldKind, a: FieldValue, b: FieldValue): boolean {
  if (kind === 'keywords') return sameList(normList(a), normList(b));
  const x = normText(a);
  const y = normText(b);
  if (kind === 'select' && x !== null && y !== null) return lower(x) === lower(y);
  return x === y;
}

/** The wanted value of one field after its operations, in order, starting from `current`. */
export function applyOps(kind: FieldKind, current: FieldValue, ops: readonly Prepared[]): FieldValue {
  if (kind === 'keywords') {
    let list = normList(current);
    for (const p of ops) list = applyList(list, p);
    return list;
  }
  let v = normText(current);
  for (const p of ops) v = kind === 'text' ? applyText(v, p) : 'value' in p ? normText(p.value) : null;
  return v;
}

/**
 * The changes a list of prepared operations makes to an asset: operations on the same field apply in
 * order, each to the result of the previous one; only fields whose result differs are returned.
 */
export function computeDiff(asset: AssetValues, ops: readonly Prepared[]): FieldChange[] {
  const byKey = new Map<string, { ref: FieldRef; ops: Prepared[] }>();
  for (const p of ops) {
    const entry = byKey.get(p.ref.key);
    if (entry) entry.ops.push(p);
    else byKey.set(p.ref.key, { ref: p.ref, ops: [p] });
  }
  const out: FieldChange[] = [];
  for (const [key, { ref, ops: list }] of byKey) {
    const before = currentValue(asset, ref);
    const after = applyOps(ref.kind, before, list);
    if (!sameValue(ref.kind, before, after)) out.push({ key, ref, before, after });
  }
  return out;
}

/** The asset as it is after the changes (what a re-read would show). */
export function applyChanges<T extends AssetValues>(asset: T, changes: readonly FieldChange[]): T {
  const out = { ...asset, iptc: asset.iptc ? { ...asset.iptc } : undefined, custom: asset.custom ? { ...asset.custom } : undefined } as T;
  for (const c of changes) {
    if (c.ref.area === 'iptc') {
      out.iptc ??= { keywords: [] };
      out.iptc[c.ref.name] = c.ref.kind === 'keywords' ? [...((c.after as string[] | null) ?? [])] : c.after;
    } else {
      out.custom ??= {};
      out.custom[c.ref.name] = c.after as string | null;
    }
  }
  return out;
}

export interface Writes {
  iptc?: Record<string, string | null>;
  custom?: Array<{ field_id: string; value: string | null }>;
}

/** The request bodies for a set of changes: keywords as one comma-separated string, cleared fields null. */
export function writesOf(changes: readonly FieldChange[]): Writes {
  const out: Writes = {};
  for (const c of changes) {
    if (c.ref.area === 'iptc') {
      out.iptc ??= {};
      const v = c.after;
      out.iptc[c.ref.name] = Array.isArray(v) ? (v.length ? v.join(', ') : null) : v;
    } else {
      out.custom ??= [];
      out.custom.push({ field_id: c.ref.id ?? c.ref.name, value: c.after as string | null });
    }
  }
  return out;
}

/** `{name: {before, after}}` for msg.update.fields. */
export function report(changes: readonly FieldChange[]): Record<string, { before: FieldValue; after: FieldValue }> {
  const out: Record<string, { before: FieldValue; after: FieldValue }> = {};
  for (const c of changes) out[c.key] = { before: c.before, after: c.after };
  return out;
}

/**
 * Text as rights rules compare it: Unicode-normalized (NFC), case-folded, whitespace collapsed, so that
 * "Editorial use", "editorial  USE" and the decomposed form of "Éditorial" are the same term.
 */

/** The comparison form of a piece of text. */
export function fold(text: string): string {
  return text.normalize('NFC').toLowerCase().normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/**
 * The text of a metadata value, or `undefined` when it is not text: strings as they are, numbers and
 * booleans written out, arrays (IPTC keywords) joined with ", ". Never calls an object's own
 * `toString`, so odd values cannot throw.
 */
export function textOf(value: unknown, depth = 0): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
  }
  if (Array.isArray(value) && depth < 2) {
    const parts: string[] = [];
    for (const item of value) {
      const t = textOf(item, depth + 1);
      if (t !== undefined && t.trim() !== '') parts.push(t.trim());
    }
    return parts.join(', ');
  }
  return undefined;
}

/**
 * A list of channel or region names from a comma-separated string or an array, folded. `*` means
 * "any" and is kept as `*`; duplicates and blanks are dropped.
 */
export function parseList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,;\n]/u) : [];
  const out = new Set<string>();
  for (const item of items) {
    const t = textOf(item);
    if (t === undefined) continue;
    const f = fold(t);
    if (f) out.add(f);
  }
  return [...out];
}

/** An own property of a plain object-like value (never one inherited from a prototype). */
export function own(container: unknown, key: string): unknown {
  if (container === null || typeof container !== 'object' || Array.isArray(container)) return undefined;
  return Object.prototype.hasOwnProperty.call(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}

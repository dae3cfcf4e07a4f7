/**
 * Templates of locations, headers and fields: mustache, with the escaping that fits where the text goes.
 * `{{x}}` inserts a value made safe for its place (one path segment, one URL component, one header
 * line); `{{{x}}}` inserts it raw (e.g. a gallery path with its slashes), still checked by the
 * destination's `resolve()`.
 */
import Mustache from 'mustache';

export type TemplateContext = 'path' | 'url' | 'text' | 'raw';

/** Characters that are unsafe in a file name on some system: separators, `:*?"<>|`, control characters. */
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[/\\:*?"<>|\u0000-\u001f\u007f]/g;

/** One path segment from any value: separators and unsafe characters become `_`, `.`/`..` are neutralized. */
export function sanitizeSegment(value: string): string {
  return value.replace(UNSAFE_NAME, '_').replace(/[. ]+$/, (m) => '_'.repeat(m.length));
}

function stringOf(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringOf).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const ESCAPES: Record<TemplateContext, (v: unknown) => string> = {
  path: (v) => sanitizeSegment(stringOf(v)),
  url: (v) => encodeURIComponent(stringOf(v)),
  // a header value is one line
  text: (v) => stringOf(v).replace(/[\r\n]+/g, ' '),
  raw: stringOf,
};

/** Renders `template` with `view`; values are escaped for `context`. Throws on a malformed template. */
export function render(template: string, view: Record<string, unknown>, context: TemplateContext): string {
  return Mustache.render(template, view, {}, { escape: ESCAPES[context] });
}

/** The view templates see: every msg property at the top level, plus `msg` itself and `asset`, `file`, `delivery`. */
export function viewOf(msg: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const view: Record<string, unknown> = { ...msg, msg };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) view[k] = v;
  return view;
}

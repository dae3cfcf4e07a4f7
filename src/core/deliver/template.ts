/**
 * Templates of locations, headers and fields: mustache, with the escaping that fits where the text goes.
 * `{{x}}` inserts a value made safe for its place (one path segment, one URL component, one header
 * line); `{{{x}}}` inserts it raw (e.g. a gallery path with its slashes), still checked by the
 * destination's `resolve()`.
 */
import Mustache from 'mustache';
import { DeliverError } from './types';

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

type Token = [string, string, number, number, Token[]?];

/** The tokens of a template; a malformed one is an ETEMPLATE error that says where (a character position). */
export function parseTemplate(template: string, what = 'template'): Token[] {
  try {
    return Mustache.parse(template) as unknown as Token[];
  } catch (e) {
    const detail = e instanceof Error ? e.message.replace(/ at (\d+)$/, ' at character $1') : String(e);
    throw new DeliverError('ETEMPLATE', `The ${what} "${template.slice(0, 80)}" is malformed: ${detail}`, false, { cause: e });
  }
}

/** The value of a mustache name (`a.b.c`, `.`) in `view`, as mustache looks it up at the top level. */
function lookup(view: unknown, name: string): unknown {
  if (name === '.') return view;
  let o: unknown = view;
  for (const part of name.split('.')) {
    if (o === null || o === undefined) return undefined;
    o = (o as Record<string, unknown>)[part];
  }
  return o;
}

/** Names a template uses outside sections that `view` does not have (a section may be missing: it renders nothing). */
export function missingNames(template: string, view: Record<string, unknown>): string[] {
  const names = parseTemplate(template)
    .filter((t) => (t[0] === 'name' || t[0] === '&') && lookup(view, t[1]) === undefined)
    .map((t) => t[1]);
  return [...new Set(names)];
}

/**
 * Renders like render(), but refuses a malformed template (with the position) and a name the view does
 * not have: a location built around an empty value would put the bytes somewhere else than meant.
 */
export function renderStrict(template: string, view: Record<string, unknown>, context: TemplateContext, what = 'path template'): string {
  parseTemplate(template, what);
  const missing = missingNames(template, view);
  if (missing.length > 0) {
    const name = missing[0];
    throw new DeliverError(
      'ETEMPLATE',
      `The ${what} uses {{${name}}}, which this message does not have: check its spelling, or write {{#${name}}}…{{/${name}}} around it when it may be missing`,
    );
  }
  return render(template, view, context);
}

/** The view templates see: every msg property at the top level, plus `msg` itself and `asset`, `file`, `delivery`. */
export function viewOf(msg: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const view: Record<string, unknown> = { ...msg, msg };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) view[k] = v;
  return view;
}

/**
 * Templates of locations, headers and fields: mustache, with the escaping that fits where the text goes.
 * `{{x}}` inserts a value made safe for its place (one path segment, one URL component, one header
 * value); `{{{x}}}` inserts it raw in paths and URLs (e.g. a gallery path with its slashes), still checked
 * by the destination's `resolve()`, and escaped like `{{x}}` in headers.
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
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '[object]';
    }
  }
  return String(v);
}

const ESCAPES: Record<Exclude<TemplateContext, 'text'>, (v: unknown) => string> = {
  path: (v) => sanitizeSegment(stringOf(v)),
  url: (v) => encodeURIComponent(stringOf(v)),
  raw: stringOf,
};

/**
 * Refuses a URL (or a relative reference) whose path has a `.` or `..` segment, also spelled `%2e`: the
 * URL parser would resolve it and send the request somewhere the template did not say.
 */
export function checkUrlPath(rendered: string): void {
  let rest = rendered.trim();
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  if (/^[\\/]{2}/.test(rest)) {
    // the authority (host and port) is no path
    rest = rest.slice(2);
    const cut = rest.search(/[\\/?#]/);
    rest = cut < 0 ? '' : rest.slice(cut);
  }
  const end = rest.search(/[?#]/);
  const path = end < 0 ? rest : rest.slice(0, end);
  for (const segment of path.split(/[\\/]/)) {
    const dots = segment.replace(/%2e/gi, '.');
    if (dots === '.' || dots === '..') {
      throw new DeliverError('EBADPATH', `The URL "${rendered.slice(0, 120)}" has a "${segment}" path segment, which would send the request to another place; nothing was sent`);
    }
  }
}

const MARK = '\u0000';

/** A value as header text: one line, no control characters. */
// eslint-disable-next-line no-control-regex
const lineOf = (v: string): string => v.replace(/[\u0000-\u0008\u000a-\u001f\u007f]+/g, ' ');
/** The content of a quoted-string (RFC 9110): backslash and double quote escaped. */
const quotedContent = (v: string): string => v.replace(/[\\"]/g, '\\$&');

/**
 * A header value from a template. A value inserted inside double quotes of the template
 * (`filename="{{asset.fileName}}"`) is escaped as quoted-string content; a value inserted elsewhere goes in
 * as it is when it holds none of `" \ ; ,`, else as a quoted-string of its own, so that metadata can never
 * add a parameter or end a quoted string. The value is one line.
 */
export function renderHeader(template: string, view: Record<string, unknown>): string {
  const values: string[] = [];
  const escape = (v: unknown): string => {
    values.push(lineOf(stringOf(v)));
    return `${MARK}${values.length - 1}${MARK}`;
  };
  const writer = new Mustache.Writer();
  // {{{x}}} and {{&x}} are escaped too: a header has no raw place
  Object.assign(writer, {
    unescapedValue: (token: unknown[], context: { lookup(name: unknown): unknown }) => {
      const v = context.lookup(token[1]);
      return v === null || v === undefined ? undefined : escape(v);
    },
  });
  const out = writer.render(template.split(MARK).join(''), view, {}, { escape });
  let result = '';
  let quoted = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c === MARK) {
      const end = out.indexOf(MARK, i + 1);
      const v = values[Number(out.slice(i + 1, end))] ?? '';
      i = end;
      result += quoted ? quotedContent(v) : /["\\;,]/.test(v) ? `"${quotedContent(v)}"` : v;
      continue;
    }
    if (quoted && c === '\\' && i + 1 < out.length && out[i + 1] !== MARK) {
      // a quoted-pair written in the template itself
      result += c + out[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    result += c;
  }
  return lineOf(result);
}

/** Renders `template` with `view`; values are escaped for `context`. Throws on a malformed template. */
export function render(template: string, view: Record<string, unknown>, context: TemplateContext): string {
  if (context === 'text') return renderHeader(template, view);
  const out = Mustache.render(template, view, {}, { escape: ESCAPES[context] });
  if (context === 'url') checkUrlPath(out);
  return out;
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

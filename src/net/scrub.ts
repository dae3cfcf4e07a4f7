/**
 * Removing secrets from text that leaves the runtime (an error message, an HTTP answer copied into a
 * message, an admin answer, a log line of the client): each secret is replaced by a mask (`***` unless
 * said) in the forms it can take on the way, as it is, URL-encoded, JSON-escaped and base64-encoded.
 * The client's redactor and the destinations share it.
 */

/** Secrets shorter than this are not masked (unless said): they would garble the text and protect nothing. */
const MIN_LENGTH = 3;

/** The forms a secret can take in a text: raw, URL-encoded (both spellings of spaces), JSON-escaped, base64. */
function formsOf(secret: string, minLength: number): string[] {
  const forms = new Set<string>([secret]);
  try {
    forms.add(encodeURIComponent(secret));
    forms.add(encodeURIComponent(secret).replace(/%20/g, '+'));
  } catch {
    // a lone surrogate cannot be URL-encoded: the raw form is enough
  }
  forms.add(JSON.stringify(secret).slice(1, -1));
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  forms.add(b64);
  forms.add(b64.replace(/=+$/, ''));
  return [...forms].filter((f) => f.length >= minLength);
}

/** A function that masks every form of every secret in a text (longest first, so no part survives). */
export function scrubberOf(secrets: Iterable<unknown>, opts: { mask?: string; minLength?: number } = {}): (text: string) => string {
  const mask = opts.mask ?? '***';
  const minLength = opts.minLength ?? MIN_LENGTH;
  const forms = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < minLength) continue;
    for (const f of formsOf(s, minLength)) forms.add(f);
  }
  const list = [...forms].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const f of list) if (out.includes(f)) out = out.split(f).join(mask);
    return out;
  };
}

/** `value` with every string in it scrubbed (objects and arrays copied, depth-limited). */
export function scrubDeep(value: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, scrub, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[scrub(k)] = scrubDeep(v, scrub, depth + 1);
  return out;
}

import { ERROR_IDS, USER_VALUED_PARAMS } from './endpoints';
import { RETRYABLE_STATUS } from './retry';

export type ErrorCode =
  | 'EAUTH'
  | 'EPERM'
  | 'ENOTFOUND'
  | 'ERATELIMIT'
  | 'EVALIDATION'
  | 'EREFUSED'
  | 'ENETWORK'
  | 'ETIMEDOUT'
  | 'ETRUNCATED'
  | 'ESERVER'
  | 'EABORTED'
  | 'EHTTP'
  | 'EBADRESPONSE'
  | 'ECLOSED';

export interface ErrorDetails {
  status?: number;
  errorId?: string;
  method?: string;
  /** Path relative to the base URL, never with a query string. */
  path?: string;
  retryable?: boolean;
  cause?: unknown;
}

/** Base class of every error the client throws. Messages never contain credentials. */
export class PhotoShelterError extends Error {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly errorId?: string;
  readonly method?: string;
  readonly path?: string;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = details.status;
    this.errorId = details.errorId;
    this.method = details.method;
    this.path = details.path === undefined ? undefined : stripQuery(details.path);
    this.retryable = details.retryable ?? false;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      errorId: this.errorId,
      method: this.method,
      path: this.path,
      retryable: this.retryable,
    };
  }
}

export class AuthError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('EAUTH', message, details);
  }
}

export class PermissionError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('EPERM', message, details);
  }
}

export class NotFoundError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('ENOTFOUND', message, details);
  }
}

export class RateLimitError extends PhotoShelterError {
  /** How long the server asked to wait, when it said so. */
  readonly retryAfterMs?: number;
  constructor(message: string, details: ErrorDetails & { retryAfterMs?: number } = {}) {
    super('ERATELIMIT', message, { retryable: true, ...details });
    this.retryAfterMs = details.retryAfterMs;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

export class ValidationError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('EVALIDATION', message, details);
  }
}

/**
 * PhotoShelter answered 400 naming a query parameter the client sent: the real API refuses a parameter or
 * a value. `parameter` and `value` say which; the message says what to do.
 */
export class RefusedError extends PhotoShelterError {
  readonly parameter: string;
  readonly value: string;
  constructor(message: string, details: ErrorDetails & { parameter: string; value: string }) {
    super('EREFUSED', message, details);
    this.parameter = details.parameter;
    this.value = details.value;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), parameter: this.parameter, value: this.value };
  }
}

export class NetworkError extends PhotoShelterError {
  /** The low-level code (ECONNRESET, UND_ERR_SOCKET, …). */
  readonly networkCode?: string;
  constructor(message: string, details: ErrorDetails & { networkCode?: string } = {}) {
    super('ENETWORK', message, { retryable: true, ...details });
    this.networkCode = details.networkCode;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), networkCode: this.networkCode };
  }
}

export class TimeoutError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('ETIMEDOUT', message, { retryable: true, ...details });
  }
}

export class TruncatedError extends PhotoShelterError {
  readonly expectedBytes?: number;
  readonly receivedBytes: number;
  constructor(message: string, details: ErrorDetails & { expectedBytes?: number; receivedBytes: number }) {
    super('ETRUNCATED', message, { retryable: true, ...details });
    this.expectedBytes = details.expectedBytes;
    this.receivedBytes = details.receivedBytes;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), expectedBytes: this.expectedBytes, receivedBytes: this.receivedBytes };
  }
}

export class ServerError extends PhotoShelterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('ESERVER', message, { retryable: true, ...details });
  }
}

export class AbortError extends PhotoShelterError {
  constructor(message = 'The request was aborted', details: ErrorDetails = {}) {
    super('EABORTED', message, details);
  }
}

export function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

/** The error entry of a PhotoShelter error body; reads `errors: [...]`, `error: {...}` and OAuth's `error: "..."`. */
export interface ApiErrorEntry {
  id?: string;
  status?: string;
  title?: string;
  detail?: string;
}

export function readErrorBody(body: unknown): ApiErrorEntry | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const pick = (e: unknown): ApiErrorEntry | undefined => {
    if (e === null || typeof e !== 'object') return undefined;
    const o = e as Record<string, unknown>;
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
    return { id: str(o.id) ?? str(o.code), status: str(o.status), title: str(o.title), detail: str(o.detail) ?? str(o.message) };
  };
  if (Array.isArray(b.errors) && b.errors.length > 0) return pick(b.errors[0]);
  if (b.errors && typeof b.errors === 'object') return pick(b.errors);
  if (b.error && typeof b.error === 'object') return pick(b.error);
  if (typeof b.error === 'string') {
    // OAuth 2 style: {"error":"invalid_grant","error_description":"…"}
    const desc = typeof b.error_description === 'string' ? b.error_description : undefined;
    return { id: b.error, detail: desc };
  }
  return undefined;
}

export interface HttpFailure {
  status: number;
  method: string;
  path: string;
  body: unknown;
  retryAfterMs?: number;
  /** Text appended to explain what to check (auth failures). */
  hint?: string;
  /** The query parameters sent, as sent (a refusal that names one of them says which and its value). */
  query?: Record<string, string>;
  redact: (s: string) => string;
}

/** Maps an HTTP error answer to a typed error. */
export function errorFromResponse(f: HttpFailure): PhotoShelterError {
  const entry = readErrorBody(f.body);
  const errorId = entry?.id;
  const explain = [entry?.title, entry?.detail].filter((s): s is string => !!s && s.length > 0).join(': ');
  const base = `PhotoShelter answered ${f.status}${errorId ? ` ${errorId}` : ''} to ${f.method} ${stripQuery(f.path)}`;
  const hint = f.hint ?? (errorId === ERROR_IDS.apiKeyInvalid ? 'check the API key of the account' : undefined);
  const message = f.redact(`${base}${explain ? ` (${explain})` : ''}${hint ? `: ${hint}` : ''}`);
  const details: ErrorDetails = { status: f.status, errorId, method: f.method, path: f.path };
  const s = f.status;
  if (errorId === ERROR_IDS.apiKeyInvalid) return new AuthError(message, details);
  if (s === 401 || errorId === ERROR_IDS.oauthServer || errorId === ERROR_IDS.authenticationFailed) return new AuthError(message, details);
  if (s === 403) return new PermissionError(message, details);
  if (s === 404 || errorId === ERROR_IDS.notFound) return new NotFoundError(message, details);
  if (s === 429 || errorId === ERROR_IDS.tooManyRequests) return new RateLimitError(message, { ...details, retryAfterMs: f.retryAfterMs });
  if (s === 400 || s === 422 || errorId === ERROR_IDS.badRequest) {
    const named = f.query ? namedParameter(explain, f.query) : undefined;
    if (named) return refusal(f, named, explain, details);
    return new ValidationError(message, details);
  }
  if (s === 408) return new TimeoutError(message, details);
  if (s >= 500) return new ServerError(message, { ...details, retryable: RETRYABLE_STATUS.has(s) });
  return new PhotoShelterError('EHTTP', message, details);
}

/** The sent query parameter a refusal names: the one mentioned first in its text (as a whole word). */
export function namedParameter(text: string, query: Record<string, string>): string | undefined {
  let best: { name: string; at: number } | undefined;
  for (const name of Object.keys(query)) {
    const re = new RegExp(`(?:^|[^A-Za-z0-9_])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`);
    const m = re.exec(text);
    if (!m) continue;
    const at = m.index + (m[0].length - name.length);
    if (!best || at < best.at || (at === best.at && name.length > best.name.length)) best = { name, at };
  }
  return best?.name;
}

function refusal(f: HttpFailure, name: string, explain: string, details: ErrorDetails): RefusedError {
  const raw = (f.query as Record<string, string>)[name];
  const value = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  const what = USER_VALUED_PARAMS.has(name)
    ? 'check the value given to the node or the call'
    : name === 'page'
      ? 'the listing goes deeper than PhotoShelter pages; narrow it (a smaller scope or time range)'
      : 'this version of the package sends it from its best knowledge of the API; please report it with the table `npm run test:live` prints for your account';
  const why = explain.replace(/[.\s]+$/, '') || `answer ${f.status}`;
  const message = f.redact(`PhotoShelter refused the parameter ${name}=${value} on ${f.method} ${stripQuery(f.path)}: ${why}. ${what[0].toUpperCase()}${what.slice(1)}.`);
  return new RefusedError(message, { ...details, parameter: name, value: f.redact(value) });
}

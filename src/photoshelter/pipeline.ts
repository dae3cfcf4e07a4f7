import { sharedSignal } from '../net';
import type { Readable } from 'node:stream';
import { abortReason, throwIfAborted, type Clock } from './clock';
import { HEADERS } from './endpoints';
import {
  AbortError,
  AuthError,
  errorFromResponse,
  NetworkError,
  PhotoShelterError,
  RateLimitError,
  TimeoutError,
  TruncatedError,
} from './errors';
import type { EventHub } from './events';
import type { AdaptiveLimiter, Outcome, Ticket } from './limiter';
import type { Redactor } from './redact';
import { decideRetry, parseRetryAfter, RETRYABLE_NETWORK_CODES, type RetryOptions } from './retry';
import { networkCode, type HttpMethod, type Transport, type TransportResponse } from './transport';

export type QueryValue = string | number | boolean | undefined | null | ReadonlyArray<string | number>;
export type QueryParams = Record<string, QueryValue>;

export interface RequestSpec {
  method: HttpMethod;
  /** Path relative to the base URL (from the endpoint map). */
  path: string;
  query?: QueryParams;
  form?: Record<string, string | undefined>;
  json?: unknown;
  /** Extra headers (the auth calls set their token here). */
  headers?: Record<string, string>;
  /** Repeat after 502/503/504, timeouts and connection resets. Default: true for GET and HEAD only. */
  idempotent?: boolean;
  /** Send the auth headers (default true); false for the authentication calls themselves. */
  auth?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface JsonResult<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface StreamResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface AuthCredentials {
  headers: Record<string, string>;
  /** Changes every time the credentials are replaced; lets a 401 invalidate only what it used. */
  generation: number;
}

/** What the pipeline needs from an auth strategy. */
export interface AuthProvider {
  authorize(signal?: AbortSignal): Promise<AuthCredentials>;
  /** Called after a 401 with the credentials of `generation`; true when new credentials may help. */
  invalidate(generation: number, errorId?: string): boolean;
  /** What the user should check when the credentials are refused. */
  rejectedHint(errorId?: string): string;
}

export interface PipelineOptions {
  baseUrl: string;
  apiKey: string;
  userAgent: string;
  timeoutMs: number;
  retry: RetryOptions;
  maxJsonBytes: number;
  transport: Transport;
  limiter: AdaptiveLimiter;
  clock: Clock;
  random: () => number;
  redactor: Redactor;
  events: EventHub;
}

type AttemptResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: PhotoShelterError; retryAfterMs?: number; outcome: Outcome };

/**
 * One request, end to end: auth headers, a limiter slot, the HTTP exchange under a timeout, error mapping,
 * re-authentication after a 401 (once), and retries with backoff for what may be repeated.
 */
export class Pipeline {
  private auth?: AuthProvider;
  private readonly closing = new AbortController();
  private serverOffsetMs?: number;

  constructor(private readonly o: PipelineOptions) {
    // every request in flight listens for the client's close: many at once are expected, not a leak
    sharedSignal(this.closing.signal);
  }

  /**
   * The server's clock as of the last answer's `Date` header (whole seconds, so this errs early by under
   * a second); the local clock until an answer has been seen.
   */
  serverNow(): number {
    return this.o.clock.now() + (this.serverOffsetMs ?? 0);
  }

  /** True once an answer has told the server's time. */
  get serverTimeKnown(): boolean {
    return this.serverOffsetMs !== undefined;
  }

  private noteServerDate(header: string | string[] | undefined): void {
    const value = Array.isArray(header) ? header[0] : header;
    const ms = value ? Date.parse(value) : NaN;
    if (Number.isFinite(ms)) this.serverOffsetMs = ms - this.o.clock.now();
  }

  setAuth(auth: AuthProvider): void {
    this.auth = auth;
  }

  /** Aborts everything in flight; later requests fail with ECLOSED. */
  close(): void {
    this.closing.abort(new PhotoShelterError('ECLOSED', 'The PhotoShelter client is closed'));
  }

  json<T = unknown>(spec: RequestSpec): Promise<JsonResult<T>> {
    return this.run(spec, (res, ctx) => this.readJson<T>(res, ctx));
  }

  /**
   * Resolves once the response headers of a successful answer arrived. The limiter slot is released at that
   * point: a long body must not hold back metadata calls.
   */
  stream(spec: RequestSpec): Promise<StreamResult> {
    return this.run(spec, async (res, ctx) => {
      ctx.headersArrived();
      return { status: res.status, headers: res.headers, body: res.body };
    });
  }

  private async run<T>(spec: RequestSpec, onSuccess: (res: TransportResponse, ctx: AttemptContext) => Promise<T>): Promise<T> {
    const method = spec.method;
    const idempotent = spec.idempotent ?? (method === 'GET' || method === 'HEAD');
    const startedAt = this.o.clock.now();
    const signal = spec.signal;
    let retries = 0;
    let reauthenticated = false;
    for (;;) {
      this.checkOpen(signal);
      this.failIfBackoffTooLong(spec, startedAt);
      const creds = spec.auth === false ? undefined : await this.requireAuth().authorize(signal);
      const ticket = await this.o.limiter.acquire(signal);
      const result = await this.attempt(spec, creds, ticket, retries + reauthNumber(reauthenticated), onSuccess);
      if (result.ok) return result.value;
      const err = result.error;
      this.checkOpen(signal);
      if (err instanceof AbortError) throw err;

      if (err.status === 401 && creds && this.auth) {
        if (!reauthenticated && this.auth.invalidate(creds.generation, err.errorId)) {
          reauthenticated = true;
          continue;
        }
        throw new AuthError(this.o.redactor.redact(`${err.message}: ${this.auth.rejectedHint(err.errorId)}`), {
          status: err.status,
          errorId: err.errorId,
          method,
          path: spec.path,
        });
      }

      const isRateLimit = err instanceof RateLimitError;
      const mayRetry = isRateLimit || (idempotent && err.retryable);
      if (!mayRetry) throw err;
      if (isRateLimit && result.retryAfterMs !== undefined) this.o.limiter.backoff(result.retryAfterMs);
      if (isRateLimit) {
        const st = this.o.limiter.state();
        this.o.events.fire('ratelimited', {
          method,
          path: spec.path,
          retryAfterMs: result.retryAfterMs,
          backoffUntil: st.backoffUntil,
          limit: st.limit,
        });
      }
      const elapsed = this.o.clock.now() - startedAt;
      const decision = decideRetry(retries, elapsed, result.retryAfterMs, this.o.retry, this.o.random);
      if (!decision.retry) {
        if (decision.reason === 'retry-after' && isRateLimit && result.retryAfterMs !== undefined) {
          const left = Math.max(0, this.o.retry.maxRetryTimeMs - elapsed);
          throw new RateLimitError(
            `PhotoShelter asked to wait ${Math.ceil(result.retryAfterMs / 1000)} s before ${method} ${spec.path}, ` +
              `more than the ${Math.floor(left / 1000)} s left of the retry time limit`,
            { status: err.status, errorId: err.errorId, method, path: spec.path, retryAfterMs: result.retryAfterMs },
          );
        }
        throw err;
      }
      retries++;
      this.o.events.fire('retry', { method, path: spec.path, attempt: retries, delayMs: decision.delayMs, reason: err.status ? String(err.status) : reasonOf(err) });
      await this.o.clock.sleep(decision.delayMs, anySignal([signal, this.closing.signal]));
    }
  }

  /** A shared backoff longer than this request's retry time left: fail now instead of queueing. */
  private failIfBackoffTooLong(spec: RequestSpec, startedAt: number): void {
    const wait = this.o.limiter.state().backoffRemainingMs;
    const left = this.o.retry.maxRetryTimeMs - (this.o.clock.now() - startedAt);
    if (wait > 0 && wait > left) {
      throw new RateLimitError(
        `PhotoShelter asked this client to pause for ${Math.ceil(wait / 1000)} s, longer than the retry time limit; ${spec.method} ${spec.path} was not sent`,
        { method: spec.method, path: spec.path, retryAfterMs: wait, status: 429 },
      );
    }
  }

  private checkOpen(signal?: AbortSignal): void {
    if (this.closing.signal.aborted) throw abortReason(this.closing.signal);
    throwIfAborted(signal);
  }

  private requireAuth(): AuthProvider {
    if (!this.auth) throw new PhotoShelterError('ECLOSED', 'No authentication configured');
    return this.auth;
  }

  private async attempt<T>(
    spec: RequestSpec,
    creds: AuthCredentials | undefined,
    ticket: Ticket,
    attemptNo: number,
    onSuccess: (res: TransportResponse, ctx: AttemptContext) => Promise<T>,
  ): Promise<AttemptResult<T>> {
    const { method, path } = spec;
    const began = this.o.clock.now();
    const timeoutMs = spec.timeoutMs ?? this.o.timeoutMs;
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(new AbortError(`${method} ${path} was aborted`, { method, path }));
    const onClose = (): void => controller.abort(new PhotoShelterError('ECLOSED', 'The PhotoShelter client is closed', { method, path }));
    const unlink = (): void => {
      spec.signal?.removeEventListener('abort', onCallerAbort);
      this.closing.signal.removeEventListener('abort', onClose);
    };
    if (spec.signal?.aborted) onCallerAbort();
    sharedSignal(spec.signal)?.addEventListener('abort', onCallerAbort, { once: true });
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = setTimeout(
      () => controller.abort(new TimeoutError(`PhotoShelter did not answer ${method} ${path} within ${timeoutMs} ms`, { method, path })),
      timeoutMs,
    );
    let keepLinked = false;
    let outcome: Outcome = 'neutral';
    const report = (status?: number, error?: string): void =>
      this.o.events.fire('request', { method, path, status, attempt: attemptNo + 1, durationMs: this.o.clock.now() - began, error });
    try {
      let res: TransportResponse;
      try {
        res = await this.o.transport.send({
          url: this.buildUrl(spec),
          method,
          headers: this.buildHeaders(spec, creds),
          body: this.buildBody(spec),
          signal: controller.signal,
          bodyIdleTimeoutMs: timeoutMs,
        });
      } catch (e) {
        const error = this.mapTransportError(e, controller.signal, method, path);
        outcome = 'failure';
        report(undefined, error.code);
        return { ok: false, error, outcome };
      }
      this.noteServerDate(res.headers[HEADERS.date]);

      if (res.status >= 200 && res.status < 300) {
        const ctx: AttemptContext = {
          signal: controller.signal,
          method,
          path,
          maxJsonBytes: this.o.maxJsonBytes,
          headersArrived: () => {
            clearTimeout(timer);
            keepLinked = true;
            this.o.limiter.release(ticket, 'success');
            res.body.once('close', unlink);
          },
        };
        try {
          const value = await onSuccess(res, ctx);
          outcome = 'success';
          report(res.status);
          return { ok: true, value };
        } catch (e) {
          const error = e instanceof PhotoShelterError ? e : this.mapTransportError(e, controller.signal, method, path);
          outcome = 'failure';
          report(res.status, error.code);
          return { ok: false, error, outcome };
        }
      }

      const body = await readErrorBody(res.body);
      const retryAfterMs = parseRetryAfter(res.headers[HEADERS.retryAfter], this.o.clock.now());
      const error = errorFromResponse({ status: res.status, method, path, body, retryAfterMs, query: queryValues(spec.query), redact: this.o.redactor.redact });
      outcome = res.status === 429 ? 'ratelimited' : res.status >= 500 ? 'failure' : 'neutral';
      report(res.status, error.errorId ?? error.code);
      return { ok: false, error, retryAfterMs, outcome };
    } finally {
      if (!keepLinked) {
        clearTimeout(timer);
        unlink();
      }
      this.o.limiter.release(ticket, outcome);
    }
  }

  private mapTransportError(e: unknown, signal: AbortSignal, method: string, path: string): PhotoShelterError {
    if (signal.aborted) return abortReason(signal) as PhotoShelterError;
    if (e instanceof PhotoShelterError) return e;
    const code = networkCode(e);
    const msg = e instanceof Error ? e.message : String(e);
    return new NetworkError(this.o.redactor.redact(`Network error on ${method} ${path}: ${code ?? ''} ${msg}`.replace(/\s+/g, ' ').trim()), {
      method,
      path,
      networkCode: code,
      retryable: code === undefined || RETRYABLE_NETWORK_CODES.has(code),
    });
  }

  private async readJson<T>(res: TransportResponse, ctx: AttemptContext): Promise<JsonResult<T>> {
    const expected = contentLength(res.headers);
    const buf = await readAll(res.body, expected, ctx);
    let body: unknown = undefined;
    if (buf.length > 0) {
      try {
        body = JSON.parse(buf.toString('utf8'));
      } catch {
        throw new PhotoShelterError('EBADRESPONSE', `PhotoShelter answered ${ctx.method} ${ctx.path} with a body that is not JSON`, {
          status: res.status,
          method: ctx.method,
          path: ctx.path,
          retryable: true,
        });
      }
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }

  private buildUrl(spec: RequestSpec): string {
    const url = new URL(this.o.baseUrl.replace(/\/+$/, '') + spec.path);
    for (const [k, v] of Object.entries(queryValues(spec.query))) url.searchParams.set(k, v);
    return url.toString();
  }

  private buildHeaders(spec: RequestSpec, creds?: AuthCredentials): Record<string, string> {
    const h: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.o.userAgent,
      [HEADERS.apiKey]: this.o.apiKey,
      ...(creds?.headers ?? {}),
      ...(spec.headers ?? {}),
    };
    if (spec.form) h[HEADERS.contentType] = 'application/x-www-form-urlencoded';
    else if (spec.json !== undefined) h[HEADERS.contentType] = 'application/json';
    return h;
  }

  private buildBody(spec: RequestSpec): string | undefined {
    if (spec.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(spec.form)) if (v !== undefined) p.set(k, v);
      return p.toString();
    }
    if (spec.json !== undefined) return JSON.stringify(spec.json);
    return undefined;
  }
}

export interface AttemptContext {
  signal: AbortSignal;
  method: string;
  path: string;
  maxJsonBytes: number;
  /** Stream mode: stop the total timer and free the limiter slot. */
  headersArrived(): void;
}

const reauthNumber = (b: boolean): number => (b ? 1 : 0);

/** The query parameters as they go on the wire (unset ones left out, lists joined with commas). */
export function queryValues(query: QueryParams | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

function reasonOf(err: PhotoShelterError): string {
  if (err instanceof NetworkError && err.networkCode) return err.networkCode;
  return err.code;
}

export function contentLength(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = headers[HEADERS.contentLength];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

async function readAll(body: Readable, expected: number | undefined, ctx: AttemptContext): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      received += b.length;
      if (received > ctx.maxJsonBytes) {
        body.destroy();
        throw new PhotoShelterError('EBADRESPONSE', `PhotoShelter answered ${ctx.method} ${ctx.path} with more than ${ctx.maxJsonBytes} bytes`, {
          method: ctx.method,
          path: ctx.path,
        });
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof PhotoShelterError) throw e;
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    throw new TruncatedError(
      `The answer to ${ctx.method} ${ctx.path} broke off after ${received}${expected !== undefined ? ` of ${expected}` : ''} bytes (${networkCode(e) ?? 'connection closed'})`,
      { method: ctx.method, path: ctx.path, expectedBytes: expected, receivedBytes: received },
    );
  }
  if (expected !== undefined && received !== expected) {
    throw new TruncatedError(`The answer to ${ctx.method} ${ctx.path} had ${received} bytes, ${expected} were announced`, {
      method: ctx.method,
      path: ctx.path,
      expectedBytes: expected,
      receivedBytes: received,
    });
  }
  return Buffer.concat(chunks);
}

/** Reads a (small) error body; returns parsed JSON, or undefined. */
async function readErrorBody(body: Readable): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      n += b.length;
      if (n > 256 * 1024) {
        body.destroy();
        break;
      }
      chunks.push(b);
    }
  } catch {
    // a broken error body still maps by status
  }
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A signal that aborts when any of the given ones does. */
export function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (list.length === 1) return list[0];
  return AbortSignal.any(list);
}

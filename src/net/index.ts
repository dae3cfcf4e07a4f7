/**
 * What the PhotoShelter client and the destinations share about the network: the low-level code of a
 * network error, which of those codes are worth another attempt, an abortable sleep and an exponential
 * backoff with jitter. No import from the rest of the package: the client and core both stand on it.
 */
import { setMaxListeners } from 'node:events';

/**
 * Network error codes after which a request is worth another attempt (an idempotent one, or a delivery that
 * can open its body again): the connection was refused, reset or timed out, the name did not resolve for
 * now, the network or host was unreachable, or undici gave up on the socket.
 */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The low-level code of a network error (undici wraps Node's codes in `cause`). */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') {
      const inner = (e as { cause?: unknown }).cause;
      const innerCode = inner && typeof inner === 'object' ? (inner as { code?: unknown }).code : undefined;
      // prefer the OS code (ECONNRESET) over undici's wrapper code when both exist
      if (code === 'UND_ERR_SOCKET' && typeof innerCode === 'string') return innerCode;
      return code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when a network error's code says that another attempt may succeed. */
export function isRetryableNetworkError(err: unknown): boolean {
  const code = networkCode(err);
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
}

/** The error an aborted wait rejects with: the signal's reason when it is an Error, else an `EABORTED` Error. */
export function abortedError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : Object.assign(new Error('The operation was aborted'), { code: 'EABORTED' });
}

/**
 * Waits `ms` milliseconds; rejects as soon as `signal` aborts, with `reason(signal)` (by default the
 * signal's own reason when it is an Error).
 */
export function sleep(ms: number, signal?: AbortSignal, reason: (signal: AbortSignal) => Error = abortedError): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(reason(signal));
    const stop = (): void => {
      clearTimeout(timer);
      reject(reason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, Math.max(0, ms));
    sharedSignal(signal)?.addEventListener('abort', stop, { once: true });
  });
}

export interface BackoffOptions {
  /** The ceiling of the first delay (retry 0). */
  baseDelayMs: number;
  /** The largest ceiling. */
  maxDelayMs: number;
  /**
   * `full` (default): a random delay up to the ceiling; `equal`: at least half the ceiling, the other half
   * random (for a caller that must give a server a moment, such as a delivery after a 503).
   */
  jitter?: 'full' | 'equal';
}

/**
 * Exponential backoff with jitter: the ceiling is min(maxDelay, base × 2^retry), `retry` counting from 0;
 * the delay a random part of it (see `jitter`). Spreads the retries of many callers that failed at the same
 * moment instead of repeating the burst.
 */
export function backoffDelay(retry: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.min(Math.max(0, retry), 30));
  if (opts.jitter === 'equal') return Math.floor(ceiling / 2 + random() * (ceiling / 2));
  return Math.floor(random() * ceiling);
}

const unlimited = new WeakSet<AbortSignal>();
/**
 * Marks a signal that many requests in flight may listen to at once (each removes its listener when it
 * ends): Node's leak warning at eleven listeners is not meant for it.
 */
export function sharedSignal<S extends AbortSignal | undefined>(signal: S): S {
  if (signal && !unlimited.has(signal)) {
    unlimited.add(signal);
    setMaxListeners(0, signal);
  }
  return signal;
}

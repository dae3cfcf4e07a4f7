/** Backoff policy: exponential with full jitter, Retry-After first, a cap on the total time spent retrying. */
import { backoffDelay as netBackoff } from '../net';

export interface RetryOptions {
  /** Attempts after the first (default 6). */
  maxRetries: number;
  /** Base delay of the exponential backoff (default 500 ms). */
  baseDelayMs: number;
  /** Largest single backoff delay without Retry-After (default 30 s). */
  maxDelayMs: number;
  /** Total time a request may spend in retries, measured from its first attempt (default 120 s). */
  maxRetryTimeMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryTimeMs: 120_000 };

export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Network error codes after which an idempotent request is repeated (shared with the destinations). */
export { RETRYABLE_NETWORK_CODES } from '../net';

/**
 * Parses a Retry-After header: delta seconds or an HTTP date. Returns milliseconds from `now`
 * (0 for dates in the past), or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Full jitter: a random delay in [0, min(maxDelay, base * 2^retry)). `retry` counts from 0. */
export function backoffDelay(retry: number, opts: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  return netBackoff(retry, opts, random);
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'attempts' | 'time' | 'retry-after' };

/**
 * Decides whether and when to try again. `elapsedMs` is the time since the first attempt;
 * a Retry-After longer than the time left stops now (reason 'retry-after').
 */
export function decideRetry(
  retry: number,
  elapsedMs: number,
  retryAfterMs: number | undefined,
  opts: RetryOptions,
  random: () => number,
): RetryDecision {
  if (retry >= opts.maxRetries) return { retry: false, reason: 'attempts' };
  const left = opts.maxRetryTimeMs - elapsedMs;
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > left) return { retry: false, reason: 'retry-after' };
    return { retry: true, delayMs: retryAfterMs };
  }
  const delayMs = backoffDelay(retry, opts, random);
  if (delayMs > left) return { retry: false, reason: 'time' };
  return { retry: true, delayMs };
}

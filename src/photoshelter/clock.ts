import { sleep } from '../net';
import { AbortError, PhotoShelterError } from './errors';

/** Time source and timer; injectable so that tests control backoff and rate limits. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal, abortReason),
};

/** The error to throw for an aborted signal: its reason when it is one of ours, else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof PhotoShelterError ? r : new AbortError();
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
}

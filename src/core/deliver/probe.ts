/**
 * "Test destination": checks a destination's settings and credentials without delivering anything. Each
 * kind says how (kind.ts `probe`, else the destination's own): folder, the base folder exists (or is
 * created, when that is allowed) and takes a probe file, removed again; HTTP, the host of the URL is
 * reached (DNS, TCP, TLS) and answers a HEAD of the URL's fixed part, with the destination's
 * authentication; SFTP, sign-in with the host key checked, and the remote folder is there; S3, a signed
 * HeadBucket. The answer is a message key of the destination node's catalogue; failures are DeliverErrors,
 * whose messages carry no secret.
 */
import { createDestination, probeWith, type DestinationConfig } from './registry';
import { DeliverError, type ProbeResult } from './types';

/**
 * `work`, or an error as soon as `signal` aborts: a probe ends within its deadline even when the step it
 * waits for cannot be stopped (a file system call that never returns, a server that never answers).
 */
export function withinSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      const reason: unknown = signal.reason;
      const timedOut = (reason as { name?: string } | undefined)?.name === 'TimeoutError';
      reject(new DeliverError(timedOut ? 'ETIMEDOUT' : 'EABORTED', timedOut ? 'The test got no answer in time' : 'The test was stopped', false, { cause: reason }));
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', stop);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(e);
      },
    );
  });
}

/** Checks a destination's settings and credentials; ends when `signal` aborts, whatever the destination is doing. */
export async function probeDestination(config: DestinationConfig, credentials: Record<string, unknown>, signal: AbortSignal): Promise<ProbeResult> {
  const destination = createDestination(config, credentials);
  try {
    return await withinSignal(probeWith(destination, config, signal), signal);
  } finally {
    // a destination still busy with an aborted step is closed without waiting for it
    const closed = destination.close().catch(() => undefined);
    if (!signal.aborted) await closed;
  }
}

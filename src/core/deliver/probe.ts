/**
 * "Test destination": checks a destination's settings and credentials without delivering anything.
 * Folder: the base folder exists (or is created, when that is allowed) and takes a probe file, removed again. HTTP: the host of
 * the URL is reached (DNS, TCP, TLS) and answers a HEAD of the URL's fixed part, with the destination's
 * authentication. SFTP: sign-in with the host key checked, and the remote folder is there. S3: a signed
 * HeadBucket. The answer is a message key of the destination node's catalogue; failures are DeliverErrors,
 * whose messages carry no secret.
 */
import { HttpDestination } from './http';
import { createDestination, kindOf, type DestinationConfig } from './registry';
import { DeliverError, type ProbeResult } from './types';

/** The part of an HTTP URL template before its first `{{`: what can be reached without an asset. */
export function fixedUrl(template: unknown): string {
  const t = String(template ?? '').trim();
  const cut = t.indexOf('{{');
  const fixed = cut >= 0 ? t.slice(0, cut) : t;
  let u: URL;
  try {
    u = new URL(fixed);
  } catch {
    throw new DeliverError('ECONFIG', t ? `The URL "${t.slice(0, 80)}" has no fixed scheme and host before its first template` : 'The destination has no URL');
  }
  if (!u.hostname) throw new DeliverError('ECONFIG', `The URL "${t.slice(0, 80)}" has no host`);
  return u.toString();
}

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
  const kind = kindOf(config);
  const url = kind === 'http' ? fixedUrl(config.url) : undefined;
  const destination = createDestination(config, credentials);
  try {
    if (destination instanceof HttpDestination) {
      const { url: shown, status } = await withinSignal(destination.head(url as string, signal), signal);
      const good = status < 400 || status === 405;
      return { key: good ? 'httpOk' : 'httpStatus', values: { url: shown, status }, warning: !good };
    }
    if (!destination.probe) throw new DeliverError('ECONFIG', `The ${kind} destination cannot be tested`);
    return await withinSignal(destination.probe(signal), signal);
  } finally {
    // a destination still busy with an aborted step is closed without waiting for it
    const closed = destination.close().catch(() => undefined);
    if (!signal.aborted) await closed;
  }
}

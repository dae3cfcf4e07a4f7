/**
 * "Test destination": checks a destination's settings and credentials without delivering anything.
 * Folder: the base folder exists (or is created) and takes a probe file, removed again. HTTP: the host of
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

export async function probeDestination(config: DestinationConfig, credentials: Record<string, unknown>, signal: AbortSignal): Promise<ProbeResult> {
  const kind = kindOf(config);
  const url = kind === 'http' ? fixedUrl(config.url) : undefined;
  const destination = createDestination(config, credentials);
  try {
    if (destination instanceof HttpDestination) {
      const { url: shown, status } = await destination.head(url as string, signal);
      const good = status < 400 || status === 405;
      return { key: good ? 'httpOk' : 'httpStatus', values: { url: shown, status }, warning: !good };
    }
    if (!destination.probe) throw new DeliverError('ECONFIG', `The ${kind} destination cannot be tested`);
    return await destination.probe(signal);
  } finally {
    await destination.close().catch(() => undefined);
  }
}

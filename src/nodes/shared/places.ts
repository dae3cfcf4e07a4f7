/**
 * Where the secrets of a dialog would go, as comparable text per part: what Test connection and Test
 * destination compare between the edit dialog and the deployed node before they lend a stored secret or an
 * environment value (see form.ts).
 */
import { resolve as resolvePath } from 'node:path';
import { DEFAULT_BASE_URL } from '../../photoshelter';
import { fixedUrl } from '../../core/deliver/probe';
import { placeOf } from './form';

const text = (v: unknown): string => String(v ?? '').trim();
const flag = (v: unknown, dflt: boolean): string => (v === undefined || v === null || v === '' ? String(dflt) : String(v).trim().toLowerCase());
const fixed = (v: unknown): string => {
  try {
    return placeOf(fixedUrl(v));
  } catch {
    return `no URL: ${text(v)}`;
  }
};

/** An account's place: the base URL, the sign-in mode and the user it signs in as. */
export function accountPlace(config: Record<string, unknown>, creds: Record<string, unknown>): Record<string, string> {
  const mode = text(config.authMode) || 'session';
  return {
    baseUrl: placeOf(text(config.baseUrl) || DEFAULT_BASE_URL),
    authMode: mode,
    email: mode === 'session' ? text(creds.email) : '',
    clientId: mode === 'oauth' ? text(creds.clientId) : '',
  };
}

/** A destination's place, by kind: host, port, path, user, bucket, and the checks of the server's identity. */
export function destinationPlace(c: Record<string, unknown>, k: Record<string, unknown>): Record<string, string> {
  const kind = text(c.kind) || 'folder';
  switch (kind) {
    case 'folder':
      return { kind, folder: resolvePath(text(c.folder) || '.') };
    case 'http':
      return { kind, url: fixed(c.url), removeUrl: text(c.removeUrl) ? fixed(c.removeUrl) : '', httpUser: text(c.httpUser), rejectUnauthorized: flag(c.rejectUnauthorized, true), ca: text(c.ca) };
    case 'sftp':
      return { kind, host: text(c.host).toLowerCase(), port: String(Number(text(c.port) || 22)), user: text(c.user), basePath: text(c.basePath), hostKey: text(c.hostKey), insecureSkipHostKey: flag(c.insecureSkipHostKey, false) };
    default:
      return { kind, endpoint: text(c.endpoint) ? placeOf(c.endpoint) : '', region: text(c.region), bucket: text(c.bucket), forcePathStyle: flag(c.forcePathStyle, false), accessKeyId: text(k.accessKeyId) };
  }
}

/** A shared ledger's place: the database server, the database and the user, and the TLS checks. */
export function ledgerPlace(c: Record<string, unknown>): Record<string, string> {
  return { host: text(c.host).toLowerCase(), port: String(Number(text(c.port) || 5432)), database: text(c.database), user: text(c.user), tls: text(c.tls) || 'off', ca: text(c.ca) };
}

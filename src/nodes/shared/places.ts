/**
 * Where the secrets of a dialog would go, as comparable text per part: what Test connection and Test
 * destination compare between the edit dialog and the deployed node before they lend a stored secret or an
 * environment value (see form.ts). A destination's place is its kind's to say (core/deliver/kind.ts).
 */
import { DEFAULT_BASE_URL } from '../../photoshelter';
import { placeOf, text } from '../../core/deliver/kind';

export { destinationPlace } from '../../core/deliver/registry';

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

/** A shared ledger's place: the database server, the database and the user, and the TLS checks. */
export function ledgerPlace(c: Record<string, unknown>): Record<string, string> {
  return { host: text(c.host).toLowerCase(), port: String(Number(text(c.port) || 5432)), database: text(c.database), user: text(c.user), tls: text(c.tls) || 'off', ca: text(c.ca) };
}

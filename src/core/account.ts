/**
 * An account as a user configures it (in Node-RED's editor or elsewhere), turned into client options,
 * plus what the editor asks of an account: a connection test, one level of the library tree, and the
 * custom field names in use.
 */
import {
  checkBaseUrl,
  DEFAULT_BASE_URL,
  PhotoShelterClient,
  isId,
  NotFoundError,
  PermissionError,
  type AuthOptions,
  type ContainerResource,
  type OAuthTokens,
  type PhotoShelterClientOptions,
} from '../photoshelter';
import { isValidTimeZone } from '../photoshelter/dates';
import type { Asset } from './asset';
import { loadAsset } from './load';

export type AuthModeName = 'session' | 'oauth' | 'bearer';

export interface AccountConfig {
  baseUrl?: string;
  authMode?: string;
  orgId?: string;
  maxConcurrency?: number | string;
  requestsPerSecond?: number | string;
  /**
   * This Node-RED's share of the account's request rate, in percent (default 100): with several Node-RED
   * workers on one account, each takes its part of `requestsPerSecond`, so that together they stay under it.
   */
  share?: number | string;
  /** Seconds. */
  timeout?: number | string;
  timeZone?: string;
  redirectUri?: string;
}

export interface AccountCredentials {
  apiKey?: string;
  email?: string;
  password?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  token?: string;
}

/** A configuration problem, with a stable code for message catalogues and the field it concerns. */
export class AccountConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(
    readonly key: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccountConfigError';
  }
}

function trimmed(v: unknown): string {
  return typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim();
}

function numberIn(v: unknown, field: string, min: number, max: number, fallback: number | undefined): number | undefined {
  const s = trimmed(v);
  if (s === '') return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new AccountConfigError('badNumber', field, `${field} must be a number from ${min} to ${max} (got "${s.slice(0, 20)}")`);
  }
  return n;
}

export interface ResolvedAccount {
  options: PhotoShelterClientOptions;
  timeZone: string;
  mode: AuthModeName;
}

/** Validates a configuration and builds client options. Throws AccountConfigError, never echoing a secret. */
export function resolveAccount(
  config: AccountConfig,
  creds: AccountCredentials,
  extras: { onTokens?: (t: OAuthTokens) => void | Promise<void>; logger?: (line: string) => void } = {},
): ResolvedAccount {
  let baseUrl: string;
  try {
    // https, or http to this machine only (a simulator): the same check the client makes
    baseUrl = checkBaseUrl(trimmed(config.baseUrl) || DEFAULT_BASE_URL);
  } catch (e) {
    throw new AccountConfigError('badUrl', 'baseUrl', (e as Error).message);
  }
  const apiKey = trimmed(creds.apiKey);
  if (!apiKey) throw new AccountConfigError('missing', 'apiKey', 'The API key is missing');
  if (!isId('apiKey', apiKey)) {
    throw new AccountConfigError('badApiKey', 'apiKey', 'The API key must be 11 letters, digits, dots or underscores');
  }
  const orgText = trimmed(config.orgId);
  if (orgText && !isId('organization', orgText)) {
    throw new AccountConfigError('badOrgId', 'orgId', `The organization id "${String(orgText).slice(0, 40)}" is not 16 characters starting O0000`);
  }
  const orgId = orgText || undefined;
  const modeText = trimmed(config.authMode) || 'session';
  const mode = modeText as AuthModeName;
  const need = (field: keyof AccountCredentials, label: string): string => {
    const v = trimmed(creds[field]);
    if (!v) throw new AccountConfigError('missing', field, `${label} is missing`);
    return v;
  };
  let auth: AuthOptions;
  switch (mode) {
    case 'session':
      auth = { mode, email: need('email', 'The email'), password: need('password', 'The password'), orgId };
      break;
    case 'oauth':
      auth = {
        mode,
        clientId: need('clientId', 'The OAuth client id'),
        clientSecret: need('clientSecret', 'The OAuth client secret'),
        refreshToken: need('refreshToken', 'The OAuth refresh token'),
        redirectUri: trimmed(config.redirectUri) || undefined,
        orgId,
        onTokens: extras.onTokens,
      };
      break;
    case 'bearer':
      auth = { mode, token: need('token', 'The access token'), orgId };
      break;
    default:
      throw new AccountConfigError('badMode', 'authMode', `Unknown authentication mode "${modeText.slice(0, 20)}"`);
  }
  const timeZone = trimmed(config.timeZone) || 'UTC';
  if (!isValidTimeZone(timeZone)) {
    throw new AccountConfigError('badZone', 'timeZone', `"${timeZone.slice(0, 60)}" is not a time zone name (e.g. Europe/Berlin)`);
  }
  const timeoutS = numberIn(config.timeout, 'timeout', 1, 3600, 30) as number;
  const rate = numberIn(config.requestsPerSecond, 'requestsPerSecond', 0.01, 1000, undefined);
  const share = numberIn(config.share, 'share', 0.1, 100, 100) as number;
  if (share < 100 && rate === undefined) {
    throw new AccountConfigError('shareWithoutRate', 'share', 'A share of the request rate needs the account\'s requests per second: set Requests/s to the account\'s limit');
  }
  return {
    mode,
    timeZone,
    options: {
      baseUrl,
      apiKey,
      auth,
      maxConcurrency: numberIn(config.maxConcurrency, 'maxConcurrency', 1, 64, 4),
      requestsPerSecond: rate === undefined ? undefined : (rate * share) / 100,
      timeoutMs: Math.round(timeoutS * 1000),
      logger: extras.logger,
    },
  };
}

/** An organization the signed-in user belongs to. */
export interface Organization {
  id: string;
  name: string;
}

/** The organizations of a session read with `include=organizations`. */
export function organizationsOf(session: { includes?: Record<string, { data?: unknown } | undefined> | null } | undefined): Organization[] {
  const data = session?.includes?.organizations?.data;
  if (!Array.isArray(data)) return [];
  return data
    .filter((o): o is { id: string; attributes?: { name?: unknown } } => !!o && typeof (o as { id?: unknown }).id === 'string')
    .map((o) => ({ id: o.id, name: typeof o.attributes?.name === 'string' && o.attributes.name ? o.attributes.name : o.id }));
}

export interface ConnectionReport {
  ok: true;
  mode: AuthModeName;
  userId?: string;
  orgId?: string;
  /** Top-level collections and galleries visible to the account. */
  topLevel: number;
  /** The organizations the user belongs to. */
  organizations: Organization[];
  /** No organization is chosen although the user belongs to some: their libraries are not visible. */
  noOrganization: boolean;
}

/** Log in, switch organization when set, and read the top of the library: proof that the account works. */
export async function testConnection(options: PhotoShelterClientOptions, signal?: AbortSignal): Promise<ConnectionReport> {
  const client = new PhotoShelterClient({ ...options, maxRetries: 1, maxRetryTimeMs: 10_000 });
  try {
    return await checkConnection(client, options.auth, signal);
  } finally {
    await client.close();
  }
}

/** The same proof with a client that is already in use (a deployed account's: its sign-in is reused). */
export async function checkConnection(client: PhotoShelterClient, auth: Pick<PhotoShelterClientOptions['auth'], 'mode' | 'orgId'>, signal?: AbortSignal): Promise<ConnectionReport> {
  const session = await client.session({ signal, includeOrganizations: true });
  let topLevel = 0;
  for await (const _ of client.library({ signal, perPage: 100, maxPages: 1 })) topLevel++;
  const organizations = organizationsOf(session as Parameters<typeof organizationsOf>[0]);
  return {
    ok: true,
    mode: auth.mode,
    userId: typeof session.id === 'string' ? session.id : undefined,
    orgId: auth.orgId,
    topLevel,
    organizations,
    noOrganization: !auth.orgId && organizations.length > 0,
  };
}

/** Why a trigger may see nothing: its scope (or the library) is empty to the account. */
export interface NothingVisible {
  /** The account's organization, when it has one. */
  orgId?: string;
  /** The organizations the user belongs to. */
  organizations: Organization[];
}

/**
 * Undefined when the account sees something in `scopes` (or, with none, in its library); otherwise what
 * tells why that may be: the account's organization and the user's organizations.
 */
export async function nothingVisible(client: PhotoShelterClient, scopes: ReadonlyArray<{ kind: 'gallery' | 'collection'; id: string }>, signal?: AbortSignal): Promise<NothingVisible | undefined> {
  const one = { signal, perPage: 1, maxPages: 1 };
  const sources = scopes.length === 0 ? [client.library(one)] : scopes.map((s) => (s.kind === 'gallery' ? client.galleryChildren(s.id, one) : client.collectionChildren(s.id, one)));
  for (const source of sources) {
    for await (const _ of source) return undefined;
  }
  const session = await client.session({ signal, includeOrganizations: true });
  return { orgId: client.organizationId, organizations: organizationsOf(session as Parameters<typeof organizationsOf>[0]) };
}

export interface TreeEntry {
  id: string;
  kind: 'collection' | 'gallery';
  name: string;
  /** Children (collections and galleries) of a collection, media of a gallery, when known. */
  count?: number;
}

/** One level of the library tree: the root's or a collection's children, with counts. */
export async function browseLevel(client: PhotoShelterClient, parent?: string, signal?: AbortSignal): Promise<TreeEntry[]> {
  const children: ContainerResource[] = [];
  const source = parent ? client.collectionChildren(parent, { signal }) : client.library({ signal });
  for await (const c of source) children.push(c);
  const entries = children.map((c) => ({
    id: c.id,
    kind: (c.type === 'gallery' ? 'gallery' : 'collection') as TreeEntry['kind'],
    name: typeof c.attributes?.name === 'string' ? c.attributes.name : c.id,
  }));
  return Promise.all(
    entries.map(async (e): Promise<TreeEntry> => {
      try {
        const total = (await client.childCount(e.kind, e.id, { signal })).total;
        return total !== undefined ? { ...e, count: total } : e;
      } catch {
        return e;
      }
    }),
  );
}

/**
 * Custom field names in use: the API has no field list, so they are read from the custom metadata of a
 * few media (every medium of an organization lists every field, set or not).
 */
export async function customFieldNames(client: PhotoShelterClient, sample = 5, signal?: AbortSignal): Promise<Array<{ name: string; id: string; type: string }>> {
  const seen = new Map<string, { name: string; id: string; type: string }>();
  const ids: string[] = [];
  const scope = (await rootGalleries(client, signal)).slice(0, sample);
  for (const gid of scope) {
    for await (const m of client.galleryChildren(gid, { signal, perPage: 1, maxPages: 1 })) ids.push(m.id);
  }
  for (const id of ids) {
    const res = await client.getCustomMetadata(id, { signal });
    const list = (res.attributes as { custom_metadata?: unknown }).custom_metadata;
    if (!Array.isArray(list)) continue;
    for (const f of list as Array<Record<string, unknown>>) {
      const name = typeof f.name === 'string' ? f.name : undefined;
      if (name && !seen.has(name)) seen.set(name, { name, id: String(f.field_id ?? ''), type: String(f.type ?? 'text') });
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One asset of the library, read as a trigger reads it (IPTC, custom fields, galleries, path): a sample
 * for previews. The first medium of the first gallery found; undefined for an empty library.
 */
export async function sampleAsset(client: PhotoShelterClient, timeZone?: string, signal?: AbortSignal): Promise<Asset | undefined> {
  for (const gid of await rootGalleries(client, signal, 3)) {
    for await (const m of client.galleryChildren(gid, { signal, perPage: 1, maxPages: 1 })) {
      return loadAsset(client, m.id, { include: ['iptc', 'custom', 'galleries', 'path'], timeZone, signal });
    }
  }
  return undefined;
}

/** Gallery ids found walking the tree breadth-first, stopping once `enough` are found. */
async function rootGalleries(client: PhotoShelterClient, signal?: AbortSignal, enough = 5): Promise<string[]> {
  const found: string[] = [];
  let level: Array<string | undefined> = [undefined];
  for (let depth = 0; depth < 6 && level.length && found.length < enough; depth++) {
    const next: string[] = [];
    for (const parent of level) {
      const source = parent ? client.collectionChildren(parent, { signal }) : client.library({ signal });
      for await (const c of source) {
        if (c.type === 'gallery') found.push(c.id);
        else next.push(c.id);
      }
      if (found.length >= enough) break;
    }
    level = next;
  }
  return found;
}

/** The name of a gallery or collection id, as the editor shows it beside the id; `missing` when the account cannot see it. */
export type ScopeName = { id: string; kind: 'gallery' | 'collection'; name: string } | { id: string; missing: 'notFound' | 'noAccess' | 'notAnId' };

/** Names of gallery and collection ids (at most 50), looked up one by one; an id the account cannot see is `notFound`. */
export async function scopeNames(client: PhotoShelterClient, ids: readonly string[], signal?: AbortSignal): Promise<ScopeName[]> {
  const list = [...new Set(ids)].slice(0, 50);
  return Promise.all(
    list.map(async (id): Promise<ScopeName> => {
      const kind = isId('gallery', id) ? 'gallery' : isId('collection', id) ? 'collection' : undefined;
      if (!kind) return { id, missing: 'notAnId' };
      try {
        const res = kind === 'gallery' ? await client.gallery(id, { signal }) : await client.collection(id, { signal });
        const name = (res.attributes as { name?: unknown } | undefined)?.name;
        return { id, kind, name: typeof name === 'string' && name ? name : id };
      } catch (e) {
        if (e instanceof NotFoundError) return { id, missing: 'notFound' };
        if (e instanceof PermissionError) return { id, missing: 'noAccess' };
        throw e;
      }
    }),
  );
}

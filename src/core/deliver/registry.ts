/**
 * Destinations by kind, from the flat configuration of a photoshelter-destination node (its settings and
 * credentials merged). SFTP and S3 are loaded only when used.
 */
import { posix, resolve as resolvePath } from 'node:path';
import { BooleanSettingError, strictBool } from '../bool';
import { FolderDestination } from './folder';
import { HttpDestination, type HttpAuth } from './http';
import type { TemplateContext } from './template';
import { DeliverError, type Destination, type DestinationKind } from './types';

export const DESTINATION_KINDS: readonly DestinationKind[] = ['folder', 'http', 'sftp', 's3'];

/** Settings and credentials of a destination, as the config node holds them (credentials merged in). */
export interface DestinationConfig {
  kind?: string;
  name?: string;
  /** Default location template (a path for folder/SFTP/S3, the URL for HTTP). */
  template?: string;
  // folder
  folder?: string;
  fsync?: boolean | string;
  /** Create a missing base folder (default on, as before the choice existed; new nodes start off). */
  createBase?: boolean | string;
  // http
  method?: string;
  url?: string;
  removeUrl?: string;
  bodyMode?: string;
  fileField?: string;
  headers?: unknown;
  fields?: unknown;
  auth?: string;
  httpUser?: string;
  httpPassword?: string;
  token?: string;
  authHeader?: string;
  authValue?: string;
  rejectUnauthorized?: boolean | string;
  ca?: string;
  timeout?: number | string;
  // the delivery ledger: days `removed` records are kept
  retentionDays?: number | string;
  [key: string]: unknown;
}

export interface DestinationTemplates {
  /** How values are escaped in the location template. */
  context: TemplateContext;
  /** The destination's own location template (may be empty). */
  location: string;
  /** HTTP: the URL a remove sends DELETE to (else the put location). */
  remove?: string;
  /** False when the put location is not the file's own (HTTP POST to a collection): removing there would be wrong. */
  removeAtLocation: boolean;
  /** `header:<Name>` / `field:<name>` templates (HTTP). */
  metadata: Record<string, string>;
}

/** A boolean setting, strictly (true/false, "true"/"false" in any case); anything else is a configuration error. */
export function bool(v: unknown, dflt: boolean, setting: string): boolean {
  try {
    return strictBool(v, setting, dflt);
  } catch (e) {
    throw new DeliverError('ECONFIG', (e as BooleanSettingError).message);
  }
}

/** The HTTP timeout setting (seconds) in milliseconds; empty: the default. */
function timeoutOf(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new DeliverError('ECONFIG', `The timeout must be a number of seconds from 1 to 86400, not "${String(v).slice(0, 20)}"`);
  return Math.round(n * 1000);
}

/** The origin (`scheme://host:port`) of a URL template's fixed part (before its first `{{`), if it has one. */
export function originOf(template: unknown): string | undefined {
  const t = String(template ?? '').trim();
  const cut = t.indexOf('{{');
  try {
    const u = new URL(cut >= 0 ? t.slice(0, cut) : t);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Name/value rows, from an array or its JSON text. */
export function rows(v: unknown): Array<{ name: string; value: string }> {
  let list: unknown = v;
  if (typeof v === 'string') {
    if (v.trim() === '') return [];
    try {
      list = JSON.parse(v);
    } catch {
      throw new DeliverError('ECONFIG', 'The header or field list is not valid JSON');
    }
  }
  if (!Array.isArray(list)) return [];
  return list
    .filter((r): r is { name: unknown; value: unknown } => !!r && typeof r === 'object')
    .map((r) => ({ name: String(r.name ?? '').trim(), value: String(r.value ?? '') }))
    .filter((r) => r.name !== '');
}

export function kindOf(config: DestinationConfig): DestinationKind {
  const kind = (config.kind || 'folder') as DestinationKind;
  if (!DESTINATION_KINDS.includes(kind)) throw new DeliverError('ECONFIG', `Unknown destination kind "${String(config.kind).slice(0, 20)}": use folder, http, sftp or s3`);
  return kind;
}

type Factory = { createSftpDestination?: (c: DestinationConfig) => Destination; createS3Destination?: (c: DestinationConfig) => Destination };

function lazy(kind: 'sftp' | 's3', config: DestinationConfig): Destination {
  let mod: Factory & Record<string, unknown>;
  try {
    // loaded on first use: the package works without the modules of kinds nobody uses
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = kind === 'sftp' ? require('./sftp') : require('./s3');
  } catch (e) {
    throw new DeliverError('ECONFIG', `The ${kind} destination is not available in this installation: ${(e as Error).message}`, false, { cause: e });
  }
  const factory = kind === 'sftp' ? mod.createSftpDestination : mod.createS3Destination;
  if (typeof factory === 'function') return factory(config);
  // a module may export a class instead
  const Ctor = Object.values(mod).find((v) => typeof v === 'function' && /Destination$/.test((v as { name: string }).name)) as
    | (new (c: DestinationConfig) => Destination)
    | undefined;
  if (!Ctor) throw new DeliverError('ECONFIG', `The ${kind} module exports no destination`);
  return new Ctor(config);
}

/** The destination described by `config` with `credentials` (kept apart by the caller, merged here). */
export function createDestination(config: DestinationConfig, credentials: Record<string, unknown> = {}): Destination {
  const c: DestinationConfig = { ...config, ...credentials };
  const kind = kindOf(c);
  switch (kind) {
    case 'folder':
      return new FolderDestination({ base: String(c.folder ?? ''), fsync: bool(c.fsync, false, 'fsync'), createBase: bool(c.createBase, true, 'createBase') });
    case 'http':
      return new HttpDestination({
        method: c.method || 'POST',
        body: c.bodyMode === 'multipart' ? 'multipart' : 'raw',
        fileField: c.fileField || 'file',
        auth: (['none', 'basic', 'bearer', 'header'].includes(String(c.auth)) ? c.auth : 'none') as HttpAuth,
        user: c.httpUser,
        password: c.httpPassword,
        token: c.token,
        headerName: c.authHeader,
        headerValue: c.authValue,
        rejectUnauthorized: bool(c.rejectUnauthorized, true, 'rejectUnauthorized'),
        ca: c.ca || undefined,
        timeoutMs: timeoutOf(c.timeout),
        origins: [...new Set([originOf(c.url), originOf(c.removeUrl)].filter((o): o is string => !!o))],
      });
    case 'sftp':
      return lazy(kind, { ...c, fsync: bool(c.fsync, false, 'fsync'), insecureSkipHostKey: bool(c.insecureSkipHostKey, false, 'insecureSkipHostKey') });
    case 's3':
      return lazy(kind, { ...c, forcePathStyle: bool(c.forcePathStyle, false, 'forcePathStyle') });
  }
}

/** The templates a destination's settings contribute to each delivery. */
export function destinationTemplates(config: DestinationConfig): DestinationTemplates {
  const kind = kindOf(config);
  const metadata: Record<string, string> = {};
  if (kind === 'http') {
    for (const r of rows(config.headers)) metadata[`header:${r.name}`] = r.value;
    for (const r of rows(config.fields)) metadata[`field:${r.name}`] = r.value;
  }
  return {
    context: kind === 'http' ? 'url' : 'path',
    location: String((kind === 'http' ? config.url : config.template) ?? ''),
    remove: kind === 'http' && config.removeUrl ? String(config.removeUrl) : undefined,
    removeAtLocation: kind !== 'http' || (config.method || 'POST').toUpperCase() === 'PUT',
    metadata,
  };
}

/** The fixed part of an HTTP URL template (before its first `{{`), parsed; undefined when it is no URL. */
function fixedUrlOf(template: unknown): URL | undefined {
  const t = String(template ?? '').trim();
  const cut = t.indexOf('{{');
  try {
    return new URL(cut >= 0 ? t.slice(0, cut) : t);
  } catch {
    return undefined;
  }
}

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

/**
 * Each kind's target identity: where its bytes really go, apart from the location of one file. Only
 * settings that move the files somewhere else take part; never a secret (passwords, keys, tokens), never
 * a setting that only changes how files are sent (fsync, timeouts, headers, path style).
 */
const TARGETS: Record<DestinationKind, (c: DestinationConfig) => string> = {
  // the base folder as the folder destination resolves it (relative to the working directory)
  folder: (c) => `folder:${resolvePath(text(c.folder))}`,
  // the URL's origin (the location is the whole URL already)
  http: (c) => `http:${fixedUrlOf(c.url)?.origin ?? ''}`,
  // host, port, user (a relative base path is the user's) and the base path, normalized as sftp.ts does
  sftp: (c) => {
    let base = text(c.basePath);
    base = base === '' ? '' : posix.normalize(base).replace(/(.)\/+$/, '$1');
    if (base === '.') base = '';
    const port = text(c.port) === '' ? 22 : Number(c.port);
    const user = text(c.user ?? c.username);
    return `sftp://${encodeURIComponent(user)}@${text(c.host).toLowerCase()}:${port}${base.startsWith('/') ? '' : '/~/'}${base}`;
  },
  // endpoint (from the region when not set), bucket and key prefix
  s3: (c) => {
    let endpoint = text(c.endpoint) || `https://s3.${text(c.region) || 'us-east-1'}.amazonaws.com`;
    try {
      const u = new URL(endpoint);
      endpoint = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      // an invalid endpoint is refused when the destination is made
    }
    return `s3:${endpoint}/${text(c.bucket)}/${String(c.keyPrefix ?? '')}`;
  },
};

/**
 * The target identity of a destination: its kind and resolved base (folder; host, port and base path;
 * endpoint, bucket and prefix; URL origin). The delivery ledger keys every record by it, with the asset
 * and the location, so that a destination pointed somewhere else delivers again. Holds no secret.
 */
export function destinationTarget(config: DestinationConfig): string {
  return TARGETS[kindOf(config)](config);
}

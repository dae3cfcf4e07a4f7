/**
 * Destinations by kind, from the flat configuration of a photoshelter-destination node (its settings and
 * credentials merged). SFTP and S3 are loaded only when used.
 */
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

const bool = (v: unknown, dflt: boolean): boolean => (v === undefined || v === '' || v === null ? dflt : v === true || v === 'true');

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
      return new FolderDestination({ base: String(c.folder ?? ''), fsync: bool(c.fsync, false), createBase: bool(c.createBase, true) });
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
        rejectUnauthorized: bool(c.rejectUnauthorized, true),
        ca: c.ca || undefined,
        timeoutMs: c.timeout ? Number(c.timeout) * 1000 : undefined,
      });
    case 'sftp':
    case 's3':
      return lazy(kind, c);
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

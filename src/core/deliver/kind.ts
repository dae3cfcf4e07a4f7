/**
 * A destination kind described in one place: everything the rest of the package needs to know of a kind
 * of destination (a folder, an HTTP API, an SFTP server, an S3 bucket). Each kind is a folder under
 * src/core/deliver/ whose index.ts exports a `DestinationKind`; kinds.ts lists them. The destination node,
 * its editor's endpoints (Test destination, the location preview, the rules for lending a stored secret)
 * and the delivery ledger read a kind only through this description.
 */
import { resolve as resolvePath } from 'node:path';
import { BooleanSettingError, strictBool } from '../bool';
import type { TemplateContext } from './template';
import { DeliverError, type Destination, type ProbeResult } from './types';

/** Settings and credentials of a destination node, as a flow stores them (credentials merged in where said). */
export interface DestinationConfig {
  kind?: string;
  name?: string;
  /** Default location template (a path for folder, SFTP and S3; HTTP has its URL). */
  template?: string;
  /** The delivery ledger: days `removed` records are kept. */
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

export interface DestinationKind {
  /** The kind's name, as flows store it in `kind`. */
  readonly kind: string;
  /**
   * The editor fields of the kind: the settings a flow stores (node properties, a public contract: a
   * saved flow keeps its meaning), with the value a new node starts with. The editor's `defaults` hold the
   * same (a test checks it). A setting several kinds share (the location template, fsync) has one default.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The kind's credentials: `password` (never shown again) or `text` (a user name, an access key id). */
  readonly secrets: Readonly<Record<string, 'password' | 'text'>>;
  /**
   * Where its secrets would go, as comparable text per part (host, port, path, user, bucket, the checks of
   * the server's identity), from resolved settings and credentials: Test destination lends a stored secret
   * only while the dialog's place is the deployed node's. Every part names an editor field.
   */
  place(config: DestinationConfig, credentials: Record<string, unknown>): Record<string, string>;
  /**
   * The target identity: where its bytes really go, apart from the location of one file (the delivery
   * ledger keys every record by it). Only settings that move files somewhere else; never a secret.
   */
  target(config: DestinationConfig): string;
  /** The templates its settings contribute to each delivery. */
  templates(config: DestinationConfig): DestinationTemplates;
  /**
   * The destination, from settings and credentials merged; connections are made on first use. Bad settings
   * throw DeliverError('ECONFIG') before any connection. Its optional `check` (a location before anything is
   * written) and `cleanup` (what a crash left behind) are part of the destination.
   */
  create(config: DestinationConfig): Destination;
  /** Test destination: a check without delivering anything. Default: the destination's own `probe`. */
  probe?(destination: Destination, config: DestinationConfig, signal: AbortSignal): Promise<ProbeResult>;
  /** The location preview of the editor: no credentials, no connection. */
  readonly preview: {
    /** The settings it reads (none a secret); the dialog sends these. */
    readonly settings: readonly string[];
    /** A rendered location by the kind's rules, as a delivery would record it. */
    resolve(config: DestinationConfig, rendered: string): string;
    /** Where that is, for a person (the full path, sftp://host/path, s3://bucket/key, the URL). */
    where(config: DestinationConfig, location: string): string;
  };
}

// ---- small readers the kinds share ----

/** A setting as trimmed text ('' when missing). */
export const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

/** A boolean setting as comparable text (its default when missing). */
export const flag = (v: unknown, dflt: boolean): string => (v === undefined || v === null || v === '' ? String(dflt) : String(v).trim().toLowerCase());

/** A boolean setting, strictly (true/false, "true"/"false" in any case); anything else is a configuration error. */
export function bool(v: unknown, dflt: boolean, setting: string): boolean {
  try {
    return strictBool(v, setting, dflt);
  } catch (e) {
    throw new DeliverError('ECONFIG', (e as BooleanSettingError).message);
  }
}

/** A URL as a place: scheme, host, port (defaults dropped) and path, without query, fragment or trailing slash. */
export function placeOf(v: unknown): string {
  const t = String(v ?? '').trim();
  try {
    const u = new URL(t);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return `not a URL: ${t}`;
  }
}

/** A folder setting as the folder destination resolves it (relative to the working directory). */
export const folderOf = (v: unknown): string => resolvePath(text(v) || '.');

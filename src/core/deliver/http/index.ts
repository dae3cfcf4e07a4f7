/**
 * The HTTP destination kind: a file sent to an API (a CMS, a DAM, a partner's upload endpoint) with PUT,
 * POST or PATCH, raw or as multipart/form-data, with basic, bearer or header authentication.
 */
import { bool, flag, placeOf, text, type DestinationConfig, type DestinationKind } from '../kind';
import { DeliverError } from '../types';
import { HttpDestination, resolveUrl, type HttpAuth } from './destination';

export { contentDisposition, headerValue, HttpDestination, multipartBody, resolveUrl, type HttpAuth, type HttpOptions } from './destination';

/** The part of an HTTP URL template before its first `{{`: what can be reached without an asset. */
export function fixedUrl(template: unknown): string {
  const t = text(template);
  const cut = t.indexOf('{{');
  let u: URL;
  try {
    u = new URL(cut >= 0 ? t.slice(0, cut) : t);
  } catch {
    throw new DeliverError('ECONFIG', t ? `The URL "${t.slice(0, 80)}" has no fixed scheme and host before its first template` : 'The destination has no URL');
  }
  if (!u.hostname) throw new DeliverError('ECONFIG', `The URL "${t.slice(0, 80)}" has no host`);
  return u.toString();
}

/** The origin (`scheme://host:port`) of a URL template's fixed part (before its first `{{`), if it has one. */
export function originOf(template: unknown): string | undefined {
  try {
    const u = new URL(fixedUrl(template));
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
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

/** The timeout setting (seconds) in milliseconds; empty: the default. */
function timeoutOf(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new DeliverError('ECONFIG', `The timeout must be a number of seconds from 1 to 86400, not "${String(v).slice(0, 20)}"`);
  return Math.round(n * 1000);
}

/** A URL template's place for the lending rules: its fixed part, or what is wrong with it. */
function fixedPlace(v: unknown): string {
  try {
    return placeOf(fixedUrl(v));
  } catch {
    return `no URL: ${text(v)}`;
  }
}

const AUTHS: readonly HttpAuth[] = ['none', 'basic', 'bearer', 'header'];

export const http: DestinationKind = {
  kind: 'http',
  settings: {
    method: 'POST', url: '', removeUrl: '', bodyMode: 'raw', fileField: 'file', headers: [], fields: [], auth: 'none',
    httpUser: '', authHeader: '', rejectUnauthorized: true, ca: '', timeout: 60,
  },
  secrets: { httpPassword: 'password', token: 'password', authValue: 'password' },
  place: (c) => ({
    kind: 'http', url: fixedPlace(c.url), removeUrl: text(c.removeUrl) ? fixedPlace(c.removeUrl) : '', httpUser: text(c.httpUser),
    rejectUnauthorized: flag(c.rejectUnauthorized, true), ca: text(c.ca),
  }),
  // the URL's origin (the location is the whole URL already)
  target: (c) => {
    const t = text(c.url);
    const cut = t.indexOf('{{');
    try {
      return `http:${new URL(cut >= 0 ? t.slice(0, cut) : t).origin}`;
    } catch {
      return 'http:';
    }
  },
  templates: (c: DestinationConfig) => {
    const metadata: Record<string, string> = {};
    for (const r of rows(c.headers)) metadata[`header:${r.name}`] = r.value;
    for (const r of rows(c.fields)) metadata[`field:${r.name}`] = r.value;
    return {
      context: 'url',
      location: String(c.url ?? ''),
      remove: c.removeUrl ? String(c.removeUrl) : undefined,
      // a POST goes to a collection: the file is not at the URL it was sent to
      removeAtLocation: String(c.method || 'POST').toUpperCase() === 'PUT',
      metadata,
    };
  },
  create: (c) =>
    new HttpDestination({
      method: String(c.method || 'POST'),
      body: c.bodyMode === 'multipart' ? 'multipart' : 'raw',
      fileField: String(c.fileField || 'file'),
      auth: (AUTHS.includes(c.auth as HttpAuth) ? c.auth : 'none') as HttpAuth,
      user: c.httpUser as string | undefined,
      password: c.httpPassword as string | undefined,
      token: c.token as string | undefined,
      headerName: c.authHeader as string | undefined,
      headerValue: c.authValue as string | undefined,
      rejectUnauthorized: bool(c.rejectUnauthorized, true, 'rejectUnauthorized'),
      ca: (c.ca as string) || undefined,
      timeoutMs: timeoutOf(c.timeout),
      origins: [...new Set([originOf(c.url), originOf(c.removeUrl)].filter((o): o is string => !!o))],
    }),
  // the host of the URL is reached (DNS, TCP, TLS) and answers a HEAD of the URL's fixed part
  probe: async (destination, c, signal) => {
    const { url, status } = await (destination as HttpDestination).head(fixedUrl(c.url), signal);
    const good = status < 400 || status === 405;
    return { key: good ? 'httpOk' : 'httpStatus', values: { url, status }, warning: !good };
  },
  preview: {
    settings: ['url', 'method'],
    resolve: (_c, rendered) => resolveUrl(rendered, 'template', []),
    where: (_c, location) => location,
  },
};

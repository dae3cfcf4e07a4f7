// Envelopes, paging and sorting for list endpoints.
import { badRequest, jsonReply, type Ctx, type Reply } from './http';
import type { DateFormat } from './clock';

export const API_BASE = '/psapi/v4.0';
export const MAX_PER_PAGE = 1000;
export const DEFAULT_PER_PAGE = 50;

export function apiBase(ctx: Ctx): string {
  return ctx.origin + API_BASE;
}

export function envelope(ctx: Ctx, data: unknown, meta: Record<string, unknown> = {}): Reply {
  return jsonReply(200, { data, meta: { ...meta, rate_limit: ctx.rate } });
}

export function dateFormat(ctx: Ctx): DateFormat {
  const f = ctx.query.get('date_format') ?? 'iso8601ps';
  if (f !== 'iso8601ps' && f !== 'iso8601' && f !== 'unix') throw badRequest(`date_format must be iso8601ps, iso8601 or unix; got '${f}'.`);
  return f;
}

function positiveInt(ctx: Ctx, name: string, fallback: number): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest(`${name} must be a positive integer; got '${raw}'.`);
  return Number(raw);
}

export interface Paging {
  page: number;
  perPage: number;
  offset: number;
}

export function paging(ctx: Ctx): Paging {
  const page = positiveInt(ctx, 'page', 1);
  const perPage = positiveInt(ctx, 'per_page', DEFAULT_PER_PAGE);
  if (perPage > MAX_PER_PAGE) throw badRequest(`per_page must be at most ${MAX_PER_PAGE}; got ${perPage}.`);
  const depth = ctx.maxDepth ?? 0;
  if (depth > 0 && (page - 1) * perPage >= depth) {
    throw badRequest(`page: results beyond ${depth} cannot be paged (page ${page} of ${perPage} starts at ${(page - 1) * perPage + 1}); narrow the query (e.g. by modify_start/modify_end).`);
  }
  return { page, perPage, offset: (page - 1) * perPage };
}

export type Direction = 1 | -1;

/** Reads `sort_by` plus `sort_direction=ascending|descending` or `sort_dir=asc|desc`. */
export function sorting<K extends string>(ctx: Ctx, allowed: readonly K[], fallback: K, fallbackDir: Direction): { key: K; dir: Direction } {
  const by = ctx.query.get('sort_by');
  if (by !== null && !allowed.includes(by as K)) throw badRequest(`sort_by must be one of ${allowed.join(', ')}; got '${by}'.`);
  let dir = fallbackDir;
  const long = ctx.query.get('sort_direction');
  const short = ctx.query.get('sort_dir');
  if (long !== null) {
    if (long !== 'ascending' && long !== 'descending') throw badRequest(`sort_direction must be ascending or descending; got '${long}'.`);
    dir = long === 'ascending' ? 1 : -1;
  } else if (short !== null) {
    if (short !== 'asc' && short !== 'desc') throw badRequest(`sort_dir must be asc or desc; got '${short}'.`);
    dir = short === 'asc' ? 1 : -1;
  }
  return { key: (by as K | null) ?? fallback, dir };
}

function pageUrl(ctx: Ctx, page: number): string {
  const q = new URLSearchParams(ctx.query);
  for (const secret of ['api_key', 'token', 'password', 'email']) q.delete(secret);
  q.set('page', String(page));
  return `${apiBase(ctx)}${ctx.path}?${q.toString()}`;
}

export function pagingMeta(ctx: Ctx, total: number, p: Paging): Record<string, unknown> {
  const last = Math.max(1, Math.ceil(total / p.perPage));
  const meta: Record<string, unknown> = { total, page: p.page, per_page: p.perPage, first: pageUrl(ctx, 1), last: pageUrl(ctx, last) };
  if (p.page < last) meta.next = pageUrl(ctx, p.page + 1);
  if (p.page > 1) meta.prev = pageUrl(ctx, Math.min(p.page - 1, last));
  return meta;
}

export function listReply<T>(ctx: Ctx, items: readonly T[], p: Paging, render: (item: T) => unknown, meta: Record<string, unknown> = {}): Reply {
  const slice = items.slice(p.offset, p.offset + p.perPage).map(render);
  return envelope(ctx, slice, { ...meta, paging: pagingMeta(ctx, items.length, p) });
}

export function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

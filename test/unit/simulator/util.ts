// Shared helpers for the simulator tests.
import { readFileSync, existsSync } from 'node:fs';
import { schemaAjv, schemaValidator, type SchemaName } from '../../schemas';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import type { SimHandle } from '../../helpers/sim';

export const repoRoot = join(__dirname, '..', '..', '..');

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface CallOpts {
  token?: string;
  bearer?: string;
  apiKey?: string | null;
  method?: string;
  form?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(sim: SimHandle, path: string, o: CallOpts = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.apiKey !== null) headers['X-PS-Api-Key'] = o.apiKey ?? sim.apiKey;
  if (o.token) headers['X-PS-Auth-Token'] = o.token;
  if (o.bearer) headers.Authorization = `Bearer ${o.bearer}`;
  let body: string | undefined;
  if (o.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  const res = await fetch(sim.baseUrl + path, { method: o.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Logs in; with `org` (default) also authenticates to the organization. */
export async function login(sim: SimHandle, org = true): Promise<string> {
  const form: Record<string, string> = { email: sim.email, password: sim.password, mode: 'token' };
  const res = await call(sim, '/authenticate', { form });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  const token = res.json.token as string;
  if (org) {
    const o = await call(sim, '/organization/authenticate', { token, form: { org_id: sim.orgId } });
    if (o.status !== 200) throw new Error(`org auth failed: ${o.status} ${o.text}`);
  }
  return token;
}

export function validator(name: SchemaName): ValidateFunction {
  return schemaValidator(name);
}

export function assertValid(name: SchemaName, value: unknown): void {
  const v = schemaValidator(name);
  if (!v(value)) throw new Error(`${name} schema: ${schemaAjv().errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 600)}`);
}

export const draftPath = join(repoRoot, '..', 'shared', 'photoshelter-api', 'openapi-draft-2019', 'bundled-16-paths.json');

/** OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a null type, doc-only keywords go. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const src = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (['example', 'xml', 'nullable', 'description', 'title'].includes(k)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, toJsonSchema(s)])) : toJsonSchema(v);
  }
  if (src.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  return out;
}

/**
 * Where the draft documents fields but requires none, its compiled schemas accept `{}`. These overlays make
 * the checks able to fail, staying with what the draft documents and production shows:
 * - every response's meta carries rate_limit {limit, current, expires} (the draft's MetaTag);
 * - a list's meta carries paging {total, page, first, last} (next/prev are absent at the ends);
 * - an error body has at least one error, each with id, status, title and detail (production);
 * - a count answer carries meta.children_count with total and the draft's per-kind names.
 */
const DRAFT_OVERLAYS: Record<string, (s: Record<string, unknown>) => void> = {
  MetaTag: (s) => (s.required = ['rate_limit']),
  MetaTag_rate_limit: (s) => (s.required = ['limit', 'current', 'expires']),
  PaginationMetaTag: (s) => (s.required = ['paging']),
  PaginationMetaTag_paging: (s) => (s.required = ['total', 'page', 'first', 'last']),
  Error: (s) => ((s.properties as Record<string, Record<string, unknown>>).errors.minItems = 1),
  Error_errors: (s) => (s.required = ['id', 'status', 'title', 'detail']),
  GalleryChildrenMetaTag: (s) => (s.required = ['children_count']),
  GalleryChildrenMetaTag_children_count: (s) => (s.required = ['total', 'image', 'video', 'audio', 'document']),
  CollectionChildrenMetaTag: (s) => (s.required = ['children_count']),
  CollectionChildrenMetaTag_children_count: (s) => (s.required = ['total', 'galleries', 'collections']),
};

let draftAjv: { ajv: Ajv; names: Set<string> } | undefined | null;

/** Validators for the 2019 draft's component schemas, or null when the draft is not on this machine. */
export function draftValidator(component: string): ValidateFunction | null {
  if (draftAjv === undefined) {
    if (!existsSync(draftPath)) draftAjv = null;
    else {
      const doc = JSON.parse(readFileSync(draftPath, 'utf8')) as { components: { schemas: Record<string, unknown> } };
      const a = new Ajv({ allErrors: true, strict: false });
      const schemas = toJsonSchema(doc.components.schemas) as Record<string, Record<string, unknown>>;
      for (const [name, tighten] of Object.entries(DRAFT_OVERLAYS)) {
        if (!schemas[name]) throw new Error(`draft has no component ${name} to tighten`);
        tighten(schemas[name]);
      }
      a.addSchema({ $id: 'draft', components: { schemas } });
      draftAjv = { ajv: a, names: new Set(Object.keys(doc.components.schemas)) };
    }
  }
  if (draftAjv === null) return null;
  if (!draftAjv.names.has(component)) throw new Error(`draft has no component ${component}`);
  return draftAjv.ajv.getSchema(`draft#/components/schemas/${component}`) ?? null;
}

export function assertDraftValid(component: string, value: unknown): void {
  const v = draftValidator(component);
  if (!v) return;
  if (!v(value)) throw new Error(`draft ${component}: ${JSON.stringify(v.errors?.slice(0, 3))}\n${JSON.stringify(value).slice(0, 600)}`);
}

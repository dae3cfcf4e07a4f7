// What route handlers get: the state, plus a tiny pattern router.
import { ApiError, type Ctx, type Identity, type Reply } from './http';
import type { AuthState } from './auth';
import type { SimClock } from './clock';
import type { Store } from './store';
import type { RenderCtx } from './render';
import { apiBase, dateFormat } from './list';

export interface App {
  store: Store;
  auth: AuthState;
  clock: SimClock;
}

export interface ApiCtx extends Ctx {
  identity: Identity | null;
}

export type Handler = (ctx: ApiCtx, app: App) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** The path template, e.g. `/media/{id}` (the key of the evidence table). */
  path: string;
  pattern: RegExp;
  /** `key`: the API key is enough; `user`: also a session or bearer token. */
  auth: 'key' | 'user';
  /** The session token may come as `?token=` (production clients send it so on these endpoints). */
  queryToken?: boolean;
  handler: Handler;
}

export function route(method: string, path: string, auth: Route['auth'], handler: Handler, opts: { queryToken?: boolean } = {}): Route {
  const src = path.replace(/\{(\w+)\}/g, (_, name: string) => `(?<${name}>[^/]+)`);
  return { method, path, pattern: new RegExp(`^${src}$`), auth, handler, ...opts };
}

/** The `include=` names asked for that this endpoint serves; others are ignored (strict mode refused them already). */
export function includesOf<T extends string>(ctx: Ctx, served: readonly T[]): T[] {
  const raw = ctx.query.get('include');
  if (!raw) return [];
  const names = raw.split(',').map((x) => x.trim());
  return served.filter((n) => names.includes(n));
}

export function match(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | ApiError {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
      return { route: r, params };
    }
  }
  return pathMatched
    ? new ApiError(405, 'MethodNotAllowedException', `${method} is not allowed on ${path}.`)
    : new ApiError(404, 'ResourceNotFoundException', `No such endpoint: ${path}.`);
}

/** Whether the caller's token is authenticated to the organization that owns the library. */
export function orgAllowed(ctx: ApiCtx, app: App): boolean {
  return ctx.identity !== null && app.auth.orgOf(ctx.identity) === app.store.lib.orgId;
}

export function requireOrg(ctx: ApiCtx, app: App): void {
  if (!orgAllowed(ctx, app)) {
    throw new ApiError(403, 'AcsPermissionException', 'This resource belongs to an organization: authenticate to it first (POST /organization/authenticate).');
  }
}

export function renderCtx(ctx: Ctx, app: App): RenderCtx {
  return { base: apiBase(ctx), dateFormat: dateFormat(ctx), store: app.store };
}

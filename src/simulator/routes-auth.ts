// Authentication endpoints: sessions, organization context, OAuth.
import { badRequest, bufferSource, formFields, jsonReply } from './http';
import { route, type Route } from './app';
import { envelope } from './list';

export const authRoutes: Route[] = [
  route('POST', '/authenticate', 'key', (ctx, app) => {
    const f = formFields(ctx);
    if (f.mode !== undefined && f.mode !== 'token') throw badRequest(`mode: only 'token' is supported; got '${f.mode}'.`);
    return jsonReply(200, { token: app.auth.login(f.email, f.password, f.org_id) });
  }),
  ...['GET', 'POST'].map((method) => route(method, '/authenticate/logout', 'user', (ctx, app) => {
    if (ctx.identity) app.auth.logout(ctx.identity);
    return jsonReply(200, { meta: { status: 'OK', rate_limit: ctx.rate } });
  })),
  route('POST', '/organization/authenticate', 'user', (ctx, app) => {
    const f = formFields(ctx);
    const orgId = f.org_id ?? ctx.query.get('org_id') ?? '';
    if (orgId === '') throw badRequest('org_id is required.');
    if (ctx.identity) app.auth.setOrg(ctx.identity, orgId);
    return jsonReply(200, { meta: { status: 'OK', rate_limit: ctx.rate } });
  }),
  route('GET', '/user/session', 'user', (ctx, app) => {
    const acc = app.auth.account;
    const current = ctx.identity ? app.auth.orgOf(ctx.identity) : null;
    const includes = (ctx.query.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const inc of includes) if (inc !== 'organizations') throw badRequest(`include: unknown block '${inc}' (known: organizations).`);
    const data: Record<string, unknown> = {
      id: acc.userId, type: 'session',
      attributes: { user_id: acc.userId, email: acc.email, first_name: 'Demo', last_name: 'User', org_id: current, auth_type: ctx.identity?.kind ?? null },
    };
    if (includes.includes('organizations')) {
      data.includes = { organizations: { data: [{ id: acc.orgId, type: 'organization', attributes: { name: 'Example Corp', role: 'admin', is_current: current === acc.orgId } }] } };
    }
    return envelope(ctx, data);
  }),
  route('POST', '/oauth/register', 'key', (ctx, app) => {
    const f = formFields(ctx);
    const { clientId, clientSecret } = app.auth.registerClient(f.name ?? 'app', f.redirect_uri ?? null);
    return envelope(ctx, { id: clientId, type: 'oauth_client', attributes: { client_id: clientId, client_secret: clientSecret, name: f.name ?? 'app', redirect_uri: f.redirect_uri ?? null } });
  }),
  route('GET', '/oauth/authorize', 'key', (ctx, app) => {
    const location = app.auth.authorize(ctx.query);
    return { status: 302, headers: { Location: location }, body: bufferSource(Buffer.alloc(0)) };
  }),
  route('POST', '/oauth/token', 'key', (ctx, app) => jsonReply(200, app.auth.tokenGrant(formFields(ctx)), { 'Cache-Control': 'no-store' })),
];

// Authentication endpoints: sessions, organization context, OAuth.
import { badRequest, bufferSource, formFields, jsonReply } from './http';
import { includesOf, route, type Route } from './app';
import { envelope } from './list';

export const authRoutes: Route[] = [
  // The form body, or (production scripts) the same fields in the query string with no body; a browser GET of
  // that URL too. `include=options` is accepted and adds nothing: nothing shows what it adds.
  ...['POST', 'GET'].map((method) => route(method, '/authenticate', 'key', (ctx, app) => {
    const f = { ...Object.fromEntries(['email', 'password', 'mode', 'org_id'].flatMap((k) => (ctx.query.has(k) ? [[k, ctx.query.get(k) as string]] : []))), ...(method === 'POST' ? formFields(ctx) : {}) };
    if (f.mode !== undefined && f.mode !== 'token') throw badRequest(`mode: only 'token' is supported; got '${f.mode}'.`);
    return jsonReply(200, { token: app.auth.login(f.email, f.password, f.org_id) }, { 'Cache-Control': 'no-store' });
  })),
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
  ...['GET', 'POST'].map((method) => route(method, '/organization/logout', 'user', (ctx, app) => {
    if (ctx.identity) app.auth.clearOrg(ctx.identity);
    return jsonReply(200, { meta: { status: 'OK', rate_limit: ctx.rate } });
  })),
  // Invitations to organizations waiting for this user: the simulated user has none.
  route('GET', '/user/invites', 'user', (ctx) => envelope(ctx, [])),
  route('GET', '/user/session', 'user', (ctx, app) => {
    const acc = app.auth.account;
    const current = ctx.identity ? app.auth.orgOf(ctx.identity) : null;
    const includes = includesOf(ctx, ['organizations']);
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
    const redirect = f.callback_url ?? f.redirect_uri ?? null;
    const { clientId, clientSecret } = app.auth.registerClient(f.name ?? f.application_name ?? 'app', redirect);
    return envelope(ctx, {
      id: clientId, type: 'oauth_client',
      attributes: { client_id: clientId, client_secret: clientSecret, name: f.name ?? f.application_name ?? 'app', callback_url: redirect, redirect_uri: redirect },
    });
  }),
  route('GET', '/oauth/authorize', 'key', (ctx, app) => {
    const location = app.auth.authorize(ctx.query);
    return { status: 302, headers: { Location: location }, body: bufferSource(Buffer.alloc(0)) };
  }),
  route('POST', '/oauth/token', 'key', (ctx, app) => {
    const f = formFields(ctx);
    if (f.redirect_uri === undefined && f.callback_url !== undefined) f.redirect_uri = f.callback_url;
    return jsonReply(200, app.auth.tokenGrant(f), { 'Cache-Control': 'no-store' });
  }),
];

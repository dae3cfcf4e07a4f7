// Identities: session tokens, OAuth clients/codes/tokens, and the organization context of each token.
import { randomBytes } from 'node:crypto';
import { ApiError, badRequest, type Ctx, type Identity } from './http';
import type { SimClock } from './clock';

export interface Account {
  apiKey: string;
  email: string;
  password: string;
  userId: string;
  orgId: string;
  oauthClientId: string;
  oauthClientSecret: string;
}

interface Session {
  userId: string;
  orgId: string | null;
  expired: boolean;
}

interface Grant {
  clientId: string;
  userId: string;
  orgId: string | null;
  refreshToken: string;
}

interface AccessToken {
  grant: Grant;
  expiresAtMs: number;
  revoked: boolean;
}

interface Client {
  secret: string;
  name: string;
  redirectUri: string | null;
}

interface Code {
  clientId: string;
  redirectUri: string;
  expiresAtMs: number;
}

const CODE_TTL_MS = 600_000;

const token = (bytes = 24): string => randomBytes(bytes).toString('base64url');

export const WWW_AUTH = { 'WWW-Authenticate': 'Bearer' };

export class AuthState {
  private sessions = new Map<string, Session>();
  private clients = new Map<string, Client>();
  private codes = new Map<string, Code>();
  private access = new Map<string, AccessToken>();
  private refresh = new Map<string, Grant>();

  constructor(readonly account: Account, private clock: SimClock, public accessTtlSeconds: number) {
    this.clients.set(account.oauthClientId, { secret: account.oauthClientSecret, name: 'Simulator default app', redirectUri: null });
  }

  checkApiKey(ctx: Ctx): void {
    const header = ctx.headers['x-ps-api-key'];
    const key = (Array.isArray(header) ? header[0] : header) ?? ctx.query.get('api_key');
    if (key !== this.account.apiKey) {
      throw new ApiError(403, 'ApiKeyInvalidException', 'Missing or invalid API key. Send it in the X-PS-Api-Key header or the api_key query parameter.');
    }
  }

  login(email: string | undefined, password: string | undefined, orgId: string | undefined): string {
    if (email?.toLowerCase() !== this.account.email.toLowerCase() || password !== this.account.password) {
      throw new ApiError(401, 'AuthenticationFailedException', 'Email or password is incorrect.');
    }
    if (orgId !== undefined && orgId !== '' && orgId !== this.account.orgId) {
      throw new ApiError(403, 'AcsPermissionException', `User is not a member of organization '${orgId}'.`);
    }
    const t = token();
    this.sessions.set(t, { userId: this.account.userId, orgId: orgId ? orgId : null, expired: false });
    return t;
  }

  /** The caller's identity, or a 401 when the token is missing, unknown or expired. */
  identify(ctx: Ctx, queryToken = false): Identity {
    const authz = String(ctx.headers.authorization ?? '');
    const bearer = /^Bearer\s+(.+)$/i.exec(authz);
    if (bearer) {
      const t = bearer[1].trim();
      const rec = this.access.get(t);
      if (!rec || rec.revoked) throw new ApiError(401, 'OAuthServerException', 'The access token is invalid.', WWW_AUTH);
      if (this.clock.nowMs() >= rec.expiresAtMs) throw new ApiError(401, 'OAuthServerException', 'The access token has expired.', WWW_AUTH);
      return { kind: 'oauth', token: t, userId: rec.grant.userId };
    }
    const header = ctx.headers['x-ps-auth-token'];
    const t = (Array.isArray(header) ? header[0] : header) || (queryToken ? ctx.query.get('token') : null);
    if (!t) throw new ApiError(401, 'AcsPermissionException', 'Authentication required: send X-PS-Auth-Token or Authorization: Bearer.', WWW_AUTH);
    const s = this.sessions.get(t);
    if (!s || s.expired) throw new ApiError(401, 'AcsPermissionException', 'The session token is invalid or has expired.', WWW_AUTH);
    return { kind: 'session', token: t, userId: s.userId };
  }

  orgOf(id: Identity): string | null {
    if (id.kind === 'session') return this.sessions.get(id.token)?.orgId ?? null;
    return this.access.get(id.token)?.grant.orgId ?? null;
  }

  setOrg(id: Identity, orgId: string): void {
    if (orgId !== this.account.orgId) throw new ApiError(403, 'AcsPermissionException', `User is not a member of organization '${orgId}'.`);
    if (id.kind === 'session') {
      const s = this.sessions.get(id.token);
      if (s) s.orgId = orgId;
    } else {
      const a = this.access.get(id.token);
      if (a) a.grant.orgId = orgId;
    }
  }

  /** Leaves the organization context (POST|GET /organization/logout); the token stays signed in. */
  clearOrg(id: Identity): void {
    if (id.kind === 'session') {
      const s = this.sessions.get(id.token);
      if (s) s.orgId = null;
    } else {
      const a = this.access.get(id.token);
      if (a) a.grant.orgId = null;
    }
  }

  logout(id: Identity): void {
    if (id.kind === 'session') this.sessions.delete(id.token);
    else {
      const a = this.access.get(id.token);
      if (a) a.revoked = true;
    }
  }

  registerClient(name: string, redirectUri: string | null): { clientId: string; clientSecret: string } {
    const clientId = `CL${randomBytes(9).toString('hex').slice(0, 14)}`;
    const clientSecret = token(18);
    this.clients.set(clientId, { secret: clientSecret, name, redirectUri });
    return { clientId, clientSecret };
  }

  /** The consent step, auto-approved: returns the URL to redirect the browser to. */
  authorize(q: URLSearchParams): string {
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const client = this.clients.get(clientId);
    if (!client) throw badRequest(`Unknown client_id '${clientId}'.`);
    if (q.get('response_type') !== 'code') throw badRequest(`response_type must be 'code'.`);
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      throw badRequest('redirect_uri must be an absolute URL.');
    }
    if (client.redirectUri && client.redirectUri !== redirectUri) throw badRequest('redirect_uri does not match the registered one.');
    const code = token(16);
    this.codes.set(code, { clientId, redirectUri, expiresAtMs: this.clock.nowMs() + CODE_TTL_MS });
    target.searchParams.set('code', code);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return target.toString();
  }

  tokenGrant(f: Record<string, string>): Record<string, unknown> {
    const client = this.clients.get(f.client_id ?? '');
    if (!client || client.secret !== f.client_secret) throw new ApiError(401, 'OAuthServerException', 'invalid_client: unknown client or wrong secret.');
    let grant: Grant;
    if (f.grant_type === 'authorization_code') {
      const code = this.codes.get(f.code ?? '');
      if (!code || code.clientId !== f.client_id || this.clock.nowMs() >= code.expiresAtMs) {
        throw new ApiError(400, 'OAuthServerException', 'invalid_grant: the authorization code is invalid, used or expired.');
      }
      if (f.redirect_uri !== undefined && f.redirect_uri !== code.redirectUri) {
        throw new ApiError(400, 'OAuthServerException', 'invalid_grant: redirect_uri does not match the authorization request.');
      }
      this.codes.delete(f.code);
      grant = { clientId: f.client_id, userId: this.account.userId, orgId: null, refreshToken: '' };
    } else if (f.grant_type === 'refresh_token') {
      const old = this.refresh.get(f.refresh_token ?? '');
      if (!old || old.clientId !== f.client_id) throw new ApiError(400, 'OAuthServerException', 'invalid_grant: the refresh token is invalid.');
      this.refresh.delete(old.refreshToken);
      grant = old;
    } else {
      throw new ApiError(400, 'OAuthServerException', `unsupported_grant_type: '${f.grant_type ?? ''}'.`);
    }
    grant.refreshToken = token();
    this.refresh.set(grant.refreshToken, grant);
    const accessToken = token();
    this.access.set(accessToken, { grant, expiresAtMs: this.clock.nowMs() + this.accessTtlSeconds * 1000, revoked: false });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.accessTtlSeconds, refresh_token: grant.refreshToken };
  }

  /** Control: makes current tokens fail with 401 (refresh tokens survive unless asked). */
  expire(kind: 'session' | 'oauth' | 'all', refreshToo: boolean): number {
    let n = 0;
    if (kind !== 'oauth') for (const s of this.sessions.values()) if (!s.expired) { s.expired = true; n++; }
    if (kind !== 'session') {
      for (const a of this.access.values()) if (!a.revoked) { a.revoked = true; n++; }
      if (refreshToo) this.refresh.clear();
    }
    return n;
  }

  clear(): void {
    this.sessions.clear();
    this.codes.clear();
    this.access.clear();
    this.refresh.clear();
  }
}

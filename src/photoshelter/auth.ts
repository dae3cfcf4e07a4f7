import { sharedSignal } from '../net';
import type { Clock } from './clock';
import { abortReason } from './clock';
import { bearer, FORM, HEADERS, PATHS } from './endpoints';
import { AuthError, PermissionError, PhotoShelterError } from './errors';
import type { AuthMode, EventHub } from './events';
import type { AuthCredentials, AuthProvider, Pipeline } from './pipeline';
import type { Redactor } from './redact';

export interface SessionAuthOptions {
  mode: 'session';
  email: string;
  password: string;
  orgId?: string;
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires, when known. */
  expiresAt?: number;
}

export interface OAuthOptions {
  mode: 'oauth';
  clientId: string;
  clientSecret: string;
  refreshToken?: string;
  accessToken?: string;
  expiresAt?: number;
  redirectUri?: string;
  orgId?: string;
  /** Called with every new token set so that the host can persist the (rotated) refresh token. */
  onTokens?: (tokens: OAuthTokens) => void | Promise<void>;
  /** Refresh this long before `expires_in` runs out (default 60 s). */
  refreshAheadMs?: number;
}

export interface BearerOptions {
  mode: 'bearer';
  token: string;
  orgId?: string;
}

export type AuthOptions = SessionAuthOptions | OAuthOptions | BearerOptions;

export interface AuthDeps {
  pipeline: Pipeline;
  redactor: Redactor;
  events: EventHub;
  clock: Clock;
}

/**
 * Shared machinery: one credential at a time, obtained single-flight (N concurrent first requests cause one
 * login), followed by the organization step when an org is set.
 */
abstract class BaseAuth implements AuthProvider {
  abstract readonly mode: AuthMode;
  protected creds?: AuthCredentials;
  protected generation = 0;
  private pending?: Promise<AuthCredentials>;
  protected orgId?: string;

  constructor(protected readonly d: AuthDeps, orgId?: string) {
    this.orgId = orgId;
  }

  get organizationId(): string | undefined {
    return this.orgId;
  }

  async authorize(signal?: AbortSignal): Promise<AuthCredentials> {
    if (this.creds && this.isFresh()) return this.creds;
    if (!this.pending) {
      const p = this.obtainWithOrg().finally(() => {
        if (this.pending === p) this.pending = undefined;
      });
      this.pending = p;
    }
    return raceSignal(this.pending, signal);
  }

  invalidate(generation: number, _errorId?: string): boolean {
    if (generation !== this.generation) return true; // someone already replaced the credentials
    if (!this.canRenew()) return false;
    this.creds = undefined;
    this.d.events.fire('auth', { mode: this.mode, action: 'reauthenticate' });
    return true;
  }

  abstract rejectedHint(errorId?: string): string;

  /** Switches the organization context (undefined: none). */
  async setOrganization(orgId: string | undefined, signal?: AbortSignal): Promise<void> {
    if (orgId === this.orgId) return;
    this.orgId = orgId;
    if (!this.creds) return; // applied at the next login
    if (orgId === undefined) {
      // leaving an org: start from a fresh identity
      this.dropCredentials();
      return;
    }
    await this.pendingDone();
    if (!this.creds) return;
    await this.enterOrganization(this.creds.headers, orgId, signal);
  }

  /** Forgets the current credentials (the next request obtains new ones). */
  dropCredentials(): void {
    this.creds = undefined;
    this.generation++;
  }

  protected isFresh(): boolean {
    return true;
  }

  protected abstract canRenew(): boolean;

  /** Obtains new credential headers (login, refresh, …). */
  protected abstract obtain(): Promise<Record<string, string>>;

  private async pendingDone(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
  }

  private async obtainWithOrg(): Promise<AuthCredentials> {
    const headers = await this.obtain();
    if (this.orgId) await this.enterOrganization(headers, this.orgId);
    this.generation++;
    this.creds = { headers, generation: this.generation };
    return this.creds;
  }

  protected async enterOrganization(headers: Record<string, string>, orgId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.d.pipeline.json({
        method: 'POST',
        path: PATHS.organizationAuthenticate,
        form: { [FORM.orgId]: orgId },
        headers,
        auth: false,
        idempotent: true,
        signal,
      });
    } catch (e) {
      if (e instanceof PhotoShelterError && (e.status === 403 || e.status === 404)) {
        throw new PermissionError(`PhotoShelter refused organization ${orgId}: check that the account is a member of this organization`, {
          status: e.status,
          errorId: e.errorId,
          method: 'POST',
          path: PATHS.organizationAuthenticate,
        });
      }
      throw e;
    }
    this.d.events.fire('auth', { mode: this.mode, action: 'organization', orgId });
  }

  protected rethrowAuth(e: unknown, hint: string, path: string): never {
    if (e instanceof PhotoShelterError && (e.status === 400 || e.status === 401 || e.code === 'EAUTH') && e.errorId !== 'ApiKeyInvalidException') {
      this.d.events.fire('auth', { mode: this.mode, action: 'rejected' });
      throw new AuthError(hint, { status: e.status, errorId: e.errorId, method: 'POST', path });
    }
    throw e;
  }
}

export class SessionAuth extends BaseAuth {
  readonly mode = 'session' as const;

  constructor(d: AuthDeps, private readonly o: SessionAuthOptions) {
    super(d, o.orgId);
    d.redactor.add(o.password);
  }

  rejectedHint(): string {
    return 'PhotoShelter rejected the session twice: check the email and password of the account and that it may use the API';
  }

  protected canRenew(): boolean {
    return true;
  }

  protected async obtain(): Promise<Record<string, string>> {
    let body: unknown;
    try {
      body = (
        await this.d.pipeline.json({
          method: 'POST',
          path: PATHS.authenticate,
          form: { [FORM.email]: this.o.email, [FORM.password]: this.o.password, [FORM.mode]: FORM.modeToken },
          auth: false,
          idempotent: true,
        })
      ).body;
    } catch (e) {
      this.rethrowAuth(e, 'PhotoShelter rejected the session: check the email and password of the account', PATHS.authenticate);
    }
    const token = readSessionToken(body);
    if (!token) {
      throw new AuthError('PhotoShelter answered the login without a session token', { method: 'POST', path: PATHS.authenticate });
    }
    this.d.redactor.add(token);
    this.d.events.fire('auth', { mode: this.mode, action: 'login' });
    return { [HEADERS.sessionToken]: token };
  }

  async logout(signal?: AbortSignal): Promise<void> {
    const creds = this.creds;
    this.dropCredentials();
    if (!creds) return;
    try {
      await this.d.pipeline.json({ method: 'POST', path: PATHS.logout, headers: creds.headers, auth: false, idempotent: true, signal });
    } catch (e) {
      // a token the server no longer knows is logged out already
      if (!(e instanceof AuthError)) throw e;
    }
    this.d.events.fire('auth', { mode: this.mode, action: 'logout' });
  }
}

export class BearerAuth extends BaseAuth {
  readonly mode = 'bearer' as const;

  constructor(d: AuthDeps, private readonly o: BearerOptions) {
    super(d, o.orgId);
    d.redactor.add(o.token);
  }

  rejectedHint(): string {
    return 'PhotoShelter rejected the bearer token: it has expired or been revoked; issue a new token';
  }

  protected canRenew(): boolean {
    return false;
  }

  protected async obtain(): Promise<Record<string, string>> {
    return { [HEADERS.authorization]: bearer(this.o.token) };
  }
}

export class OAuthAuth extends BaseAuth {
  readonly mode = 'oauth' as const;
  private tokens?: OAuthTokens;
  private refreshToken?: string;
  private readonly aheadMs: number;

  constructor(d: AuthDeps, private readonly o: OAuthOptions) {
    super(d, o.orgId);
    d.redactor.add(o.clientSecret, o.refreshToken, o.accessToken);
    this.refreshToken = o.refreshToken;
    this.aheadMs = o.refreshAheadMs ?? 60_000;
    if (o.accessToken) this.tokens = { accessToken: o.accessToken, refreshToken: o.refreshToken, expiresAt: o.expiresAt };
  }

  rejectedHint(): string {
    return this.refreshToken
      ? 'PhotoShelter rejected the OAuth access token again after a refresh: check the client id and that the app is still authorized'
      : 'PhotoShelter rejected the OAuth access token and there is no refresh token: authorize the app again';
  }

  protected override isFresh(): boolean {
    const exp = this.tokens?.expiresAt;
    return exp === undefined || this.d.clock.now() < exp - this.aheadMs || !this.refreshToken;
  }

  protected canRenew(): boolean {
    return this.refreshToken !== undefined;
  }

  override invalidate(generation: number, errorId?: string): boolean {
    if (generation === this.generation && this.canRenew()) this.tokens = undefined;
    return super.invalidate(generation, errorId);
  }

  protected async obtain(): Promise<Record<string, string>> {
    const t = this.tokens;
    const fresh = t && (t.expiresAt === undefined || this.d.clock.now() < t.expiresAt - this.aheadMs);
    if (t && (fresh || !this.refreshToken)) return { [HEADERS.authorization]: bearer(t.accessToken) };
    if (!this.refreshToken) {
      throw new AuthError('No OAuth tokens yet: authorize the app in PhotoShelter and exchange the authorization code first');
    }
    await this.tokenCall({ [FORM.grantType]: FORM.grantRefreshToken, [FORM.refreshToken]: this.refreshToken }, 'refresh');
    return { [HEADERS.authorization]: bearer((this.tokens as OAuthTokens).accessToken) };
  }

  /** Exchanges an authorization code for tokens; the next request uses them. */
  async exchangeAuthorizationCode(code: string, redirectUri?: string, signal?: AbortSignal): Promise<OAuthTokens> {
    this.d.redactor.add(code);
    const uri = redirectUri ?? this.o.redirectUri;
    await this.tokenCall({ [FORM.grantType]: FORM.grantAuthorizationCode, [FORM.code]: code, [FORM.redirectUri]: uri }, 'exchange', signal);
    this.dropCredentials();
    return { ...(this.tokens as OAuthTokens) };
  }

  private async tokenCall(form: Record<string, string | undefined>, action: 'refresh' | 'exchange', signal?: AbortSignal): Promise<void> {
    let body: unknown;
    try {
      body = (
        await this.d.pipeline.json({
          method: 'POST',
          path: PATHS.oauthToken,
          form: {
            ...form,
            [FORM.clientId]: this.o.clientId,
            [FORM.clientSecret]: this.o.clientSecret,
            ...(action === 'refresh' && this.o.redirectUri ? { [FORM.redirectUri]: this.o.redirectUri } : {}),
          },
          auth: false,
          idempotent: true,
          signal,
        })
      ).body;
    } catch (e) {
      const hint =
        action === 'refresh'
          ? 'PhotoShelter refused the OAuth refresh token: it has been revoked or has expired; authorize the app again'
          : 'PhotoShelter refused the OAuth authorization code: it may have been used already or expired, or the client id, client secret or redirect URI do not match';
      this.rethrowAuth(e, hint, PATHS.oauthToken);
    }
    const tokens = readOAuthTokens(body, this.d.clock.now());
    if (!tokens) throw new AuthError('PhotoShelter answered the OAuth token request without an access token', { method: 'POST', path: PATHS.oauthToken });
    this.d.redactor.add(tokens.accessToken, tokens.refreshToken);
    if (!tokens.refreshToken) tokens.refreshToken = this.refreshToken;
    this.tokens = tokens;
    this.refreshToken = tokens.refreshToken;
    this.d.events.fire('auth', { mode: this.mode, action });
    if (this.o.onTokens) {
      try {
        await this.o.onTokens({ ...tokens });
      } catch (e) {
        this.d.events.fire('warning', { code: 'ONTOKENS', message: `The onTokens callback failed: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
  }
}

export function readSessionToken(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.token === 'string') return b.token;
  const data = b.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') {
    if (typeof data.token === 'string') return data.token;
    const attrs = data.attributes as Record<string, unknown> | undefined;
    if (attrs && typeof attrs.token === 'string') return attrs.token;
  }
  return undefined;
}

export function readOAuthTokens(body: unknown, now: number): OAuthTokens | undefined {
  if (!body || typeof body !== 'object') return undefined;
  let b = body as Record<string, unknown>;
  if (typeof b.access_token !== 'string' && b.data && typeof b.data === 'object') b = b.data as Record<string, unknown>;
  if (typeof b.access_token !== 'string') return undefined;
  const expiresIn = typeof b.expires_in === 'number' ? b.expires_in : typeof b.expires_in === 'string' ? Number(b.expires_in) : NaN;
  return {
    accessToken: b.access_token,
    refreshToken: typeof b.refresh_token === 'string' ? b.refresh_token : undefined,
    expiresAt: Number.isFinite(expiresIn) ? now + expiresIn * 1000 : undefined,
  };
}

/** Waits for a shared promise, but lets one caller give up through its own signal. */
export function raceSignal<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    sharedSignal(signal).addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export type AnyAuth = SessionAuth | OAuthAuth | BearerAuth;

export function createAuth(opts: AuthOptions, deps: AuthDeps): AnyAuth {
  switch (opts.mode) {
    case 'session':
      return new SessionAuth(deps, opts);
    case 'oauth':
      return new OAuthAuth(deps, opts);
    case 'bearer':
      return new BearerAuth(deps, opts);
  }
}

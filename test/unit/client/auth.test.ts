import assert from 'node:assert/strict';
import { AuthError, PermissionError, PhotoShelterClient, type OAuthTokens } from '../../../src/photoshelter';
import {
  apiError,
  handleSessionAuth,
  InstantClock,
  json,
  MEDIA,
  media,
  ORG,
  ORG2,
  rejects,
  SECRETS,
  sessionClient,
  startServer,
  type Recorded,
  type TestServer,
} from './helpers';

describe('client/auth', () => {
  let srv: TestServer | undefined;
  let client: PhotoShelterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await srv?.close();
    client = srv = undefined;
  });
  const calls = (path: string): Recorded[] => srv!.requests.filter((r) => r.path === path);

  describe('session', () => {
    it('logs in with a form (mode=token) and enters the organization', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        json(res, 200, { data: media(MEDIA) });
      });
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: SECRETS.password, orgId: ORG } });
      await client.getMedia(MEDIA);
      const [login] = calls('/authenticate');
      assert.equal(login.method, 'POST');
      assert.equal(login.headers['content-type'], 'application/x-www-form-urlencoded');
      const form = new URLSearchParams(login.body);
      assert.equal(form.get('email'), 'a@b.c');
      assert.equal(form.get('password'), SECRETS.password);
      assert.equal(form.get('mode'), 'token');
      assert.equal(login.headers['x-ps-auth-token'], undefined);
      const [org] = calls('/organization/authenticate');
      assert.equal(new URLSearchParams(org.body).get('org_id'), ORG);
      assert.equal(org.headers['x-ps-auth-token'], SECRETS.sessionToken);
      assert.deepEqual(srv.requests.map((r) => r.path), ['/authenticate', '/organization/authenticate', `/media/${MEDIA}`]);
      assert.equal(calls(`/media/${MEDIA}`)[0].headers['x-ps-auth-token'], SECRETS.sessionToken);
    });

    it('shares one login among concurrent first requests', async () => {
      let logins = 0;
      srv = await startServer((req, res) => {
        if (req.path === '/authenticate') {
          logins++;
          setTimeout(() => json(res, 200, { token: SECRETS.sessionToken }), 50);
          return;
        }
        json(res, 200, { data: media(MEDIA) });
      });
      client = sessionClient(srv.baseUrl, { maxConcurrency: 4 });
      const results = await Promise.all(Array.from({ length: 10 }, () => client!.getMedia(MEDIA)));
      assert.equal(results.length, 10);
      assert.equal(logins, 1);
    });

    it('re-authenticates once after a 401 and goes on', async () => {
      let tokenNo = 0;
      srv = await startServer((req, res) => {
        if (req.path === '/authenticate') return json(res, 200, { token: `${SECRETS.sessionToken}-${++tokenNo}` });
        if (req.headers['x-ps-auth-token'] === `${SECRETS.sessionToken}-1`) return apiError(res, 401, 'AcsPermissionException', 'expired', { 'www-authenticate': 'Bearer' });
        json(res, 200, { data: media(MEDIA) });
      });
      const auth: string[] = [];
      client = sessionClient(srv.baseUrl);
      client.on('auth', (e) => auth.push(e.action));
      await client.getMedia(MEDIA);
      assert.equal(calls('/authenticate').length, 2);
      assert.deepEqual(auth, ['login', 'reauthenticate', 'login']);
      await client.getMedia(MEDIA);
      assert.equal(calls('/authenticate').length, 2, 'the new token is kept');
    });

    it('fails with an AuthError saying what to check after a second 401', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        apiError(res, 401, 'AcsPermissionException', 'no');
      });
      client = sessionClient(srv.baseUrl);
      const e = await rejects(client.getMedia(MEDIA));
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /check the email and password/);
      assert.equal(calls('/authenticate').length, 2, 'one re-authentication only');
      assert.equal(calls(`/media/${MEDIA}`).length, 2);
    });

    it('reports wrong credentials without retrying the login', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        json(res, 200, {});
      });
      client = sessionClient(srv.baseUrl, { auth: { mode: 'session', email: 'a@b.c', password: 'wrong-password' } });
      const e = await rejects(client.getMedia(MEDIA));
      assert.ok(e instanceof AuthError);
      assert.equal(e.message, 'PhotoShelter rejected the session: check the email and password of the account');
      assert.equal(e.errorId, 'AuthenticationFailedException');
      assert.equal(calls('/authenticate').length, 1);
      // the next call tries again (no cached failure)
      await rejects(client.getMedia(MEDIA));
      assert.equal(calls('/authenticate').length, 2);
    });

    it('switches organizations and explains a refused one', async () => {
      srv = await startServer((req, res) => {
        if (req.path === '/organization/authenticate' && new URLSearchParams(req.body).get('org_id') === ORG2) return apiError(res, 403, 'AcsPermissionException', 'not a member');
        if (handleSessionAuth(req, res)) return;
        json(res, 200, { data: media(MEDIA) });
      });
      client = sessionClient(srv.baseUrl);
      await client.getMedia(MEDIA);
      assert.equal(calls('/organization/authenticate').length, 0);
      await client.setOrganization(ORG);
      assert.equal(client.organizationId, ORG);
      assert.equal(new URLSearchParams(calls('/organization/authenticate')[0].body).get('org_id'), ORG);
      assert.equal(calls('/authenticate').length, 1, 'same session token');
      const e = await rejects(client.setOrganization(ORG2));
      assert.ok(e instanceof PermissionError);
      assert.match(e.message, /member of this organization/);
      await assert.rejects(client.setOrganization('O0000bad'), { code: 'EVALIDATION' });
    });

    it('logs out with the session token and logs in again on the next call', async () => {
      srv = await startServer((req, res) => {
        if (handleSessionAuth(req, res)) return;
        if (req.path === '/authenticate/logout') return json(res, 200, { meta: { status: 'OK' } });
        json(res, 200, { data: media(MEDIA) });
      });
      client = sessionClient(srv.baseUrl);
      await client.getMedia(MEDIA);
      await client.logout();
      const [out] = calls('/authenticate/logout');
      assert.equal(out.headers['x-ps-auth-token'], SECRETS.sessionToken);
      await client.getMedia(MEDIA);
      assert.equal(calls('/authenticate').length, 2);
    });
  });

  describe('oauth', () => {
    interface OAuthServerState {
      validAccess: Set<string>;
      refreshes: number;
      revoked: boolean;
    }
    async function oauthServer(state: OAuthServerState, rotate = true): Promise<TestServer> {
      return startServer((req, res) => {
        if (req.path === '/oauth/token') {
          const f = new URLSearchParams(req.body);
          if (f.get('client_secret') !== SECRETS.clientSecret) return json(res, 401, { error: 'invalid_client' });
          if (f.get('grant_type') === 'authorization_code') {
            if (f.get('code') !== SECRETS.code) return apiError(res, 400, 'OAuthServerException', 'invalid_grant');
            state.validAccess.add(SECRETS.accessToken);
            return json(res, 200, { access_token: SECRETS.accessToken, token_type: 'Bearer', expires_in: 3600, refresh_token: SECRETS.refreshToken });
          }
          if (f.get('grant_type') === 'refresh_token') {
            state.refreshes++;
            if (state.revoked || !([SECRETS.refreshToken, SECRETS.refreshToken2] as string[]).includes(f.get('refresh_token') ?? '')) {
              return apiError(res, 401, 'OAuthServerException', `invalid refresh token ${f.get('refresh_token')}`);
            }
            state.validAccess.add(SECRETS.accessToken2);
            return json(res, 200, {
              access_token: SECRETS.accessToken2,
              token_type: 'Bearer',
              expires_in: 3600,
              ...(rotate ? { refresh_token: SECRETS.refreshToken2 } : {}),
            });
          }
          return apiError(res, 400, 'BadRequestException');
        }
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!state.validAccess.has(token)) return apiError(res, 401, 'OAuthServerException', 'The resource owner or authorization server denied the request.', { 'www-authenticate': 'Bearer' });
        json(res, 200, { data: media(MEDIA) });
      });
    }

    function oauthClient(baseUrl: string, clock: InstantClock, extra: Record<string, unknown> = {}, tokens: OAuthTokens[] = []): PhotoShelterClient {
      return new PhotoShelterClient({
        baseUrl,
        apiKey: SECRETS.apiKey,
        clock,
        auth: {
          mode: 'oauth',
          clientId: 'client-1',
          clientSecret: SECRETS.clientSecret,
          redirectUri: 'https://example.com/cb',
          onTokens: (t) => void tokens.push(t),
          ...extra,
        },
      });
    }

    it('exchanges an authorization code and reports the tokens', async () => {
      const state: OAuthServerState = { validAccess: new Set(), refreshes: 0, revoked: false };
      srv = await oauthServer(state);
      const clock = new InstantClock();
      const tokens: OAuthTokens[] = [];
      client = oauthClient(srv.baseUrl, clock, {}, tokens);
      const t = await client.exchangeAuthorizationCode(SECRETS.code, 'https://example.com/cb');
      assert.equal(t.accessToken, SECRETS.accessToken);
      assert.equal(t.refreshToken, SECRETS.refreshToken);
      assert.equal(t.expiresAt, clock.now() + 3_600_000);
      assert.deepEqual(tokens, [t]);
      const f = new URLSearchParams(calls('/oauth/token')[0].body);
      assert.equal(f.get('grant_type'), 'authorization_code');
      assert.equal(f.get('redirect_uri'), 'https://example.com/cb');
      assert.equal(f.get('client_id'), 'client-1');
      await client.getMedia(MEDIA);
      assert.equal(calls(`/media/${MEDIA}`)[0].headers.authorization, `Bearer ${SECRETS.accessToken}`);
      const bad = await rejects(client.exchangeAuthorizationCode('code-wrong-000'));
      assert.ok(bad instanceof AuthError);
      assert.match(bad.message, /authorization code/);
    });

    it('refreshes ahead of expires_in and passes the rotated refresh token to onTokens', async () => {
      const state: OAuthServerState = { validAccess: new Set([SECRETS.accessToken]), refreshes: 0, revoked: false };
      srv = await oauthServer(state);
      const clock = new InstantClock();
      const tokens: OAuthTokens[] = [];
      client = oauthClient(srv.baseUrl, clock, { accessToken: SECRETS.accessToken, refreshToken: SECRETS.refreshToken, expiresAt: clock.now() + 120_000 }, tokens);
      await client.getMedia(MEDIA);
      assert.equal(state.refreshes, 0);
      clock.t += 59_000; // 61 s left: still fresh
      await client.getMedia(MEDIA);
      assert.equal(state.refreshes, 0);
      clock.t += 2_000; // 59 s left: refresh first
      await Promise.all([client.getMedia(MEDIA), client.getMedia(MEDIA), client.getMedia(MEDIA)]);
      assert.equal(state.refreshes, 1, 'one refresh for concurrent callers');
      assert.equal(tokens.length, 1);
      assert.equal(tokens[0].refreshToken, SECRETS.refreshToken2);
      const f = new URLSearchParams(calls('/oauth/token')[0].body);
      assert.equal(f.get('grant_type'), 'refresh_token');
      assert.equal(f.get('refresh_token'), SECRETS.refreshToken);
      assert.equal(f.get('client_secret'), SECRETS.clientSecret);
      const last = srv.requests[srv.requests.length - 1];
      assert.equal(last.headers.authorization, `Bearer ${SECRETS.accessToken2}`);
    });

    it('refreshes on OAuthServerException and keeps the old refresh token when none is returned', async () => {
      const state: OAuthServerState = { validAccess: new Set(), refreshes: 0, revoked: false };
      srv = await oauthServer(state, false);
      const clock = new InstantClock();
      const tokens: OAuthTokens[] = [];
      client = oauthClient(srv.baseUrl, clock, { accessToken: 'at-stale-token-0000', refreshToken: SECRETS.refreshToken }, tokens);
      await client.getMedia(MEDIA);
      assert.equal(state.refreshes, 1);
      assert.equal(tokens[0].refreshToken, SECRETS.refreshToken);
      assert.deepEqual(srv.requests.map((r) => r.path), [`/media/${MEDIA}`, '/oauth/token', `/media/${MEDIA}`]);
    });

    it('says the refresh token was revoked', async () => {
      const state: OAuthServerState = { validAccess: new Set(), refreshes: 0, revoked: true };
      srv = await oauthServer(state);
      client = oauthClient(srv.baseUrl, new InstantClock(), { accessToken: 'at-stale-token-0000', refreshToken: SECRETS.refreshToken });
      const e = await rejects(client.getMedia(MEDIA));
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /refresh token: it has been revoked or has expired; authorize the app again/);
      assert.equal(state.refreshes, 1);
    });

    it('asks for authorization when it has no tokens', async () => {
      srv = await oauthServer({ validAccess: new Set(), refreshes: 0, revoked: false });
      client = oauthClient(srv.baseUrl, new InstantClock());
      const e = await rejects(client.getMedia(MEDIA));
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /authorize the app/);
      assert.equal(srv.requests.length, 0);
    });
  });

  describe('bearer', () => {
    it('sends the token, enters the org once, and fails a 401 without retrying', async () => {
      let reject = false;
      srv = await startServer((req, res) => {
        if (req.path === '/organization/authenticate') return json(res, 200, { meta: { status: 'OK' } });
        if (reject) return apiError(res, 401, 'OAuthServerException', 'expired');
        json(res, 200, { data: media(MEDIA) });
      });
      client = new PhotoShelterClient({ baseUrl: srv.baseUrl, apiKey: SECRETS.apiKey, auth: { mode: 'bearer', token: SECRETS.bearer, orgId: ORG } });
      await client.getMedia(MEDIA);
      await client.getMedia(MEDIA);
      assert.equal(calls('/organization/authenticate').length, 1);
      assert.equal(calls('/organization/authenticate')[0].headers.authorization, `Bearer ${SECRETS.bearer}`);
      assert.equal(calls(`/media/${MEDIA}`)[0].headers.authorization, `Bearer ${SECRETS.bearer}`);
      reject = true;
      const e = await rejects(client.getMedia(MEDIA));
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /bearer token: it has expired or been revoked/);
      assert.equal(calls(`/media/${MEDIA}`).length, 3);
    });
  });

  it('says to check the API key when PhotoShelter refuses it', async () => {
    srv = await startServer((_req, res) => apiError(res, 403, 'ApiKeyInvalidException', 'Invalid API key'));
    client = sessionClient(srv.baseUrl);
    const e = await rejects(client.getMedia(MEDIA, { include: 'iptc' as never }));
    assert.ok(e instanceof AuthError);
    assert.equal(e.errorId, 'ApiKeyInvalidException');
    assert.match(e.message, /check the API key/);
    assert.equal(srv.requests.length, 1, 'the login is refused, nothing else is sent');
  });

  it('rejects bad options before any request', () => {
    assert.throws(() => new PhotoShelterClient({ apiKey: 'short', auth: { mode: 'bearer', token: 'x' } }), { code: 'EVALIDATION' });
    assert.throws(() => new PhotoShelterClient({ apiKey: SECRETS.apiKey, auth: { mode: 'session', email: 'a', password: '' } }), { code: 'EVALIDATION' });
    assert.throws(() => new PhotoShelterClient({ apiKey: SECRETS.apiKey, auth: { mode: 'bearer', token: 't', orgId: 'O1' } }), { code: 'EVALIDATION' });
    assert.throws(() => new PhotoShelterClient({ apiKey: SECRETS.apiKey, auth: { mode: 'nope' } as never }), { code: 'EVALIDATION' });
  });
});

import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

describe('simulator: authentication', () => {
  let sim: SimHandle;
  before(async () => {
    sim = await startSim({ assets: 60, oauthTokenTtlSeconds: 600 });
  });
  after(() => sim.close());

  describe('API key', () => {
    it('403 ApiKeyInvalidException without or with a wrong key, on every kind of endpoint', async () => {
      for (const apiKey of [null, 'WRONGKEY000', sim.apiKey.toLowerCase()]) {
        for (const path of ['/library', '/media/I0000xxxxxxxxxxx', '/authenticate', '/oauth/token']) {
          const res = await call(sim, path, { apiKey, method: path.startsWith('/auth') || path.startsWith('/oauth') ? 'POST' : 'GET' });
          assert.equal(res.status, 403, path);
          assert.equal(res.json.errors[0].id, 'ApiKeyInvalidException');
          assert.equal(res.json.errors[0].status, '403');
        }
      }
    });

    it('accepts the key as the api_key query parameter', async () => {
      const token = await login(sim);
      const res = await call(sim, `/library?api_key=${sim.apiKey}`, { apiKey: null, token });
      assert.equal(res.status, 200);
    });
  });

  describe('session tokens', () => {
    it('POST /authenticate answers {token} without an envelope; wrong password → 401', async () => {
      const ok = await call(sim, '/authenticate', { form: { email: sim.email, password: sim.password, mode: 'token' } });
      assert.equal(ok.status, 200);
      assert.deepEqual(Object.keys(ok.json), ['token']);
      assert.equal(typeof ok.json.token, 'string');
      const bad = await call(sim, '/authenticate', { form: { email: sim.email, password: 'nope', mode: 'token' } });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.errors[0].id, 'AuthenticationFailedException');
    });

    it('accepts a JSON body too', async () => {
      const ok = await call(sim, '/authenticate', { body: { email: sim.email, password: sim.password, mode: 'token' } });
      assert.equal(ok.status, 200);
    });

    it('401 AcsPermissionException with WWW-Authenticate without or with an unknown token', async () => {
      for (const token of [undefined, 'not-a-token']) {
        const res = await call(sim, '/library', { token });
        assert.equal(res.status, 401);
        assert.equal(res.json.errors[0].id, 'AcsPermissionException');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      }
    });

    it('without the organization step: empty lists and 403 on org resources', async () => {
      const token = await login(sim, false);
      const lib = await call(sim, '/library', { token });
      assert.equal(lib.status, 200);
      assert.deepEqual(lib.json.data, []);
      assert.equal(lib.json.meta.paging.total, 0);
      const search = await call(sim, `/media?org_id=${sim.orgId}`, { token });
      assert.equal(search.json.meta.paging.total, 0);
      const [id] = await sim.control.mediaIds();
      const one = await call(sim, `/media/${id}`, { token });
      assert.equal(one.status, 403);
      assert.equal(one.json.errors[0].id, 'AcsPermissionException');
      const session = await call(sim, '/user/session?include=organizations', { token });
      assert.equal(session.status, 200);
      assert.equal(session.json.data.attributes.org_id, null);
      assert.equal(session.json.data.includes.organizations.data[0].id, sim.orgId);
      // After the organization step, the same token sees the library.
      const org = await call(sim, '/organization/authenticate', { token, form: { org_id: sim.orgId } });
      assert.equal(org.status, 200);
      assert.deepEqual(org.json.meta.status, 'OK');
      assert.ok((await call(sim, '/library', { token })).json.data.length > 0);
      assert.equal((await call(sim, `/media/${id}`, { token })).status, 200);
    });

    it('org_id at login sets the organization; a foreign org → 403', async () => {
      const res = await call(sim, '/authenticate', { form: { email: sim.email, password: sim.password, mode: 'token', org_id: sim.orgId } });
      assert.ok((await call(sim, '/library', { token: res.json.token })).json.data.length > 0);
      const token = await login(sim, false);
      const other = await call(sim, '/organization/authenticate', { token, form: { org_id: 'O0000SOMEOTHER01' } });
      assert.equal(other.status, 403);
      assert.equal(other.json.errors[0].id, 'AcsPermissionException');
    });

    it('logout invalidates the token', async () => {
      const token = await login(sim);
      assert.equal((await call(sim, '/library', { token })).status, 200);
      assert.equal((await call(sim, '/authenticate/logout', { token, method: 'POST' })).status, 200);
      assert.equal((await call(sim, '/library', { token })).status, 401);
    });

    it('the control API can expire session tokens', async () => {
      const token = await login(sim);
      await sim.control.expireTokens('session');
      const res = await call(sim, '/library', { token });
      assert.equal(res.status, 401);
      assert.equal(res.json.errors[0].id, 'AcsPermissionException');
    });
  });

  describe('OAuth', () => {
    async function authorize(clientId = sim.oauthClientId, redirect = 'http://localhost:9/cb'): Promise<string> {
      const q = new URLSearchParams({ api_key: sim.apiKey, client_id: clientId, redirect_uri: redirect, response_type: 'code', state: 'xyz' });
      const res = await call(sim, `/oauth/authorize?${q}`, { apiKey: null });
      assert.equal(res.status, 302);
      const loc = new URL(res.headers.get('location')!);
      assert.equal(loc.origin + loc.pathname, redirect);
      assert.equal(loc.searchParams.get('state'), 'xyz');
      return loc.searchParams.get('code')!;
    }

    async function exchange(code: string, clientId = sim.oauthClientId, secret = sim.oauthClientSecret) {
      return call(sim, '/oauth/token', { form: { grant_type: 'authorization_code', code, client_id: clientId, client_secret: secret, redirect_uri: 'http://localhost:9/cb' } });
    }

    it('authorize → code → token → API calls; the code is single-use', async () => {
      const code = await authorize();
      const tok = await exchange(code);
      assert.equal(tok.status, 200);
      assert.equal(tok.json.token_type, 'Bearer');
      assert.equal(tok.json.expires_in, 600);
      assert.ok(tok.json.access_token && tok.json.refresh_token);
      assert.equal((await call(sim, '/organization/authenticate', { bearer: tok.json.access_token, form: { org_id: sim.orgId } })).status, 200);
      const lib = await call(sim, '/library', { bearer: tok.json.access_token });
      assert.equal(lib.status, 200);
      assert.ok(lib.json.data.length > 0);
      const again = await exchange(code);
      assert.equal(again.status, 400);
      assert.equal(again.json.errors[0].id, 'OAuthServerException');
    });

    it('rejects a wrong client secret and an unknown client', async () => {
      const code = await authorize();
      assert.equal((await exchange(code, sim.oauthClientId, 'wrong')).status, 401);
      const q = new URLSearchParams({ api_key: sim.apiKey, client_id: 'nope', redirect_uri: 'http://x/cb', response_type: 'code' });
      assert.equal((await call(sim, `/oauth/authorize?${q}`, { apiKey: null })).status, 400);
    });

    it('access tokens expire on the simulator clock (401 OAuthServerException); refresh issues a new pair', async () => {
      const tok = (await exchange(await authorize())).json;
      await call(sim, '/organization/authenticate', { bearer: tok.access_token, form: { org_id: sim.orgId } });
      await sim.control.clock(590);
      assert.equal((await call(sim, '/library', { bearer: tok.access_token })).status, 200);
      await sim.control.clock(15);
      const expired = await call(sim, '/library', { bearer: tok.access_token });
      assert.equal(expired.status, 401);
      assert.equal(expired.json.errors[0].id, 'OAuthServerException');
      assert.equal(expired.headers.get('www-authenticate'), 'Bearer');
      const refreshed = await call(sim, '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: tok.refresh_token, client_id: sim.oauthClientId, client_secret: sim.oauthClientSecret } });
      assert.equal(refreshed.status, 200);
      assert.notEqual(refreshed.json.access_token, tok.access_token);
      assert.notEqual(refreshed.json.refresh_token, tok.refresh_token);
      const lib = await call(sim, '/library', { bearer: refreshed.json.access_token });
      assert.equal(lib.status, 200);
      assert.ok(lib.json.data.length > 0, 'the organization context survives a refresh');
      const reuse = await call(sim, '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: tok.refresh_token, client_id: sim.oauthClientId, client_secret: sim.oauthClientSecret } });
      assert.equal(reuse.status, 400, 'refresh tokens rotate');
    });

    it('registered apps must use their redirect_uri', async () => {
      const reg = await call(sim, '/oauth/register', { form: { name: 'My app', redirect_uri: 'http://localhost:9/cb' } });
      assert.equal(reg.status, 200);
      const { client_id: id, client_secret: secret } = reg.json.data.attributes;
      const code = await authorize(id);
      assert.equal((await exchange(code, id, secret)).status, 200);
      const q = new URLSearchParams({ api_key: sim.apiKey, client_id: id, redirect_uri: 'http://evil/cb', response_type: 'code' });
      assert.equal((await call(sim, `/oauth/authorize?${q}`, { apiKey: null })).status, 400);
    });

    it('the control API can revoke bearer tokens; logout revokes one', async () => {
      const a = (await exchange(await authorize())).json;
      await sim.control.expireTokens('oauth');
      assert.equal((await call(sim, '/user/session', { bearer: a.access_token })).status, 401);
      const b = (await exchange(await authorize())).json;
      assert.equal((await call(sim, '/user/session', { bearer: b.access_token })).status, 200);
      await call(sim, '/authenticate/logout', { bearer: b.access_token });
      assert.equal((await call(sim, '/user/session', { bearer: b.access_token })).status, 401);
    });
  });
});

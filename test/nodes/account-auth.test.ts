/**
 * The account node signing in with OAuth 2 (client id, secret, refresh token) and with a pre-issued
 * access token, against the simulator; and a refresh token that PhotoShelter rotated, kept across a
 * restart of the node so that the account still signs in.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import accountNode from '../../src/nodes/photoshelter-account';
import type { AccountNode } from '../../src/nodes/shared/types';
import { startSim, type SimHandle } from '../helpers/sim';
import { oauthGrant, refreshTokenWorks, REDIRECT_URI, type Grant } from '../helpers/oauth';

helper.init(require.resolve('node-red'));

describe('photoshelter-account node: OAuth and access-token sign-in', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let userDir: string;
  let grant: Grant;
  const tokenFile = () => join(userDir, 'photoshelter', 'tokens', 'acc.json');
  const flow = (authMode: string) => [{ id: 'acc', type: 'photoshelter-account', name: 'sim', baseUrl: sim.baseUrl, authMode, orgId: sim.orgId, timeZone: 'UTC', redirectUri: REDIRECT_URI }];
  const oauthCreds = (refreshToken = grant.refreshToken) => ({ acc: { apiKey: sim.apiKey, clientId: sim.oauthClientId, clientSecret: sim.oauthClientSecret, refreshToken } });
  const account = () => helper.getNode('acc') as unknown as AccountNode;
  const apiCalls = async () => (await sim.control.requests()).filter((e) => !/\/(authenticate|oauth\/token)$/.test(e.path));

  before(async () => {
    sim = await startSim({ seed: 4, assets: 20 });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach((done) => {
    userDir = mkdtempSync(join(tmpdir(), 'ps-account-auth-'));
    helper.settings({ userDir });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    helper.settings({});
    rmSync(userDir, { recursive: true, force: true });
  });

  describe('OAuth 2', () => {
    beforeEach(async () => {
      grant = await oauthGrant(sim);
      await sim.control.clearRequests();
    });

    it('signs in with the refresh token and reads the library as a bearer', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      const session = await account().getClient().session();
      assert.equal(session.id, sim.userId);
      const log = await sim.control.requests();
      assert.deepEqual(log.filter((e) => e.path.endsWith('/oauth/token')).map((e) => e.status), [200], 'one refresh');
      assert.equal(log.filter((e) => /\/authenticate$/.test(e.path) && !e.path.includes('organization')).length, 0, 'no password sign-in');
      const calls = await apiCalls();
      assert.ok(calls.length > 0 && calls.every((e) => e.auth === 'oauth' && e.status < 400), JSON.stringify(calls.map((e) => [e.path, e.auth, e.status])));
    });

    it('keeps a rotated refresh token (0600, under the user directory) so that the account signs in after a restart', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      await account().getClient().session();
      // the refresh rotated the token: the configured one is spent
      assert.equal(await refreshTokenWorks(sim, grant.refreshToken), false, 'the configured refresh token no longer works');
      assert.ok(existsSync(tokenFile()), 'the new one is kept');
      assert.equal(statSync(tokenFile()).mode & 0o777, 0o600);
      assert.ok(!readFileSync(tokenFile(), 'utf8').includes(grant.refreshToken));
      // an access token that expires: refreshed again, and the file follows
      await sim.control.expireTokens('oauth');
      const before = readFileSync(tokenFile(), 'utf8');
      await account().getClient().session();
      assert.notEqual(readFileSync(tokenFile(), 'utf8'), before, 'the second rotation is kept too');
      // Node-RED restarts: the same configuration and credentials, a new node
      await helper.unload();
      await sim.control.clearRequests();
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      assert.equal((await account().getClient().session()).id, sim.userId, 'signed in after the restart');
      assert.deepEqual((await sim.control.requests()).filter((e) => e.path.endsWith('/oauth/token')).map((e) => e.status), [200]);
    });

    it('without the kept token, the restarted account could not sign in (what the file prevents)', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      await account().getClient().session();
      await helper.unload();
      rmSync(tokenFile());
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      await assert.rejects(account().getClient().session(), (e: Error & { code?: string }) => e.code === 'EAUTH');
    });

    it('a refresh token entered later replaces the kept one', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      await account().getClient().session();
      assert.ok(existsSync(tokenFile()));
      await helper.unload();
      const fresh = await oauthGrant(sim);
      await helper.load(accountNode, flow('oauth'), oauthCreds(fresh.refreshToken));
      assert.equal((await account().getClient().session()).id, sim.userId);
      assert.equal(await refreshTokenWorks(sim, fresh.refreshToken), false, 'the entered token was the one used (and rotated)');
    });

    it('"Test connection" with the deployed OAuth credentials leaves the account able to sign in', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      const res = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'acc', config: { baseUrl: sim.baseUrl, authMode: 'oauth', orgId: sim.orgId, redirectUri: REDIRECT_URI }, credentials: { apiKey: '__PWRD__', clientId: sim.oauthClientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' } })
        .expect(200);
      assert.equal(res.body.ok, true);
      assert.equal(res.body.mode, 'oauth');
      assert.ok(!res.text.includes(grant.refreshToken) && !res.text.includes(sim.oauthClientSecret), 'no secret in the answer');
      // the test's refresh rotated the token: the deployed account (and the next restart) must still get in
      assert.equal((await account().getClient().session()).id, sim.userId);
      await helper.unload();
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      assert.equal((await account().getClient().session()).id, sim.userId, 'after a restart too');
    });
    it('"Test connection" of a signed-in deployed account reuses its sign-in, and the account keeps working', async () => {
      await helper.load(accountNode, flow('oauth'), oauthCreds());
      await account().getClient().session();
      await sim.control.clearRequests();
      const res = await helper.request().post('/photoshelter/account/test').send({ id: 'acc', config: { baseUrl: sim.baseUrl, authMode: 'oauth', orgId: sim.orgId, redirectUri: REDIRECT_URI }, credentials: { apiKey: '__PWRD__', clientId: sim.oauthClientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' } }).expect(200);
      assert.equal(res.body.ok, true);
      assert.equal((await sim.control.requests()).filter((e) => e.path.endsWith('/oauth/token')).length, 0, 'no refresh: the deployed sign-in was used');
      await sim.control.expireTokens('oauth');
      assert.equal((await account().getClient().session()).id, sim.userId, 'its next refresh still works');
    });

    it('"Test connection" of a refresh token typed in the dialog, then deployed: the account signs in with what the test was given', async () => {
      const typed = (await oauthGrant(sim)).refreshToken;
      await helper.load(accountNode, []); // the editor is open, the account not deployed yet
      const res = await helper.request().post('/photoshelter/account/test').send({ id: 'acc', config: { baseUrl: sim.baseUrl, authMode: 'oauth', orgId: sim.orgId, redirectUri: REDIRECT_URI }, credentials: { apiKey: sim.apiKey, clientId: sim.oauthClientId, clientSecret: sim.oauthClientSecret, refreshToken: typed } }).expect(200);
      assert.equal(res.body.ok, true);
      assert.equal(await refreshTokenWorks(sim, typed), false, 'the test spent the typed token');
      await helper.unload();
      await helper.load(accountNode, flow('oauth'), oauthCreds(typed));
      assert.equal((await account().getClient().session()).id, sim.userId);
    });
  });

  describe('a pre-issued access token', () => {
    it('signs in with it as a bearer, makes no sign-in call, and reports its expiry clearly (it is not renewed)', async () => {
      grant = await oauthGrant(sim);
      await sim.control.clearRequests();
      await helper.load(accountNode, flow('bearer'), { acc: { apiKey: sim.apiKey, token: grant.accessToken } });
      assert.equal((await account().getClient().session()).id, sim.userId);
      const log = await sim.control.requests();
      assert.equal(log.filter((e) => /\/(authenticate|oauth\/token)$/.test(e.path) && !e.path.includes('organization')).length, 0, 'no sign-in call');
      assert.ok((await apiCalls()).every((e) => e.auth === 'oauth' && e.status < 400));
      await sim.control.expireTokens('oauth');
      await sim.control.clearRequests();
      await assert.rejects(account().getClient().session(), (e: Error & { code?: string }) => e.code === 'EAUTH' && !e.message.includes(grant.accessToken));
      assert.equal((await sim.control.requests()).filter((e) => e.path.endsWith('/oauth/token')).length, 0, 'not renewed');
      assert.ok(!existsSync(tokenFile()), 'nothing kept for an access token');
    });

    it('"Test connection" signs in with it', async () => {
      grant = await oauthGrant(sim);
      await helper.load(accountNode, flow('bearer'), { acc: { apiKey: sim.apiKey, token: grant.accessToken } });
      const res = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'new', config: { baseUrl: sim.baseUrl, authMode: 'bearer', orgId: sim.orgId }, credentials: { apiKey: sim.apiKey, token: grant.accessToken } })
        .expect(200);
      assert.equal(res.body.ok, true);
      assert.equal(res.body.mode, 'bearer');
      assert.equal(res.body.userId, sim.userId);
      assert.ok(!res.text.includes(grant.accessToken));
    });
  });
});

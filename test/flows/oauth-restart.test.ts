/**
 * An OAuth account in a real Node-RED: PhotoShelter rotates the refresh token at each refresh; after a
 * clean restart and after a SIGKILL, the account still signs in, with the token it received last.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../helpers/sim';
import { oauthGrant, refreshTokenWorks, REDIRECT_URI } from '../helpers/oauth';
import { startRuntime, type Runtime } from './runtime';

describe('an OAuth account across restarts of Node-RED (rotated refresh tokens)', function () {
  this.timeout(120_000);
  let sim: SimHandle;
  let red: Runtime;
  let configured: string;
  const kept = () => join(red.userDir, 'photoshelter', 'tokens', 'acc1.json');
  const latest = () => (JSON.parse(readFileSync(kept(), 'utf8')) as { refreshToken: string }).refreshToken;
  /** The account reads the library (the editor's picker): it must be signed in. */
  const browse = async () => {
    const res = await red.admin<{ items: unknown[] }>('GET', '/photoshelter/account/acc1/tree');
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.items.length > 0);
  };
  const refreshes = async () => (await sim.control.requests()).filter((e) => e.path.endsWith('/oauth/token') && e.status === 200).length;

  before(async () => {
    sim = await startSim({ seed: 61, assets: 20 });
    configured = (await oauthGrant(sim)).refreshToken;
    red = await startRuntime();
    await red.deploy([
      { id: 'tab1', type: 'tab', label: 'oauth' },
      {
        id: 'acc1', type: 'photoshelter-account', name: 'oauth account', baseUrl: sim.baseUrl, authMode: 'oauth', orgId: sim.orgId, timeZone: 'UTC', redirectUri: REDIRECT_URI,
        credentials: { apiKey: sim.apiKey, clientId: sim.oauthClientId, clientSecret: sim.oauthClientSecret, refreshToken: configured },
      },
    ]);
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
  });

  it('signs in; the refresh rotates the token, which is kept, readable by the Node-RED user only', async () => {
    await sim.control.clearRequests();
    await browse();
    assert.equal(await refreshes(), 1);
    assert.equal(statSync(kept()).mode & 0o777, 0o600);
    assert.notEqual(latest(), configured);
    assert.equal(await refreshTokenWorks(sim, configured), false, 'the configured token is spent');
    // another refresh (the access token expired): kept again
    const before = latest();
    await sim.control.expireTokens('oauth');
    await browse();
    assert.notEqual(latest(), before);
  });

  it('signs in after a clean restart', async () => {
    await red.halt();
    red = await startRuntime({ userDir: red.userDir });
    await sim.control.clearRequests();
    await browse();
    assert.equal(await refreshes(), 1, 'with the kept token');
  });

  it('signs in after a SIGKILL, with the token received just before it', async () => {
    await sim.control.expireTokens('oauth');
    await browse();
    const last = latest();
    await red.crash();
    red = await startRuntime({ userDir: red.userDir });
    await browse();
    assert.equal(await refreshTokenWorks(sim, last), false, 'the token kept before the crash was the one used');
  });

  it('no refresh token in the flow file, the credentials file (encrypted) or the log', () => {
    const texts = [readFileSync(join(red.userDir, 'flows.json'), 'utf8'), readFileSync(join(red.userDir, 'flows_cred.json'), 'utf8'), red.output()];
    for (const t of [configured, latest()]) for (const text of texts) assert.ok(!text.includes(t));
  });
});

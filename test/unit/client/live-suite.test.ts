// `npm run test:live` proven against the simulator: through the same environment variables a real account
// is given by (the live path), without any (the simulator path), and against answers that fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertEvidenced } from '../../helpers/evidence';

const ROOT = join(__dirname, '..', '..', '..');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the suite in a process of its own with only the given PHOTOSHELTER_* variables. */
function runLive(vars: Record<string, string>): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHOTOSHELTER_')) env[k] = v;
  Object.assign(env, vars);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'live', 'run.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('npm run test:live (the contract suite)', function () {
  this.timeout(120_000);
  let sim: SimHandle;
  before(async () => {
    sim = await startSim({ strict: true, seed: 8, assets: 40 });
  });
  after(async () => {
    await sim.close();
  });
  afterEach(async () => {
    await sim.control.clearFaults();
  });

  const accountVars = (): Record<string, string> => ({
    PHOTOSHELTER_BASE_URL: sim.baseUrl,
    PHOTOSHELTER_API_KEY: sim.apiKey,
    PHOTOSHELTER_EMAIL: sim.email,
    PHOTOSHELTER_PASSWORD: sim.password,
    PHOTOSHELTER_ORG_ID: sim.orgId,
  });

  it('through the environment: every read call, each answer checked, writes restored, no secret printed', async () => {
    const ids = await sim.control.mediaIds();
    let target = ids[0];
    for (const id of ids) if ((await sim.control.media(id)).type === 'image') target = id;
    const before = await sim.control.media(target);
    await sim.control.clearRequests();
    const r = await runLive({ ...accountVars(), PHOTOSHELTER_LIVE_WRITE_ASSET: target });
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /^## PhotoShelter contract check: live account$/m);
    assert.match(r.out, /sign-in session, organization O0000/);
    for (const call of [
      /`POST \/authenticate` \| 200 \| ok/,
      /`POST \/organization\/authenticate` \| 200 \| ok/,
      /`GET \/user\/session\?include=organizations` \| 200 \| ok/,
      /`GET \/library\?[^`]*` \| 200 \| ok/,
      /`GET \/collections\/C0000[^/`]+\/children[^`]*` \| 200 \| ok/,
      /`GET \/galleries\/G0000[^/`]+\/children\?sort_by=added_at[^`]*` \| 200 \| ok/,
      /`GET \/galleries\/G0000[^/`]+\/path` \| 200 \| ok/,
      /`GET \/collections\/C0000[^/`]+\/child-count` \| 200 \| ok/,
      /`GET \/media\/[^/`]+\?include=iptc` \| 200 \| ok \(envelope, media \(\+iptc\)\)/,
      /`GET \/media\/[^/`]+\/custom-metadata` \| 200 \| ok/,
      /`GET \/media\/[^/`]+\/galleries\?include=gallery[^`]*` \| 200 \| ok/,
      /`GET \/media\?org_id=O0000[^`]*modify_start=\d{4}-\d\d-\d\d\+\d\d:\d\d:\d\d\+GMT[^`]*sort_by=upload_time&sort_dir=asc[^`]*` \| 200 \| ok/,
      /`GET \/media\/[^/`]+\/link\?image_size=640x640&image_mode=fit` \| 200 \| ok/,
      /download_filetype=jpeg&download_quality=1200` \| 200 \| ok \(bytes\)/,
      /download_filetype=jpeg&download_quality=original` \| 200 \| ok \(bytes\)/,
      /download_filetype=original` \| 200 \| ok \(bytes\)/,
      /`PATCH \/media\/[^/`]+\/iptc` \| 200 \| ok/,
      /`PATCH \/media\/[^/`]+\/custom-metadata` \| 200 \| ok/,
    ]) {
      assert.match(r.out, call);
    }
    assert.match(r.out, /\| modify_end is exclusive \| \[ours\] \| [^|]+ \| holds \|/);
    assert.match(r.out, /\| a metadata write moves modified_at \| \[ours\] \| [^|]+ \| holds \|/);
    assert.match(r.out, /restored \| holds \|/);
    assert.match(r.out, /\n\d+ calls, 0 failed or off-schema; \d+ assumptions observed, 0 differ\.\n/);
    for (const secret of [sim.password, sim.apiKey]) assert.ok(!r.out.includes(secret) && !r.err.includes(secret), 'no secret in the output');
    assert.ok(!/token/i.test(r.out.replace(/ok \(token\)/g, '')), 'no token in the output');
    // what it changed is back
    const after = await sim.control.media(target);
    assert.deepEqual(after.iptc, before.iptc);
    assert.deepEqual(after.custom, before.custom);
    // and what it sent is evidenced
    assertEvidenced(await sim.control.requests());
  });

  it('signs in with an access token (PHOTOSHELTER_TOKEN), making no session call', async () => {
    const login = await fetch(`${sim.baseUrl}/authenticate`, {
      method: 'POST',
      headers: { 'x-ps-api-key': sim.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: sim.email, password: sim.password, mode: 'token' }).toString(),
    });
    const { token } = (await login.json()) as { token: string };
    const vars = accountVars();
    delete (vars as Record<string, string | undefined>).PHOTOSHELTER_EMAIL;
    delete (vars as Record<string, string | undefined>).PHOTOSHELTER_PASSWORD;
    // a bearer in the simulator is an OAuth access token: get one the way an app would
    const auth = await fetch(`${sim.url}/psapi/v4.0/oauth/authorize?api_key=${sim.apiKey}&client_id=${sim.oauthClientId}&redirect_uri=${encodeURIComponent('http://127.0.0.1/cb')}&response_type=code&state=s`, { redirect: 'manual', headers: { 'x-ps-auth-token': token } });
    const code = new URL(String(auth.headers.get('location'))).searchParams.get('code') as string;
    const tok = await fetch(`${sim.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'x-ps-api-key': sim.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: sim.oauthClientId, client_secret: sim.oauthClientSecret, redirect_uri: 'http://127.0.0.1/cb' }).toString(),
    });
    const { access_token: access } = (await tok.json()) as { access_token: string };
    const r = await runLive({ ...vars, PHOTOSHELTER_TOKEN: access });
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /sign-in bearer/);
    assert.doesNotMatch(r.out, /`POST \/authenticate`/);
    assert.ok(!r.out.includes(access) && !r.err.includes(access), 'the token is not printed');
  });

  it('without an account, runs against the simulator and says plainly that no live account was used', async () => {
    const r = await runLive({});
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /NO LIVE ACCOUNT WAS USED/);
    assert.match(r.out, /This says nothing about the real API/);
    assert.match(r.out, /\| 1 \| `POST \/authenticate` \| 200 \|/);
  });

  it('fails (exit 1) and shows the call when PhotoShelter answers an error, and refuses an incomplete environment (exit 2)', async () => {
    await sim.control.faults({ route: '/child-count$', status: 400 });
    const r = await runLive(accountVars());
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /`GET \/(collections|galleries)\/[^`]+\/child-count` \| 400 \| ok \(error body\)/);
    assert.match(r.out, /- step failed: a (collection|gallery): PhotoShelter answered 400/);
    const partial = await runLive({ PHOTOSHELTER_API_KEY: sim.apiKey, PHOTOSHELTER_BASE_URL: sim.baseUrl });
    assert.equal(partial.code, 2);
    assert.match(partial.err, /PHOTOSHELTER_EMAIL and PHOTOSHELTER_PASSWORD .* or PHOTOSHELTER_TOKEN/);
    assert.equal(partial.out, '');
  });
});

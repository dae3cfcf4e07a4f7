/**
 * Trust boundaries of the admin endpoints (classes 1 and 2): Node-RED without adminAuth, and a web page
 * or a local process that talks to it (Test connection, Test destination, the pickers, poll now, and the
 * location preview of the deliver and destination dialogs). A stored secret, or a value read from ${ENV}, never travels to a
 * place other than the one it was stored with; an id of another type's node lends nothing; error answers
 * echo no resolved value; and nothing but a same-origin JSON request is taken. Every refused request is
 * checked to have sent nothing: two capture servers stand for the stored place and the attacker's.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountModule from '../../src/nodes/photoshelter-account';
import deliverModule from '../../src/nodes/photoshelter-deliver';
import destinationModule from '../../src/nodes/photoshelter-destination';
import ledgerModule from '../../src/nodes/photoshelter-ledger';
import triggerModule from '../../src/nodes/photoshelter-trigger';
import { assertNoSecret, withCatalogue, startCapture, type Capture } from './helpers';

helper.init(require.resolve('node-red'));
const destinationNode = withCatalogue(destinationModule);
const accountNode = withCatalogue(accountModule);
const deliverNode = withCatalogue(deliverModule);
const triggerNode = withCatalogue(triggerModule);
const ledgerNode = withCatalogue(ledgerModule);

/** A config node of some other package, with credentials of the same names as ours. */
function otherPackage(RED: NodeAPI): void {
  function Other(this: unknown, def: never) {
    RED.nodes.createNode(this as never, def);
  }
  RED.nodes.registerType('other-package-config', Other as never, { credentials: { password: { type: 'password' }, token: { type: 'password' }, apiKey: { type: 'password' } } } as never);
}

const SECRETS = {
  apiKey: 'STOREDKEY01',
  accountPassword: 'stored-account-password',
  bearer: 'stored-bearer-token-value',
  httpPassword: 'stored-basic-password',
  sftpPassword: 'stored-sftp-password',
  s3Secret: 'stored-s3-secret-access-key',
  s3Session: 'stored-s3-session-token-value',
  foreign: 'other-package-secret-password',
  env: 'environment-secret-value-42',
  ledgerPassword: 'stored-database-password',
};
const ALL = Object.values(SECRETS);

describe('security: admin endpoints keep stored secrets with their host (class 1) and take no cross-site request (class 2)', function () {
  this.timeout(30_000);
  let stored: Capture;
  let evil: Capture;
  let tcp: TcpServer;
  let tcpPort: number;
  let tcpData = 0;
  let tcpConnections = 0;
  let tmp: string;
  /** The shared ledger's stored place: a TCP server standing for its database, which hangs up on whatever it gets. */
  let db: TcpServer;
  let dbPort: number;
  let dbConnections = 0;

  before(async () => {
    db = createTcpServer((s) => {
      dbConnections++;
      s.on('data', () => s.destroy());
      s.on('error', () => undefined);
    });
    await new Promise<void>((ok) => db.listen(0, '127.0.0.1', ok));
    dbPort = (db.address() as AddressInfo).port;
    stored = await startCapture();
    evil = await startCapture();
    const sockets = new Set<Socket>();
    tcp = createTcpServer((s) => {
      tcpConnections++;
      sockets.add(s);
      s.on('data', (d) => (tcpData += d.length));
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    });
    await new Promise<void>((ok) => tcp.listen(0, '127.0.0.1', ok));
    tcpPort = (tcp.address() as AddressInfo).port;
    tcp.on('close', () => sockets.forEach((s) => s.destroy()));
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-admin-'));
    process.env.PS_SEC_SECRET = SECRETS.env;
    process.env.PS_SEC_EVIL_URL = `${evil.url}/psapi/v4.0`;
    process.env.PS_SEC_DIR = join(tmp, 'from-environment');
  });
  after(async () => {
    delete process.env.PS_SEC_SECRET;
    delete process.env.PS_SEC_EVIL_URL;
    delete process.env.PS_SEC_DIR;
    await stored.close();
    await evil.close();
    await new Promise<void>((ok) => tcp.close(() => ok()));
    await new Promise<void>((ok) => db.close(() => ok()));
    rmSync(tmp, { recursive: true, force: true });
  });

  const account = () => ({ id: 'acc', type: 'photoshelter-account', baseUrl: `${stored.url}/psapi/v4.0`, authMode: 'session', timeZone: 'UTC' });
  const http = () => ({ id: 'dhttp', type: 'photoshelter-destination', kind: 'http', method: 'PUT', url: `${stored.url}/upload/{{asset.id}}`, auth: 'bearer', headers: [] });
  const basic = () => ({ id: 'dbasic', type: 'photoshelter-destination', kind: 'http', method: 'PUT', url: `${stored.url}/basic/{{asset.id}}`, auth: 'basic', httpUser: 'deliver', headers: [] });
  const sftp = () => ({ id: 'dsftp', type: 'photoshelter-destination', kind: 'sftp', host: '127.0.0.1', port: stored.port, user: 'agency', hostKey: `SHA256:${'A'.repeat(43)}`, basePath: '/in' });
  const s3 = () => ({ id: 'ds3', type: 'photoshelter-destination', kind: 's3', endpoint: stored.url, region: 'eu-west-1', bucket: 'stored-bucket', forcePathStyle: true });
  const folder = () => ({ id: 'dfolder', type: 'photoshelter-destination', kind: 'folder', folder: join(tmp, 'stored') });
  const ledger = () => ({ id: 'dledger', type: 'photoshelter-ledger', host: '127.0.0.1', port: dbPort, database: 'deliveries', user: 'deliver', tls: 'off', schema: 'photoshelter', lease: 30 });
  const envFolder = () => ({ id: 'denv', type: 'photoshelter-destination', kind: 'folder', folder: '${PS_SEC_DIR}', template: '{{asset.fileName}}' });
  const deliver = () => ({ id: 'dlv', type: 'photoshelter-deliver', destination: 'denv', template: '${PS_SEC_SECRET}' });

  beforeEach(async () => {
    const flow = [account(), http(), basic(), sftp(), s3(), folder(), ledger(), envFolder(), deliver(), { id: 'foreign', type: 'other-package-config' }];
    await helper.load([accountNode, destinationNode, deliverNode, triggerNode, ledgerNode, otherPackage], flow as never, {
      dledger: { password: SECRETS.ledgerPassword },
      acc: { apiKey: SECRETS.apiKey, email: 'owner@example.com', password: SECRETS.accountPassword },
      dhttp: { token: SECRETS.bearer },
      dbasic: { httpPassword: SECRETS.httpPassword },
      dsftp: { password: SECRETS.sftpPassword },
      ds3: { accessKeyId: 'AKIDSTORED', secretAccessKey: SECRETS.s3Secret, sessionToken: SECRETS.s3Session },
      foreign: { password: SECRETS.foreign, token: SECRETS.foreign, apiKey: 'FOREIGNKEY1' },
    } as never);
    stored.requests.length = 0;
    evil.requests.length = 0;
    tcpData = 0;
    tcpConnections = 0;
    dbConnections = 0;
  });
  afterEach(async () => {
    await helper.unload();
  });

  /** Posts to an endpoint and checks the refusal: status, catalogue key, nothing sent anywhere, no secret in the answer. */
  async function refused(path: string, body: unknown, status: number, key: RegExp): Promise<void> {
    const res = await helper.request().post(path).send(body as object);
    assert.equal(res.status, status, res.text);
    assert.match(String(res.body.error), key, res.text);
    assertNoSecret(res.text, ALL, 'the answer');
    // nothing went anywhere: not to the attacker's place, not even to the stored one
    assert.deepEqual(evil.requests, [], 'the attacker received a request');
    assert.deepEqual(stored.requests, [], 'a request was sent for a refused dialog');
    assert.equal(tcpConnections, 0, 'a connection was opened');
    assert.equal(tcpData, 0);
  }

  const accountBody = (config: Record<string, unknown>, credentials: Record<string, unknown> = {}, id: unknown = 'acc') => ({
    id,
    config: { baseUrl: `${stored.url}/psapi/v4.0`, authMode: 'session', timeZone: 'UTC', ...config },
    credentials: { apiKey: '__PWRD__', email: 'owner@example.com', password: '__PWRD__', ...credentials },
  });
  const dest0 = (id: string, config: Record<string, unknown>, credentials: Record<string, unknown>) => ({ id, config, credentials });
  const ACCOUNT = '/photoshelter/account/test';
  const DEST = '/photoshelter/destination/test';
  const PREVIEW_DELIVER = '/photoshelter/deliver/preview';
  const PREVIEW_DEST = '/photoshelter/destination/preview';
  const RETYPE = /type .* again/;

  describe('stored account secrets (Test connection)', () => {
    it('goes to the stored host when the dialog points there (control)', async () => {
      await helper.request().post(ACCOUNT).send(accountBody({}));
      assert.ok(stored.requests.length > 0, 'the stored host was asked');
      assert.ok(stored.text().includes(SECRETS.apiKey), 'with the stored key');
      assert.deepEqual(evil.requests, []);
    });
    it('is not sent to another host', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }), 400, RETYPE));
    it('is not sent to another port of the same host', () => refused(ACCOUNT, accountBody({ baseUrl: `http://127.0.0.1:${evil.port}/psapi/v4.0` }), 400, RETYPE));
    it('is not sent to another path of the same origin', () => refused(ACCOUNT, accountBody({ baseUrl: `${stored.url}/other/psapi/v4.0` }), 400, RETYPE));
    it('is not sent with another scheme (https instead of http)', () => refused(ACCOUNT, accountBody({ baseUrl: `https://127.0.0.1:${stored.port}/psapi/v4.0` }), 400, RETYPE));
    it('is not sent for another user (email changed, password left stored)', () => refused(ACCOUNT, accountBody({}, { email: 'attacker@example.com' }), 400, RETYPE));
    it('is not sent with another sign-in mode (OAuth, secrets left stored)', () => refused(ACCOUNT, accountBody({ authMode: 'oauth' }, { clientId: 'c', clientSecret: '__PWRD__', refreshToken: 'r' }), 400, RETYPE));
    it('is not lent to a node that is not deployed (no id)', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, {}, null), 400, /shows a stored secret, but this node is not deployed/));
    it('is not lent to an unknown id', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, {}, 'no-such-node'), 400, /shows a stored secret, but this node is not deployed/));
    it('is not lent by a node of another package (its id is refused)', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, {}, 'foreign'), 403, /is not a deployed .* node/));
    it('is not lent by a node of another type of this package', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, {}, 'dhttp'), 403, /is not a deployed .* node/));
    it('is not lent when the id is not a string (an object)', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, {}, { id: 'acc' }), 400, /shows a stored secret, but this node is not deployed/));
  });

  describe('values read from ${ENV} (Test connection)', () => {
    it('a ${NAME} secret of a new node is not read, for any host', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, { apiKey: '${PS_SEC_SECRET}', password: 'typed' }, null), 400, /reads the environment/));
    it('the old $(NAME) spelling is not read either', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, { apiKey: 'TYPEDKEY001', password: '$(PS_SEC_SECRET)' }, null), 400, /reads the environment/));
    it('a ${NAME} the deployed node does not have there is not read, even for the stored host', () => refused(ACCOUNT, accountBody({}, { password: '${PS_SEC_SECRET}' }), 400, /environment reference .* that the deployed node does not have/));
    it('a ${NAME} in a setting (organization) of a new node is not read', () => refused(ACCOUNT, accountBody({ orgId: '${PS_SEC_SECRET}' }, { apiKey: 'TYPEDKEY001', password: 'typed' }, null), 400, /reads the environment/));
    it('a ${NAME} base URL of a new node is not read', () => refused(ACCOUNT, accountBody({ baseUrl: '${PS_SEC_EVIL_URL}' }, { apiKey: 'TYPEDKEY001', password: 'typed' }, null), 400, /reads the environment/));
    it('a deployed ${NAME} setting is read, and its value is not echoed by an error', async () => {
      await helper.unload();
      process.env.PS_SEC_BAD_URL = `not a url ${SECRETS.env}`;
      try {
        await helper.load([accountNode], [{ ...account(), baseUrl: '${PS_SEC_BAD_URL}' }] as never, { acc: { apiKey: SECRETS.apiKey, email: 'owner@example.com', password: SECRETS.accountPassword } } as never);
        const res = await helper.request().post(ACCOUNT).send(accountBody({ baseUrl: '${PS_SEC_BAD_URL}' }));
        assert.equal(res.status, 400, res.text);
        assert.match(res.body.error, /base URL/);
        assertNoSecret(res.text, ALL, 'the answer');
        assert.deepEqual(stored.requests, []);
      } finally {
        delete process.env.PS_SEC_BAD_URL;
      }
    });
  });

  describe('stored destination secrets (Test destination)', () => {
    const dest = (id: string, config: Record<string, unknown>, credentials: Record<string, unknown>) => ({ id, config, credentials });
    const httpCfg = (extra: Record<string, unknown> = {}) => ({ kind: 'http', method: 'PUT', url: `${stored.url}/upload/{{asset.id}}`, auth: 'bearer', headers: [], ...extra });
    const sftpCfg = (extra: Record<string, unknown> = {}) => ({ kind: 'sftp', host: '127.0.0.1', port: stored.port, user: 'agency', hostKey: `SHA256:${'A'.repeat(43)}`, basePath: '/in', ...extra });
    const s3Cfg = (extra: Record<string, unknown> = {}) => ({ kind: 's3', endpoint: stored.url, region: 'eu-west-1', bucket: 'stored-bucket', forcePathStyle: true, ...extra });

    it('HTTP: goes to the stored URL when the dialog points there (control)', async () => {
      const res = await helper.request().post(DEST).send(dest('dhttp', httpCfg(), { token: '__PWRD__' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(stored.requests[0]?.headers.authorization, `Bearer ${SECRETS.bearer}`);
      assert.deepEqual(evil.requests, []);
    });
    it('HTTP: the token is not sent to another host', () => refused(DEST, dest('dhttp', httpCfg({ url: `${evil.url}/upload/{{asset.id}}` }), { token: '__PWRD__' }), 400, RETYPE));
    it('HTTP: nor to another path of the same origin', () => refused(DEST, dest('dhttp', httpCfg({ url: `${stored.url}/elsewhere/{{asset.id}}` }), { token: '__PWRD__' }), 400, RETYPE));
    it('HTTP: nor with certificate checks turned off', () => refused(DEST, dest('dhttp', httpCfg({ rejectUnauthorized: false }), { token: '__PWRD__' }), 400, RETYPE));
    it('HTTP: nor with another trusted CA', () => refused(DEST, dest('dhttp', httpCfg({ ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }), { token: '__PWRD__' }), 400, RETYPE));
    it('HTTP: nor with another Remove URL host', () => refused(DEST, dest('dhttp', httpCfg({ removeUrl: `${evil.url}/media/{{delivery.response.body.id}}` }), { token: '__PWRD__' }), 400, RETYPE));
    it('HTTP: the basic password is not sent for another user', () => refused(DEST, dest('dbasic', { kind: 'http', method: 'PUT', url: `${stored.url}/basic/{{asset.id}}`, auth: 'basic', httpUser: 'attacker' }, { httpPassword: '__PWRD__' }), 400, RETYPE));
    it('HTTP: a ${NAME} header value the deployed node does not have is not read', () => refused(DEST, dest('dhttp', httpCfg({ headers: [{ name: 'X-Leak', value: '${PS_SEC_SECRET}' }] }), { token: 'typed-token' }), 400, /environment reference .* that the deployed node does not have/));
    it('HTTP: the kind changed (to SFTP on the attacker\'s port) lends nothing', () => refused(DEST, dest('dhttp', sftpCfg({ port: tcpPort }), { password: '__PWRD__', token: '__PWRD__' }), 400, RETYPE));
    it('SFTP: the password is not sent to another host', () => refused(DEST, dest('dsftp', sftpCfg({ host: 'localhost', port: tcpPort }), { password: '__PWRD__' }), 400, RETYPE));
    it('SFTP: nor to another port', () => refused(DEST, dest('dsftp', sftpCfg({ port: tcpPort }), { password: '__PWRD__' }), 400, RETYPE));
    it('SFTP: nor for another user', () => refused(DEST, dest('dsftp', sftpCfg({ user: 'root' }), { password: '__PWRD__' }), 400, RETYPE));
    it('SFTP: nor with host key checking turned off', () => refused(DEST, dest('dsftp', sftpCfg({ insecureSkipHostKey: true, hostKey: '' }), { password: '__PWRD__' }), 400, RETYPE));
    it('SFTP: nor with another host key', () => refused(DEST, dest('dsftp', sftpCfg({ hostKey: `SHA256:${'B'.repeat(43)}` }), { password: '__PWRD__' }), 400, RETYPE));
    it('SFTP: nor into another remote folder', () => refused(DEST, dest('dsftp', sftpCfg({ basePath: '/etc' }), { password: '__PWRD__' }), 400, RETYPE));
    it('S3: the secret key is not sent to another endpoint', () => refused(DEST, dest('ds3', s3Cfg({ endpoint: evil.url }), { accessKeyId: 'AKIDSTORED', secretAccessKey: '__PWRD__' }), 400, RETYPE));
    it('S3: nor for another bucket', () => refused(DEST, dest('ds3', s3Cfg({ bucket: 'attacker-bucket' }), { accessKeyId: 'AKIDSTORED', secretAccessKey: '__PWRD__' }), 400, RETYPE));
    it('S3: nor in another region', () => refused(DEST, dest('ds3', s3Cfg({ region: 'us-east-1' }), { accessKeyId: 'AKIDSTORED', secretAccessKey: '__PWRD__' }), 400, RETYPE));
    it('S3: nor with virtual-hosted URLs instead of path-style (another host)', () => refused(DEST, dest('ds3', s3Cfg({ forcePathStyle: false }), { accessKeyId: 'AKIDSTORED', secretAccessKey: '__PWRD__' }), 400, RETYPE));
    it('S3: nor with another access key id', () => refused(DEST, dest('ds3', s3Cfg(), { accessKeyId: 'AKIDATTACKER', secretAccessKey: '__PWRD__' }), 400, RETYPE));
    it('S3: the session token goes with the stored secret key to the stored endpoint (control)', async () => {
      await helper.request().post(DEST).send(dest('ds3', s3Cfg(), { accessKeyId: 'AKIDSTORED', secretAccessKey: '__PWRD__', sessionToken: '__PWRD__' }));
      assert.equal(stored.requests[0]?.headers['x-amz-security-token'], SECRETS.s3Session);
      assert.deepEqual(evil.requests, []);
    });
    it('S3: the session token is not sent to another endpoint', () => refused(DEST, dest('ds3', s3Cfg({ endpoint: evil.url }), { accessKeyId: 'AKIDSTORED', secretAccessKey: 'typed-secret-key', sessionToken: '__PWRD__' }), 400, RETYPE));
    it('S3: nor for another bucket, with another storage class and part size (settings that are no place do not lend it either)', () =>
      refused(DEST, dest('ds3', s3Cfg({ bucket: 'attacker-bucket', storageClass: 'STANDARD_IA', partSizeMb: '16' }), { accessKeyId: 'AKIDSTORED', secretAccessKey: 'typed-secret-key', sessionToken: '__PWRD__' }), 400, RETYPE));
    it('folder: a ${NAME} base folder of a new node is not read (no probe file is written)', async () => {
      await refused(DEST, { config: { kind: 'folder', folder: '${PS_SEC_SECRET}' }, credentials: {} }, 400, /reads the environment/);
      assert.ok(!readdirSync(process.cwd()).includes(SECRETS.env), 'no folder was made');
    });
    it('a node of another package lends no password (its id is refused)', () => refused(DEST, dest('foreign', sftpCfg({ port: tcpPort }), { password: '__PWRD__' }), 403, /is not a deployed .* node/));
    it('an account lends nothing to a destination test', () => refused(DEST, dest('acc', httpCfg({ url: `${evil.url}/x` }), { token: '__PWRD__' }), 403, /is not a deployed .* node/));
    it('a destination lends nothing to a connection test', () => refused(ACCOUNT, accountBody({ baseUrl: `${evil.url}/psapi/v4.0` }, { apiKey: '__PWRD__' }, 'ds3'), 403, /is not a deployed .* node/));
    it('keys such as __proto__ in the settings change nothing', async () => {
      const body = JSON.parse(`{"id":"dhttp","config":{"__proto__":{"url":"${evil.url}/x"},"kind":"http","url":"${evil.url}/y","auth":"bearer"},"credentials":{"token":"__PWRD__","__proto__":{"token":"x"}}}`) as object;
      await refused(DEST, body, 400, RETYPE);
      assert.equal(({} as Record<string, unknown>).url, undefined, 'no prototype was changed');
    });
  });

  describe('the stored database password of a shared ledger (Test connection)', () => {
    const LEDGER = '/photoshelter/ledger/test';
    const body = (config: Record<string, unknown> = {}, credentials: Record<string, unknown> = { password: '__PWRD__' }, id: unknown = 'dledger') => ({
      id,
      config: { host: '127.0.0.1', port: dbPort, database: 'deliveries', user: 'deliver', tls: 'off', schema: 'photoshelter', lease: 30, ...config },
      credentials,
    });
    it('goes to the stored server when the dialog points there (control)', async () => {
      const res = await helper.request().post(LEDGER).send(body());
      assert.equal(res.status, 502, res.text);
      assert.ok(dbConnections > 0, 'the stored server was contacted');
      assertNoSecret(res.text, ALL, 'the answer');
      assert.equal(tcpConnections, 0);
    });
    it('is not sent to another port', () => refused(LEDGER, body({ port: tcpPort }), 400, RETYPE));
    it('is not sent to another host', () => refused(LEDGER, body({ host: 'localhost', port: tcpPort }), 400, RETYPE));
    it('is not sent for another database', () => refused(LEDGER, body({ database: 'other' }), 400, RETYPE));
    it('is not sent for another user', () => refused(LEDGER, body({ user: 'postgres' }), 400, RETYPE));
    it('is not sent with the certificate check turned off', () => refused(LEDGER, body({ tls: 'insecure' }), 400, RETYPE));
    it('is not sent with another trusted CA', () => refused(LEDGER, body({ tls: 'verify', ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }), 400, RETYPE));
    it('is not lent to a node that is not deployed', () => refused(LEDGER, body({ port: tcpPort }, { password: '__PWRD__' }, null), 400, /shows a stored secret, but this node is not deployed/));
    it('is not lent by a node of another type (a destination) or package', async () => {
      await refused(LEDGER, body({ port: tcpPort }, { password: '__PWRD__' }, 'dsftp'), 403, /is not a deployed .* node/);
      await refused(LEDGER, body({ port: tcpPort }, { password: '__PWRD__' }, 'foreign'), 403, /is not a deployed .* node/);
    });
    it('a ledger lends nothing to a destination test', () => refused(DEST, dest0('dledger', { kind: 'sftp', host: '127.0.0.1', port: tcpPort, user: 'agency', insecureSkipHostKey: true }, { password: '__PWRD__' }), 403, /is not a deployed .* node/));
    it('a ${NAME} password of a new node is not read', () => refused(LEDGER, body({ port: tcpPort }, { password: '${PS_SEC_SECRET}' }, null), 400, /reads the environment/));
    it('bad settings are a clear 400 and connect nowhere', async () => {
      const res = await helper.request().post(LEDGER).send(body({ schema: 'Robert"; DROP' }, { password: 'typed' }, null));
      assert.equal(res.status, 400, res.text);
      assert.match(res.body.error, /schema name/);
      assert.equal(dbConnections, 0);
    });
  });

  describe('values read from ${ENV} (the location preview): a preview shows settings, never an environment value that is not its deployed node\'s', () => {
    const secretFolder = { kind: 'folder', folder: '${PS_SEC_SECRET}', template: '{{asset.fileName}}' };
    /** The preview answers (as it does for a broken template) that it does not read the value: no location, nothing sent. */
    async function notRead(path: string, body: unknown, key: RegExp): Promise<void> {
      const res = await helper.request().post(path).send(body as object);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.ok, false, res.text);
      assert.equal(res.body.code, 'ECONFIG', res.text);
      assert.match(String(res.body.error), key, res.text);
      assert.equal(res.body.where, undefined, 'no location is shown');
      assertNoSecret(res.text, ALL, 'the answer');
      assert.ok(!res.text.includes(join(tmp, 'from-environment')), 'nor the deployed destination\'s folder');
      assert.deepEqual(evil.requests, [], 'the attacker received a request');
      assert.deepEqual(stored.requests, [], 'a request was sent for a refused preview');
    }
    it('destination preview: a ${NAME} setting of a new node is not read (no id)', () => notRead(PREVIEW_DEST, { destination: secretFolder, account: 'acc' }, /reads the environment/));
    it('destination preview: nor for an unknown id', () => notRead(PREVIEW_DEST, { id: 'no-such-node', destination: secretFolder, account: 'acc' }, /reads the environment/));
    it('destination preview: nor a ${NAME} the deployed node does not have there', () => notRead(PREVIEW_DEST, { id: 'dfolder', destination: secretFolder, account: 'acc' }, /environment reference .* that the deployed node does not have/));
    it('destination preview: nor another ${NAME} in place of the deployed one', () => notRead(PREVIEW_DEST, { id: 'denv', destination: secretFolder, account: 'acc' }, /environment reference .* that the deployed node does not have/));
    it('destination preview: nor through the id of a node of another type (a deliver node, an account, another package\'s)', async () => {
      for (const id of ['dlv', 'acc', 'foreign']) await refused(PREVIEW_DEST, { id, destination: secretFolder, account: 'acc' }, 403, /is not a deployed .* node/);
    });
    it('deliver preview: a ${NAME} in the destination\'s settings is not read, even with the id of the deployed destination that has it', async () => {
      for (const id of [undefined, 'dlv', 'denv']) {
        await notRead(PREVIEW_DELIVER, { id, destination: { kind: 'folder', folder: '${PS_SEC_DIR}' }, template: '{{asset.fileName}}', account: 'acc' }, /reads no environment value of a destination/);
      }
      await notRead(PREVIEW_DELIVER, { id: 'dlv', destination: { kind: 'sftp', host: '${PS_SEC_SECRET}' }, account: 'acc' }, /reads no environment value of a destination/);
    });
    it('deliver preview: a ${NAME} template of a new deliver node is not read', () => notRead(PREVIEW_DELIVER, { destination: { kind: 'folder', folder: join(tmp, 'x') }, template: '${PS_SEC_SECRET}', account: 'acc' }, /reads the environment/));
    it('deliver preview: nor through the id of a destination', () => refused(PREVIEW_DELIVER, { id: 'denv', destination: { kind: 'folder', folder: join(tmp, 'x') }, template: '${PS_SEC_SECRET}', account: 'acc' }, 403, /is not a deployed .* node/));
    it('the deployed nodes\' own references are read (control): the destination\'s folder, the deliver node\'s template', async () => {
      const dest = await helper.request().post(PREVIEW_DEST).send({ id: 'denv', destination: { kind: 'folder', folder: '${PS_SEC_DIR}', template: '{{asset.fileName}}' } });
      assert.equal(dest.status, 200, dest.text);
      assert.equal(dest.body.ok, true, dest.text);
      assert.equal(dest.body.where, join(tmp, 'from-environment', 'Finish line.jpg'));
      const own = await helper.request().post(PREVIEW_DELIVER).send({ id: 'dlv', destination: { kind: 'folder', folder: join(tmp, 'x') }, template: '${PS_SEC_SECRET}' });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body.location, SECRETS.env, 'the deployed deliver node\'s own reference, resolved as its delivery would');
      assert.deepEqual(evil.requests, []);
    });
  });

  describe('cross-site requests (class 2)', () => {
    const POSTS: Array<[string, string]> = [
      ['Test connection', ACCOUNT],
      ['Test destination', DEST],
      ['poll now', '/photoshelter/trigger/some-trigger/poll'],
      ['Test connection of a shared ledger', '/photoshelter/ledger/test'],
      ['the deliver dialog\'s location preview', PREVIEW_DELIVER],
      ['the destination dialog\'s location preview', PREVIEW_DEST],
    ];
    const FORMS: Array<[string, string, string]> = [
      ['a form post (application/x-www-form-urlencoded)', 'application/x-www-form-urlencoded', 'id=acc&config[baseUrl]=x&credentials[apiKey]=__PWRD__'],
      ['a text/plain post', 'text/plain', '{"id":"acc","config":{},"credentials":{"apiKey":"__PWRD__"}}'],
      ['a multipart/form-data post', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="id"\r\n\r\nacc\r\n--x--\r\n'],
      ['a JSON body labelled application/x-json', 'application/x-json', '{"id":"acc"}'],
    ];
    for (const [name, path] of POSTS) {
      for (const [what, type, body] of FORMS) {
        it(`${name}: ${what} is refused with 415`, async () => {
          const res = await helper.request().post(path).set('content-type', type).send(body);
          assert.equal(res.status, 415, res.text);
          assert.match(res.body.error, /must carry JSON/);
          assert.deepEqual(stored.requests, []);
          assert.deepEqual(evil.requests, []);
        });
      }
      it(`${name}: a post with no content type (fetch no-cors) is refused with 415`, async () => {
        const res = await helper.request().post(path);
        assert.equal(res.status, 415, res.text);
        assert.deepEqual(stored.requests, []);
      });
      it(`${name}: a JSON post from a page of another origin is refused with 403`, async () => {
        const res = await helper.request().post(path).set('origin', 'http://evil.example').send(accountBody({}));
        assert.equal(res.status, 403, res.text);
        assert.match(res.body.error, /page of another web site/);
        assert.deepEqual(stored.requests, []);
      });
      it(`${name}: a JSON post from a sandboxed page (Origin: null) is refused with 403`, async () => {
        const res = await helper.request().post(path).set('origin', 'null').send(accountBody({}));
        assert.equal(res.status, 403, res.text);
        assert.deepEqual(stored.requests, []);
      });
      it(`${name}: a JSON post from another port of the same host (same-site) is refused with 403`, async () => {
        const res = await helper.request().post(path).set('origin', `http://127.0.0.1:${evil.port}`).set('sec-fetch-site', 'same-site').send(accountBody({}));
        assert.equal(res.status, 403, res.text);
        assert.deepEqual(stored.requests, []);
      });
    }
    for (const path of ['/photoshelter/account/acc/tree', '/photoshelter/account/acc/fields']) {
      it(`GET ${path} from another origin is refused with 403 (the library stays private)`, async () => {
        const res = await helper.request().get(path).set('origin', 'http://evil.example').set('sec-fetch-site', 'cross-site');
        assert.equal(res.status, 403, res.text);
        assert.deepEqual(stored.requests, [], 'nothing was asked of PhotoShelter');
      });
    }
    it('a picker asks only for a collection id as parent (no path of the API can be slipped in)', async () => {
      const res = await helper.request().get('/photoshelter/account/acc/tree?parent=../../users/session');
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(stored.requests, []);
    });
    it('the editor\'s own same-origin JSON request is taken (control)', async () => {
      const res = await helper.request().post(DEST).set('origin', `http://127.0.0.1:${0}`).set('host', `127.0.0.1:${0}`).send({ config: { kind: 'folder', folder: join(tmp, 'ok') } });
      assert.equal(res.status, 200, res.text);
    });
  });
});

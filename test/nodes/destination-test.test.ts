/**
 * The destination dialog's "Test destination": POST /photoshelter/destination/test checks the dialog's
 * settings against a real folder, HTTP server, SFTP server (the simulator's SFTP target) and an
 * S3-compatible stand-in, without delivering anything, and answers with a catalogue message that never
 * carries a secret.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import destinationNode from '../../src/nodes/photoshelter-destination';
import { fingerprintOf } from '../../src/core/deliver/sftp/destination';
import { startSftpTarget, type SftpTarget, generateEd25519 } from '../../src/simulator/sftp';
import { elsewhereUnlessPermissionsApply } from '../helpers/permissions';

helper.init(require.resolve('node-red'));

// The test helper's RED._ answers the key itself; the runtime answers from the catalogue. These tests
// read the answers, so they get the catalogue's text, interpolated the way Node-RED does (__name__).
const CATALOGUE = JSON.parse(readFileSync(join(__dirname, '../../nodes/locales/en-US/photoshelter-destination.json'), 'utf8')) as Record<string, unknown>;
function translate(key: string, values: Record<string, unknown> = {}): string {
  let o: unknown = CATALOGUE;
  for (const part of key.split('.')) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[part] : undefined;
  if (typeof o !== 'string') throw new Error(`no catalogue entry ${key}`);
  return o.replace(/__(\w+)__/g, (_m, name: string) => String(values[name] ?? `__${name}__`));
}
type RedApi = Parameters<typeof destinationNode>[0];
const withCatalogue = (RED: RedApi): RedApi => new Proxy(RED, { get: (target, prop, receiver) => (prop === '_' ? translate : Reflect.get(target, prop, receiver)) });
const destination = (RED: RedApi) => destinationNode(withCatalogue(RED));

interface Answer {
  ok: boolean;
  message?: string;
  warning?: boolean;
  key?: string;
  error?: string;
  code?: string;
}

describe('photoshelter-destination: Test destination (admin endpoint)', function () {
  this.timeout(30_000);
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-dest-test-'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
  });

  /** A deployed destination node `dest` (for stored credentials), then one test request. */
  async function probe(config: Record<string, unknown>, credentials: Record<string, unknown> = {}, stored: { config?: Record<string, unknown>; credentials?: Record<string, string> } = {}, id = 'dest'): Promise<{ status: number; body: Answer; text: string }> {
    await helper.unload();
    const flow = [{ id: 'dest', type: 'photoshelter-destination', name: 'stored', kind: 'folder', folder: tmp, ...(stored.config ?? {}) }];
    await helper.load(destination, flow as never, { dest: stored.credentials ?? {} });
    const res = await helper.request().post('/photoshelter/destination/test').send({ id, config, credentials });
    return { status: res.status, body: res.body as Answer, text: res.text };
  }

  describe('folder', () => {
    it('passes for a writable folder, and leaves nothing behind', async () => {
      const dir = mkdtempSync(join(tmp, 'ok-'));
      const r = await probe({ kind: 'folder', folder: dir });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.ok, true);
      assert.equal(r.body.key, 'folderOk');
      assert.ok(r.body.message?.includes(dir), r.body.message);
      assert.match(r.body.message ?? '', /writable/);
      assert.deepEqual(readdirSync(dir), [], 'the probe file was removed');
    });

    it('creates a missing folder, as the first delivery would, and says so', async () => {
      const dir = join(tmp, 'new', 'deeper');
      const r = await probe({ kind: 'folder', folder: dir });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 'folderCreated');
      assert.match(r.body.message ?? '', /did not exist/);
      assert.ok(existsSync(dir));
      assert.deepEqual(readdirSync(dir), []);
    });

    it('with "create the base folder" off, a missing folder fails and names it; nothing is created', async () => {
      const dir = join(tmp, 'mistyped', 'deeper');
      const r = await probe({ kind: 'folder', folder: dir, createBase: false });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'ENOFOLDER');
      assert.ok(r.body.error?.includes(`The base folder ${dir} does not exist`), r.body.error);
      assert.equal(existsSync(join(tmp, 'mistyped')), false);
    });

    it('answers at once for a folder under /proc, where folders cannot be made', async function () {
      if (!existsSync('/proc/self/status')) this.skip();
      const r = await probe({ kind: 'folder', folder: '/proc/ps-dest-test/deeper', createBase: true });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'EFOLDER');
      assert.match(r.body.error ?? '', /^Test failed: The folder \/proc\/ps-dest-test cannot be created/);
    });

    it('fails for a file in the place of the folder, and for a folder without a base', async () => {
      const file = join(tmp, 'a-file');
      writeFileSync(file, 'x');
      const r = await probe({ kind: 'folder', folder: file });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.code, 'ENOTDIR');
      assert.match(r.body.error ?? '', /^Test failed: .*not a folder/);
      const none = await probe({ kind: 'folder', folder: '' });
      assert.equal(none.status, 400, none.text);
      assert.equal(none.body.code, 'ECONFIG');
    });

    it('fails for a folder it may not write to', async function () {
      if (await elsewhereUnlessPermissionsApply(this, __filename)) return; // root: run without CAP_DAC_OVERRIDE
      const dir = mkdtempSync(join(tmp, 'ro-'));
      chmodSync(dir, 0o500);
      try {
        const r = await probe({ kind: 'folder', folder: dir });
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body.code, 'EACCES');
        assert.match(r.body.error ?? '', /Permission denied/);
      } finally {
        chmodSync(dir, 0o700);
      }
    });

    it('reads a whole-value ${NAME} from the environment, for a deployed node with that setting only', async () => {
      const dir = mkdtempSync(join(tmp, 'env-'));
      process.env.PS_DEST_TEST_FOLDER = dir;
      try {
        const r = await probe({ kind: 'folder', folder: '${PS_DEST_TEST_FOLDER}' }, {}, { config: { folder: '${PS_DEST_TEST_FOLDER}' } });
        assert.equal(r.status, 200, r.text);
        assert.ok(r.body.message?.includes(dir), r.body.message);
        // a reference the deployed node does not have is not read
        const other = await probe({ kind: 'folder', folder: '${PS_DEST_TEST_FOLDER}' });
        assert.equal(other.status, 400, other.text);
        assert.ok(!other.text.includes(dir), other.text);
      } finally {
        delete process.env.PS_DEST_TEST_FOLDER;
      }
    });
  });

  describe('HTTP', () => {
    let server: Server;
    let base: string;
    let seen: Array<{ method: string; url: string; authorization?: string }>;
    let status = 200;

    before(async () => {
      server = createServer((req: IncomingMessage, res) => {
        seen.push({ method: String(req.method), url: String(req.url), authorization: req.headers.authorization });
        if (req.headers.authorization !== 'Bearer right-token') return void res.writeHead(401).end();
        res.writeHead(status).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    beforeEach(() => {
      seen = [];
      status = 200;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('reaches the host and reports the HEAD of the URL up to its first template, with the authentication', async () => {
      const r = await probe({ kind: 'http', method: 'PUT', url: `${base}/files/{{asset.id}}/{{asset.fileName}}`, auth: 'bearer' }, { token: 'right-token' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 'httpOk');
      assert.deepEqual(seen, [{ method: 'HEAD', url: '/files/', authorization: 'Bearer right-token' }]);
      assert.match(r.body.message ?? '', /HEAD http:\/\/127\.0\.0\.1:\d+\/files\/ answered 200/);
      assert.ok(!r.text.includes('right-token'));
    });

    it('warns when the server answers with an error status, and fails when it refuses the credentials', async () => {
      status = 404;
      const warn = await probe({ kind: 'http', url: `${base}/nothing-here`, auth: 'bearer' }, { token: 'right-token' });
      assert.equal(warn.status, 200, warn.text);
      assert.equal(warn.body.warning, true);
      assert.match(warn.body.message ?? '', /answered 404: check the URL/);
      const refused = await probe({ kind: 'http', url: `${base}/media`, auth: 'bearer' }, { token: 'wrong-token-value' });
      assert.equal(refused.status, 502, refused.text);
      assert.equal(refused.body.code, 'EAUTH');
      assert.match(refused.body.error ?? '', /answered 401/);
      assert.ok(!refused.text.includes('wrong-token-value'), 'no secret in the answer');
    });

    it('takes an unchanged secret (__PWRD__) from the deployed node, and the URL from ${NAME}', async () => {
      process.env.PS_DEST_TEST_URL = `${base}/upload`;
      try {
        const r = await probe({ kind: 'http', url: '${PS_DEST_TEST_URL}', auth: 'bearer' }, { token: '__PWRD__' }, { config: { kind: 'http', url: '${PS_DEST_TEST_URL}' }, credentials: { token: 'right-token' } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(seen.map((s) => [s.url, s.authorization]), [['/upload', 'Bearer right-token']]);
      } finally {
        delete process.env.PS_DEST_TEST_URL;
      }
    });

    it('fails clearly when nothing listens there, and for a URL without a fixed host', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const r = await probe({ kind: 'http', url: `http://127.0.0.1:${port}/x` });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'ENETWORK');
      assert.match(r.body.error ?? '', /ECONNREFUSED/);
      const bad = await probe({ kind: 'http', url: '{{asset.url}}' });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.code, 'ECONFIG');
    });
  });

  describe('SFTP', () => {
    let target: SftpTarget;
    let root: string;
    const hostKey = generateEd25519();
    const fingerprint = fingerprintOf(Buffer.from(hostKey.public.trim().split(/\s+/)[1], 'base64')).sha256;
    const other = generateEd25519();
    const otherFingerprint = fingerprintOf(Buffer.from(other.public.trim().split(/\s+/)[1], 'base64')).sha256;

    before(async () => {
      root = mkdtempSync(join(tmp, 'sftp-'));
      target = await startSftpTarget({ root, password: 'sftp-secret-pw', hostKey: hostKey.private });
    });
    after(async () => {
      await target.close();
    });
    const config = (extra: Record<string, unknown> = {}) => ({ kind: 'sftp', host: '127.0.0.1', port: String(target.port), user: 'deliver', hostKey: fingerprint, basePath: '/', ...extra });

    it('signs in with the host key checked and finds the remote folder; writes nothing', async () => {
      const r = await probe(config(), { password: 'sftp-secret-pw' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 'sftpOk');
      assert.ok(r.body.message?.includes(fingerprint), r.body.message);
      assert.deepEqual(readdirSync(root), []);
      assert.ok(!r.text.includes('sftp-secret-pw'));
    });

    it('refuses another host key, and says which key the server presented', async () => {
      const r = await probe(config({ hostKey: otherFingerprint }), { password: 'sftp-secret-pw' });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.code, 'EHOSTKEY');
      assert.ok(r.body.error?.includes(fingerprint), r.body.error);
    });

    it('says when the host key was not checked', async () => {
      const r = await probe(config({ hostKey: '', insecureSkipHostKey: true }), { password: 'sftp-secret-pw' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 'sftpUnchecked');
      assert.match(r.body.message ?? '', /NOT checked/);
    });

    it('fails a wrong password without echoing it, and a missing remote folder', async () => {
      const wrong = await probe(config(), { password: 'not-the-sftp-password' });
      assert.equal(wrong.status, 502, wrong.text);
      assert.equal(wrong.body.code, 'EAUTH');
      assert.ok(!wrong.text.includes('not-the-sftp-password'));
      const missing = await probe(config({ basePath: '/no/such/folder' }), { password: 'sftp-secret-pw' });
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.body.code, 'ENOENT');
    });

    it('uses the stored password for an unchanged field (__PWRD__)', async () => {
      const r = await probe(config(), { password: '__PWRD__' }, { config: config(), credentials: { password: 'sftp-secret-pw' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 'sftpOk');
    });
  });

  describe('S3', () => {
    let server: Server;
    let endpoint: string;
    let seen: Array<{ method: string; url: string; authorization: string }>;

    before(async () => {
      // a stand-in that knows one bucket and one access key; it reads who signed, not the signature
      server = createServer((req, res) => {
        const authorization = String(req.headers.authorization ?? '');
        seen.push({ method: String(req.method), url: String(req.url), authorization });
        if (!authorization.startsWith('AWS4-HMAC-SHA256 Credential=AKIDTEST/')) return void res.writeHead(403).end();
        res.writeHead(req.url === '/photos/' || req.url === '/photos' ? 200 : 404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    beforeEach(() => {
      seen = [];
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const config = (bucket: string) => ({ kind: 's3', endpoint, region: 'us-east-1', bucket, forcePathStyle: true });

    it('sends a signed HeadBucket and reports the bucket', async () => {
      const r = await probe(config('photos'), { accessKeyId: 'AKIDTEST', secretAccessKey: 's3-secret-key' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.key, 's3Ok');
      assert.equal(seen.length, 1);
      assert.equal(seen[0].method, 'HEAD');
      assert.match(seen[0].authorization, /SignedHeaders=.*Signature=[0-9a-f]{64}/);
      assert.ok(!r.text.includes('s3-secret-key'));
    });

    it('fails for a missing bucket and for refused keys', async () => {
      const missing = await probe(config('nope'), { accessKeyId: 'AKIDTEST', secretAccessKey: 's3-secret-key' });
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.body.code, 'ENOTFOUND');
      const refused = await probe(config('photos'), { accessKeyId: 'AKIDOTHER', secretAccessKey: 's3-secret-key' });
      assert.equal(refused.status, 502, refused.text);
      assert.equal(refused.body.code, 'EAUTH');
      assert.ok(!refused.text.includes('s3-secret-key'));
    });
  });

  it('is behind the destination write permission', async () => {
    const asked: string[] = [];
    type Handler = (req: { headers: Record<string, string | undefined> }, res: { status(n: number): { end(): void } }, next: () => void) => void;
    const guarded = (RED: RedApi) =>
      destination(
        new Proxy(RED, {
          get(target, prop, receiver) {
            if (prop !== 'auth') return Reflect.get(target, prop, receiver);
            return {
              needsPermission(permission: string): Handler {
                asked.push(permission);
                return (req, res, next) => (req.headers['x-grant'] === permission ? next() : res.status(401).end());
              },
            };
          },
        }),
      );
    const dir = mkdtempSync(join(tmp, 'perm-'));
    await helper.load(guarded, [{ id: 'dest', type: 'photoshelter-destination', kind: 'folder', folder: dir }] as never, {});
    // Test destination and the location preview
    assert.deepEqual(asked, ['photoshelter-destination.write', 'photoshelter-destination.write']);
    const body = { id: 'dest', config: { kind: 'folder', folder: join(dir, 'made') }, credentials: {} };
    await helper.request().post('/photoshelter/destination/test').send(body).expect(401);
    await helper.request().post('/photoshelter/destination/test').set('x-grant', 'photoshelter-destination.read').send(body).expect(401);
    assert.ok(!existsSync(join(dir, 'made')), 'nothing was done without the permission');
    await helper.request().post('/photoshelter/destination/test').set('x-grant', 'photoshelter-destination.write').send(body).expect(200);
    assert.ok(existsSync(join(dir, 'made')));
  });
});

/**
 * Transport (class 9): the SFTP private key is a multi-line credential. Pasted as the destination dialog's
 * text area gives it (also with Windows line ends, or flattened onto one line by an older one-line field),
 * it signs in through Test destination with the host key checked; a key that is no key, or a wrong
 * passphrase, is a clear error that echoes nothing of it, and no connection is made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import destinationModule from '../../src/nodes/photoshelter-destination';
import { startSftpTarget, generateEd25519, type SftpTarget } from '../../src/simulator/sftp';
import { assertNoSecret, withCatalogue } from './helpers';

helper.init(require.resolve('node-red'));
const destinationNode = withCatalogue(destinationModule);

describe('security: transport (class 9), the SFTP private key', function () {
  this.timeout(30_000);
  let tmp: string;
  let server: SftpTarget;
  const key = generateEd25519({ comment: 'deliver@photoshelter' });
  const encrypted = generateEd25519({ passphrase: 'right passphrase', cipher: 'aes256-ctr', rounds: 4 } as never);

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-sec-key-'));
    server = await startSftpTarget({ root: join(tmp, 'root'), user: 'agency', publicKey: key.public });
  });
  after(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
  });

  async function test(privateKey: string, passphrase?: string) {
    await helper.load(destinationNode, [{ id: 'd', type: 'photoshelter-destination', kind: 'folder', folder: tmp }] as never);
    const config = { kind: 'sftp', host: server.host, port: server.port, user: 'agency', hostKey: server.hostKeyFingerprint, basePath: '' };
    return helper.request().post('/photoshelter/destination/test').send({ config, credentials: { privateKey, ...(passphrase ? { passphrase } : {}) } });
  }

  it('a pasted OpenSSH key (several lines) signs in, with the host key checked', async () => {
    assert.ok(key.private.split('\n').length > 3, 'the key has several lines');
    const res = await test(key.private);
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.message, /Signed in to .* \(host key SHA256:.* as configured\)/);
  });
  it('the same key with Windows line ends signs in', async () => {
    const res = await test(key.private.replace(/\n/g, '\r\n'));
    assert.equal(res.status, 200, res.text);
  });
  it('the same key flattened onto one line (an older one-line field) signs in', async () => {
    const res = await test(key.private.replace(/\n/g, ''));
    assert.equal(res.status, 200, res.text);
  });
  it('an encrypted key with its passphrase signs in', async () => {
    const other = await startSftpTarget({ root: join(tmp, 'root2'), user: 'agency', publicKey: encrypted.public });
    try {
      await helper.load(destinationNode, [{ id: 'd', type: 'photoshelter-destination', kind: 'folder', folder: tmp }] as never);
      const config = { kind: 'sftp', host: other.host, port: other.port, user: 'agency', hostKey: other.hostKeyFingerprint };
      const res = await helper.request().post('/photoshelter/destination/test').send({ config, credentials: { privateKey: encrypted.private, passphrase: 'right passphrase' } });
      assert.equal(res.status, 200, res.text);
    } finally {
      await other.close();
    }
  });
  it('an encrypted key with a wrong passphrase is a clear error, with nothing of either in it, and no connection', async () => {
    const before = server.connectionCount;
    await helper.load(destinationNode, [{ id: 'd', type: 'photoshelter-destination', kind: 'folder', folder: tmp }] as never);
    const config = { kind: 'sftp', host: server.host, port: server.port, user: 'agency', hostKey: server.hostKeyFingerprint };
    const res = await helper.request().post('/photoshelter/destination/test').send({ config, credentials: { privateKey: encrypted.private, passphrase: 'wrong passphrase' } });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error, /could not be decrypted: check the passphrase/);
    assertNoSecret(res.text, ['wrong passphrase', encrypted.private.split('\n')[2]], 'the answer');
    assert.equal(server.connectionCount, before);
  });
  it('text that is no key is a clear error that does not echo it, and no connection is made', async () => {
    const before = server.connectionCount;
    const junk = '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCBzZWNyZXQtbWF0ZXJpYWw=\n-----END OPENSSH PRIVATE KEY-----';
    const res = await test(junk);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error, /private key could not be read: paste it in OpenSSH or PEM format/);
    assertNoSecret(res.text, ['bm90IGEga2V5IGF0IGFsbCBzZWNyZXQtbWF0ZXJpYWw='], 'the answer');
    assert.equal(server.connectionCount, before);
  });
});

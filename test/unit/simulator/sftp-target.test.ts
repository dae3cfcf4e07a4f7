// The SFTP target of the demo and the example tests: what the SFTP destination needs of it, a host key
// that survives a restart, password checks, and no way out of the served folder.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';
import { createSftpDestination, fetchHostKeyFingerprint, parseHostKeySetting } from '../../../src/core/deliver/sftp/destination';
import { DeliverError } from '../../../src/core/deliver/types';
import { startSftpTarget, type SftpTarget, generateEd25519 } from '../../../src/simulator/sftp';

const USER = 'agency';
const PASSWORD = 'agency-password';

function sftpSession(port: number, password = PASSWORD): Promise<{ client: Client; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username: USER, password, hostVerifier: () => true, readyTimeout: 5000 });
  });
}

const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

describe('simulator: SFTP target', function () {
  this.timeout(20_000);
  let dir: string;
  let root: string;
  let target: SftpTarget | undefined;
  const signal = new AbortController().signal;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-sftp-target-'));
    root = path.join(dir, 'agency');
  });
  afterEach(async () => {
    await target?.close();
    target = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('presents the fingerprint it reports, in the form the destination takes, and keeps it across starts', async () => {
    target = await startSftpTarget({ root, user: USER, password: PASSWORD });
    assert.match(target.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.ok(parseHostKeySetting(target.hostKeyFingerprint), 'the destination parses it');
    const seen = await fetchHostKeyFingerprint('127.0.0.1', target.port);
    assert.equal(seen.sha256, target.hostKeyFingerprint);
    assert.equal(seen.keyType, 'ssh-ed25519');
    const first = target.hostKeyFingerprint;
    const keyFile = `${root}.host_key`;
    assert.ok(fs.existsSync(keyFile), 'the host key is kept next to the served folder');
    assert.equal(fs.statSync(keyFile).mode & 0o077, 0, 'and readable by its owner only');
    await target.close();
    target = await startSftpTarget({ root, user: USER, password: PASSWORD });
    assert.equal(target.hostKeyFingerprint, first, 'a second start keeps the fingerprint');
    assert.equal((await fetchHostKeyFingerprint('127.0.0.1', target.port)).sha256, first);
    // an explicit key file elsewhere gives another key
    await target.close();
    target = await startSftpTarget({ root, user: USER, password: PASSWORD, hostKeyFile: path.join(dir, 'keys', 'other') });
    assert.notEqual(target.hostKeyFingerprint, first);
  });

  it('takes deliveries from the SFTP destination: nested folders, bytes, overwrite, remove', async () => {
    target = await startSftpTarget({ root, user: USER, password: PASSWORD });
    const d = createSftpDestination({ host: '127.0.0.1', port: target.port, user: USER, password: PASSWORD, hostKey: target.hostKeyFingerprint, basePath: 'photoshelter' });
    try {
      const data = Buffer.alloc(300_000, 7);
      for (let i = 0; i < data.length; i += 997) data[i] = i & 0xff;
      const res = await d.put({ location: 'Brand Assets/Läufer 1.jpg', body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), signal });
      assert.equal(res.bytes, data.length);
      const local = path.join(root, 'photoshelter', 'Brand Assets', 'Läufer 1.jpg');
      assert.equal(createHash('sha256').update(fs.readFileSync(local)).digest('hex'), createHash('sha256').update(data).digest('hex'));
      // a second version replaces the first (the target refuses a plain rename over a file, like OpenSSH)
      await d.put({ location: 'Brand Assets/Läufer 1.jpg', body: Readable.from([Buffer.from('second')]), signal });
      assert.equal(fs.readFileSync(local, 'utf8'), 'second');
      assert.deepEqual(fs.readdirSync(path.dirname(local)), ['Läufer 1.jpg'], 'no temporary file left');
      assert.ok(target.ops.includes('REMOVE') && target.ops.includes('RENAME'));
      assert.deepEqual(await d.remove('Brand Assets/Läufer 1.jpg', signal), { removed: true });
      assert.equal(fs.existsSync(local), false);
      assert.deepEqual(await d.remove('Brand Assets/Läufer 1.jpg', signal), { removed: false });
    } finally {
      await d.close();
    }
  });

  it('refuses a wrong password', async () => {
    target = await startSftpTarget({ root, user: USER, password: PASSWORD });
    const d = createSftpDestination({ host: '127.0.0.1', port: target.port, user: USER, password: 'wrong', hostKey: target.hostKeyFingerprint });
    try {
      await assert.rejects(d.put({ location: 'x.txt', body: Readable.from([Buffer.from('x')]), signal }), (e: unknown) => e instanceof DeliverError && e.code === 'EAUTH');
      assert.deepEqual(fs.readdirSync(root), []);
    } finally {
      await d.close();
    }
  });

  it('checks the user name, and takes a key login when given a public key', async () => {
    const pair = generateEd25519();
    target = await startSftpTarget({ root, user: USER, password: PASSWORD, publicKey: pair.public });
    const base = { host: '127.0.0.1', port: target.port, hostKey: target.hostKeyFingerprint };
    const wrongUser = createSftpDestination({ ...base, user: 'someone-else', password: PASSWORD });
    const byKey = createSftpDestination({ ...base, user: USER, privateKey: pair.private });
    const otherKey = createSftpDestination({ ...base, user: USER, privateKey: generateEd25519().private });
    try {
      await assert.rejects(wrongUser.put({ location: 'u.txt', body: Readable.from([Buffer.from('u')]), signal }), (e: unknown) => e instanceof DeliverError && e.code === 'EAUTH');
      await assert.rejects(otherKey.put({ location: 'o.txt', body: Readable.from([Buffer.from('o')]), signal }), (e: unknown) => e instanceof DeliverError && e.code === 'EAUTH');
      await byKey.put({ location: 'k.txt', body: Readable.from([Buffer.from('key')]), signal });
      assert.deepEqual(fs.readdirSync(root), ['k.txt']);
      assert.equal(target.connectionCount, 3);
    } finally {
      await Promise.all([wrongUser.close(), byKey.close(), otherKey.close()]);
    }
  });

  it('keeps every path inside the served folder, and lists and reads files', async () => {
    target = await startSftpTarget({ root, user: USER, password: PASSWORD });
    const { client, sftp } = await sftpSession(target.port);
    try {
      await call((cb) => sftp.writeFile('/../../escape.txt', 'inside', cb));
      await call((cb) => sftp.writeFile('../up.txt', 'inside too', cb));
      assert.equal(fs.readFileSync(path.join(root, 'escape.txt'), 'utf8'), 'inside');
      assert.equal(fs.readFileSync(path.join(root, 'up.txt'), 'utf8'), 'inside too');
      assert.equal(fs.existsSync(path.join(dir, 'escape.txt')), false);
      assert.equal(fs.existsSync(path.join(dir, 'up.txt')), false);
      const list = await call<Array<{ filename: string; attrs: { size: number } }>>((cb) => sftp.readdir('/', cb));
      assert.deepEqual(list.map((e) => `${e.filename}:${e.attrs.size}`).sort(), ['escape.txt:6', 'up.txt:10']);
      assert.equal(String(await call<Buffer>((cb) => sftp.readFile('up.txt', cb))), 'inside too');
      assert.equal(await call<string>((cb) => sftp.realpath('a/../../b', cb)), '/b');
    } finally {
      client.end();
    }
  });
});

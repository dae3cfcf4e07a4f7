// The SFTP destination against a real OpenSSH server (test/e2e/openssh.ts): password and key logins, the
// host key checked against what `ssh-keygen -lf` prints, atomic overwrite through posix-rename, remove.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createSftpDestination, fetchHostKeyFingerprint, type SftpDestinationConfig } from '../../src/core/deliver/sftp/destination';
import { DeliverError, type Destination } from '../../src/core/deliver/types';
import { openSshUnavailable, startOpenSsh, type OpenSshServer } from './openssh';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function chunks(data: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

describe('e2e: SFTP destination against OpenSSH', function () {
  this.timeout(60_000);
  let sshd: OpenSshServer;
  let base: string;
  const opened: Destination[] = [];
  const signal = new AbortController().signal;

  before(async function () {
    const why = openSshUnavailable();
    if (why) {
      console.warn(`      skipped: ${why}`);
      this.skip();
    }
    sshd = await startOpenSsh();
    base = `deliver-e2e-${randomBytes(4).toString('hex')}`;
  });

  after(async () => {
    await Promise.all(opened.map((d) => d.close()));
    if (sshd) {
      rmSync(join(sshd.home, base), { recursive: true, force: true });
      await sshd.stop();
    }
  });

  const open = (extra: SftpDestinationConfig = {}): Destination => {
    const d = createSftpDestination({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      password: sshd.password,
      hostKey: sshd.fingerprint,
      basePath: base,
      ...extra,
    });
    opened.push(d);
    return d;
  };
  const local = (rel: string): string => join(sshd.home, base, rel);

  it('puts a file into new nested folders, byte for byte, with no temporary file left', async () => {
    const d = open();
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const res = await d.put({ location: d.resolve('2024/spring campaign/Läufer.jpg'), body: chunks(data), signal });
    assert.deepEqual(res, { location: '2024/spring campaign/Läufer.jpg', bytes: data.length });
    assert.equal(sha(readFileSync(local('2024/spring campaign/Läufer.jpg'))), sha(data));
    assert.deepEqual(readdirSync(local('2024/spring campaign')), ['Läufer.jpg']);
  });

  it('overwrites atomically (posix-rename), skips and fails by policy', async () => {
    const d = open({ fsync: true });
    await d.put({ location: 'o/file.bin', body: chunks(Buffer.from('first')), signal });
    const inode = statSync(local('o/file.bin')).ino;
    const data = randomBytes(500_000);
    const res = await d.put({ location: 'o/file.bin', body: chunks(data), signal });
    assert.equal(res.bytes, data.length);
    assert.equal(sha(readFileSync(local('o/file.bin'))), sha(data));
    assert.notEqual(statSync(local('o/file.bin')).ino, inode, 'replaced by rename, not rewritten in place');
    const skipped = await d.put({ location: 'o/file.bin', body: chunks(Buffer.from('x')), signal, overwrite: 'skip' });
    assert.equal(skipped.skipped, true);
    await assert.rejects(
      d.put({ location: 'o/file.bin', body: chunks(Buffer.from('x')), signal, overwrite: 'fail' }),
      (e: unknown) => e instanceof DeliverError && e.code === 'EEXIST',
    );
    assert.equal(sha(readFileSync(local('o/file.bin'))), sha(data));
    assert.deepEqual(readdirSync(local('o')), ['file.bin']);
  });

  it('removes, and reports what was not there', async () => {
    const d = open();
    await d.put({ location: 'r/gone.txt', body: chunks(Buffer.from('bye')), signal });
    assert.deepEqual(await d.remove('r/gone.txt', signal), { removed: true });
    assert.equal(existsSync(local('r/gone.txt')), false);
    assert.deepEqual(await d.remove('r/gone.txt', signal), { removed: false });
  });

  it('logs in with a private key and checks the MD5 form of the fingerprint', async () => {
    const d = open({ password: undefined, privateKey: sshd.privateKey, hostKey: sshd.fingerprintMd5 });
    await d.put({ location: 'k/key.txt', body: chunks(Buffer.from('key')), signal });
    assert.equal(readFileSync(local('k/key.txt'), 'utf8'), 'key');
  });

  it('reads the same fingerprint as ssh-keygen -lf', async () => {
    const fp = await fetchHostKeyFingerprint(sshd.host, sshd.port);
    assert.equal(fp.sha256, sshd.fingerprint);
    assert.equal(fp.md5, sshd.fingerprintMd5);
  });

  it('refuses a wrong fingerprint, showing the real one', async () => {
    const wrong = 'SHA256:' + createHash('sha256').update('not the key').digest('base64').replace(/=+$/, '');
    const d = open({ hostKey: wrong });
    await assert.rejects(d.put({ location: 'h/no.txt', body: chunks(Buffer.from('no')), signal }), (e: unknown) => {
      assert.ok(e instanceof DeliverError);
      assert.equal(e.code, 'EHOSTKEY');
      assert.equal(e.retryable, false);
      assert.ok(e.message.includes(sshd.fingerprint), e.message);
      return true;
    });
    assert.equal(existsSync(local('h')), false);
  });

  it('refuses a wrong password as EAUTH', async () => {
    const d = open({ password: 'definitely-wrong' });
    await assert.rejects(
      d.put({ location: 'a/no.txt', body: chunks(Buffer.from('no')), signal }),
      (e: unknown) => e instanceof DeliverError && e.code === 'EAUTH' && !e.retryable && !e.message.includes('definitely-wrong'),
    );
  });
});

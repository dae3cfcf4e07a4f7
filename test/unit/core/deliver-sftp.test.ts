import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { utils, type ParsedKey, type SFTPWrapper } from 'ssh2';
import {
  createSftpDestination,
  fetchHostKeyFingerprint,
  fingerprintOf,
  normalizeRemotePath,
  parseHostKeySetting,
  type SftpDestinationConfig,
} from '../../../src/core/deliver/sftp/destination';
import { DeliverError, type Destination } from '../../../src/core/deliver/types';
import { destinationTemplates } from '../../../src/core/deliver/registry';
import { removeEarlierScenario } from './remove-earlier';
import { startSftpTarget, type SftpTarget, type WriteHook, generateEd25519 } from '../../../src/simulator/sftp';

function blobOf(publicKeyLine: string): Buffer {
  return Buffer.from(publicKeyLine.trim().split(/\s+/)[1], 'base64');
}

interface ServerOptions {
  password?: string;
  publicKey?: ParsedKey;
  /** Advertise `posix-rename@openssh.com` (ssh2's server advertises no extension by itself). */
  posixRename?: boolean;
}

/** The simulator's SFTP target over a temporary folder, with this suite's host key and any user name. */
class TestSftpServer {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-sftp-'));
  readonly hostKey = generateEd25519();
  readonly fingerprint = fingerprintOf(blobOf(this.hostKey.public));
  private target?: SftpTarget;
  private options: ServerOptions;

  constructor(options: ServerOptions = {}) {
    this.options = { password: 'secret-pw', ...options };
  }

  private get t(): SftpTarget {
    if (!this.target) throw new Error('the test SFTP server is not started');
    return this.target;
  }
  get port(): number {
    return this.t.port;
  }
  get connectionCount(): number {
    return this.t.connectionCount;
  }
  get openConnections(): number {
    return this.t.openConnections;
  }
  /** Names of the renames and removes served, in order. */
  get ops(): readonly string[] {
    return this.t.ops;
  }
  /** Called on each WRITE before it is done; return 'drop' to cut the connection instead. */
  set onWrite(hook: WriteHook | undefined) {
    this.t.onWrite = hook;
  }

  async start(): Promise<this> {
    this.target = await startSftpTarget({
      root: this.root,
      password: this.options.password,
      publicKey: this.options.publicKey,
      hostKey: this.hostKey.private,
      onSftp: this.options.posixRename ? advertisePosixRename : undefined,
    });
    return this;
  }

  dropConnections(): void {
    this.t.dropConnections();
  }

  async stop(): Promise<void> {
    await this.target?.close();
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  local(p: string): string {
    const rel = p.startsWith('/') ? p : '/' + p;
    return path.join(this.root, path.posix.normalize(rel));
  }

  /** Every file under the root, relative, sorted. */
  files(): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else out.push(path.relative(this.root, full).split(path.sep).join('/'));
      }
    };
    walk(this.root);
    return out.sort();
  }
}

/** Rewrite the server's VERSION packet to list `posix-rename@openssh.com` (test-only use of a private field). */
function advertisePosixRename(sftp: SFTPWrapper): void {
  const holder = sftp as unknown as { _protocol: { channelData(id: number, data: Buffer): void } };
  const proto = holder._protocol;
  const patched = Object.create(proto) as typeof proto;
  patched.channelData = (id: number, data: Buffer): void => {
    if (data.length === 9 && data[4] === 2) {
      const name = Buffer.from('posix-rename@openssh.com');
      const value = Buffer.from('1');
      const ext = Buffer.alloc(4 + name.length + 4 + value.length);
      ext.writeUInt32BE(name.length, 0);
      name.copy(ext, 4);
      ext.writeUInt32BE(value.length, 4 + name.length);
      value.copy(ext, 8 + name.length);
      const out = Buffer.concat([data, ext]);
      out.writeUInt32BE(out.length - 4, 0);
      holder._protocol = proto;
      return proto.channelData(id, out);
    }
    return proto.channelData(id, data);
  };
  holder._protocol = patched;
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A body that yields `data` in chunks, pausing `delayMs` between them. */
function slowBody(data: Buffer, chunk = 16 * 1024, delayMs = 5): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return this.push(null);
      const part = data.subarray(offset, offset + chunk);
      offset += part.length;
      setTimeout(() => this.push(part), delayMs);
    },
  });
}

async function rejectsWith(p: Promise<unknown>, code: string, retryable?: boolean): Promise<DeliverError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliverError, `expected a DeliverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (retryable !== undefined) assert.equal(err.retryable, retryable, `retryable of ${err.code}`);
    return err;
  }
  assert.fail(`expected ${code}`);
}

function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) return resolve();
      if (Date.now() > until) return reject(new Error('condition not met in time'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('core/deliver/sftp/destination', function () {
  this.timeout(15000);
  let server: TestSftpServer;
  let dest: Destination | undefined;
  const signal = new AbortController().signal;

  const config = (extra: SftpDestinationConfig = {}): SftpDestinationConfig => ({
    host: '127.0.0.1',
    port: server.port,
    user: 'deliver',
    password: 'secret-pw',
    hostKey: server.fingerprint.sha256,
    basePath: 'out',
    ...extra,
  });
  const open = (extra?: SftpDestinationConfig): Destination => (dest = createSftpDestination(config(extra)));

  beforeEach(async () => {
    server = await new TestSftpServer().start();
  });
  afterEach(async () => {
    await dest?.close();
    dest = undefined;
    await server.stop();
  });

  describe('paths', () => {
    it('normalizes relative paths', () => {
      assert.equal(normalizeRemotePath('a/./b//c.jpg'), 'a/b/c.jpg');
      assert.equal(normalizeRemotePath('Läufer im Ziel.jpg'), 'Läufer im Ziel.jpg');
    });

    it('rejects traversal, absolute paths, NUL, control characters and overlong names', () => {
      for (const p of ['../x.jpg', 'a/../../x.jpg', 'a/..', '/etc/passwd', '~/x', 'a\0b.jpg', 'a\nb.jpg', 'a\x7fb',
        'a\\..\\b', '', '   ', 'a/', '.', `${'n'.repeat(256)}.jpg`]) {
        assert.throws(() => normalizeRemotePath(p), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH', JSON.stringify(p));
      }
    });

    it('a put to a bad location writes nothing', async () => {
      const d = open();
      assert.throws(() => d.resolve('../escape.jpg'), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH');
      await rejectsWith(d.put({ location: '../escape.jpg', body: Readable.from([Buffer.from('x')]), signal }), 'EBADPATH', false);
      await rejectsWith(d.remove('/etc/passwd', signal), 'EBADPATH', false);
      assert.deepEqual(server.files(), []);
      assert.equal(server.connectionCount, 0);
    });
  });

  describe('config', () => {
    it('refuses a missing fingerprint before connecting, unless checking is explicitly off', () => {
      assert.throws(() => open({ hostKey: '' }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && /fingerprint/.test(e.message));
      assert.throws(() => open({ hostKey: 'not a fingerprint' }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG');
      // booleans are read strictly: anything but true/false (or "true"/"false") is a configuration error
      assert.throws(() => open({ hostKey: undefined, insecureSkipHostKey: 'yes' as unknown as boolean }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && /insecureSkipHostKey must be true or false/.test(e.message));
      assert.throws(() => open({ hostKey: undefined, insecureSkipHostKey: 1 as unknown as boolean }), /insecureSkipHostKey must be true or false/);
      assert.throws(() => open({ hostKey: undefined, insecureSkipHostKey: 'FALSE' as unknown as boolean }), /fingerprint/);
      assert.throws(() => open({ host: '' }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG');
      assert.throws(() => open({ password: undefined }), /password or a private key/);
      assert.throws(() => open({ port: 70000 }), /port/);
      assert.equal(server.connectionCount, 0);
    });

    it('reads fingerprints in the forms OpenSSH prints', () => {
      const fp = server.fingerprint;
      const line = `256 ${fp.sha256} root@host (ED25519)`;
      assert.ok(parseHostKeySetting(line)?.sha256.has(fp.sha256));
      assert.ok(parseHostKeySetting(fp.sha256 + '=')?.sha256.has(fp.sha256));
      assert.ok(parseHostKeySetting(fp.md5.toUpperCase().replace('MD5:', ''))?.md5.has(fp.md5));
      assert.ok(parseHostKeySetting(fp.md5.slice(4).replace(/:/g, ''))?.md5.has(fp.md5));
      assert.ok(parseHostKeySetting(server.hostKey.public)?.sha256.has(fp.sha256));
      assert.equal(parseHostKeySetting('256 (ED25519)'), undefined);
    });

    it('refuses a wrong private key passphrase as a config error', () => {
      const key = generateEd25519({ passphrase: 'right', cipher: 'aes256-ctr', rounds: 2 });
      assert.throws(
        () => open({ password: undefined, privateKey: key.private, passphrase: 'wrong' }),
        (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && !e.message.includes('wrong'),
      );
    });
  });

  describe('put', () => {
    it('uploads the bytes into nested folders it creates, through one reused connection', async () => {
      const d = open();
      const data = bytes(300_000);
      const res = await d.put({ location: d.resolve('2024/campaign/a.jpg'), body: Readable.from([data]), signal });
      assert.deepEqual(res, { location: '2024/campaign/a.jpg', bytes: data.length });
      assert.equal(sha(fs.readFileSync(server.local('out/2024/campaign/a.jpg'))), sha(data));
      const small = Buffer.from('second');
      const res2 = await d.put({ location: '2024/other/b.txt', body: Readable.from([small]), signal });
      assert.equal(res2.bytes, small.length);
      assert.deepEqual(server.files(), ['out/2024/campaign/a.jpg', 'out/2024/other/b.txt']);
      assert.equal(server.connectionCount, 1);
      await d.close();
      await waitFor(() => server.openConnections === 0);
    });

    it('uploads concurrently and with an empty body', async () => {
      const d = open({ basePath: '/abs/base/' });
      const bodies = [bytes(50_000, 2), bytes(70_000, 3), Buffer.alloc(0)];
      await Promise.all(bodies.map((b, i) => d.put({ location: `f${i}.bin`, body: Readable.from([b]), signal })));
      bodies.forEach((b, i) => assert.equal(sha(fs.readFileSync(server.local(`abs/base/f${i}.bin`))), sha(b)));
      assert.equal(server.connectionCount, 1);
    });

    it('accepts the MD5 fingerprint form', async () => {
      const d = open({ hostKey: server.fingerprint.md5 });
      await d.put({ location: 'm.txt', body: Readable.from([Buffer.from('x')]), signal });
      assert.equal(fs.readFileSync(server.local('out/m.txt'), 'utf8'), 'x');
    });

    it('authenticates with an encrypted private key', async () => {
      await server.stop();
      const key = generateEd25519({ passphrase: 'kp', cipher: 'aes256-ctr', rounds: 2 });
      const pub = utils.parseKey(key.public);
      assert.ok(!(pub instanceof Error));
      server = await new TestSftpServer({ password: undefined, publicKey: pub }).start();
      const d = open({ password: undefined, privateKey: key.private, passphrase: 'kp' });
      await d.put({ location: 'k.txt', body: Readable.from([Buffer.from('key')]), signal });
      assert.equal(fs.readFileSync(server.local('out/k.txt'), 'utf8'), 'key');
    });

    it('writes atomically: readers see the old file or the new one, never a part; no temporary file stays', async () => {
      const d = open();
      await d.put({ location: 'x/a.bin', body: Readable.from([Buffer.from('old')]), signal });
      const data = bytes(200_000, 7);
      let sawTemp = false;
      server.onWrite = (file) => {
        assert.match(path.posix.basename(file), /^\.a\.bin\.[0-9a-f]{12}\.part$/);
        sawTemp = true;
        assert.equal(fs.readFileSync(server.local('out/x/a.bin'), 'utf8'), 'old');
      };
      await d.put({ location: 'x/a.bin', body: slowBody(data, 16 * 1024, 1), signal });
      assert.ok(sawTemp);
      assert.equal(sha(fs.readFileSync(server.local('out/x/a.bin'))), sha(data));
      assert.deepEqual(server.files(), ['out/x/a.bin']);
    });

    it('overwrites with posix-rename@openssh.com when the server offers it', async () => {
      await server.stop();
      server = await new TestSftpServer({ posixRename: true }).start();
      const d = open();
      await d.put({ location: 'p.txt', body: Readable.from([Buffer.from('one')]), signal });
      await d.put({ location: 'p.txt', body: Readable.from([Buffer.from('two')]), signal });
      assert.equal(fs.readFileSync(server.local('out/p.txt'), 'utf8'), 'two');
      assert.deepEqual(server.files(), ['out/p.txt']);
      assert.deepEqual(server.ops, ['POSIX-RENAME', 'POSIX-RENAME']);
    });

    it('honours the overwrite policies', async () => {
      const d = open();
      await d.put({ location: 'o.txt', body: Readable.from([Buffer.from('first')]), signal });
      const r1 = await d.put({ location: 'o.txt', body: Readable.from([Buffer.from('second')]), signal, overwrite: 'overwrite' });
      assert.equal(r1.skipped, undefined);
      // Without posix-rename: the plain rename is refused, the old file removed, the rename repeated.
      assert.deepEqual(server.ops, ['RENAME', 'RENAME', 'REMOVE', 'RENAME']);
      assert.equal(fs.readFileSync(server.local('out/o.txt'), 'utf8'), 'second');
      const skippedBody = Readable.from([Buffer.from('third')]);
      const r2 = await d.put({ location: 'o.txt', body: skippedBody, signal, overwrite: 'skip' });
      assert.deepEqual(r2, { location: 'o.txt', bytes: 0, skipped: true });
      assert.ok(skippedBody.destroyed);
      const e = await rejectsWith(d.put({ location: 'o.txt', body: Readable.from([Buffer.from('fourth')]), signal, overwrite: 'fail' }), 'EEXIST', false);
      assert.match(e.message, /already exists/);
      assert.equal(fs.readFileSync(server.local('out/o.txt'), 'utf8'), 'second');
      const r3 = await d.put({ location: 'new.txt', body: Readable.from([Buffer.from('n')]), signal, overwrite: 'fail' });
      assert.equal(r3.bytes, 1);
      assert.deepEqual(server.files(), ['out/new.txt', 'out/o.txt']);
    });

    it('a target that appears during the upload is not replaced under "fail"', async () => {
      const d = open();
      let once = false;
      server.onWrite = () => {
        if (!once) fs.writeFileSync(server.local('out/race.txt'), 'theirs');
        once = true;
      };
      fs.mkdirSync(server.local('out'));
      await rejectsWith(d.put({ location: 'race.txt', body: Readable.from([Buffer.from('ours')]), signal, overwrite: 'fail' }), 'EEXIST');
      assert.equal(fs.readFileSync(server.local('out/race.txt'), 'utf8'), 'theirs');
      assert.deepEqual(server.files(), ['out/race.txt']);
    });

    it('refuses a folder in the way of the target path', async () => {
      const d = open();
      fs.mkdirSync(server.local('out'));
      fs.writeFileSync(server.local('out/file'), 'x');
      await rejectsWith(d.put({ location: 'file/a.txt', body: Readable.from([Buffer.from('a')]), signal }), 'ENOTDIR', false);
    });

    it('aborting removes the partial file', async () => {
      const d = open();
      const ac = new AbortController();
      let written = 0;
      server.onWrite = (_f, _o, len) => {
        written += len;
        if (written > 40_000) ac.abort();
      };
      const body = slowBody(bytes(500_000), 8 * 1024, 2);
      await rejectsWith(d.put({ location: 'ab/c.bin', body, signal: ac.signal }), 'EABORTED', false);
      assert.ok(body.destroyed);
      await waitFor(() => server.files().length === 0);
      // The connection stays usable.
      server.onWrite = undefined;
      await d.put({ location: 'ab/d.bin', body: Readable.from([Buffer.from('d')]), signal });
      assert.deepEqual(server.files(), ['out/ab/d.bin']);
    });

    it('an already aborted signal writes nothing', async () => {
      const d = open();
      await rejectsWith(d.put({ location: 'z.txt', body: Readable.from([Buffer.from('z')]), signal: AbortSignal.abort() }), 'EABORTED');
      assert.equal(server.connectionCount, 0);
    });

    it('a connection dropped mid-upload is a retryable error, leaves no target, and the next put reconnects and cleans up', async () => {
      const d = open();
      let written = 0;
      server.onWrite = (_f, _o, len) => {
        written += len;
        return written > 60_000 ? 'drop' : undefined;
      };
      await rejectsWith(d.put({ location: 'drop/me.bin', body: slowBody(bytes(400_000), 16 * 1024, 1), signal }), 'ECONNRESET', true);
      assert.equal(fs.existsSync(server.local('out/drop/me.bin')), false);
      server.onWrite = undefined;
      const data = bytes(100_000, 9);
      await d.put({ location: 'drop/me.bin', body: Readable.from([data]), signal });
      assert.equal(sha(fs.readFileSync(server.local('out/drop/me.bin'))), sha(data));
      await waitFor(() => server.files().length === 1);
      assert.deepEqual(server.files(), ['out/drop/me.bin']);
      assert.equal(server.connectionCount, 2);
    });

    it('reconnects when the server closed the idle connection', async () => {
      const d = open();
      await d.put({ location: 'a.txt', body: Readable.from([Buffer.from('a')]), signal });
      server.dropConnections();
      await waitFor(() => server.openConnections === 0);
      await new Promise((r) => setTimeout(r, 50));
      await d.put({ location: 'b.txt', body: Readable.from([Buffer.from('b')]), signal });
      assert.deepEqual(server.files(), ['out/a.txt', 'out/b.txt']);
    });
  });

  describe('remove', () => {
    it('removes a file and reports a missing one', async () => {
      const d = open();
      await d.put({ location: 'r/x.txt', body: Readable.from([Buffer.from('x')]), signal });
      assert.deepEqual(await d.remove('r/x.txt', signal), { removed: true });
      assert.deepEqual(await d.remove('r/x.txt', signal), { removed: false });
      assert.deepEqual(await d.remove('nowhere/x.txt', signal), { removed: false });
      assert.deepEqual(server.files(), []);
    });
  });

  describe('earlier copies of an asset (the deliver node\'s "remove earlier copies")', () => {
    it('a moved or renamed asset leaves no copy at its earlier place on the server; other assets stay', async () => {
      await removeEarlierScenario({
        destination: open(),
        templates: destinationTemplates({ kind: 'sftp' }),
        list: async () => server.files().map((f) => f.replace(/^out\//, '')),
      });
    });
  });

  describe('cleanup', () => {
    it('removes the temporary files a crashed run left under the base folder, and only those', async () => {
      // what a process killed mid-upload leaves: a hidden temporary file beside where the file was going
      const hour = Date.now() / 1000 - 3600;
      const stale = server.local('out/I0000A/.photo.jpg.0123456789ab.part');
      const deep = server.local('out/a/b/.clip.mp4.ba9876543210.part');
      const fresh = server.local('out/I0000B/.new.jpg.aaaaaaaaaaaa.part');
      const kept = [server.local('out/I0000A/photo.jpg'), server.local('out/I0000A/.notes.part'), server.local('elsewhere/.x.jpg.0123456789ab.part')];
      for (const f of [stale, deep, fresh, ...kept]) {
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, 'x');
      }
      for (const f of [stale, deep, ...kept]) fs.utimesSync(f, hour, hour);
      const d = open();
      // an upload of this run, started after the destination was made, is never taken for a leftover
      fs.utimesSync(fresh, Date.now() / 1000 + 5, Date.now() / 1000 + 5);
      assert.equal(typeof d.cleanup, 'function', 'the SFTP destination cleans up after a crash');
      assert.equal(await d.cleanup?.(), 2);
      assert.equal(fs.existsSync(stale), false);
      assert.equal(fs.existsSync(deep), false);
      for (const f of [fresh, ...kept]) assert.equal(fs.existsSync(f), true, `${f} is kept`);
    });

    it('finds nothing to do when the base folder does not exist yet', async () => {
      const d = open({ basePath: 'not-there-yet' });
      assert.equal(await d.cleanup?.(), 0);
    });
  });

  describe('authentication and host keys', () => {
    it('a wrong password is EAUTH, not retryable, with no secret in the message', async () => {
      const d = open({ password: 'wrong-pw-123' });
      const e = await rejectsWith(d.put({ location: 'a.txt', body: Readable.from([Buffer.from('a')]), signal }), 'EAUTH', false);
      assert.ok(!e.message.includes('wrong-pw-123'));
      assert.deepEqual(server.files(), []);
    });

    it('an unknown host key is refused with the fingerprint the server presented', async () => {
      const other = fingerprintOf(blobOf(generateEd25519().public));
      const d = open({ hostKey: other.sha256 });
      const e = await rejectsWith(d.put({ location: 'a.txt', body: Readable.from([Buffer.from('a')]), signal }), 'EHOSTKEY', false);
      assert.ok(e.message.includes(server.fingerprint.sha256), e.message);
      assert.deepEqual(server.files(), []);
      await rejectsWith(d.remove('a.txt', signal), 'EHOSTKEY', false);
    });

    it('checking explicitly turned off connects to any key', async () => {
      const d = open({ hostKey: undefined, insecureSkipHostKey: true });
      await d.put({ location: 'a.txt', body: Readable.from([Buffer.from('a')]), signal });
      assert.deepEqual(server.files(), ['out/a.txt']);
    });

    it('fetches the fingerprint for the editor without logging in', async () => {
      const fp = await fetchHostKeyFingerprint('127.0.0.1', server.port);
      assert.deepEqual(fp, server.fingerprint);
      assert.equal(fp.keyType, 'ssh-ed25519');
    });

    it('a refused connection is retryable', async () => {
      const port = server.port;
      await server.stop();
      server = await new TestSftpServer().start();
      const d = createSftpDestination({ ...config(), port });
      dest = d;
      const e = await rejectsWith(d.put({ location: 'a.txt', body: Readable.from([Buffer.from('a')]), signal }), 'ECONNREFUSED', true);
      assert.match(e.message, /127\.0\.0\.1/);
    });
  });
});

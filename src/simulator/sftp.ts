/**
 * A small SFTP server over a local folder: the stand-in partner server the demo and the example tests
 * deliver to. It serves what an uploader and an interactive `sftp` session need (open, read, write,
 * stat, list, mkdir, rename, remove) to a user with a password (or a key), and nothing outside its folder.
 *
 * Its ed25519 host key is generated on the first start and kept in a file (by default next to the
 * served folder), so the fingerprint a destination was configured with stays valid across starts.
 * Renames follow OpenSSH: a plain rename never replaces an existing file; `posix-rename@openssh.com`
 * (which does) is served when a client asks for it, although ssh2's server does not advertise it.
 *
 * The unit tests of the SFTP destination use it too, with their own host key, a public key login, and
 * `onWrite` to cut connections in the middle of an upload.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Server, utils, type Connection, type ParsedKey, type SFTPWrapper } from 'ssh2';

const { STATUS_CODE } = utils.sftp;

export interface SftpTargetOptions {
  /** The folder served as the login folder ("/" for the client); created when missing. */
  root: string;
  /** 0 or undefined = a free port. */
  port?: number;
  host?: string;
  /** The login name; undefined accepts any. */
  user?: string;
  /** The password; undefined refuses password logins. */
  password?: string;
  /** A public key (OpenSSH line or parsed) whose private half may log in. */
  publicKey?: string | ParsedKey;
  /** The host key (private key text); default: the one in `hostKeyFile`, made on first use. */
  hostKey?: string;
  /** Where the host key is kept (default: `<root>.host_key` next to the served folder). */
  hostKeyFile?: string;
  /** Called with each SFTP session before it is served (e.g. to change what it advertises). */
  onSftp?: (sftp: SFTPWrapper) => void;
}

/** Called for each WRITE before it is done; 'drop' cuts the connection instead (fault injection). */
export type WriteHook = (file: string, offset: number, length: number) => 'drop' | void;

export interface SftpTarget {
  host: string;
  port: number;
  /** `SHA256:…` (no padding), as `ssh-keygen -lf` prints it and the destination's host key field takes it. */
  hostKeyFingerprint: string;
  /** The host key's public line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** Connections accepted so far. */
  readonly connectionCount: number;
  /** Connections open now. */
  readonly openConnections: number;
  /** Renames and removes served, in order ('RENAME', 'POSIX-RENAME', 'REMOVE'). */
  readonly ops: string[];
  /** See WriteHook; may be set at any time. */
  onWrite?: WriteHook;
  /** Close every open connection (the clients see the server go away). */
  dropConnections(): void;
  close(): Promise<void>;
}

type KeyOptions = Parameters<typeof utils.generateKeyPairSync>[1];

/**
 * A new ed25519 key pair that ssh2 can read back: a few in a thousand of the keys ssh2 generates are
 * refused by its own parser ("Malformed OpenSSH private key"), so such a key is made again.
 */
export function generateEd25519(opts: KeyOptions = {}): { private: string; public: string } {
  for (let tries = 1; ; tries++) {
    const pair = utils.generateKeyPairSync('ed25519', opts);
    const passphrase = (opts as { passphrase?: string }).passphrase;
    if (!(utils.parseKey(pair.private, passphrase) instanceof Error) || tries >= 20) return pair;
  }
}

/** The host key in `file`, made (and saved with mode 0600) when the file does not exist yet. */
function hostKeyIn(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const pair = generateEd25519({ comment: 'photoshelter-sftp-target' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pair.private, { mode: 0o600 });
  return pair.private;
}

function sameSecret(given: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export async function startSftpTarget(opts: SftpTargetOptions): Promise<SftpTarget> {
  const root = path.resolve(opts.root);
  fs.mkdirSync(root, { recursive: true });
  const keyText = opts.hostKey ?? hostKeyIn(opts.hostKeyFile ?? `${root}.host_key`);
  const parsed = utils.parseKey(keyText);
  if (parsed instanceof Error) throw new Error(`The SFTP host key cannot be read: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const blob = key.getPublicSSH();
  const fingerprint = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  const conns = new Set<Connection>();
  let accepted = 0;
  const ops: string[] = [];
  let client: ParsedKey | undefined;
  if (opts.publicKey !== undefined) {
    const k = typeof opts.publicKey === 'string' ? utils.parseKey(opts.publicKey) : opts.publicKey;
    if (k instanceof Error) throw new Error(`The authorized public key cannot be read: ${k.message}`);
    client = Array.isArray(k) ? k[0] : k;
  }

  /** A client path (absolute or relative to the login folder) as a path under root; never outside it. */
  const local = (p: string): string => path.join(root, path.posix.normalize('/' + p));
  const clientPath = (p: string): string => path.posix.normalize('/' + p);

  const server = new Server({ hostKeys: [keyText] }, (conn) => {
    conns.add(conn);
    accepted++;
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => undefined);
    const methods: Array<'password' | 'publickey'> = [...(opts.password !== undefined ? ['password' as const] : []), ...(client ? ['publickey' as const] : [])];
    conn.on('authentication', (ctx) => {
      if (opts.user !== undefined && !sameSecret(ctx.username, opts.user)) return ctx.reject(methods);
      if (ctx.method === 'password' && sameSecret(ctx.password, opts.password)) return ctx.accept();
      if (ctx.method === 'publickey' && client) {
        const want = client.getPublicSSH();
        const got = ctx.key.data;
        if (got.length === want.length && timingSafeEqual(got, want)) {
          // without a signature the client only asks whether this key would do
          if (!ctx.signature || !ctx.blob) return ctx.accept();
          if (client.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.accept();
        }
      }
      ctx.reject(methods);
    });
    conn.on('ready', () => {
      conn.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          opts.onSftp?.(sftp);
          serve(conn, sftp);
        });
      });
    });
  });

  function serve(conn: Connection, sftp: SFTPWrapper): void {
    const files = new Map<number, { fd: number; file: string }>();
    const dirs = new Map<number, { dir: string; entries: string[] | undefined }>();
    let next = 1;
    const handleBuf = (h: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(h, 0);
      return b;
    };
    const idOf = (b: Buffer): number => (b.length === 4 ? b.readUInt32BE(0) : -1);
    const fail = (id: number, err: unknown): void => {
      const code = (err as NodeJS.ErrnoException).code;
      const status = code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' || code === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
      sftp.status(id, status, code ?? 'failure');
    };
    const attrsOf = (st: fs.Stats) => ({
      mode: st.mode, uid: st.uid, gid: st.gid, size: st.size,
      atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000),
    });
    const longname = (name: string, st: fs.Stats): string =>
      `${st.isDirectory() ? 'd' : '-'}rw-r--r--    1 owner    group    ${String(st.size).padStart(12)} ${new Date(st.mtimeMs).toISOString().slice(0, 16).replace('T', ' ')} ${name}`;
    const stat = (id: number, p: string): void => {
      try {
        sftp.attrs(id, attrsOf(fs.statSync(local(p))));
      } catch (err) {
        fail(id, err);
      }
    };
    const done = (id: number, fn: () => void): void => {
      try {
        fn();
        sftp.status(id, STATUS_CODE.OK);
      } catch (err) {
        fail(id, err);
      }
    };

    sftp.on('OPEN', (id, filename, flags) => {
      const mode = utils.sftp.flagsToString(flags);
      if (!mode) return sftp.status(id, STATUS_CODE.BAD_MESSAGE);
      try {
        const fd = fs.openSync(local(filename), mode, 0o644);
        const h = next++;
        files.set(h, { fd, file: clientPath(filename) });
        sftp.handle(id, handleBuf(h));
      } catch (err) {
        fail(id, err);
      }
    });
    sftp.on('READ', (id, handle, offset, length) => {
      const f = files.get(idOf(handle));
      if (!f) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        const buf = Buffer.alloc(Math.min(length, 256 * 1024));
        const n = fs.readSync(f.fd, buf, 0, buf.length, offset);
        if (n === 0) return sftp.status(id, STATUS_CODE.EOF);
        sftp.data(id, buf.subarray(0, n));
      } catch (err) {
        fail(id, err);
      }
    });
    sftp.on('WRITE', (id, handle, offset, data) => {
      const f = files.get(idOf(handle));
      if (!f) return sftp.status(id, STATUS_CODE.FAILURE);
      if (target.onWrite?.(f.file, offset, data.length) === 'drop') {
        (conn as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
        return;
      }
      done(id, () => fs.writeSync(f.fd, data, 0, data.length, offset));
    });
    sftp.on('FSTAT', (id, handle) => {
      const f = files.get(idOf(handle));
      if (!f) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        sftp.attrs(id, attrsOf(fs.fstatSync(f.fd)));
      } catch (err) {
        fail(id, err);
      }
    });
    sftp.on('CLOSE', (id, handle) => {
      const h = idOf(handle);
      const f = files.get(h);
      if (f) {
        files.delete(h);
        return done(id, () => fs.closeSync(f.fd));
      }
      if (dirs.delete(h)) return sftp.status(id, STATUS_CODE.OK);
      sftp.status(id, STATUS_CODE.FAILURE);
    });
    // Times and modes are the server's business; accepting them keeps clients that set them happy.
    sftp.on('SETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
    sftp.on('FSETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
    sftp.on('STAT', stat);
    sftp.on('LSTAT', stat);
    sftp.on('OPENDIR', (id, p) => {
      try {
        if (!fs.statSync(local(p)).isDirectory()) return sftp.status(id, STATUS_CODE.FAILURE, 'not a folder');
        const h = next++;
        dirs.set(h, { dir: local(p), entries: undefined });
        sftp.handle(id, handleBuf(h));
      } catch (err) {
        fail(id, err);
      }
    });
    sftp.on('READDIR', (id, handle) => {
      const d = dirs.get(idOf(handle));
      if (!d) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        d.entries ??= fs.readdirSync(d.dir);
        if (d.entries.length === 0) return sftp.status(id, STATUS_CODE.EOF);
        const batch = d.entries.splice(0, 100);
        sftp.name(id, batch.flatMap((name) => {
          try {
            const st = fs.statSync(path.join(d.dir, name));
            return [{ filename: name, longname: longname(name, st), attrs: attrsOf(st) }];
          } catch {
            return [];
          }
        }));
      } catch (err) {
        fail(id, err);
      }
    });
    sftp.on('MKDIR', (id, p) => done(id, () => fs.mkdirSync(local(p))));
    sftp.on('RMDIR', (id, p) => done(id, () => fs.rmdirSync(local(p))));
    sftp.on('REMOVE', (id, p) => {
      ops.push('REMOVE');
      done(id, () => fs.unlinkSync(local(p)));
    });
    sftp.on('RENAME', (id, from, to) => {
      ops.push('RENAME');
      // like OpenSSH's sftp-server: link then unlink, so that an existing target is never replaced
      done(id, () => {
        fs.linkSync(local(from), local(to));
        fs.unlinkSync(local(from));
      });
    });
    sftp.on('REALPATH', (id, p) => {
      const abs = clientPath(p);
      sftp.name(id, [{ filename: abs, longname: abs, attrs: { mode: 0o40755, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0 } }]);
    });
    sftp.on('EXTENDED', (id, name, data) => {
      if (name !== 'posix-rename@openssh.com') return sftp.status(id, STATUS_CODE.OP_UNSUPPORTED);
      ops.push('POSIX-RENAME');
      // two strings (uint32 length, then UTF-8 bytes): from, to
      const fromLen = data.readUInt32BE(0);
      const from = data.subarray(4, 4 + fromLen).toString('utf8');
      const toLen = data.readUInt32BE(4 + fromLen);
      const to = data.subarray(8 + fromLen, 8 + fromLen + toLen).toString('utf8');
      done(id, () => fs.renameSync(local(from), local(to)));
    });
  }

  const host = opts.host ?? '127.0.0.1';
  const target: SftpTarget = {
    host,
    port: 0,
    hostKeyFingerprint: fingerprint,
    hostPublicKey: `${key.type} ${blob.toString('base64')}`,
    get connectionCount() {
      return accepted;
    },
    get openConnections() {
      return conns.size;
    },
    ops,
    onWrite: undefined,
    dropConnections() {
      for (const c of conns) c.end();
    },
    async close() {
      for (const c of conns) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  target.port = (server.address() as AddressInfo).port;
  return target;
}

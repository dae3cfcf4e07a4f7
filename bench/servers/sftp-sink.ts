// SFTP sink: an SSH server (the ssh2 package's Server) whose SFTP subsystem keeps no bytes: files are
// virtual, each WRITE is counted and hashed in offset order (sha256) and acknowledged. Enough of the
// protocol for an uploader: OPEN, WRITE, CLOSE, STAT/LSTAT, MKDIR, RENAME, REMOVE, REALPATH.
import { createHash, type Hash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { posix } from 'node:path';
import { Server, utils, type SFTPWrapper } from 'ssh2';
import { fingerprintOf } from '../../src/core/deliver/sftp/destination';
import { serverMain, type Received } from './process';
import { generateEd25519 } from '../../src/simulator/sftp';

export interface SftpSinkInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Host key fingerprint, SHA256:… */
  fingerprint: string;
}

const { STATUS_CODE } = utils.sftp;
const USER = 'bench';
const PASSWORD = 'bench-password';

interface OpenFile {
  path: string;
  hash: Hash;
  bytes: number;
  /** Writes that arrived ahead of their offset (ssh2 answers in order, so normally none). */
  held: Map<number, Buffer>;
}

serverMain<Record<string, never>, SftpSinkInfo>(async () => {
  const received = new Map<string, Received>();
  const dirs = new Set<string>(['/', '.']);
  const hostKey = generateEd25519();
  const blob = Buffer.from(hostKey.public.trim().split(/\s+/)[1], 'base64');
  const norm = (p: string): string => posix.normalize(p.startsWith('/') ? p : '/' + p);

  const serve = (sftp: SFTPWrapper): void => {
    const handles = new Map<number, OpenFile>();
    let nextHandle = 1;
    const handleOf = (b: Buffer): OpenFile | undefined => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
    const attrs = (size: number, dir: boolean) => ({ mode: dir ? 0o40755 : 0o100644, uid: 0, gid: 0, size, atime: 0, mtime: 0 });
    sftp.on('OPEN', (id, filename) => {
      const h = nextHandle++;
      handles.set(h, { path: norm(filename), hash: createHash('sha256'), bytes: 0, held: new Map() });
      const b = Buffer.alloc(4);
      b.writeUInt32BE(h, 0);
      sftp.handle(id, b);
    });
    sftp.on('WRITE', (id, handle, offset, data) => {
      const f = handleOf(handle);
      if (!f) return sftp.status(id, STATUS_CODE.FAILURE);
      if (offset === f.bytes) {
        f.hash.update(data);
        f.bytes += data.length;
        let next: Buffer | undefined;
        while ((next = f.held.get(f.bytes)) !== undefined) {
          f.held.delete(f.bytes);
          f.hash.update(next);
          f.bytes += next.length;
        }
      } else if (offset > f.bytes) {
        f.held.set(offset, Buffer.from(data));
      } else {
        return sftp.status(id, STATUS_CODE.FAILURE, 'overlapping write');
      }
      sftp.status(id, STATUS_CODE.OK);
    });
    sftp.on('CLOSE', (id, handle) => {
      const key = handle.length === 4 ? handle.readUInt32BE(0) : -1;
      const f = handles.get(key);
      if (!f) return sftp.status(id, STATUS_CODE.FAILURE);
      handles.delete(key);
      if (f.held.size > 0) return sftp.status(id, STATUS_CODE.FAILURE, 'gaps in the file');
      received.set(f.path, { bytes: f.bytes, sha256: f.hash.digest('hex') });
      sftp.status(id, STATUS_CODE.OK);
    });
    const stat = (id: number, p: string): void => {
      const path = norm(p);
      const file = received.get(path);
      if (file) return sftp.attrs(id, attrs(file.bytes, false));
      if (dirs.has(path)) return sftp.attrs(id, attrs(0, true));
      sftp.status(id, STATUS_CODE.NO_SUCH_FILE);
    };
    sftp.on('STAT', stat);
    sftp.on('LSTAT', stat);
    sftp.on('MKDIR', (id, p) => {
      dirs.add(norm(p));
      sftp.status(id, STATUS_CODE.OK);
    });
    sftp.on('REMOVE', (id, p) => {
      sftp.status(id, received.delete(norm(p)) ? STATUS_CODE.OK : STATUS_CODE.NO_SUCH_FILE);
    });
    // like OpenSSH's sftp-server: a plain rename never replaces an existing file
    sftp.on('RENAME', (id, from, to) => {
      const f = received.get(norm(from));
      if (!f) return sftp.status(id, STATUS_CODE.NO_SUCH_FILE);
      if (received.has(norm(to))) return sftp.status(id, STATUS_CODE.FAILURE, 'target exists');
      received.delete(norm(from));
      received.set(norm(to), f);
      sftp.status(id, STATUS_CODE.OK);
    });
    sftp.on('EXTENDED', (id) => sftp.status(id, STATUS_CODE.OP_UNSUPPORTED));
    sftp.on('REALPATH', (id, p) => {
      const abs = norm(p);
      sftp.name(id, [{ filename: abs, longname: abs, attrs: attrs(0, true) }]);
    });
  };

  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === USER && ctx.password === PASSWORD) return ctx.accept();
      ctx.reject(['password']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serve(acceptSftp()));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    info: { host: '127.0.0.1', port, user: USER, password: PASSWORD, fingerprint: fingerprintOf(blob).sha256 },
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});

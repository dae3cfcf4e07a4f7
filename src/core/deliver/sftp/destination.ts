/**
 * The SFTP destination: uploads over one reused SSH connection, atomically (a hidden temporary file in the
 * target folder, renamed over the target when complete), with the server's host key checked.
 *
 * Settings read from the config (the destination config node's settings merged with its credentials):
 * - `host` (required), `port` (default 22), `user` (required; `username` is accepted as an alias);
 * - `password` and/or `privateKey` (OpenSSH or PEM text) with `passphrase` for an encrypted key; at
 *   least one of `password` and `privateKey` is required;
 * - `hostKey`: the server's host key fingerprint as OpenSSH prints it (`SHA256:base64`, with or without
 *   `=` padding; or `MD5:aa:bb:…`, `aa:bb:…` or 32 hex digits), or a public key line (`ssh-ed25519 AAAA…`).
 *   Several may be given, separated by spaces, commas or new lines (key rotation); a pasted
 *   `ssh-keygen -lf` line works too. Required unless `insecureSkipHostKey` is `true`;
 * - `insecureSkipHostKey`: `true` (or "true" in any case) turns the host key check off; anything but a
 *   boolean or "true"/"false" is a configuration error;
 * - `basePath` (default: the login folder): the remote folder the rendered locations are relative to;
 * - `fsync` (default false; `true`/`false` or "true"/"false" in any case): ask the server to flush the file (`fsync@openssh.com`) before the rename;
 * - `timeoutMs` (default 20000): TCP connect plus SSH handshake and authentication timeout.
 * Bad settings throw `DeliverError('ECONFIG')` from `createSftpDestination`, before any connection.
 *
 * Locations (what `resolve` returns) are normalized relative POSIX paths, joined to `basePath` by put and
 * remove. On a put that ends skipped or failed, the body stream is destroyed rather than drained. A
 * temporary file that a lost connection left is removed on the next connection; one that a killed process
 * left, by `cleanup()` when the destination opens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, utils, type ConnectConfig, type SFTPWrapper, type Stats } from 'ssh2';
import { strictBool } from '../../bool';
import { RETRYABLE_NETWORK_CODES } from '../../../net';
import { DeliverError, type Destination, type ProbeResult, type PutRequest, type PutResult } from '../types';

export interface SftpDestinationConfig {
  host?: string;
  port?: number | string;
  user?: string;
  username?: string;
  password?: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  hostKey?: string;
  insecureSkipHostKey?: boolean;
  basePath?: string;
  fsync?: boolean;
  timeoutMs?: number;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const FX = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 };
/** Writes in flight per upload: enough to keep a WAN link busy, small enough to keep memory flat. */
const MAX_WRITES_IN_FLIGHT = 16;
const IDLE_CLOSE_MS = 60_000;
const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;

// ---------------------------------------------------------------------------------------------------------
// Host keys

export interface HostKeyFingerprint {
  /** `SHA256:base64` without padding, as OpenSSH prints it. */
  sha256: string;
  /** `MD5:aa:bb:…`. */
  md5: string;
  /** The key type named in the key blob, e.g. `ssh-ed25519`. */
  keyType: string;
}

/** The fingerprints of a host key blob (the SSH wire form of the public key). */
export function fingerprintOf(blob: Buffer): HostKeyFingerprint {
  const sha256 = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  const md5 = 'MD5:' + (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
  let keyType = 'unknown';
  if (blob.length >= 4) {
    const len = blob.readUInt32BE(0);
    if (len > 0 && len < 64 && blob.length >= 4 + len) keyType = blob.subarray(4, 4 + len).toString('latin1');
  }
  return { sha256, md5, keyType };
}

interface ExpectedKeys {
  sha256: Set<string>;
  md5: Set<string>;
}

/** Parse the configured `hostKey`; undefined when no fingerprint can be found in it. */
export function parseHostKeySetting(text: string): ExpectedKeys | undefined {
  const out: ExpectedKeys = { sha256: new Set(), md5: new Set() };
  for (const token of text.split(/[\s,;]+/)) {
    if (!token) continue;
    let m: RegExpMatchArray | null;
    if ((m = token.match(/^SHA256:([A-Za-z0-9+/]{43})=?$/))) {
      out.sha256.add('SHA256:' + m[1]);
    } else if ((m = token.match(/^(?:MD5:)?((?:[0-9a-f]{2}:){15}[0-9a-f]{2})$/i))) {
      out.md5.add('MD5:' + m[1].toLowerCase());
    } else if ((m = token.match(/^(?:MD5:)?([0-9a-f]{32})$/i))) {
      out.md5.add('MD5:' + (m[1].toLowerCase().match(/../g) ?? []).join(':'));
    } else if (/^AAAA[A-Za-z0-9+/]+={0,2}$/.test(token)) {
      const blob = Buffer.from(token, 'base64');
      if (blob.length > 8) out.sha256.add(fingerprintOf(blob).sha256);
    }
  }
  return out.sha256.size + out.md5.size > 0 ? out : undefined;
}

function hostKeyMatches(expected: ExpectedKeys, actual: HostKeyFingerprint): boolean {
  return expected.sha256.has(actual.sha256) || expected.md5.has(actual.md5);
}

/**
 * Connect just far enough to read the server's host key, then disconnect: what an editor button
 * "fetch fingerprint" needs (the user must still confirm it out of band).
 */
export function fetchHostKeyFingerprint(host: string, port = 22, timeoutMs = 10_000): Promise<HostKeyFingerprint> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen: HostKeyFingerprint | undefined;
    const finish = (err?: unknown): void => {
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      client.end();
      if (seen) resolve(seen);
      else reject(classifyError(err, `reading the host key of ${host}:${port}`));
    };
    client.once('error', finish);
    client.once('ready', () => finish());
    client.once('close', () => finish());
    client.connect({
      host, port, username: 'fingerprint', readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        seen = fingerprintOf(key);
        return false;
      },
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Paths

function bad(message: string): DeliverError {
  return new DeliverError('EBADPATH', message, false);
}

/** Validate and normalize a rendered relative path (POSIX separators). */
export function normalizeRemotePath(rendered: string): string {
  if (typeof rendered !== 'string' || rendered.trim() === '') throw bad('The remote path is empty');
  if (rendered.includes('\0')) throw bad('The remote path contains a NUL character');
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f-\x9f]/.test(rendered)) throw bad('The remote path contains a control character');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(rendered)) throw bad('The remote path is not valid Unicode');
  if (rendered.includes('\\')) throw bad(`The remote path must use "/" as separator, not "\\": ${JSON.stringify(rendered)}`);
  if (rendered.startsWith('/') || rendered.startsWith('~')) {
    throw bad(`The remote path must be relative to the base path: ${JSON.stringify(rendered)}`);
  }
  const parts: string[] = [];
  for (const segment of rendered.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw bad(`The remote path must not contain "..": ${JSON.stringify(rendered)}`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw bad(`A remote path segment is longer than ${MAX_SEGMENT_BYTES} bytes: ${JSON.stringify(segment.slice(0, 40))}…`);
    }
    parts.push(segment);
  }
  if (parts.length === 0) throw bad(`The remote path names no file: ${JSON.stringify(rendered)}`);
  if (rendered.endsWith('/')) throw bad(`The remote path must name a file, not a folder: ${JSON.stringify(rendered)}`);
  // one spelling per name, whichever system the text came from
  const out = parts.join('/').normalize('NFC');
  if (Buffer.byteLength(out) > MAX_PATH_BYTES) throw bad(`The remote path is longer than ${MAX_PATH_BYTES} bytes`);
  return out;
}

/**
 * A private key as ssh2 reads it: Windows line ends made Unix ones, blanks around it dropped, and a key
 * whose line breaks were lost (pasted into a one-line field: the markers and the base64 on one line)
 * broken into lines again.
 */
export function keyText(key: string | Buffer): string | Buffer {
  if (Buffer.isBuffer(key)) return key;
  const text = String(key).replace(/\r\n?/g, '\n').trim();
  const flat = /^(-----BEGIN [A-Z0-9 ]+-----)\s*([A-Za-z0-9+/=\s]+?)\s*(-----END [A-Z0-9 ]+-----)$/.exec(text);
  if (!flat || /\n/.test(text)) return `${text}\n`;
  const body = flat[2].replace(/\s+/g, '');
  return `${flat[1]}\n${body.match(/.{1,70}/g)?.join('\n') ?? ''}\n${flat[3]}\n`;
}

/** The names `tempNameFor` gives. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.part$/;
/** At most this many folder entries are looked at by one `cleanup()`. */
const CLEANUP_LIMIT = 200_000;
const CLEANUP_TIMEOUT_MS = 120_000;

function tempNameFor(name: string): string {
  let base = name;
  while (Buffer.byteLength(base) > 200) base = base.slice(0, -1);
  return `.${base}.${randomBytes(6).toString('hex')}.part`;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function isConnectionLoss(err: unknown): boolean {
  const code = sftpCode(err);
  if (code === FX.NO_CONNECTION || code === FX.CONNECTION_LOST) return true;
  const msg = err instanceof Error ? err.message : '';
  return /No response from server|Not connected|Channel (?:open failure|closed)|connection lost|write after end|socket hang up/i.test(msg);
}

/** Turn anything ssh2 or the socket throws into a DeliverError with an actionable message and no secret. */
export function classifyError(err: unknown, doing: string): DeliverError {
  if (err instanceof DeliverError) return err;
  const e = (err ?? {}) as { message?: string; level?: string; code?: unknown; name?: string };
  const msg = e.message ?? String(err);
  if (e.name === 'AbortError') return new DeliverError('EABORTED', `Aborted while ${doing}`, false, { cause: err });
  if (e.level === 'client-authentication') {
    return new DeliverError('EAUTH', `SFTP authentication failed while ${doing}: the server refused the user name, password or key`, false);
  }
  if (e.level === 'client-timeout') return new DeliverError('ETIMEDOUT', `SFTP connection timed out while ${doing}`, true, { cause: err });
  if (e.level === 'client-dns' || e.code === 'ENOTFOUND') {
    return new DeliverError('ENOTFOUND', `SFTP host not found while ${doing}: ${msg}`, false, { cause: err });
  }
  if (typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code)) {
    return new DeliverError(e.code, `SFTP connection failed while ${doing}: ${msg}`, true, { cause: err });
  }
  if (/Timed out while waiting for handshake/i.test(msg)) {
    return new DeliverError('ETIMEDOUT', `SFTP handshake timed out while ${doing}`, true, { cause: err });
  }
  if (e.level === 'handshake') return new DeliverError('ESSH', `SSH handshake failed while ${doing}: ${msg}`, false, { cause: err });
  if (isConnectionLoss(err) || e.level === 'protocol' || e.level === 'client-socket') {
    return new DeliverError('ECONNRESET', `SFTP connection lost while ${doing}: ${msg}`, true, { cause: err });
  }
  switch (sftpCode(err)) {
    case FX.NO_SUCH_FILE:
      return new DeliverError('ENOENT', `No such file or folder while ${doing}`, false, { cause: err });
    case FX.PERMISSION_DENIED:
      return new DeliverError('EACCES', `Permission denied while ${doing}`, false, { cause: err });
    case FX.OP_UNSUPPORTED:
      return new DeliverError('ESFTP', `The SFTP server does not support an operation needed for ${doing}`, false, { cause: err });
    case FX.FAILURE:
      return new DeliverError('ESFTP', `The SFTP server failed while ${doing} (disk full, quota or a name conflict?): ${msg}`, false, { cause: err });
  }
  return new DeliverError('ESFTP', `SFTP error while ${doing}: ${msg}`, false, { cause: err });
}

/** An OpenSSH extension the server does not offer (ssh2 throws before sending) or refuses. */
function unsupported(err: unknown): boolean {
  return sftpCode(err) === FX.OP_UNSUPPORTED || /does not support/i.test(err instanceof Error ? err.message : '');
}

function abortError(signal: AbortSignal, doing: string): DeliverError {
  return new DeliverError('EABORTED', `Aborted while ${doing}`, false, { cause: signal.reason });
}

/** Settle with the promise, or reject as soon as the signal aborts (the operation itself goes on). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, doing: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, doing));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, doing));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// SFTP helpers (promises over ssh2's callbacks)

function call<T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      fn((err, v) => (err ? reject(err) : resolve(v as T)));
    } catch (err) {
      reject(err);
    }
  });
}

interface FileKind {
  exists: boolean;
  isDir: boolean;
}

async function statKind(sftp: SFTPWrapper, path: string): Promise<FileKind> {
  try {
    const st = await call<{ isDirectory(): boolean }>((cb) => sftp.stat(path, cb));
    return { exists: true, isDir: st.isDirectory() };
  } catch (err) {
    if (sftpCode(err) === FX.NO_SUCH_FILE) return { exists: false, isDir: false };
    throw err;
  }
}

/** A Writable over an open SFTP handle: several writes in flight, `final` waits for every acknowledgement. */
class SftpHandleWriter extends Writable {
  bytes = 0;
  private pos = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiting: Array<() => void> = [];

  constructor(private readonly sftp: SFTPWrapper, private readonly handle: Buffer) {
    super({ highWaterMark: 64 * 1024 });
  }

  private settle(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    const position = this.pos;
    this.pos += chunk.length;
    this.inFlight++;
    try {
      this.sftp.write(this.handle, chunk, 0, chunk.length, position, (err) => {
        this.inFlight--;
        if (err) this.failure ??= err;
        else this.bytes += chunk.length;
        this.settle();
      });
    } catch (err) {
      this.inFlight--;
      return cb(err as Error);
    }
    if (this.inFlight < MAX_WRITES_IN_FLIGHT) return cb();
    const wait = (): void => {
      if (this.failure) cb(this.failure);
      else if (this.inFlight < MAX_WRITES_IN_FLIGHT) cb();
      else this.waiting.push(wait);
    };
    this.waiting.push(wait);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const wait = (): void => {
      if (this.failure) cb(this.failure);
      else if (this.inFlight === 0) cb();
      else this.waiting.push(wait);
    };
    wait();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Connections

/** Internal signal: a reused connection was found dead before the body was touched; retry on a fresh one. */
class Retry extends Error {}

interface Session {
  client: Client;
  sftp: SFTPWrapper;
  broken: boolean;
  /** How many operations have used this connection (a dead reused one is retried once). */
  uses: number;
  /** Folders known to exist, or being created, on this connection. */
  dirs: Map<string, Promise<void>>;
  /** The SHA256 fingerprint of the host key the server presented. */
  hostKey?: string;
}

function readConfig(config: SftpDestinationConfig): {
  connect: ConnectConfig;
  expected?: ExpectedKeys;
  basePath: string;
  fsync: boolean;
  where: string;
} {
  const fail = (message: string): never => {
    throw new DeliverError('ECONFIG', message, false);
  };
  const host = typeof config.host === 'string' ? config.host.trim() : '';
  if (!host) fail('The SFTP destination has no host');
  const port = config.port === undefined || config.port === '' ? 22 : Number(config.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`The SFTP port must be 1–65535, not ${String(config.port)}`);
  const user = (config.user ?? config.username ?? '').trim();
  if (!user) fail('The SFTP destination has no user name');
  const password = typeof config.password === 'string' && config.password !== '' ? config.password : undefined;
  const rawKey = config.privateKey;
  const privateKey = rawKey !== undefined && rawKey !== null && String(rawKey).trim() !== '' ? keyText(rawKey) : undefined;
  const passphrase = typeof config.passphrase === 'string' && config.passphrase !== '' ? config.passphrase : undefined;
  if (!password && !privateKey) fail('The SFTP destination needs a password or a private key');
  if (privateKey) {
    const parsed = utils.parseKey(privateKey, passphrase);
    if (parsed instanceof Error) {
      fail(
        /passphrase|decrypt|bad decrypt|integrity/i.test(parsed.message)
          ? 'The SFTP private key could not be decrypted: check the passphrase'
          : 'The SFTP private key could not be read: paste it in OpenSSH or PEM format',
      );
    }
  }
  const where = `${host}:${port}`;
  const flag = (v: unknown, setting: string): boolean => {
    try {
      return strictBool(v, setting, false);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  const fsync = flag(config.fsync, 'fsync');
  let expected: ExpectedKeys | undefined;
  if (!flag(config.insecureSkipHostKey, 'insecureSkipHostKey')) {
    const text = typeof config.hostKey === 'string' ? config.hostKey.trim() : '';
    if (!text) {
      fail(
        `The SFTP destination ${where} has no host key fingerprint. Set it (e.g. SHA256:… from ` +
          `"ssh-keyscan -p ${port} ${host} | ssh-keygen -lf -", confirmed with the server's administrator) ` +
          'or explicitly turn host key checking off',
      );
    }
    expected = parseHostKeySetting(text);
    if (!expected) fail(`The SFTP host key setting is not a fingerprint; expected e.g. SHA256:… as "ssh-keygen -lf" prints it`);
  }
  let basePath = typeof config.basePath === 'string' ? config.basePath.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(basePath)) fail('The SFTP base path contains a control character');
  basePath = basePath === '' ? '' : posix.normalize(basePath).replace(/(.)\/+$/, '$1');
  if (basePath === '.') basePath = '';
  const timeoutMs = Number(config.timeoutMs) > 0 ? Number(config.timeoutMs) : 20_000;
  return {
    connect: {
      host, port, username: user, password, privateKey, passphrase,
      readyTimeout: timeoutMs, keepaliveInterval: 15_000, keepaliveCountMax: 3,
    },
    expected,
    basePath,
    fsync,
    where,
  };
}

export function createSftpDestination(config: SftpDestinationConfig): Destination {
  const settings = readConfig(config);
  const { where, basePath } = settings;
  let current: Promise<Session> | undefined;
  let currentSession: Session | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let active = 0;
  /** Temporary files left behind by a lost connection, removed on the next one. */
  const orphans = new Set<string>();
  /** When this destination was made: temporary files last written before that are an earlier run's. */
  const createdAt = Date.now();

  const remotePath = (location: string): string => {
    const rel = normalizeRemotePath(location);
    return basePath ? posix.join(basePath, rel) : rel;
  };

  function drop(session: Session): void {
    session.broken = true;
    if (currentSession === session) {
      currentSession = undefined;
      current = undefined;
    }
    session.client.end();
  }

  function openSession(): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      const client = new Client();
      let seen: HostKeyFingerprint | undefined;
      let rejectedKey = false;
      let settled = false;
      const failed = (err: unknown): void => {
        if (settled) return;
        settled = true;
        client.end();
        if (rejectedKey && seen) {
          reject(
            new DeliverError(
              'EHOSTKEY',
              `The SFTP server ${where} presented host key ${seen.sha256} (${seen.keyType}; ${seen.md5}), which is not ` +
                'the configured fingerprint. If the server administrator confirms this key, set it as the host key ' +
                'fingerprint of the destination; otherwise the connection may be intercepted',
              false,
            ),
          );
        } else {
          reject(classifyError(err, `connecting to ${where}`));
        }
      };
      client.on('error', failed);
      client.once('close', () => failed(new Error('Connection closed during the handshake (No response from server)')));
      client.once('ready', () => {
        client.sftp((err, sftp) => {
          if (err) return failed(err);
          if (settled) return;
          settled = true;
          const session: Session = { client, sftp, broken: false, uses: 0, dirs: new Map(), hostKey: seen?.sha256 };
          client.removeListener('error', failed);
          client.on('error', () => drop(session));
          client.on('close', () => drop(session));
          sftp.on('error', () => drop(session));
          sftp.on('close', () => drop(session));
          resolve(session);
        });
      });
      const hostVerifier = (key: Buffer): boolean => {
        seen = fingerprintOf(key);
        if (!settings.expected) return true;
        const ok = hostKeyMatches(settings.expected, seen);
        rejectedKey = !ok;
        return ok;
      };
      try {
        client.connect({ ...settings.connect, hostVerifier });
      } catch (err) {
        failed(err);
      }
    });
  }

  async function session(): Promise<Session> {
    if (!current) {
      const opening = openSession();
      current = opening;
      opening.then(
        (s) => {
          if (current === opening) currentSession = s;
          else s.client.end();
          void removeOrphans(s);
        },
        () => {
          if (current === opening) current = undefined;
        },
      );
    }
    return current;
  }

  async function removeOrphans(s: Session): Promise<void> {
    for (const path of [...orphans]) {
      orphans.delete(path);
      await call((cb) => s.sftp.unlink(path, cb)).catch(() => undefined);
    }
  }

  /** Run `fn` with the connection, counting it as in use (the idle timer closes unused connections). */
  async function withSession<T>(signal: AbortSignal, doing: string, fn: (s: Session) => Promise<T>): Promise<T> {
    active++;
    if (idleTimer) clearTimeout(idleTimer);
    try {
      let s = await raceAbort(session(), signal, doing);
      s.uses++;
      try {
        return await fn(s);
      } catch (err) {
        if (!(err instanceof Retry)) throw err;
        // A reused connection that turned out dead before any byte of the body was read: one fresh attempt.
        drop(s);
        s = await raceAbort(session(), signal, doing);
        s.uses++;
        return await fn(s);
      }
    } finally {
      active--;
      if (active === 0 && currentSession) {
        const idle = currentSession;
        idleTimer = setTimeout(() => drop(idle), IDLE_CLOSE_MS);
        idleTimer.unref();
      }
    }
  }

  async function ensureDir(s: Session, dir: string): Promise<void> {
    if (dir === '' || dir === '.' || dir === '/') return;
    let p = s.dirs.get(dir);
    if (!p) {
      p = (async () => {
        const kind = await statKind(s.sftp, dir);
        if (kind.exists) {
          if (!kind.isDir) throw new DeliverError('ENOTDIR', `The remote path ${dir} on ${where} is a file, not a folder`, false);
          return;
        }
        await ensureDir(s, posix.dirname(dir));
        try {
          await call((cb) => s.sftp.mkdir(dir, cb));
        } catch (err) {
          if (isConnectionLoss(err)) throw err;
          const again = await statKind(s.sftp, dir).catch(() => ({ exists: false, isDir: false }));
          if (!again.isDir) throw classifyError(err, `creating the folder ${dir} on ${where}`);
        }
      })();
      s.dirs.set(dir, p);
      p.catch(() => s.dirs.delete(dir));
    }
    return p;
  }

  async function put(req: PutRequest): Promise<PutResult> {
    const { body, signal } = req;
    const policy = req.overwrite ?? 'overwrite';
    const location = normalizeRemotePath(req.location);
    const target = remotePath(location);
    const dir = posix.dirname(target);
    const temp = posix.join(dir, tempNameFor(posix.basename(target)));
    const finishBody = (): void => {
      if (!body.destroyed) body.destroy();
    };
    if (signal.aborted) {
      finishBody();
      throw abortError(signal, `uploading ${target} to ${where}`);
    }
    try {
      return await withSession(signal, `connecting to ${where}`, async (s) => {
        const fresh = s.uses === 1;
        // Preparation: nothing of the body is read yet, so a dead reused connection can be retried.
        try {
          await raceAbort(ensureDir(s, dir), signal, `creating ${dir} on ${where}`);
          if (policy !== 'overwrite') {
            const kind = await raceAbort(statKind(s.sftp, target), signal, `checking ${target} on ${where}`);
            if (kind.exists) {
              finishBody();
              if (policy === 'skip') return { location, bytes: 0, skipped: true };
              throw new DeliverError('EEXIST', `${target} already exists on ${where} (overwrite policy: fail)`, false);
            }
          }
        } catch (err) {
          if (!fresh && !(err instanceof DeliverError) && isConnectionLoss(err)) throw new Retry();
          throw err;
        }
        return upload(s, req, location, target, temp, policy);
      });
    } catch (err) {
      finishBody();
      if (signal.aborted) throw abortError(signal, `uploading ${target} to ${where}`);
      throw classifyError(err, `uploading ${target} to ${where}`);
    }
  }

  async function upload(
    s: Session,
    req: PutRequest,
    location: string,
    target: string,
    temp: string,
    policy: 'overwrite' | 'skip' | 'fail',
  ): Promise<PutResult> {
    const { signal } = req;
    const sftp = s.sftp;
    let handle: Buffer | undefined;
    let created = false;
    try {
      // Not raced with the signal: the open is short, and its handle must be known to be closed.
      handle = await call<Buffer>((cb) => sftp.open(temp, 'wx', cb));
      created = true;
      const writer = new SftpHandleWriter(sftp, handle);
      await pipeline(req.body, writer, { signal });
      if (settings.fsync) {
        try {
          await call((cb) => sftp.ext_openssh_fsync(handle as Buffer, cb));
        } catch (err) {
          if (!unsupported(err)) throw err;
        }
      }
      const h = handle;
      handle = undefined;
      await call((cb) => sftp.close(h, cb));
      if (signal.aborted) throw abortError(signal, `uploading ${target} to ${where}`);
      const skipped = await commit(s, temp, target, policy);
      created = false;
      if (skipped) return { location, bytes: 0, skipped: true };
      return { location, bytes: writer.bytes };
    } catch (err) {
      if (handle) {
        const h = handle;
        void call((cb) => sftp.close(h, cb)).catch(() => undefined);
      }
      if (created) {
        if (s.broken || isConnectionLoss(err)) orphans.add(temp);
        else await call((cb) => sftp.unlink(temp, cb)).catch(() => orphans.add(temp));
      }
      if (isConnectionLoss(err)) drop(s);
      throw err;
    }
  }

  /** Move the finished temporary file onto the target; true when the policy said skip and the target appeared. */
  async function commit(s: Session, temp: string, target: string, policy: 'overwrite' | 'skip' | 'fail'): Promise<boolean> {
    const sftp = s.sftp;
    if (policy === 'overwrite') {
      try {
        await call((cb) => sftp.ext_openssh_rename(temp, target, cb));
        return false;
      } catch (err) {
        if (!unsupported(err)) throw err;
      }
    }
    // Plain SFTP rename refuses an existing target (OpenSSH links, then unlinks): a no-clobber commit.
    try {
      await call((cb) => sftp.rename(temp, target, cb));
      return false;
    } catch (err) {
      if (isConnectionLoss(err)) throw err;
      const kind = await statKind(sftp, target);
      if (!kind.exists) throw err;
      if (policy === 'skip') {
        await call((cb) => sftp.unlink(temp, cb));
        return true;
      }
      if (policy === 'fail') throw new DeliverError('EEXIST', `${target} already exists on ${where} (overwrite policy: fail)`, false);
      // No atomic replace on this server: remove the old file, then rename (a short window without a target).
      await call((cb) => sftp.unlink(target, cb));
      await call((cb) => sftp.rename(temp, target, cb));
      return false;
    }
  }

  /**
   * Removes the temporary files (`.<name>.<12 hex>.part`) that an earlier run left under the base folder
   * when it was killed mid-upload: only files last written in a second before this destination was made
   * (by the server's clock), links never followed, at most 200,000 entries looked at. Resolves with the
   * number removed.
   */
  async function cleanup(): Promise<number> {
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    const root = basePath || '.';
    try {
      return await withSession(signal, `connecting to ${where}`, async (s) => {
        let removed = 0;
        let seen = 0;
        const walk = async (dir: string): Promise<void> => {
          let handle: Buffer;
          try {
            handle = await call<Buffer>((cb) => s.sftp.opendir(dir, cb));
          } catch (err) {
            if (isConnectionLoss(err)) throw err;
            return; // gone, or not readable: nothing of ours to remove there
          }
          const folders: string[] = [];
          try {
            for (;;) {
              let batch: Array<{ filename: string; attrs: Stats }>;
              try {
                batch = await call((cb) => s.sftp.readdir(handle, cb as never));
              } catch (err) {
                if (sftpCode(err) === FX.EOF) break;
                throw err;
              }
              if (!batch) break;
              for (const { filename, attrs } of batch) {
                if (++seen > CLEANUP_LIMIT || signal.aborted) return;
                if (filename === '.' || filename === '..') continue;
                const path = dir === '.' ? filename : posix.join(dir, filename);
                if (attrs.isDirectory()) folders.push(path);
                else if (attrs.isFile() && TEMP_NAME.test(filename) && (attrs.mtime + 1) * 1000 <= createdAt) {
                  if (await call((cb) => s.sftp.unlink(path, cb)).then(() => true, () => false)) removed++;
                }
              }
            }
          } finally {
            await call((cb) => s.sftp.close(handle, cb)).catch(() => undefined);
          }
          for (const f of folders) {
            if (seen > CLEANUP_LIMIT || signal.aborted) return;
            await walk(f);
          }
        };
        await walk(root);
        return removed;
      });
    } catch (err) {
      throw classifyError(err, `removing temporary files under ${basePath || '(login folder)'} on ${where}`);
    }
  }

  /** Sign in (checking the host key as deliveries do) and stat the remote folder; nothing is written. */
  async function probe(signal: AbortSignal): Promise<ProbeResult> {
    const folder = basePath || '.';
    const doing = `checking the folder ${basePath || '(login folder)'} on ${where}`;
    try {
      return await withSession(signal, `connecting to ${where}`, async (s) => {
        const attrs = await raceAbort(call<Stats>((cb) => s.sftp.stat(folder, cb)), signal, doing);
        if (!attrs.isDirectory()) throw new DeliverError('ENOTDIR', `${folder} on ${where} is not a folder`);
        return {
          key: settings.expected ? 'sftpOk' : 'sftpUnchecked',
          values: { where, folder: basePath || '~', fingerprint: s.hostKey ?? '?' },
        };
      });
    } catch (err) {
      if (signal.aborted) throw abortError(signal, doing);
      throw classifyError(err, doing);
    }
  }

  return {
    kind: 'sftp',
    probe,
    cleanup,
    resolve: normalizeRemotePath,
    check: (location: string) => void normalizeRemotePath(location),
    put,
    async remove(location: string, signal: AbortSignal): Promise<{ removed: boolean }> {
      const target = remotePath(location);
      const doing = `removing ${target} from ${where}`;
      if (signal.aborted) throw abortError(signal, doing);
      try {
        return await withSession(signal, `connecting to ${where}`, async (s) => {
          try {
            await raceAbort(call((cb) => s.sftp.unlink(target, cb)), signal, doing);
            return { removed: true };
          } catch (err) {
            if (sftpCode(err) === FX.NO_SUCH_FILE) return { removed: false };
            if (isConnectionLoss(err) && s.uses > 1 && !signal.aborted) throw new Retry();
            if (isConnectionLoss(err)) drop(s);
            throw err;
          }
        });
      } catch (err) {
        if (signal.aborted) throw abortError(signal, doing);
        throw classifyError(err, doing);
      }
    },
    async close(): Promise<void> {
      if (idleTimer) clearTimeout(idleTimer);
      const pending = current;
      current = undefined;
      currentSession = undefined;
      if (!pending) return;
      const s = await pending.catch(() => undefined);
      if (!s) return;
      s.broken = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        t.unref();
        s.client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        s.client.end();
      });
    },
  };
}


/**
 * The folder destination: files under a base folder. Locations are relative paths with `/`, checked by
 * `resolve()` (NFC-normalised); writes go to a temporary file in the target folder and are renamed into
 * place (atomic for readers), optionally fsync'd first. The folders of a location are walked one by one
 * from the base: a symbolic link among them must lead to a folder inside the base, so that a write or a
 * delete never leaves it. Temporary files a crash left behind are removed by `cleanup()`.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, open, opendir, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { DeliverError, type Destination, type ProbeResult, type PutRequest, type PutResult } from '../types';

export interface FolderOptions {
  /** The base folder (absolute, or relative to the working directory). */
  base: string;
  /** fsync the file (and its folder) before the rename: survives a power loss, costs time. */
  fsync?: boolean;
  /**
   * Create the base folder (and its missing parents) when it is missing. Off, a missing base folder is an
   * error that names it, so that a mistyped one is not created silently. Folders below the base (from the
   * location template) are always created. Default: on (the behaviour before the choice existed).
   */
  createBase?: boolean;
}

/** Device names Windows reserves, with or without an extension (`CON`, `nul.txt`, `CONIN$`, `COM1`…). */
const RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;
const MAX_COMPONENT_BYTES = 255;
/** The names of this destination's temporary files (see `put`) and of the probe's. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.part$|^\.photoshelter-probe-[0-9a-f]{12}\.part$/;
/** At most this many folder entries are looked at by one `cleanup()`. */
const CLEANUP_LIMIT = 200_000;

function badPath(message: string): DeliverError {
  return new DeliverError('EBADPATH', message);
}

/** A lone UTF-16 surrogate: text that is not valid Unicode and has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Invisible direction marks and overrides, which make a name read differently from what it is. */
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Checks and normalizes a relative path: `/` or `\` separate folders; empty and `.` segments are dropped;
 * the text is NFC-normalised (so that a name typed on any system names one file); `..`, absolute paths,
 * drive letters, NUL, control characters, invisible direction marks, invalid Unicode, reserved device
 * names (`CON`, `CONIN$`, `LPT1.txt`…), names ending in a dot or a space (Windows drops those) and
 * segments over 255 bytes are refused.
 */
export function checkRelativePath(rendered: string): string {
  if (typeof rendered !== 'string') throw badPath('The path is not text');
  if (rendered.includes('\0')) throw badPath('The path contains a NUL character');
  if (LONE_SURROGATE.test(rendered)) throw badPath('The path is not valid Unicode (it has a lone surrogate)');
  const text = rendered.normalize('NFC');
  if (isAbsolute(text) || /^[\\/]/.test(text) || /^[A-Za-z]:/.test(text)) {
    throw badPath(`The path "${text.slice(0, 80)}" is absolute; it must be relative to the base folder`);
  }
  const parts = text.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw badPath('The path is empty');
  for (const p of parts) {
    if (p === '..') throw badPath(`The path "${text.slice(0, 80)}" leaves the base folder (..)`);
    if (CONTROL.test(p)) throw badPath(`The path segment "${p.slice(0, 40).replace(new RegExp(CONTROL.source, 'g'), '?')}" contains a control character`);
    if (BIDI.test(p)) throw badPath(`The path segment "${p.slice(0, 40)}" contains an invisible direction mark`);
    if (RESERVED.test(p.split('.')[0].trimEnd())) throw badPath(`"${p}" is a reserved device name on Windows`);
    if (/[. ]$/.test(p)) throw badPath(`The path segment "${p.slice(0, 40)}" ends in a dot or a space, which Windows drops`);
    if (Buffer.byteLength(p) > MAX_COMPONENT_BYTES) throw badPath(`A path segment is ${Buffer.byteLength(p)} bytes long, more than ${MAX_COMPONENT_BYTES}`);
  }
  return parts.join('/');
}

/** True when `path` is `root` or lies under it. */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function fsError(e: unknown, where: string): DeliverError {
  if (e instanceof DeliverError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const name = (e as Error)?.name;
  if (name === 'AbortError' || code === 'ABORT_ERR') return new DeliverError('EABORTED', `The write of ${where} was aborted`, false, { cause: e });
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new DeliverError('ENOSPC', `The disk is full: ${where} was not written`, false, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new DeliverError('EACCES', `Permission denied writing ${where}: check the folder's owner and mode`, false, { cause: e });
    case 'EROFS':
      return new DeliverError('EROFS', `The file system of ${where} is read-only`, false, { cause: e });
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EISDIR':
      return new DeliverError('ENOTDIR', `A file is in the way of ${where} (a folder was expected, or the reverse)`, false, { cause: e });
    case 'ENAMETOOLONG':
      return new DeliverError('EBADPATH', `The path ${where} is too long`, false, { cause: e });
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
    case 'EAGAIN':
    case 'EIO':
      return new DeliverError(code, `Writing ${where} failed for now (${code})`, true, { cause: e });
  }
  return new DeliverError(code ?? 'EFOLDER', `Writing ${where} failed: ${(e as Error)?.message ?? String(e)}`, false, { cause: e });
}

async function statOf(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function checkSignal(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DeliverError('EABORTED', 'Stopped before it was done', false, { cause: signal.reason });
}

/**
 * Creates `dir` and its missing parents one level at a time, checking the path first: the nearest
 * existing ancestor must be a folder. Node's recursive mkdir is not used: where mkdir answers ENOENT
 * although the parent exists (/proc, some virtual file systems) it retries forever on a worker thread.
 * Returns the folders it created, outermost first.
 */
export async function makeFolders(dir: string, signal?: AbortSignal): Promise<string[]> {
  const missing: string[] = [];
  for (let cur = dir; ; ) {
    checkSignal(signal);
    // below a file, stat answers ENOTDIR: the file is found one level up
    const st = await statOf(cur).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOTDIR') return undefined;
      throw e;
    });
    if (st) {
      if (!st.isDirectory()) throw new DeliverError('ENOTDIR', `${cur} is a file, not a folder: the folder ${dir} cannot be made there`);
      break;
    }
    missing.unshift(cur);
    const parent = dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  for (const d of missing) {
    checkSignal(signal);
    await makeFolder(d);
  }
  return missing;
}

/**
 * Makes one folder whose parent exists; a folder that is there already is fine (a file is not).
 * ENOENT although the parent is there means a file system that takes no new folders (/proc): EFOLDER.
 */
async function makeFolder(d: string): Promise<void> {
  try {
    await mkdir(d);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await statOf(d))?.isDirectory()) return;
    if (code === 'ENOENT') {
      throw new DeliverError('EFOLDER', `The folder ${d} cannot be created: ${dirname(d)} takes no new folders (a system or virtual file system?). Choose a folder on a disk`, false, { cause: e });
    }
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * The base folder as the last full check found it: its real path (no link in it) and the identity (device
 * and inode) of the folder there, both as the base path led to it and as the real path names it.
 */
interface BaseFolder {
  root: string;
  dev: number;
  ino: number;
}

export class FolderDestination implements Destination {
  readonly kind = 'folder' as const;
  private readonly base: string;
  /** When this destination was made: temporary files older than that are an earlier run's. */
  private readonly createdAt = Date.now();
  /** The last full check of the base folder; each put re-validates it with one or two cheap lookups (see `root`). */
  private known?: BaseFolder;

  constructor(private readonly opts: FolderOptions) {
    if (!opts.base || typeof opts.base !== 'string') throw new DeliverError('ECONFIG', 'The folder destination has no base folder');
    this.base = resolvePath(opts.base);
  }

  private get createBase(): boolean {
    return this.opts.createBase !== false;
  }

  private noBase(): DeliverError {
    return new DeliverError(
      'ENOFOLDER',
      `The base folder ${this.base} does not exist. Create it, or choose "create the base folder" in the destination (check its spelling first)`,
    );
  }

  /**
   * The base folder, made (with its missing parents, by `makeFolders`) when it is missing and that is
   * allowed; missing and not allowed, an ENOFOLDER error that names it.
   */
  private async baseFolder(signal?: AbortSignal): Promise<void> {
    const st = await statOf(this.base);
    if (st) {
      if (!st.isDirectory()) throw new DeliverError('ENOTDIR', `The base folder ${this.base} is a file, not a folder`);
      return;
    }
    if (!this.createBase) throw this.noBase();
    await makeFolders(this.base, signal);
  }

  /** A location named with its base folder, for messages. */
  private where(location: string): string {
    return `${location} in ${this.base}`;
  }

  resolve(rendered: string): string {
    return checkRelativePath(rendered);
  }

  check(location: string): void {
    this.pathOf(location);
  }

  /** The absolute path of a location, checked once more to lie inside the base folder (no links followed). */
  pathOf(location: string): string {
    const full = join(this.base, checkRelativePath(location));
    const rel = relative(this.base, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw badPath(`The path "${location}" leaves the base folder`);
    return full;
  }

  /**
   * The real path of the base folder (made first when `create` and it is missing; undefined when it is
   * missing and not to be made). The full check (`stat` of the base, `realpath`) runs once, and again
   * whenever the base no longer leads to the folder it found: each call re-validates it by the identity
   * (device and inode) of what the base path leads to now and of what the real path names now (`lstat`:
   * a link put in its place is no folder). The base path being the real path, one `lstat` does both. A base
   * folder replaced, moved, or turned into a link after the check is thus found at the next put, which
   * resolves it again as the first did.
   */
  private async root(create: boolean, signal?: AbortSignal): Promise<string | undefined> {
    const known = this.known;
    if (known) {
      const same = (st: Stats | undefined): boolean => st !== undefined && st.isDirectory() && st.dev === known.dev && st.ino === known.ino;
      const real = await lstat(known.root).catch(() => undefined);
      if (same(real) && (known.root === this.base || same(await statOf(this.base).catch(() => undefined)))) return known.root;
      this.known = undefined;
    }
    if (create) await this.baseFolder(signal);
    let root: string;
    try {
      root = await realpath(this.base);
    } catch (e) {
      if (!create && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    // the identity of the folder found, taken through its real path (no link followed); anything else
    // there by now (it changed under the check) is not remembered, and the next put checks afresh
    const st = await lstat(root).catch(() => undefined);
    if (st?.isDirectory()) this.known = { root, dev: st.dev, ino: st.ino };
    return root;
  }

  /**
   * The real folder that holds `location`, walked segment by segment from the base: missing folders are
   * made when `create` (else: undefined), and a symbolic link must lead to a folder inside the base.
   */
  private async folderOf(location: string, create: boolean, signal?: AbortSignal): Promise<{ dir: string; name: string } | undefined> {
    const parts = checkRelativePath(location).split('/');
    const name = parts.pop() as string;
    const root = await this.root(create, signal);
    if (root === undefined) return undefined;
    let dir = root;
    for (const segment of parts) {
      checkSignal(signal);
      const next = join(dir, segment);
      let st: Stats | undefined = await lstat(next).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (!st) {
        if (!create) return undefined;
        await makeFolder(next);
        st = await lstat(next);
      }
      if (st.isSymbolicLink()) {
        const real = await realpath(next).catch(() => {
          throw badPath(`"${segment}" in the path ${location} is a link to nothing; nothing was written`);
        });
        if (!inside(root, real)) throw badPath(`"${segment}" in the path ${location} is a link that leads out of the base folder; nothing was written or removed`);
        if (!(await stat(real)).isDirectory()) throw new DeliverError('ENOTDIR', `A file is in the way of ${location} (a folder was expected, or the reverse)`);
        dir = real;
      } else if (st.isDirectory()) {
        dir = next;
      } else {
        throw new DeliverError('ENOTDIR', `A file is in the way of ${location} (a folder was expected, or the reverse)`);
      }
    }
    return { dir, name };
  }

  async put(req: PutRequest): Promise<PutResult> {
    let tempMade = false;
    let temp = '';
    try {
      this.pathOf(req.location);
      const { dir, name } = (await this.folderOf(req.location, true, req.signal)) as { dir: string; name: string };
      const full = join(dir, name);
      temp = join(dir, `.${Buffer.from(name).subarray(0, 200).toString().replace(/\uFFFD$/, '')}.${randomBytes(6).toString('hex')}.part`);
      const policy = req.overwrite ?? 'overwrite';
      // checked first to spare the upload; checked again, atomically, when the file is put in place
      if (policy !== 'overwrite' && (await exists(full))) {
        req.body.destroy();
        if (policy === 'skip') return { location: req.location, bytes: 0, skipped: true };
        throw new DeliverError('EEXIST', `${this.where(req.location)} exists already and the overwrite policy is "fail"`);
      }
      const h = await open(temp, 'wx');
      tempMade = true;
      let bytes: number;
      try {
        bytes = await writeBody(h, req.body, req.signal);
        if (this.opts.fsync) await h.sync();
      } finally {
        await h.close();
      }
      if (policy === 'overwrite') {
        // a link at the target itself is replaced, never followed
        await rename(temp, full);
      } else {
        // no-clobber: a hard link fails if a file appeared meanwhile
        try {
          await link(temp, full);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
            // no hard links on this file system: the early check has to do
            await rename(temp, full);
            tempMade = false;
            return { location: req.location, bytes };
          }
          if (code !== 'EEXIST') throw e;
          await unlink(temp);
          tempMade = false;
          if (policy === 'skip') return { location: req.location, bytes: 0, skipped: true };
          throw new DeliverError('EEXIST', `${this.where(req.location)} exists already and the overwrite policy is "fail"`);
        }
        await unlink(temp);
      }
      tempMade = false;
      if (this.opts.fsync) await syncDir(dir);
      return { location: req.location, bytes };
    } catch (e) {
      req.body.destroy();
      if (tempMade) await unlink(temp).catch(() => undefined);
      throw fsError(e, this.where(req.location));
    }
  }

  async remove(location: string, _signal: AbortSignal): Promise<{ removed: boolean }> {
    try {
      this.pathOf(location);
      const at = await this.folderOf(location, false);
      if (!at) return { removed: false };
      // a link at the target itself is removed, never followed
      await unlink(join(at.dir, at.name));
      return { removed: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removed: false };
      throw fsError(e, this.where(location));
    }
  }

  /**
   * Removes the temporary files (`.<name>.<12 hex>.part`) an earlier run left under the base folder when
   * it crashed mid-write: only files older than this destination, links never followed, at most 200,000
   * entries looked at. Resolves with the number removed.
   */
  async cleanup(): Promise<number> {
    let removed = 0;
    let seen = 0;
    const walk = async (dir: string): Promise<void> => {
      let handle;
      try {
        handle = await opendir(dir);
      } catch {
        return; // gone, or not readable: nothing of ours to remove there
      }
      for await (const entry of handle) {
        if (++seen > CLEANUP_LIMIT) return;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && TEMP_NAME.test(entry.name)) {
          const st = await lstat(path).catch(() => undefined);
          if (st && st.mtimeMs < this.createdAt && (await unlink(path).then(() => true, () => false))) removed++;
        }
      }
    };
    await walk(this.base);
    return removed;
  }

  /**
   * The base folder exists (or, when that is allowed, is created as the first delivery would) and takes a
   * file: a small probe file is created beside where deliveries go, and removed. The path is checked
   * before anything is created, and every step looks at `signal` (the caller's deadline).
   */
  async probe(signal: AbortSignal): Promise<ProbeResult> {
    let created = false;
    try {
      checkSignal(signal);
      const st = await statOf(this.base);
      if (st && !st.isDirectory()) throw new DeliverError('ENOTDIR', `${this.base} is a file, not a folder`);
      if (!st) {
        if (!this.createBase) throw this.noBase();
        created = (await makeFolders(this.base, signal)).length > 0;
      }
      checkSignal(signal);
      const probe = join(this.base, `.photoshelter-probe-${randomBytes(6).toString('hex')}.part`);
      const h = await open(probe, 'wx');
      try {
        await h.writeFile('photoshelter destination test\n');
      } finally {
        await h.close();
        await unlink(probe).catch(() => undefined);
      }
    } catch (e) {
      throw fsError(e, this.base);
    }
    return { key: created ? 'folderCreated' : 'folderOk', values: { folder: this.base } };
  }

  async close(): Promise<void> {
    // nothing held
  }
}

/**
 * The chunks of a body are gathered up to this many bytes and written with one call: a write costs the
 * event loop about the same whatever its size (here, where file writes run on it), so 64 KiB chunks written
 * one by one cost several times what a few larger writes cost. At most this much is held per put.
 */
const WRITE_BATCH = 512 * 1024;

/** Writes the whole body to `h` in batches (see WRITE_BATCH); an abort of `signal` destroys the body and ends it. Resolves with the bytes written. */
async function writeBody(h: FileHandle, body: Readable, signal: AbortSignal): Promise<number> {
  addAbortSignal(signal, body);
  let batch: Buffer[] = [];
  let held = 0;
  let written = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    batch.push(b);
    held += b.length;
    if (held >= WRITE_BATCH) {
      written += await writeAll(h, batch, held);
      batch = [];
      held = 0;
    }
  }
  if (held > 0) written += await writeAll(h, batch, held);
  return written;
}

/** Writes `total` bytes of `buffers` in order, again from where a short write stopped. */
async function writeAll(h: FileHandle, buffers: Buffer[], total: number): Promise<number> {
  let done = 0;
  let rest = buffers;
  for (;;) {
    const { bytesWritten } = await h.writev(rest);
    done += bytesWritten;
    if (done >= total) return done;
    if (bytesWritten === 0) throw Object.assign(new Error('The file system took no more bytes'), { code: 'EIO' });
    // drop what was written: whole buffers, then the written part of the next
    let skip = bytesWritten;
    let i = 0;
    while (skip >= rest[i].length) skip -= rest[i++].length;
    rest = [rest[i].subarray(skip), ...rest.slice(i + 1)];
  }
}

async function syncDir(dir: string): Promise<void> {
  if (sep === '\\') return; // folders cannot be opened for fsync on Windows
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * The folder destination: files under a base folder. Locations are relative paths with `/`, checked by
 * `resolve()`; writes go to a temporary file in the target folder and are renamed into place (atomic for
 * readers), optionally fsync'd first.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DeliverError, type Destination, type ProbeResult, type PutRequest, type PutResult } from './types';

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

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const MAX_COMPONENT_BYTES = 255;

function badPath(message: string): DeliverError {
  return new DeliverError('EBADPATH', message);
}

/**
 * Checks and normalizes a relative path: `/` or `\` separate folders; empty and `.` segments are dropped;
 * `..`, absolute paths, drive letters, NUL, control characters, reserved device names and segments over
 * 255 bytes are refused.
 */
export function checkRelativePath(rendered: string): string {
  if (rendered.includes('\0')) throw badPath('The path contains a NUL character');
  if (isAbsolute(rendered) || /^[\\/]/.test(rendered) || /^[A-Za-z]:/.test(rendered)) {
    throw badPath(`The path "${rendered.slice(0, 80)}" is absolute; it must be relative to the base folder`);
  }
  const parts = rendered.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw badPath('The path is empty');
  for (const p of parts) {
    if (p === '..') throw badPath(`The path "${rendered.slice(0, 80)}" leaves the base folder (..)`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(p)) throw badPath(`The path segment "${p.slice(0, 40)}" contains a control character`);
    if (RESERVED.test(p.trim())) throw badPath(`"${p}" is a reserved device name on Windows`);
    if (Buffer.byteLength(p) > MAX_COMPONENT_BYTES) throw badPath(`A path segment is ${Buffer.byteLength(p)} bytes long, more than ${MAX_COMPONENT_BYTES}`);
  }
  return parts.join('/');
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
    try {
      await mkdir(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await statOf(d))?.isDirectory()) continue;
      if (code === 'ENOENT') {
        throw new DeliverError('EFOLDER', `The folder ${d} cannot be created: ${dirname(d)} takes no new folders (a system or virtual file system?). Choose a folder on a disk`, false, { cause: e });
      }
      throw e;
    }
  }
  return missing;
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

export class FolderDestination implements Destination {
  readonly kind = 'folder' as const;
  private readonly base: string;

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

  /** The folder of a file, made when missing; the base folder itself only when that is allowed. */
  private async folderFor(dir: string, signal?: AbortSignal): Promise<void> {
    if (!this.createBase) {
      const st = await statOf(this.base);
      if (!st) throw this.noBase();
      if (!st.isDirectory()) throw new DeliverError('ENOTDIR', `The base folder ${this.base} is a file, not a folder`);
    }
    await makeFolders(dir, signal);
  }

  /** A location named with its base folder, for messages. */
  private where(location: string): string {
    return `${location} in ${this.base}`;
  }

  resolve(rendered: string): string {
    return checkRelativePath(rendered);
  }

  /** The absolute path of a location, checked once more to lie inside the base folder. */
  pathOf(location: string): string {
    const full = join(this.base, checkRelativePath(location));
    const rel = relative(this.base, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw badPath(`The path "${location}" leaves the base folder`);
    return full;
  }

  async put(req: PutRequest): Promise<PutResult> {
    const full = this.pathOf(req.location);
    const dir = dirname(full);
    const temp = join(dir, `.${basename(full).slice(0, 200)}.${randomBytes(6).toString('hex')}.part`);
    let tempMade = false;
    try {
      await this.folderFor(dir, req.signal);
      const policy = req.overwrite ?? 'overwrite';
      // checked first to spare the upload; checked again, atomically, when the file is put in place
      if (policy !== 'overwrite' && (await exists(full))) {
        req.body.destroy();
        if (policy === 'skip') return { location: req.location, bytes: 0, skipped: true };
        throw new DeliverError('EEXIST', `${this.where(req.location)} exists already and the overwrite policy is "fail"`);
      }
      const out = createWriteStream(temp, { flags: 'wx' });
      tempMade = true;
      await pipeline(req.body, out, { signal: req.signal });
      if (this.opts.fsync) {
        const h = await open(temp, 'r+');
        try {
          await h.sync();
        } finally {
          await h.close();
        }
      }
      if (policy === 'overwrite') {
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
            return { location: req.location, bytes: out.bytesWritten };
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
      return { location: req.location, bytes: out.bytesWritten };
    } catch (e) {
      req.body.destroy();
      if (tempMade) await unlink(temp).catch(() => undefined);
      throw fsError(e, this.where(req.location));
    }
  }

  async remove(location: string, _signal: AbortSignal): Promise<{ removed: boolean }> {
    const full = this.pathOf(location);
    try {
      await unlink(full);
      return { removed: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removed: false };
      throw fsError(e, this.where(location));
    }
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

async function syncDir(dir: string): Promise<void> {
  if (sep === '\\') return; // folders cannot be opened for fsync on Windows
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * A small file written so that a crash leaves the old content or the new, never a mix, and that only the
 * Node-RED user can read: a temporary file beside it (mode 0600) written and synced, renamed over the old
 * one, the folder (mode 0700) synced. Used for what must outlive a crash and hold no secret anyone else may
 * read: a trigger's state, an account's latest OAuth refresh token.
 */
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DurableWriteOptions {
  /** The temporary file (default: the path with `.tmp`); a reader may remove a leftover one. */
  tmp?: string;
  /** Called once the temporary file is on disk, before the rename (a crash point in tests). */
  beforeRename?: () => void;
}

/** Writes `text` to `path` as described above; resolves once it is on disk. */
export async function writeFileDurably(path: string, text: string, opts: DurableWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tmp = opts.tmp ?? `${path}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  opts.beforeRename?.();
  await rename(tmp, path);
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

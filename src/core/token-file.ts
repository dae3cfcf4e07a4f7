/**
 * The OAuth refresh token an account received last, kept across restarts.
 *
 * A refresh grant answers with a new refresh token and the old one stops working (the simulator does so;
 * OAuth servers that rotate do). The token in the account's credentials is the one the user entered, and
 * Node-RED gives a node no way to write its credentials outside a deploy, so after a restart the account
 * would sign in with a token that no longer works. The latest token is therefore kept in a file of its own
 * under the user directory: readable by the Node-RED user only (mode 0600, in a folder of mode 0700),
 * written to a temporary file, synced and renamed, so that a crash leaves the old file or the new one.
 * Not in the flow file, not in the log, not in the node's context (which the editor shows and writes to
 * disk only every flush interval).
 *
 * The file names the configured token it follows from (by its sha256): when the user enters another
 * refresh token, that one wins and the file is removed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFileDurably } from './durable-file';

interface Saved {
  v: 1;
  /** sha256 of the configured refresh token this one follows from. */
  follows: string;
  refreshToken: string;
  savedAt: string;
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

export class RefreshTokenFile {
  constructor(readonly path: string) {}

  /**
   * The refresh token to sign in with: the saved one when it follows from the configured one, else the
   * configured one (a file that follows from another token, or cannot be read, is removed).
   */
  current(configured: string): string {
    if (!existsSync(this.path)) return configured;
    try {
      const saved = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<Saved>;
      if (saved.v === 1 && saved.follows === digest(configured) && typeof saved.refreshToken === 'string' && saved.refreshToken) return saved.refreshToken;
    } catch {
      // unreadable: as if there were none
    }
    rmSync(this.path, { force: true });
    return configured;
  }

  /** Keeps `latest` as the token that follows from `configured`; resolves once it is on disk. */
  async save(configured: string, latest: string): Promise<void> {
    const saved: Saved = { v: 1, follows: digest(configured), refreshToken: latest, savedAt: new Date().toISOString() };
    await writeFileDurably(this.path, JSON.stringify(saved), { tmp: `${this.path}.${process.pid}.tmp` });
  }
}

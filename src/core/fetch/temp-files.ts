/**
 * Temporary files of fetches, removed when the message that carries them is done (or after a time
 * limit). No Node-RED import: the node feeds the registry with the message events it observes.
 */
import { rm } from 'node:fs/promises';
import type { TempFile } from './files';

/** How long a temporary file may live unless the node says otherwise (seconds). */
export const DEFAULT_TEMP_TTL_S = 600;

/** Node-RED's message hook registry (RED.hooks), as far as the registry uses it. */
export interface MessageHooks {
  add(id: string, fn: (event: { msg?: { _msgid?: string }; destination?: { id: string }; node?: { id: string } }) => void): void;
  remove(id: string): void;
}

export interface TempFileRegistryOptions {
  /** The longest a file may live (default 10 minutes). */
  ttlMs?: number;
  /**
   * Message hooks to follow while files are held (preDeliver, onReceive, onComplete), registered under
   * `hookLabel` (no dots) so that they can be removed. Without them only the time limit removes files.
   */
  hooks?: MessageHooks;
  hookLabel?: string;
  /** Called when the first file is tracked and when the last one is gone (to add or remove message hooks). */
  onActive?: () => void;
  onIdle?: () => void;
  /** A file could not be removed. */
  onError?: (error: unknown, path: string) => void;
}

interface Entry {
  file: TempFile;
  owner: string;
  /** Deliveries routed to a node (by destination) and not received yet. */
  pending: Map<string, number>;
  /** Receipts (by node) not completed yet. */
  holders: Map<string, number>;
  ownDone: boolean;
  timer: NodeJS.Timeout;
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** Decrements when present; false when the key held nothing. */
function dec(m: Map<string, number>, k: string): boolean {
  const n = m.get(k) ?? 0;
  if (n === 0) return false;
  if (n === 1) m.delete(k);
  else m.set(k, n - 1);
  return true;
}

/**
 * Temporary files keyed by the message that carries them. A file is removed when the message is done:
 * every delivery of it after it was sent (routed, `delivered`; or handed over directly, `received`) has
 * been completed (`completed`). Completions of nodes that never received it after it was sent (a parallel
 * branch upstream) are ignored. A timer removes the file in any case after `ttlMs`, for messages that are
 * held, dropped, or pass through nodes that never report completion. `close()` removes everything.
 */
export class TempFileRegistry {
  private readonly entries = new Map<string, Entry[]>();
  private readonly removals = new Set<Promise<void>>();
  private readonly ttlMs: number;
  private closed = false;

  constructor(private readonly opts: TempFileRegistryOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TEMP_TTL_S * 1000;
  }

  /** Files currently held. */
  get size(): number {
    let n = 0;
    for (const list of this.entries.values()) n += list.length;
    return n;
  }

  /** Starts tracking a file for message `key`, sent by node `owner` (call before sending). */
  track(key: string, file: TempFile, owner: string): void {
    if (this.closed) {
      this.remove(file);
      return;
    }
    if (this.entries.size === 0) this.watch(true);
    const entry: Entry = {
      file,
      owner,
      pending: new Map(),
      holders: new Map(),
      ownDone: false,
      timer: setTimeout(() => this.drop(key, entry), this.ttlMs),
    };
    entry.timer.unref();
    const list = this.entries.get(key);
    if (list) list.push(entry);
    else this.entries.set(key, [entry]);
  }

  /** The message was routed to node `dest`. */
  delivered(key: string, dest: string): void {
    for (const e of this.entries.get(key) ?? []) inc(e.pending, dest);
  }

  /** Node `dest` received the message (routed, or handed over directly as link and catch nodes do). */
  received(key: string, dest: string): void {
    for (const e of this.entries.get(key) ?? []) {
      dec(e.pending, dest);
      inc(e.holders, dest);
    }
  }

  /** Node `node` is done with the message. */
  completed(key: string, node: string): void {
    for (const e of [...(this.entries.get(key) ?? [])]) {
      if (!dec(e.holders, node)) {
        // the sender's own completion tells that nothing was routed when nothing is pending
        if (e.owner !== node || e.ownDone) continue;
        e.ownDone = true;
      }
      if (e.pending.size === 0 && e.holders.size === 0) this.drop(key, e);
    }
  }

  /** Removes the files of message `key` now. */
  release(key: string): void {
    for (const e of [...(this.entries.get(key) ?? [])]) this.drop(key, e);
  }

  /** Removes every file and waits until they are gone; later files are removed at once. */
  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.entries.keys()]) this.release(key);
    await Promise.all([...this.removals]);
  }

  private drop(key: string, entry: Entry): void {
    const list = this.entries.get(key);
    const i = list ? list.indexOf(entry) : -1;
    if (!list || i === -1) return;
    clearTimeout(entry.timer);
    list.splice(i, 1);
    if (list.length === 0) this.entries.delete(key);
    this.remove(entry.file);
    if (this.entries.size === 0) this.watch(false);
  }

  /** Hooks are only registered while files are held: they cost every message of the runtime a call. */
  private watch(on: boolean): void {
    const { hooks, hookLabel: label } = this.opts;
    if (hooks && label) {
      hooks.remove(`*.${label}`);
      if (on) {
        hooks.add(`preDeliver.${label}`, (e) => void (e.msg?._msgid && e.destination && this.delivered(e.msg._msgid, e.destination.id)));
        hooks.add(`onReceive.${label}`, (e) => void (e.msg?._msgid && e.destination && this.received(e.msg._msgid, e.destination.id)));
        hooks.add(`onComplete.${label}`, (e) => void (e.msg?._msgid && e.node && this.completed(e.msg._msgid, e.node.id)));
      }
    }
    if (on) this.opts.onActive?.();
    else this.opts.onIdle?.();
  }

  private remove(file: TempFile): void {
    const p = rm(file.dir, { recursive: true, force: true })
      .catch((e: unknown) => this.opts.onError?.(e, file.path))
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }
}

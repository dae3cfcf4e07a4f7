/**
 * Named file ledgers: destinations of one Node-RED that give the same *ledger name* keep their records in
 * one file (`<deliveries folder>/named/<name>.jsonl`), opened once per process and shared: what one of
 * them delivers, another sees (records stay keyed by target, so destinations sending to different places
 * do not meet). That is what the shared PostgreSQL store does across processes, for one Node-RED and no
 * database: a rights sweep's destination reads what other flows' destinations delivered to the same place
 * and records its removals where their deliveries are.
 *
 * A destination that joins a name takes its own earlier file along once (`adopt`): the records the named
 * ledger lacks are appended to it, and the old file is renamed `<file>.adopted`, so nothing is delivered
 * again because a name was set.
 *
 * Only records pass between destinations: a destination's settings and credentials stay its own.
 */
import { rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreError } from '../errors';
import { FileLedger, type DeliveryLedger, type FileLedgerOptions } from './ledger';

/** Letters, digits, space, dot, dash and underscore, 1 to 64 of them, not starting with a dot or a space. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9 ._-]{0,63}$/;

/** A ledger name as given (trimmed), or an ECONFIG error that says what a name may be. */
export function ledgerName(value: unknown): string | undefined {
  const name = typeof value === 'string' ? value.trim() : '';
  if (!name) return undefined;
  if (!NAME.test(name)) {
    throw new CoreError('ECONFIG', `The ledger name "${name.slice(0, 70)}" may hold letters, digits, spaces, dots, dashes and underscores (at most 64, not starting with a dot or space)`);
  }
  return name;
}

/** The file of a named ledger in a deliveries folder. */
export function namedLedgerFile(folder: string, name: string): string {
  return join(folder, 'named', `${name.replace(/ /g, '_')}.jsonl`);
}

interface Entry {
  ledger: Promise<FileLedger>;
  users: number;
}

const open = new Map<string, Entry>();
/** Files whose last user is closing them: a new user waits for that before opening again. */
const closing = new Map<string, Promise<void>>();

/** How many users a named ledger file has in this process (tests). */
export function namedLedgerUsers(file: string): number {
  return open.get(file)?.users ?? 0;
}

/**
 * Opens the named ledger at `file` for one more user (the first user's options apply: format-1
 * attribution, retention), adopting `adopt` (that destination's own earlier file) when it exists. The
 * ledger returned is the shared one; its `close` ends this user's share, the file closes with the last.
 */
export async function openNamedLedger(file: string, opts: FileLedgerOptions, adopt?: string): Promise<DeliveryLedger> {
  for (let c = closing.get(file); c; c = closing.get(file)) await c;
  let entry = open.get(file);
  if (!entry) {
    entry = { ledger: FileLedger.open(file, opts), users: 0 };
    open.set(file, entry);
    const mine = entry;
    mine.ledger.catch(() => open.get(file) === mine && open.delete(file));
  }
  entry.users++;
  let ledger: FileLedger;
  try {
    ledger = await entry.ledger;
    if (adopt) await adoptFile(ledger, adopt, opts);
  } catch (e) {
    await release(file, entry);
    throw e;
  }
  return share(ledger, () => release(file, entry));
}

async function release(file: string, entry: Entry): Promise<void> {
  if (--entry.users > 0 || open.get(file) !== entry) return;
  open.delete(file);
  const done = entry.ledger.then((l) => l.close()).catch(() => undefined);
  closing.set(file, done);
  await done;
  if (closing.get(file) === done) closing.delete(file);
}

/** The records of `old` that the ledger lacks go into it; the old file is renamed out of the way. */
async function adoptFile(ledger: FileLedger, old: string, opts: FileLedgerOptions): Promise<void> {
  try {
    await stat(old);
  } catch {
    return;
  }
  const before = await FileLedger.open(old, { ...opts, removedRetentionMs: opts.removedRetentionMs });
  try {
    const records = [];
    for await (const r of before.records()) records.push(r);
    await ledger.adopt(records);
  } finally {
    await before.close();
  }
  await rename(old, `${old}.adopted`);
}

/** The shared ledger seen by one user: every method but `close`, which ends the share (once). */
function share(ledger: FileLedger, end: () => Promise<void>): DeliveryLedger {
  let ended: Promise<void> | undefined;
  return {
    lookup: (key) => ledger.lookup(key),
    exclusive: (key, fn, o) => ledger.exclusive(key, fn, o),
    intent: (key, v) => ledger.intent(key, v),
    done: (key, v, r) => ledger.done(key, v, r),
    checked: (key, v, d) => ledger.checked(key, v, d),
    removed: (key, v) => ledger.removed(key, v),
    refused: (key, v, p) => ledger.refused(key, v, p),
    failed: (key, v, f) => ledger.failed(key, v, f),
    records: () => ledger.records(),
    placesOf: (t, a) => ledger.placesOf(t, a),
    deliveredAssets: (o) => ledger.deliveredAssets(o),
    close: () => (ended ??= end()),
  };
}

/**
 * Where a trigger node keeps its state: a file of its own under Node-RED's user directory
 * (`photoshelter/triggers/<node id>.json`; see core/trigger/state-file.ts). What earlier versions kept in
 * the node's context (the store the node names, else the default one) is read once and carried over.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import { TriggerStateFile } from '../../core/trigger/state-file';

/** The context keys of earlier versions: the state, and the window of unacknowledged events. */
const KEY = 'photoshelter-trigger';
const WINDOW_KEY = 'photoshelter-trigger-window';

export function triggerStatePath(RED: NodeAPI, id: string): string {
  const userDir = (RED.settings as { userDir?: string }).userDir || join(homedir(), '.node-red');
  return join(userDir, 'photoshelter', 'triggers', `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

export function triggerStateFile<W>(RED: NodeAPI, node: Node, contextStore: string | undefined): TriggerStateFile<W> {
  const ctx = node.context();
  const store = (contextStore || undefined) as string;
  const get = (key: string) => new Promise<unknown>((ok, fail) => ctx.get(key, store, (err: Error | null, v: unknown) => (err ? fail(err) : ok(v))));
  const drop = (key: string) => new Promise<void>((ok, fail) => ctx.set(key, undefined, store, (err?: Error | null) => (err ? fail(err) : ok())));
  return new TriggerStateFile<W>(triggerStatePath(RED, node.id), {
    read: async () => ({ state: await get(KEY), window: await get(WINDOW_KEY) }),
    // the file holds it now; a context store that cannot delete it keeps a copy nobody reads
    forget: () => Promise.all([drop(KEY), drop(WINDOW_KEY)]).then(() => undefined, () => undefined),
  });
}

/**
 * What a msg asks to update, and running many updates with bounded concurrency.
 *
 * - Single asset: the id is `msg.asset.id`, else `msg.payload` (a string) or `msg.payload.id`. When
 *   `msg.payload` is an object with a `fields` object, its entries are `set` changes too.
 * - Batch: `msg.payload` is an array; each element is `{id, fields?}` (or just an id string). Each asset
 *   gets the node's rows first, then its own `fields` (target → value, meaning `set`), so an item's
 *   fields win over a row on the same target. Items are independent: a bad item fails alone.
 */
import { checkId, updateAsset, type UpdateClient, type UpdateOptions, type UpdateOutcome } from './apply';
import { UpdateError } from './errors';
import type { Change } from './mapping';
import { firstId, idOf, messageIds } from '../message';

export interface WorkItem {
  id: unknown;
  changes: Change[];
  /** A problem found in the item itself (it is reported without any request). */
  error?: UpdateError;
}

export interface UpdateRequest {
  batch: boolean;
  items: WorkItem[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/** `set` changes from a `fields` object (undefined values are skipped later, null clears). */
export function fieldChanges(fields: unknown, where: string): Change[] {
  if (fields === undefined) return [];
  if (!isPlainObject(fields)) throw new UpdateError('badFields', { where });
  return Object.entries(fields).map(([target, value]) => ({ target, op: 'set' as const, value }));
}

/** Reads the assets and changes a msg asks for; `rows` are the node's resolved mapping rows. */
export function requestOf(msg: { asset?: unknown; payload?: unknown }, rows: readonly Change[]): UpdateRequest {
  const payload = msg.payload;
  if (Array.isArray(payload)) {
    const items = payload.map((el: unknown, i): WorkItem => {
      if (typeof el === 'string') return { id: el.trim(), changes: [...rows] };
      if (!isPlainObject(el)) return { id: null, changes: [], error: new UpdateError('badItem', { index: i }) };
      try {
        return { id: idOf(el.id), changes: [...rows, ...fieldChanges(el.fields, `msg.payload[${i}].fields`)] };
      } catch (e) {
        return { id: idOf(el.id), changes: [], error: e as UpdateError };
      }
    });
    return { batch: true, items };
  }
  // the message rule's id (../message.ts): msg.asset.id, else msg.payload; checked per item before any request
  const id = firstId(messageIds(msg));
  const extra = isPlainObject(payload) && payload.fields !== undefined ? fieldChanges(payload.fields, 'msg.payload.fields') : [];
  return { batch: false, items: [{ id, changes: [...rows, ...extra] }] };
}

/** Runs `worker` over `items` with at most `limit` at a time; results keep the input order. */
export async function runPool<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Updates every item of a request (bad items fail before any request), `concurrency` at a time. */
export function runRequest(client: UpdateClient, req: UpdateRequest, concurrency: number, opts: UpdateOptions): Promise<UpdateOutcome[]> {
  return runPool(req.items, concurrency, async (item) => {
    if (item.error) return { id: typeof item.id === 'string' ? item.id : '', ok: false, changed: false, fields: {}, error: item.error };
    try {
      checkId(item.id);
    } catch (e) {
      return { id: typeof item.id === 'string' ? item.id : '', ok: false, changed: false, fields: {}, error: e };
    }
    return updateAsset(client, item.id, item.changes, opts);
  });
}

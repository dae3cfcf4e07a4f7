/**
 * What was delivered, as a sequence of messages: the deliver node's *list delivered* action reads its
 * destination's ledger (its own file, a named file shared with other destinations of this Node-RED, or the
 * shared PostgreSQL store) and emits one message per asset delivered somewhere, with the places it is at.
 * A rights sweep starts here instead of walking the whole library: its requests grow with what was
 * delivered, not with the library.
 */
import type { DeliveredAsset, DeliveredOptions, DeliveryLedger } from './ledger';

export interface DeliveredItem {
  /** The asset's media id (what the nodes downstream read as the asset). */
  payload: string;
  asset: { id: string };
  delivered: { places: DeliveredAsset['places'] };
  parts: { id: string; index: number; count: number; type: 'array'; parts?: unknown };
}

/**
 * The delivered assets of a ledger as the parts of one sequence (`msg.parts` as Node-RED's split makes
 * them: id, index, count, type array; an incoming sequence's parts nested in `parts.parts`).
 */
export async function deliveredSequence(ledger: DeliveryLedger, id: string, opts: DeliveredOptions & { outer?: unknown } = {}): Promise<DeliveredItem[]> {
  const list: DeliveredAsset[] = [];
  for await (const d of ledger.deliveredAssets(opts.target === undefined ? {} : { target: opts.target })) list.push(d);
  return list.map((d, index) => {
    const parts: DeliveredItem['parts'] = { id, index, count: list.length, type: 'array' };
    if (opts.outer !== undefined) parts.parts = opts.outer;
    return { payload: d.asset, asset: { id: d.asset }, delivered: { places: d.places }, parts };
  });
}

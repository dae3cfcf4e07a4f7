/**
 * What the nodes read from a message: the media id it names, and the asset it carries. One rule for every
 * node, so that a flow behaves the same whichever node comes next:
 *
 * - **The id**: the node's own id setting when it has one (fetch's *Media id*), else `msg.asset.id`, else
 *   `msg.payload` (a string, or an object's `id`), the first that holds something. It is checked against
 *   the media id formats before any request: `noId` when there is none, `badId` when it is no media id.
 * - **Reuse or load**: `msg.asset` is used as it is when it holds what the node needs (the asset of that
 *   id, complete as the nodes make it, with the parts the node reads); otherwise the asset is read by id
 *   with the parts the node needs, and the node puts it in `msg.asset`.
 *
 * Errors are InputErrors with the keys `noId` and `badId`: each node words them from its own catalogue.
 */
import { isId } from '../photoshelter/ids';
import type { Asset } from './asset';
import { InputError } from './errors';
import type { AssetPart } from './load';

/** A media id from a value: the string itself, or the `id` of an object (an asset, a media resource). */
export function idOf(value: unknown): unknown {
  if (typeof value === 'string') return value.trim();
  // an object stands for its id (none: no id at all, not a malformed one)
  if (value && typeof value === 'object' && !Array.isArray(value)) return idOf(Object.hasOwn(value, 'id') ? (value as { id: unknown }).id : undefined);
  return value;
}

const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

/** The first candidate that holds something (as idOf reads it), unchecked; undefined when none does. */
export function firstId(candidates: readonly unknown[]): unknown {
  return candidates.map(idOf).find(given);
}

/**
 * The media id: the first candidate that holds something, checked against the id formats. Throws
 * InputError `noId` when every candidate is empty and `badId` when the value is not a media id.
 */
export function pickMediaId(candidates: readonly unknown[]): string {
  const found = firstId(candidates);
  if (found === undefined) throw new InputError('noId');
  if (!isId('media', found)) {
    const shown = typeof found === 'string' ? found.slice(0, 40) : typeof found;
    throw new InputError('badId', { value: shown });
  }
  return found;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** The id candidates of a message when the node has no id setting of its own: `msg.asset.id`, then `msg.payload`. */
export function messageIds(msg: { asset?: unknown; payload?: unknown }): unknown[] {
  return [isRecord(msg.asset) && Object.hasOwn(msg.asset, 'id') ? msg.asset.id : undefined, msg.payload];
}

/** The media id a message names (see messageIds); throws InputError `noId` or `badId`. */
export function messageId(msg: { asset?: unknown; payload?: unknown }): string {
  return pickMediaId(messageIds(msg));
}

/** What a node needs of `msg.asset` to use it as it is. */
export interface AssetNeeds {
  /** A complete asset as the nodes make it (id and version key: what a delivery needs). */
  complete?: boolean;
  /** Parts it must hold (`iptc` and `custom` as objects, `galleries` and `path` as lists). */
  parts?: readonly AssetPart[];
  /** The node's job is to read the asset: it is read anew whatever the message holds. */
  fresh?: boolean;
}

const PART_HELD: Record<AssetPart, (a: Record<string, unknown>) => boolean> = {
  iptc: (a) => isRecord(a.iptc),
  custom: (a) => isRecord(a.custom),
  galleries: (a) => Array.isArray(a.galleries),
  path: (a) => Array.isArray(a.paths),
};

/** True when an asset holds every part in `parts`. */
export function holdsParts(asset: Record<string, unknown>, parts: readonly AssetPart[]): boolean {
  return parts.every((p) => PART_HELD[p](asset));
}

/** True when `asset` holds what `needs` asks for. */
export function meetsNeeds(asset: Record<string, unknown>, needs: AssetNeeds): boolean {
  if (needs.fresh) return false;
  if (needs.complete && !(typeof asset.id === 'string' && typeof asset.versionKey === 'string')) return false;
  return holdsParts(asset, needs.parts ?? []);
}

/** The message's asset to use as it is, or the id of the asset to load. */
export type AssetSource = { asset: Record<string, unknown> } | { load: string };

/**
 * The reuse-or-load rule. `ids`: the node's own id candidates (its id setting); none: the message's
 * (`msg.asset.id`, `msg.payload`). `msg.asset` is used when it holds what `needs` asks for and is the
 * asset of that id (an asset without an id counts as the message's own when the node has no id setting).
 * Throws InputError `noId` or `badId` when an asset must be loaded and there is no usable id.
 */
export function assetSource(msg: { asset?: unknown; payload?: unknown }, needs: AssetNeeds, ids?: readonly unknown[]): AssetSource {
  const a = msg.asset;
  if (isRecord(a) && meetsNeeds(a, needs)) {
    if (!ids) return { asset: a };
    const own = idOf(a);
    if (given(own) && own === pickMediaId(ids)) return { asset: a };
  }
  return { load: pickMediaId(ids ?? messageIds(msg)) };
}

/**
 * The asset a node works on, by the rule above: `msg.asset` when it will do, else `load(id)`, whose result
 * is put in `msg.asset` for the nodes that follow.
 */
export async function assetOf<T = Asset>(
  msg: { asset?: unknown; payload?: unknown },
  needs: AssetNeeds,
  load: (id: string) => Promise<T>,
  ids?: readonly unknown[],
): Promise<T> {
  const source = assetSource(msg, needs, ids);
  if ('asset' in source) return source.asset as T;
  const asset = await load(source.load);
  msg.asset = asset;
  return asset;
}

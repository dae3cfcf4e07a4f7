/**
 * Updating one asset: read it, validate and resolve the changes against the fields it has, compute the
 * difference, and write only what differs (custom fields first, then IPTC).
 *
 * Concurrent edits: the API has no ETag or conditional write. Just before writing, `modified_at` is read
 * again and compared with the first read; when it moved, the asset is read again and the mapping applied
 * once more to the new values; when it moved again, the update stops with ECONFLICT and writes nothing.
 * Limits: an edit in the short window between that check and the write is not seen (the write then only
 * replaces the fields this update changes, nothing else); if the API's `modified_at` were coarser than
 * the edits, two edits within one tick would look like one; and custom fields and IPTC are two writes,
 * so a failure between them leaves the first written (a retry completes it, as unchanged fields are
 * skipped).
 */
import type { PhotoShelterClient } from '../../photoshelter';
import { normalizeAsset, type Asset, type RawResource } from '../asset';
import { readMedia, type AssetReader } from '../load';
import { compareDates, parseApiDate } from '../../photoshelter/dates';
import { computeDiff, report, writesOf, type FieldValue } from './diff';
import { UpdateError } from './errors';
import { pickMediaId } from '../message';
import { catalogOf, prepare, resolveTarget, type Change, type CustomFieldDef, type FieldCatalog, type Prepared } from './mapping';

export type UpdateClient = AssetReader & Pick<PhotoShelterClient, 'updateIptc' | 'updateCustomMetadata'>;

export interface UpdateOptions {
  /** IANA zone for date-times given to date fields (default UTC). */
  timeZone?: string;
  /** Compute the difference, write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface UpdateOutcome {
  id: string;
  ok: boolean;
  /** True when something was written (or, in a dry run, would be). */
  changed: boolean;
  fields: Record<string, { before: FieldValue; after: FieldValue }>;
  /** True when the asset changed after it was read and the mapping was applied again. */
  reapplied?: boolean;
  error?: unknown;
}

interface ReadState {
  asset: Asset;
  catalog: FieldCatalog;
  stamp: unknown;
}

function optionsOf(media: RawResource): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const data = media.includes?.custom_metadata?.data as RawResource | undefined;
  const list = data?.attributes?.custom_metadata;
  if (!Array.isArray(list)) return out;
  for (const f of list as Array<Record<string, unknown>>) {
    const opts = f?.options ?? f?.choices ?? f?.values;
    if (typeof f?.name === 'string' && Array.isArray(opts) && opts.every((o) => typeof o === 'string')) out[f.name] = opts as string[];
  }
  return out;
}

async function read(client: UpdateClient, id: string, timeZone: string, signal?: AbortSignal): Promise<ReadState> {
  // GET /media/{id}?include=iptc and GET /media/{id}/custom-metadata, the parts in the media's includes block
  const { media } = await readMedia(client, id, { include: ['iptc', 'custom'], signal });
  const asset = normalizeAsset({ media }, { timeZone });
  const options = optionsOf(media);
  const custom: Record<string, CustomFieldDef> = {};
  for (const [name, info] of Object.entries(asset.customFields ?? {})) {
    custom[name] = options[name] ? { ...info, options: options[name] } : { ...info };
  }
  return { asset, catalog: catalogOf(Object.keys(asset.iptc ?? {}), custom), stamp: media.attributes?.modified_at };
}

async function readStamp(client: UpdateClient, id: string, signal?: AbortSignal): Promise<unknown> {
  const media = (await client.getMedia(id, { signal })) as RawResource;
  return media.attributes?.modified_at;
}

/** Equal modification stamps (compared as dates when both parse, else as given). */
export function sameStamp(a: unknown, b: unknown): boolean {
  const x = parseApiDate(a);
  const y = parseApiDate(b);
  if (x && y) return compareDates(x, y) === 0;
  return a === b;
}

/** Resolves and checks every change against the asset's fields; the first problem throws. */
export function prepareAll(changes: readonly Change[], catalog: FieldCatalog, timeZone = 'UTC'): Prepared[] {
  return changes.filter((c) => c.value !== undefined || c.op === 'clear').map((c) => prepare(c, resolveTarget(c.target, catalog), timeZone));
}

/** Checks a media id before any request. */
export function checkId(id: unknown): string {
  return pickMediaId([id]);
}

/** Updates one asset; never throws: failures are in `error` (with what was written before them in `fields`). */
export async function updateAsset(client: UpdateClient, idIn: unknown, changes: readonly Change[], opts: UpdateOptions = {}): Promise<UpdateOutcome> {
  const zone = opts.timeZone ?? 'UTC';
  const out: UpdateOutcome = { id: typeof idIn === 'string' ? idIn : '', ok: false, changed: false, fields: {} };
  try {
    const id = checkId(idIn);
    let state = await read(client, id, zone, opts.signal);
    for (let attempt = 0; ; attempt++) {
      const diff = computeDiff(state.asset, prepareAll(changes, state.catalog, zone));
      if (diff.length === 0) return { ...out, ok: true };
      if (opts.dryRun) return { ...out, ok: true, changed: true, fields: report(diff) };
      const stamp = await readStamp(client, id, opts.signal);
      if (!sameStamp(stamp, state.stamp)) {
        if (attempt >= 1) throw new UpdateError('conflict', { id }, 'ECONFLICT');
        out.reapplied = true;
        state = await read(client, id, zone, opts.signal);
        continue;
      }
      const writes = writesOf(diff);
      if (writes.custom) {
        await client.updateCustomMetadata(id, writes.custom, { signal: opts.signal });
        out.changed = true;
        out.fields = report(diff.filter((c) => c.ref.area === 'custom'));
      }
      if (writes.iptc) {
        await client.updateIptc(id, writes.iptc, { signal: opts.signal });
        out.changed = true;
      }
      return { ...out, ok: true, changed: true, fields: report(diff) };
    }
  } catch (e) {
    return { ...out, ok: false, error: e };
  }
}

/**
 * Reading a whole asset: the media resource with the parts a flow asked for, each read with a call the API
 * is evidenced to answer, and only the calls the wanted parts need:
 *
 *   part        call                                          evidence
 *   (none)      nothing beyond the listing, or GET /media/{id}   [prod]
 *   iptc        GET /media/{id}?include=iptc when reading by id,
 *               GET /media/{id}/iptc for a medium from a listing  [prod]
 *   custom      GET /media/{id}/custom-metadata                  [prod]
 *   galleries   GET /media/{id}/galleries?include=gallery        [prod]
 *   path        the galleries, then GET /galleries/{G}/path once per gallery (cached per poll or walk)
 *
 * Listings (GET /media, gallery children) take no include: nothing evidences one there.
 */
import type { IncludeName, PhotoShelterClient } from '../photoshelter';
import { normalizeAsset, type Asset, type RawResource } from './asset';

export type AssetPart = 'iptc' | 'custom' | 'galleries' | 'path';

export const ASSET_PARTS: readonly AssetPart[] = ['iptc', 'custom', 'galleries', 'path'];

/** Gallery paths already read (one request per gallery, shared by the assets of a poll or a walk). */
export class PathCache {
  private readonly paths = new Map<string, Promise<RawResource[]>>();

  get(client: Pick<PhotoShelterClient, 'path'>, galleryId: string, signal?: AbortSignal): Promise<RawResource[]> {
    let p = this.paths.get(galleryId);
    if (!p) {
      p = client.path('gallery', galleryId, { signal }) as Promise<RawResource[]>;
      this.paths.set(galleryId, p);
      // a failed read is not remembered
      p.catch(() => this.paths.delete(galleryId));
    }
    return p;
  }
}

export interface LoadOptions {
  include?: readonly AssetPart[];
  /** IANA zone for zone-less dates (default UTC). */
  timeZone?: string;
  signal?: AbortSignal;
  /** Paths read before (default: a cache for this call only). */
  paths?: PathCache;
}

/** The subset of the client this module needs (so tests can count calls). */
export type AssetReader = Pick<PhotoShelterClient, 'getMedia' | 'getIptc' | 'getCustomMetadata' | 'getMediaGalleries' | 'path'>;
export type PartsReader = Pick<PhotoShelterClient, 'getIptc' | 'getCustomMetadata' | 'getMediaGalleries' | 'path'>;

/** The blocks a medium carries its parts in: the names include blocks have (normalizeAsset reads them). */
const BLOCK = { iptc: 'iptc', custom: 'custom_metadata', galleries: 'galleries' } as const;

function block(media: RawResource, name: string): unknown {
  const b = media.includes?.[name];
  return b && typeof b === 'object' ? b.data : undefined;
}

export interface WithParts {
  /** A copy of the medium whose `includes` block carries the parts read. */
  media: RawResource;
  /** Path resources per gallery id, when `path` was wanted. */
  paths?: Record<string, RawResource[]>;
}

/**
 * Adds the wanted parts to a medium (from a listing, or read by id): one evidenced call per part it does
 * not carry yet, all at once. No part wanted: no request.
 */
export async function withParts(client: PartsReader, media: RawResource, parts: readonly AssetPart[], options: Pick<LoadOptions, 'signal' | 'paths'> = {}): Promise<WithParts> {
  const want = new Set(parts);
  if (want.size === 0) return { media };
  const id = String(media.id);
  const signal = options.signal;
  const needGalleries = want.has('galleries') || want.has('path');
  const [iptc, custom, galleries] = await Promise.all([
    want.has('iptc') && block(media, BLOCK.iptc) === undefined ? client.getIptc(id, { signal }) : undefined,
    want.has('custom') && block(media, BLOCK.custom) === undefined ? client.getCustomMetadata(id, { signal }) : undefined,
    needGalleries && !Array.isArray(block(media, BLOCK.galleries)) ? client.getMediaGalleries(id, { signal }) : undefined,
  ]);
  const includes: Record<string, { data?: unknown } | undefined> = { ...(media.includes ?? {}) };
  if (iptc !== undefined) includes[BLOCK.iptc] = { data: iptc };
  if (custom !== undefined) includes[BLOCK.custom] = { data: custom };
  if (galleries !== undefined) includes[BLOCK.galleries] = { data: galleries };
  const out: WithParts = { media: { ...media, includes } };
  if (want.has('path')) {
    const list = block(out.media, BLOCK.galleries);
    const ids = Array.isArray(list) ? list.map((g: RawResource) => String(g?.id)).filter((g) => g && g !== 'undefined') : [];
    const cache = options.paths ?? new PathCache();
    const found = await Promise.all(ids.map((gid) => cache.get(client, gid, signal)));
    out.paths = Object.fromEntries(ids.map((gid, i) => [gid, found[i]]));
  }
  return out;
}

/** The normalized asset of a medium from a listing, with the wanted parts read (see withParts). */
export async function assetFromMedia(client: PartsReader, media: RawResource, options: LoadOptions = {}): Promise<Asset> {
  const read = await withParts(client, media, options.include ?? [], options);
  return normalizeAsset({ media: read.media, paths: read.paths }, { timeZone: options.timeZone });
}

/**
 * A medium by id with the wanted parts in its `includes` block: GET /media/{id} (with include=iptc when
 * IPTC is wanted), plus one call for each other part.
 */
export async function readMedia(client: AssetReader, id: string, options: Pick<LoadOptions, 'include' | 'signal' | 'paths'> = {}): Promise<WithParts> {
  const parts = options.include ?? [];
  const include: IncludeName[] = parts.includes('iptc') ? ['iptc'] : [];
  // the media read and the other parts go out together; IPTC comes with the media
  const others = parts.filter((p) => p !== 'iptc');
  const [media, extra] = await Promise.all([
    client.getMedia(id, { include, signal: options.signal }) as Promise<RawResource>,
    others.length ? withParts(client, { id }, others, options) : undefined,
  ]);
  const merged: RawResource = { ...media, includes: { ...(media.includes ?? {}), ...(extra?.media.includes ?? {}) } };
  // IPTC the server did not include (an include it ignored) is read on its own
  const done = await withParts(client, merged, parts.includes('iptc') ? ['iptc'] : [], options);
  return { media: done.media, paths: extra?.paths };
}

export async function loadAsset(client: AssetReader, id: string, options: LoadOptions = {}): Promise<Asset> {
  const read = await readMedia(client, id, options);
  return normalizeAsset({ media: read.media, paths: read.paths }, { timeZone: options.timeZone });
}

/**
 * Maps the items of `source` with `fn`, up to `depth` items ahead of the consumer, in order: the reads of
 * the next assets overlap the handling of this one. When the consumer stops, the source is closed and
 * the results not taken are dropped.
 */
export async function* ahead<T, U>(source: AsyncIterable<T> | Iterable<T>, fn: (item: T) => Promise<U>, depth: number): AsyncGenerator<{ item: T; value: U }, void, undefined> {
  const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in Object(source) ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  const queue: Array<{ item: T; value: Promise<U> }> = [];
  let ended = false;
  const fill = async (): Promise<void> => {
    while (!ended && queue.length < Math.max(1, depth)) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      const value = fn(next.value);
      value.catch(() => undefined); // observed when taken; dropped when the consumer leaves first
      queue.push({ item: next.value, value });
    }
  };
  try {
    for (;;) {
      await fill();
      const head = queue.shift();
      if (!head) return;
      yield { item: head.item, value: await head.value };
    }
  } finally {
    if (!ended) await it.return?.(undefined);
  }
}

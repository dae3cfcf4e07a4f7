/**
 * Reading a whole asset: the media resource with the parts a flow asked for, in as few requests as the
 * API allows (one, with `include`, plus one path request per gallery when paths are wanted).
 */
import type { IncludeName, PhotoShelterClient } from '../photoshelter';
import { normalizeAsset, type Asset, type RawResource } from './asset';

export type AssetPart = 'iptc' | 'custom' | 'galleries' | 'path';

export const ASSET_PARTS: readonly AssetPart[] = ['iptc', 'custom', 'galleries', 'path'];

export interface LoadOptions {
  include?: readonly AssetPart[];
  /** IANA zone for zone-less dates (default UTC). */
  timeZone?: string;
  signal?: AbortSignal;
}

const INCLUDE_OF: Record<Exclude<AssetPart, 'path'>, IncludeName> = {
  iptc: 'iptc',
  custom: 'custom_metadata',
  galleries: 'galleries',
};

/** The subset of the client this module needs (so tests can count calls). */
export type AssetReader = Pick<PhotoShelterClient, 'getMedia' | 'path'>;

/** The API `include` names for the parts wanted (paths need the galleries). */
export function includeFor(parts: readonly AssetPart[] = []): IncludeName[] {
  const set = new Set(parts);
  if (set.has('path')) set.add('galleries');
  return [...set].filter((p): p is Exclude<AssetPart, 'path'> => p !== 'path').map((p) => INCLUDE_OF[p]);
}

/**
 * Normalize a media resource that was read with `includeFor(parts)`, reading gallery paths when
 * `path` is wanted (one request per gallery the medium sits in).
 */
export async function assetFromMedia(
  client: Pick<PhotoShelterClient, 'path'>,
  media: RawResource,
  options: LoadOptions = {},
): Promise<Asset> {
  let paths: Record<string, RawResource[]> | undefined;
  if (options.include?.includes('path')) {
    const galleries = media.includes?.galleries?.data;
    const ids = Array.isArray(galleries) ? galleries.map((g: RawResource) => String(g.id)) : [];
    const found = await Promise.all(ids.map((gid) => client.path('gallery', gid, { signal: options.signal })));
    paths = Object.fromEntries(ids.map((gid, i) => [gid, found[i] as RawResource[]]));
  }
  return normalizeAsset({ media, paths }, { timeZone: options.timeZone });
}

export async function loadAsset(client: AssetReader, id: string, options: LoadOptions = {}): Promise<Asset> {
  const media = (await client.getMedia(id, { include: includeFor(options.include), signal: options.signal })) as RawResource;
  return assetFromMedia(client, media, options);
}

/**
 * Reading a whole asset: the media resource with the parts a flow asked for, in as few requests as the
 * API allows (one, with `include`, plus one path request per gallery when paths are wanted).
 */
import type { PhotoShelterClient } from '../photoshelter';
import type { IncludeName } from '../photoshelter';
import { normalizeAsset, type Asset, type RawResource } from './asset';

export type AssetPart = 'iptc' | 'custom' | 'galleries' | 'path';

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

export async function loadAsset(client: AssetReader, id: string, options: LoadOptions = {}): Promise<Asset> {
  const parts = new Set(options.include ?? []);
  if (parts.has('path')) parts.add('galleries');
  const include = [...parts].filter((p): p is Exclude<AssetPart, 'path'> => p !== 'path').map((p) => INCLUDE_OF[p]);
  const media = (await client.getMedia(id, { include, signal: options.signal })) as RawResource;
  let paths: Record<string, RawResource[]> | undefined;
  if (parts.has('path')) {
    const galleries = media.includes?.galleries?.data;
    const ids = Array.isArray(galleries) ? galleries.map((g: RawResource) => String(g.id)) : [];
    const found = await Promise.all(ids.map((gid) => client.path('gallery', gid, { signal: options.signal })));
    paths = Object.fromEntries(ids.map((gid, i) => [gid, found[i] as RawResource[]]));
  }
  return normalizeAsset({ media, paths }, { timeZone: options.timeZone });
}

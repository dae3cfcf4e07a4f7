/**
 * The normalized asset: one flat, predictable shape built from the API's media, IPTC, custom metadata,
 * gallery and path resources. Flows, templates and the other core modules work on this, never on raw
 * API resources.
 */
import { parseApiDate } from '../photoshelter/dates';

export type AssetKind = 'image' | 'video' | 'audio' | 'document';

/** The v4 IPTC vocabulary (field names as the API spells them). */
export const IPTC_FIELDS = [
  'title', 'headline', 'caption', 'caption_writer', 'keywords', 'category', 'genre', 'scene',
  'subject_code', 'author', 'position', 'credit', 'source', 'copyright', 'rights', 'web_statement',
  'instructions', 'urgency', 'edit_status', 'trans_ref', 'location', 'city', 'state', 'country',
  'country_iso', 'ci_address', 'ci_city', 'ci_region', 'ci_postal_code', 'ci_country', 'ci_phone',
  'ci_email', 'ci_url',
] as const;

export type IptcFields = { keywords: string[] } & Record<string, string | string[] | null>;

export interface CustomFieldInfo {
  id: string;
  type: string;
}

export interface AssetGallery {
  id: string;
  name: string;
}

export interface AssetPath {
  /** The gallery this path leads to. */
  galleryId: string;
  /** Ids from the root-most collection down to the gallery. */
  ids: string[];
  /** Names along the same path. */
  names: string[];
}

export interface Asset {
  id: string;
  kind: AssetKind;
  fileName: string;
  fileSize: number | null;
  width: number | null;
  height: number | null;
  /** ISO 8601 with zone (`Z`). */
  createdAt: string | null;
  modifiedAt: string | null;
  rating: number | null;
  flagged: boolean;
  searchable: boolean | null;
  releases: { model: boolean | null; property: boolean | null };
  ownerId: string | null;
  organizationId: string | null;
  photographerId: string | null;
  /** Present when IPTC was read. */
  iptc?: IptcFields;
  /** Custom field values by field name; present when custom metadata was read. */
  custom?: Record<string, string | null>;
  /** Id and type of each custom field by name (what a write needs). */
  customFields?: Record<string, CustomFieldInfo>;
  galleries?: AssetGallery[];
  /** One path per gallery the asset sits in. */
  paths?: AssetPath[];
  /** The first path, names joined with `/`. */
  path?: string;
  /**
   * Changes when the file changes (not on metadata edits): size, pixel size, name and, where the API gives
   * one, the file's hash. The key for delivery idempotency; a file replaced by one of the same size, pixel
   * size and name without a hash keeps its key, and the deliverer looks further (see deliver/version.ts).
   */
  versionKey: string;
  /** Changes on any modification, metadata included. */
  metadataKey: string;
}

/** A resource as the API returns it (liberal: everything optional). */
export interface RawResource {
  id?: unknown;
  type?: unknown;
  attributes?: Record<string, unknown> | null;
  includes?: Record<string, { data?: unknown } | undefined> | null;
}

export interface AssetParts {
  media: RawResource;
  iptc?: RawResource | null;
  customMetadata?: RawResource | null;
  galleries?: RawResource[] | null;
  /** Path resources per gallery id (root-most first, the gallery last). */
  paths?: Record<string, RawResource[]> | null;
}

export interface NormalizeOptions {
  /** IANA zone for zone-less dates (default UTC). */
  timeZone?: string;
}

const KIND_BY_PREFIX: Array<[string, AssetKind]> = [
  ['I0', 'image'],
  ['VD', 'video'],
  ['AD', 'audio'],
  ['DO', 'document'],
];

function kindOf(id: string, type: unknown): AssetKind {
  switch (type) {
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
      return type;
    case 'doc':
      return 'document';
  }
  return KIND_BY_PREFIX.find(([prefix]) => id.startsWith(prefix))?.[1] ?? 'image';
}

/** A value as text; one that cannot be turned into text (an object without toString) is none. */
function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    return null;
  }
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function bool(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === '1' || v === 'true' || v === 't' || v === 'yes') return true;
  if (v === 0 || v === '0' || v === 'false' || v === 'f' || v === 'no') return false;
  return null;
}

/** Keywords arrive as one comma-separated string or as an array; either way a clean list comes out. */
export function splitKeywords(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
  const out: string[] = [];
  for (const item of list) {
    // words only: anything else in the list (an object, a nested list) is no keyword, and must not throw
    if (typeof item !== 'string' && typeof item !== 'number') continue;
    const k = String(item).trim();
    if (k) out.push(k);
  }
  return out;
}

function includeData(media: RawResource, name: string): unknown {
  return media.includes?.[name]?.data;
}

function asResource(v: unknown): RawResource | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as RawResource) : undefined;
}

export function normalizeIptc(resource: RawResource | undefined | null): IptcFields {
  const attrs = resource?.attributes ?? {};
  const out: IptcFields = { keywords: splitKeywords(attrs.keywords) };
  for (const name of IPTC_FIELDS) {
    if (name !== 'keywords') out[name] = str(attrs[name]);
  }
  for (const [name, value] of Object.entries(attrs)) {
    if (!(name in out)) out[name] = str(value);
  }
  return out;
}

export function normalizeCustom(resource: RawResource | undefined | null): {
  custom: Record<string, string | null>;
  customFields: Record<string, CustomFieldInfo>;
} {
  const list = resource?.attributes?.custom_metadata;
  const custom: Record<string, string | null> = {};
  const customFields: Record<string, CustomFieldInfo> = {};
  if (Array.isArray(list)) {
    for (const entry of list as Array<Record<string, unknown>>) {
      if (!entry || typeof entry !== 'object') continue;
      const name = str(entry.name) ?? str(entry.field_name) ?? str(entry.field_id);
      if (!name) continue;
      custom[name] = str(entry.value);
      customFields[name] = { id: str(entry.field_id) ?? name, type: str(entry.type) ?? 'text' };
    }
  }
  return { custom, customFields };
}

function isoDate(v: unknown, zone: string): string | null {
  return parseApiDate(v, zone)?.iso ?? null;
}

/** FNV-1a (32 bit) of a string, as 8 hex digits: a cheap, stable fingerprint (not a security hash). */
export function fnv1a(text: string): string {
  return hex8(fnv1aOn(0x811c9dc5, text));
}

/** FNV-1a continued over more text: the hash of a concatenation without building it. */
function fnv1aOn(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** Two hex digits per byte value, so a hash is written with four lookups instead of a radix conversion. */
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 32-bit hash as 8 lower-case hex digits (the same text as `(h >>> 0).toString(16).padStart(8, '0')`). */
function hex8(h: number): string {
  return HEX2[(h >>> 24) & 0xff] + HEX2[(h >>> 16) & 0xff] + HEX2[(h >>> 8) & 0xff] + HEX2[h & 0xff];
}

const SLASH = 0x2f;

/** A file hash as it goes into a version key: hex digits as they are, anything else fingerprinted. */
function hashPart(hash: string): string {
  const t = hash.trim().toLowerCase();
  return /^[0-9a-f]{8,128}$/.test(t) ? t : fnv1a(t);
}

/**
 * Size, pixel size and a fingerprint of id and file name, then the API's file `hash` where the media has
 * one (video, audio and documents in the 2019 draft): `8123456-6000x4000-1a2b3c4d[-h<hash>]`. Without a
 * hash the key has the shape it always had, so ledgers written before hashes were read still match.
 */
export function versionKeyOf(id: string, fileName: string, fileSize: number | null, w: number | null, h: number | null, hash?: string | null): string {
  // fnv1a(`${id}/${fileName}`), hashed piece by piece (a joined string would be built only to be read once)
  const name = hex8(fnv1aOn(Math.imul(fnv1aOn(0x811c9dc5, id) ^ SLASH, 0x01000193), fileName));
  const base = `${fileSize ?? 'x'}-${w ?? 'x'}x${h ?? 'x'}-${name}`;
  return hash && hash.trim() ? `${base}-h${hashPart(hash)}` : base;
}

const KEY_SHAPE = /^((?:\d+|x)-(?:\d+|x)x(?:\d+|x)-[0-9a-f]{8})(?:-h([0-9a-f]+))?$/;

/** The parts of a version key this module made: the cheap part and the file hash (if any). */
export function versionKeyParts(key: string): { base: string; hash?: string } | undefined {
  const m = KEY_SHAPE.exec(key);
  return m ? { base: m[1], hash: m[2] } : undefined;
}

/**
 * Whether two version keys name the same file version: the same size, pixel size and name, and the same
 * hash when both have one (a key made before the API gave a hash, or after it stopped, matches on the rest).
 * Keys of another shape (set by a flow) match when equal.
 */
export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = versionKeyParts(a);
  const pb = versionKeyParts(b);
  if (!pa || !pb || pa.base !== pb.base) return false;
  return !pa.hash || !pb.hash || pa.hash === pb.hash;
}

/** Build the normalized asset. Tolerates missing and oddly typed attributes; never throws on data. */
export function normalizeAsset(parts: AssetParts, options: NormalizeOptions = {}): Asset {
  const zone = options.timeZone ?? 'UTC';
  const media = parts.media;
  const a = media.attributes ?? {};
  const id = str(media.id) ?? '';
  const fileName = str(a.file_name) ?? '';
  const fileSize = num(a.file_size);
  const width = num(a.width);
  const height = num(a.height);
  const modifiedAt = isoDate(a.modified_at, zone);
  const asset: Asset = {
    id,
    kind: kindOf(id, media.type ?? a.type),
    fileName,
    fileSize,
    width,
    height,
    createdAt: isoDate(a.created_at, zone),
    modifiedAt,
    rating: num(a.rating),
    flagged: bool(a.flagged) ?? false,
    searchable: bool(a.searchable),
    releases: { model: bool(a.model_released), property: bool(a.property_released) },
    ownerId: str(a.owner_id),
    organizationId: str(a.organization_id),
    photographerId: str(a.photographer_id),
    versionKey: versionKeyOf(id, fileName, fileSize, width, height, str(a.hash)),
    metadataKey: modifiedAt ?? str(a.modified_at) ?? '',
  };

  const iptc = parts.iptc ?? asResource(includeData(media, 'iptc'));
  if (iptc) asset.iptc = normalizeIptc(iptc);

  const custom = parts.customMetadata ?? asResource(includeData(media, 'custom_metadata'));
  if (custom) Object.assign(asset, normalizeCustom(custom));

  const galleriesRaw = parts.galleries ?? includeData(media, 'galleries');
  if (Array.isArray(galleriesRaw)) {
    asset.galleries = (galleriesRaw as RawResource[])
      .map((g) => ({ id: str(g?.id) ?? '', name: str(g?.attributes?.name) ?? '' }))
      .filter((g) => g.id);
  }

  if (parts.paths) {
    const order = asset.galleries?.map((g) => g.id) ?? Object.keys(parts.paths);
    asset.paths = order
      .filter((gid) => Array.isArray(parts.paths?.[gid]))
      .map((gid) => {
        const nodes = parts.paths?.[gid] ?? [];
        return {
          galleryId: gid,
          ids: nodes.map((n) => str(n.id) ?? ''),
          names: nodes.map((n) => str(n.attributes?.name) ?? ''),
        };
      });
    if (asset.paths.length) asset.path = asset.paths[0].names.join('/');
  }
  return asset;
}

export interface AssetSummary {
  id: string;
  kind: AssetKind;
  fileName: string;
  title: string | null;
  modifiedAt: string | null;
  path?: string;
}

/** A compact view of an asset for `msg.payload`, debug panels and logs. */
export function summarize(asset: Asset): AssetSummary {
  const title = asset.iptc ? ((asset.iptc.title ?? asset.iptc.headline ?? null) as string | null) : null;
  const out: AssetSummary = { id: asset.id, kind: asset.kind, fileName: asset.fileName, title, modifiedAt: asset.modifiedAt };
  if (asset.path !== undefined) out.path = asset.path;
  return out;
}

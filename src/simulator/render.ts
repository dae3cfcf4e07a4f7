// Records → wire resources.
import { formatDate, type DateFormat } from './clock';
import { CUSTOM_FIELDS } from './fields';
import { embeddedMetadata, fileDigest } from './filemeta';
import { hash32 } from './prng';
import {
  FLAG_FLAGGED, FLAG_MODEL_RELEASED, FLAG_PROPERTY_RELEASED, FLAG_SEARCHABLE,
  isCollection, type CollectionRec, type GalleryRec, type MediaRec,
} from './model';
import type { Store } from './store';

export interface RenderCtx {
  base: string;
  dateFormat: DateFormat;
  store: Store;
}

export type Resource = { id: string; type: string; attributes: Record<string, unknown>; links?: { self: string }; includes?: Record<string, { data: unknown }> };

const FORMATS: Record<string, [string, string]> = {
  mp4: ['video/mp4', 'MPEG-4 Video'], mov: ['video/quicktime', 'QuickTime Movie'], mp3: ['audio/mpeg', 'MP3 Audio'],
  wav: ['audio/wav', 'WAVE Audio'], pdf: ['application/pdf', 'PDF Document'],
  docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'Microsoft Word'],
};

function accessId(id: string): string {
  return 'A0000' + id.slice(5);
}

/** Whether a container is listed on the public site: about two in three are, stable per seed and id. */
export function isListed(seed: number, x: CollectionRec | GalleryRec): boolean {
  return hash32(seed, 'listed', x.id) % 3 !== 0;
}

export function mediaResource(r: RenderCtx, m: MediaRec): Resource {
  const f = r.dateFormat;
  const lib = r.store.lib;
  const a: Record<string, unknown> = {
    file_name: m.fileName,
    file_size: m.fileSize,
    owner_id: lib.userId,
    creator_id: lib.userId,
    photographer_id: lib.userId,
    organization_id: lib.orgId,
    rating: m.rating,
    created_at: formatDate(m.createdAt, f),
    modified_at: formatDate(m.modifiedAt, f),
  };
  if (m.kind === 'image') {
    const screen = Math.min(1, 1600 / m.width);
    const thumb = Math.min(1, 200 / m.width);
    a.width = m.width;
    a.height = m.height;
    a.model_released = (m.flags & FLAG_MODEL_RELEASED) !== 0;
    a.property_released = (m.flags & FLAG_PROPERTY_RELEASED) !== 0;
    a.flagged = (m.flags & FLAG_FLAGGED) !== 0;
    a.searchable = (m.flags & FLAG_SEARCHABLE) !== 0;
    a.screen_width = Math.round(m.width * screen);
    a.screen_height = Math.round(m.height * screen);
    a.screen_width_max = m.width;
    a.screen_height_max = m.height;
    a.thumbnail_width = Math.round(m.width * thumb);
    a.thumbnail_height = Math.round(m.height * thumb);
    a.focal_point_x = null;
    a.focal_point_y = null;
    a.views = 0;
  } else {
    const ext = (/\.([a-z0-9]+)$/i.exec(m.fileName)?.[1] ?? '').toLowerCase();
    const fmt = FORMATS[ext] ?? ['application/octet-stream', ext.toUpperCase()];
    if (m.kind === 'video') {
      a.width = m.width;
      a.height = m.height;
      a.rotate = 0;
    }
    if (m.kind !== 'document') {
      a.duration = m.duration;
      a.start_time = 0;
      a.model_released = (m.flags & FLAG_MODEL_RELEASED) !== 0;
      a.property_released = (m.flags & FLAG_PROPERTY_RELEASED) !== 0;
    }
    a.format = fmt[0];
    if (m.kind === 'document') a.format_readable = fmt[1];
    a.hash = fileDigest(r.store.lib.seed, m);
  }
  return { id: m.id, type: m.kind, attributes: a, links: { self: `${r.base}/media/${m.id}` } };
}

export function iptcResource(r: RenderCtx, m: MediaRec): Resource {
  return { id: m.id, type: 'iptc', attributes: { ...r.store.iptcOf(m) }, links: { self: `${r.base}/media/${m.id}/iptc` } };
}

export function customResource(r: RenderCtx, m: MediaRec): Resource {
  const values = r.store.customOf(m);
  return {
    id: m.id, type: 'custom_metadata',
    attributes: { custom_metadata: CUSTOM_FIELDS.map((f) => ({ field_id: f.id, name: f.name, type: f.type, value: values[f.id] ?? null })) },
    links: { self: `${r.base}/media/${m.id}/custom-metadata` },
  };
}

export function galleryResource(r: RenderCtx, g: GalleryRec): Resource {
  const d = (us: number): string | number => formatDate(us, r.dateFormat);
  return {
    id: g.id, type: 'gallery',
    attributes: {
      name: g.name, name_url: g.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || null,
      description: g.description, display_order: g.displayOrder, sort_order: g.displayOrder,
      key_image_id: null, access_id: accessId(g.id), is_listed: isListed(r.store.lib.seed, g), is_orig_enabled: true, is_watermark_disabled: true,
      mode: 'private', effective_mode: 'private', access_inherit: true, owner_id: r.store.lib.userId,
      parent_ids: g.parents.map((p) => p.id), media_count: g.media.length,
      created_at: d(g.createdAt), modified_at: d(g.modifiedAt),
    },
    links: { self: `${r.base}/galleries/${g.id}` },
  };
}

export function collectionResource(r: RenderCtx, c: CollectionRec): Resource {
  const d = (us: number): string | number => formatDate(us, r.dateFormat);
  return {
    id: c.id, type: 'collection',
    attributes: {
      name: c.name, org_id: r.store.lib.orgId, name_url: c.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || null,
      description: c.description, display_order: c.displayOrder, sort_order: c.displayOrder,
      access_id: accessId(c.id), is_listed: isListed(r.store.lib.seed, c), mode: 'private', effective_mode: 'private', access_inherit: true,
      owner_id: r.store.lib.userId,
      parent_id: c.parent?.id ?? null,
      created_at: d(c.createdAt), modified_at: d(c.modifiedAt),
    },
    links: { self: `${r.base}/collections/${c.id}` },
  };
}

export function containerResource(r: RenderCtx, x: CollectionRec | GalleryRec): Resource {
  return isCollection(x) ? collectionResource(r, x) : galleryResource(r, x);
}

export function pathResource(r: RenderCtx, x: CollectionRec | GalleryRec): Resource {
  return { id: x.id, type: isCollection(x) ? 'collection' : 'gallery', attributes: { name: x.name }, links: { self: `${r.base}/${isCollection(x) ? 'collections' : 'galleries'}/${x.id}` } };
}

/** GET /media/{id}/metadata: the file's embedded metadata as a JSON string (`raw`), plus the IPTC author. */
export function metadataResource(r: RenderCtx, m: MediaRec): Resource {
  return {
    id: m.id, type: 'metadata',
    attributes: { raw: JSON.stringify(embeddedMetadata(r.store.lib.seed, m)), author: r.store.iptcOf(m).author },
    links: { self: `${r.base}/media/${m.id}/metadata` },
  };
}

/** A container's permissions, shaped as the draft's GET /galleries/{G}/permissions data: private, no access rights. */
export function permissionsResource(r: RenderCtx, x: CollectionRec | GalleryRec): Resource {
  const kind = isCollection(x) ? 'collections' : 'galleries';
  return {
    id: accessId(x.id), type: 'permissions',
    attributes: { mode: 'private', native_mode: 'private', native: [], inherited: [] },
    links: { self: `${r.base}/${kind}/${x.id}/permissions` },
  };
}

/** Child counts in both spellings: production's plural names and the draft's singular ones. */
export function galleryCounts(g: GalleryRec): Record<string, number> {
  const c = { image: 0, video: 0, audio: 0, document: 0 };
  for (const m of g.media) c[m.kind]++;
  return { total: g.media.length, images: c.image, videos: c.video, audio: c.audio, documents: c.document, image: c.image, video: c.video, document: c.document };
}

export function collectionCounts(c: CollectionRec): Record<string, number> {
  return { total: c.collections.length + c.galleries.length, collections: c.collections.length, galleries: c.galleries.length };
}

// Media: search, one medium, metadata reads and writes, galleries, download and link.
import { badRequest, jsonBody, notFound, type Reply } from './http';
import { includesOf, renderCtx, requireOrg, orgAllowed, route, type ApiCtx, type App, type Route } from './app';
import { MEDIA_IPTC_FILTERS } from './evidence';
import { FLAG_MODEL_RELEASED, FLAG_PROPERTY_RELEASED } from './model';
import { envelope, listReply, paging, sorting } from './list';
import { customResource, galleryResource, iptcResource, mediaResource, metadataResource, type RenderCtx, type Resource } from './render';
import { parseClientDate } from './clock';
import { FieldError, validateCustomPatch } from './fields';
import { contentDisposition, fitSize, jpegRendition, mp4Source, originalSource } from './downloads';
import { bufferSource } from './http';
import type { MediaRec } from './model';
import { sortByMicros } from './sort';

export const MEDIA_INCLUDES = ['iptc', 'custom_metadata', 'galleries'] as const;
type Include = (typeof MEDIA_INCLUDES)[number];

export function mediaWithIncludes(r: RenderCtx, m: MediaRec, includes: readonly Include[]): Resource {
  const res = mediaResource(r, m);
  if (includes.length > 0) {
    res.includes = {};
    for (const inc of includes) {
      if (inc === 'iptc') res.includes.iptc = { data: iptcResource(r, m) };
      else if (inc === 'custom_metadata') res.includes.custom_metadata = { data: customResource(r, m) };
      else res.includes.galleries = { data: m.galleries.map((g) => galleryResource(r, g)) };
    }
  }
  return res;
}

function getMedia(ctx: ApiCtx, app: App): MediaRec {
  const m = app.store.media(ctx.params.id);
  if (!m) throw notFound('Media', ctx.params.id);
  requireOrg(ctx, app);
  return m;
}

/** At least one of these narrows a /media search (the draft's list, plus galleries, collections and our owner_id). */
const SCOPES = ['org_id', 'owner_id', 'user_id', 'galleries', 'collections', 'terms', 'media_id', 'custom_metadata', 'date_start', 'date_end',
  'photographer_id', 'virtual_agency_id', 'orientation', 'state', 'country', 'country_iso'];
const SEARCH_SORTS = ['created_at', 'modified_at', 'file_name', 'date', 'upload_time', 'relevance'] as const;

type SortKey = 'created_at' | 'modified_at' | 'file_name';
const sortCache = new WeakMap<object, { revision: number; key: string; order: MediaRec[] }[]>();

/** Sorted views of all media, cached per library revision (paging 100k media stays cheap). */
function sortedMedia(app: App, key: SortKey, dir: 1 | -1): MediaRec[] {
  const lib = app.store.lib;
  let entries = sortCache.get(lib);
  if (!entries || entries[0]?.revision !== lib.revision) {
    entries = [];
    sortCache.set(lib, entries);
  }
  const cacheKey = `${key}:${dir}`;
  const hit = entries.find((e) => e.key === cacheKey);
  if (hit) return hit.order;
  let order: MediaRec[];
  if (key === 'file_name') {
    const dec = lib.mediaList.map((m) => ({ k: m.fileName.toLowerCase(), id: m.id, m }));
    dec.sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : a.id < b.id ? -dir : dir));
    order = dec.map((d) => d.m);
  } else {
    order = sortByMicros(lib.mediaList, key === 'modified_at' ? (m) => m.modifiedAt : (m) => m.createdAt, dir);
  }
  entries.push({ revision: lib.revision, key: cacheKey, order });
  return order;
}

const textCache = new WeakMap<MediaRec, { iptc: MediaRec['iptc']; fileName: string; text: string }>();

/** Lower-cased text that `terms` matches against; cached until the IPTC or file name changes. */
function searchText(app: App, m: MediaRec): string {
  const hit = textCache.get(m);
  if (hit && hit.iptc === m.iptc && hit.fileName === m.fileName) return hit.text;
  const iptc = app.store.iptcOf(m);
  const text = [m.fileName, iptc.title, iptc.headline, iptc.caption, iptc.keywords, iptc.city, iptc.country].join(' ').toLowerCase();
  textCache.set(m, { iptc: m.iptc, fileName: m.fileName, text });
  return text;
}

function dateParam(ctx: ApiCtx, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  const us = parseClientDate(raw);
  if (us === undefined) throw badRequest(`${name}: '${raw}' is not a date (YYYY-MM-DD HH:MM:SS GMT, or YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]).`);
  return us;
}

function boolParam(ctx: ApiCtx, name: string): boolean | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  if (v !== 'true' && v !== 'false') throw badRequest(`${name} must be true or false; got '${v}'.`);
  return v === 'true';
}

function intParam(ctx: ApiCtx, name: string): number | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name} must be a whole number; got '${v}'.`);
  return Number(v);
}

function mediaTypes(ctx: ApiCtx): Set<string> | undefined {
  const raw = ctx.query.get('media_type');
  if (!raw) return undefined;
  const kinds = new Set(raw.split(',').map((x) => (x.trim() === 'doc' ? 'document' : x.trim())));
  for (const k of kinds) if (!['image', 'video', 'audio', 'document'].includes(k)) throw badRequest(`media_type: unknown type '${k}' (image, video, audio, doc).`);
  return kinds;
}

const ORIENTATIONS: Record<string, (m: MediaRec) => boolean> = {
  horizontal: (m) => m.width > m.height,
  vertical: (m) => m.height > m.width,
  square: (m) => m.width > 0 && m.width === m.height,
  panoramic: (m) => m.height > 0 && m.width >= 2 * m.height,
};

/** Filters of GET /media (the draft's search parameters the simulator applies). */
function searchFilters(ctx: ApiCtx, app: App): { allowed: boolean; filters: ((m: MediaRec) => boolean)[] } {
  const lib = app.store.lib;
  const filters: ((m: MediaRec) => boolean)[] = [];
  let allowed = orgAllowed(ctx, app);
  const orgId = ctx.query.get('org_id');
  if (orgId && orgId !== lib.orgId) allowed = false;
  for (const name of ['owner_id', 'user_id', 'photographer_id']) {
    const v = ctx.query.get(name);
    if (v && v !== lib.userId) allowed = false;
  }
  const mediaId = ctx.query.get('media_id');
  if (mediaId) filters.push((m) => m.id === mediaId);
  const galleries = ctx.query.get('galleries');
  if (galleries) {
    const set = new Set(galleries.split(',').map((x) => x.trim()));
    for (const id of set) if (!app.store.gallery(id)) throw badRequest(`galleries: unknown gallery '${id}'.`);
    filters.push((m) => m.galleries.some((g) => set.has(g.id)));
  }
  const collections = ctx.query.get('collections');
  if (collections) {
    const below = new Set<object>();
    for (const id of collections.split(',').map((x) => x.trim())) {
      const c = app.store.collection(id);
      if (!c) throw badRequest(`collections: unknown collection '${id}'.`);
      app.store.galleriesBelow(c, below as Set<never>);
    }
    filters.push((m) => m.galleries.some((g) => below.has(g)));
  }
  const kinds = mediaTypes(ctx);
  if (kinds) filters.push((m) => kinds.has(m.kind));
  const fileName = ctx.query.get('file_name');
  if (fileName) filters.push((m) => m.fileName.toLowerCase().includes(fileName.toLowerCase()));
  const terms = ctx.query.get('terms');
  if (terms) {
    const words = terms.toLowerCase().split(/\s+/).filter(Boolean);
    const all = boolParam(ctx, 'match_all_terms') !== false;
    filters.push((m) => {
      const hay = searchText(app, m);
      return all ? words.every((w) => hay.includes(w)) : words.some((w) => hay.includes(w));
    });
  }
  for (const field of MEDIA_IPTC_FILTERS) {
    const v = ctx.query.get(field);
    if (v) filters.push((m) => (app.store.iptcOf(m)[field] ?? '').toLowerCase().includes(v.toLowerCase()));
  }
  const model = boolParam(ctx, 'model_release');
  if (model !== undefined) filters.push((m) => ((m.flags & FLAG_MODEL_RELEASED) !== 0) === model);
  const property = boolParam(ctx, 'property_release');
  if (property !== undefined) filters.push((m) => ((m.flags & FLAG_PROPERTY_RELEASED) !== 0) === property);
  const rating = intParam(ctx, 'rating');
  if (rating !== undefined) filters.push((m) => m.rating === rating);
  const ratingMin = intParam(ctx, 'rating_min');
  if (ratingMin !== undefined) filters.push((m) => m.rating !== null && m.rating >= ratingMin);
  const ratingMax = intParam(ctx, 'rating_max');
  if (ratingMax !== undefined) filters.push((m) => m.rating !== null && m.rating <= ratingMax);
  const orientation = ctx.query.get('orientation');
  if (orientation) {
    const test = ORIENTATIONS[orientation];
    if (!test) throw badRequest(`orientation must be horizontal, vertical, panoramic or square; got '${orientation}'.`);
    filters.push(test);
  }
  // "date taken" is the creation time here: the simulator has no capture dates of its own
  for (const [name, key, start] of [['modify_start', 'modifiedAt', true], ['modify_end', 'modifiedAt', false], ['create_start', 'createdAt', true],
    ['create_end', 'createdAt', false], ['date_start', 'createdAt', true], ['date_end', 'createdAt', false]] as const) {
    const us = dateParam(ctx, name);
    if (us !== undefined) filters.push(start ? (m) => m[key] >= us : (m) => m[key] < us);
  }
  return { allowed, filters };
}

function search(ctx: ApiCtx, app: App): Reply {
  if (!SCOPES.some((x) => (ctx.query.get(x) ?? '') !== '')) {
    throw badRequest(`A scope filter is required: one of ${SCOPES.join(', ')}.`);
  }
  const p = paging(ctx);
  const includes = includesOf(ctx, MEDIA_INCLUDES);
  const { key, dir } = sorting(ctx, SEARCH_SORTS, 'created_at', -1);
  const sortKey: SortKey = key === 'modified_at' || key === 'file_name' ? key : 'created_at';
  const { allowed, filters } = searchFilters(ctx, app);
  const items = allowed ? sortedMedia(app, sortKey, dir).filter((m) => filters.every((f) => f(m))) : [];
  const r = renderCtx(ctx, app);
  return listReply(ctx, items, p, (m) => mediaWithIncludes(r, m, includes));
}

/** GET /search: the library-wide media listing production migrations page through (`mode=library`). */
function librarySearch(ctx: ApiCtx, app: App): Reply {
  const mode = ctx.query.get('mode');
  if (mode !== null && mode !== 'library') throw badRequest(`mode: only 'library' is served; got '${mode}'.`);
  const p = paging(ctx);
  const { key, dir } = sorting(ctx, ['creation_time', 'modification_time', 'file_name'] as const, 'creation_time', -1);
  const sortKey: SortKey = key === 'modification_time' ? 'modified_at' : key === 'file_name' ? 'file_name' : 'created_at';
  let allowed = orgAllowed(ctx, app);
  const orgId = ctx.query.get('org_id');
  if (orgId && orgId !== app.store.lib.orgId) allowed = false;
  const kinds = mediaTypes(ctx);
  const all = allowed ? sortedMedia(app, sortKey, dir) : [];
  const items = kinds ? all.filter((m) => kinds.has(m.kind)) : all;
  const r = renderCtx(ctx, app);
  return listReply(ctx, items, p, (m) => mediaResource(r, m));
}

function writeError(err: unknown): never {
  if (err instanceof FieldError) throw badRequest(`${err.field}: ${err.message}`);
  throw err;
}

/**
 * download_quality of a jpeg: `original` (the full size), one number (the longest side, as production sends
 * `1200`) or the draft's `WIDTHxHEIGHT`.
 */
function jpegQuality(raw: string | null, m: MediaRec): [number, number] {
  if (raw === null || raw === '' || raw === 'original') return [m.width, m.height];
  if (/^\d{1,5}$/.test(raw) && +raw >= 1) return [+raw, +raw];
  return parseSize(raw, 'download_quality') ?? [m.width, m.height];
}

const MP4_QUALITIES = ['hd1080', 'hd720', 'sd480', 'original'];

function parseSize(raw: string | null, name: string): [number, number] | undefined {
  if (raw === null || raw === '') return undefined;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(raw);
  if (!m || +m[1] < 1 || +m[2] < 1) throw badRequest(`${name} must be WIDTHxHEIGHT, e.g. 1920x1080; got '${raw}'.`);
  return [+m[1], +m[2]];
}

function download(ctx: ApiCtx, app: App): Reply {
  const m = getMedia(ctx, app);
  const type = ctx.query.get('download_filetype') ?? 'original';
  const seed = app.store.seed;
  if (type === 'original') {
    return { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': contentDisposition(m.fileName) }, body: originalSource(seed, m) };
  }
  if (type === 'jpeg') {
    if (m.kind === 'audio' || m.kind === 'document') throw badRequest(`download_filetype: no jpeg rendition for ${m.kind} media.`);
    const [w, h] = jpegQuality(ctx.query.get('download_quality'), m);
    const buf = jpegRendition(seed, m, w, h, 'fit');
    const name = m.fileName.replace(/\.[^.]*$/, '') + '.jpg';
    return { status: 200, headers: { 'Content-Type': 'image/jpeg', 'Content-Disposition': contentDisposition(name) }, body: bufferSource(buf) };
  }
  if (type === 'mp4') {
    if (m.kind !== 'video') throw badRequest(`download_filetype: mp4 is only available for video media.`);
    const quality = ctx.query.get('download_quality');
    if (quality !== null && quality !== '' && !MP4_QUALITIES.includes(quality)) {
      throw badRequest(`download_quality for mp4 must be one of ${MP4_QUALITIES.join(', ')}; got '${quality}'.`);
    }
    const name = m.fileName.replace(/\.[^.]*$/, '') + '.mp4';
    return { status: 200, headers: { 'Content-Type': 'video/mp4', 'Content-Disposition': contentDisposition(name) }, body: mp4Source(seed, m) };
  }
  throw badRequest(`download_filetype must be original, jpeg or mp4; got '${type}'.`);
}

function link(ctx: ApiCtx, app: App): Reply {
  const m = getMedia(ctx, app);
  const mode = ctx.query.get('image_mode') ?? 'fit';
  if (mode !== 'fit' && mode !== 'fill') throw badRequest(`image_mode must be fit or fill; got '${mode}'.`);
  const size = parseSize(ctx.query.get('image_size'), 'image_size');
  let url: string;
  if (m.kind === 'image' || m.kind === 'video') {
    const [w, h] = size ?? [m.width, m.height];
    const [fw, fh] = fitSize(m, w, h, mode);
    url = `${ctx.origin}/__sim/files/${encodeURIComponent(m.id)}/${m.version}/${fw}x${fh}/${mode}.jpg`;
  } else {
    url = `${ctx.origin}/__sim/files/${encodeURIComponent(m.id)}/${m.version}/original`;
  }
  return envelope(ctx, { id: m.id, type: 'link', attributes: { link: url } });
}

export const mediaRoutes: Route[] = [
  route('GET', '/media', 'user', search),
  route('GET', '/search', 'user', librarySearch),
  route('GET', '/media/{id}', 'user', (ctx, app) => {
    const m = getMedia(ctx, app);
    return envelope(ctx, mediaWithIncludes(renderCtx(ctx, app), m, includesOf(ctx, MEDIA_INCLUDES)));
  }),
  route('GET', '/media/{id}/iptc', 'user', (ctx, app) => envelope(ctx, iptcResource(renderCtx(ctx, app), getMedia(ctx, app)))),
  route('PATCH', '/media/{id}/iptc', 'user', (ctx, app) => {
    const m = getMedia(ctx, app);
    try {
      app.store.patchIptc(m, jsonBody(ctx));
    } catch (err) {
      writeError(err);
    }
    return envelope(ctx, iptcResource(renderCtx(ctx, app), m));
  }),
  route('GET', '/media/{id}/metadata', 'user', (ctx, app) => envelope(ctx, metadataResource(renderCtx(ctx, app), getMedia(ctx, app)))),
  route('GET', '/media/{id}/custom-metadata', 'user', (ctx, app) => envelope(ctx, customResource(renderCtx(ctx, app), getMedia(ctx, app))), { queryToken: true }),
  route('PATCH', '/media/{id}/custom-metadata', 'user', (ctx, app) => {
    const m = getMedia(ctx, app);
    try {
      app.store.patchCustom(m, validateCustomPatch(jsonBody(ctx)));
    } catch (err) {
      writeError(err);
    }
    return envelope(ctx, customResource(renderCtx(ctx, app), m));
  }),
  route('GET', '/media/{id}/galleries', 'user', (ctx, app) => {
    const m = getMedia(ctx, app);
    const r = renderCtx(ctx, app);
    const withGallery = includesOf(ctx, ['gallery']).length > 0;
    return listReply(ctx, m.galleries, paging(ctx), (g) => {
      const res = galleryResource(r, g);
      if (withGallery) res.includes = { gallery: { data: galleryResource(r, g) } };
      return res;
    });
  }),
  route('GET', '/media/{id}/download', 'user', download, { queryToken: true }),
  route('GET', '/media/{id}/link', 'user', link),
];

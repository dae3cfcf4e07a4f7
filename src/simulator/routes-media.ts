// Media: search, one medium, metadata reads and writes, galleries, download and link.
import { badRequest, jsonBody, notFound, type Reply } from './http';
import { renderCtx, requireOrg, orgAllowed, route, type ApiCtx, type App, type Route } from './app';
import { envelope, listReply, paging, sorting } from './list';
import { customResource, galleryResource, iptcResource, mediaResource, type RenderCtx, type Resource } from './render';
import { parseClientDate } from './clock';
import { FieldError, validateCustomPatch } from './fields';
import { contentDisposition, fitSize, jpegRendition, mp4Source, originalSource } from './downloads';
import { bufferSource } from './http';
import type { MediaRec } from './model';
import { sortByMicros } from './sort';

const INCLUDES = ['iptc', 'custom_metadata', 'galleries'] as const;
type Include = (typeof INCLUDES)[number];

export function parseIncludes(ctx: ApiCtx): Include[] {
  const raw = ctx.query.get('include');
  if (!raw) return [];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!INCLUDES.includes(n as Include)) throw badRequest(`include: unknown block '${n}' (known: ${INCLUDES.join(', ')}).`);
  return names as Include[];
}

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

const SEARCH_PARAMS = new Set([
  'api_key', 'org_id', 'owner_id', 'user_id', 'galleries', 'collections', 'terms', 'media_type', 'file_name',
  'modify_start', 'modify_end', 'create_start', 'create_end', 'sort_by', 'sort_direction', 'sort_dir', 'page', 'per_page',
  'include', 'date_format', 'match_all_terms',
]);
const SCOPES = ['org_id', 'owner_id', 'user_id', 'galleries', 'collections', 'terms'];
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
  if (us === undefined) throw badRequest(`${name}: '${raw}' is not a date (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]).`);
  return us;
}

function search(ctx: ApiCtx, app: App): Reply {
  for (const name of ctx.query.keys()) {
    if (!SEARCH_PARAMS.has(name)) throw badRequest(`Unknown or unsupported query parameter '${name}'.`);
  }
  if (!SCOPES.some((s) => (ctx.query.get(s) ?? '') !== '')) {
    throw badRequest(`A scope filter is required: one of ${SCOPES.join(', ')}.`);
  }
  const p = paging(ctx);
  const includes = parseIncludes(ctx);
  const { key, dir } = sorting(ctx, SEARCH_SORTS, 'created_at', -1);
  const sortKey: SortKey = key === 'modified_at' || key === 'file_name' ? key : 'created_at';
  const modStart = dateParam(ctx, 'modify_start');
  const modEnd = dateParam(ctx, 'modify_end');
  const createStart = dateParam(ctx, 'create_start');
  const createEnd = dateParam(ctx, 'create_end');
  const lib = app.store.lib;
  const filters: ((m: MediaRec) => boolean)[] = [];

  let allowed = orgAllowed(ctx, app);
  const orgId = ctx.query.get('org_id');
  if (orgId && orgId !== lib.orgId) allowed = false;
  for (const name of ['owner_id', 'user_id']) {
    const v = ctx.query.get(name);
    if (v && v !== lib.userId) allowed = false;
  }
  const galleries = ctx.query.get('galleries');
  if (galleries) {
    const set = new Set(galleries.split(',').map((s) => s.trim()));
    for (const id of set) if (!app.store.gallery(id)) throw badRequest(`galleries: unknown gallery '${id}'.`);
    filters.push((m) => m.galleries.some((g) => set.has(g.id)));
  }
  const collections = ctx.query.get('collections');
  if (collections) {
    const below = new Set<object>();
    for (const id of collections.split(',').map((s) => s.trim())) {
      const c = app.store.collection(id);
      if (!c) throw badRequest(`collections: unknown collection '${id}'.`);
      app.store.galleriesBelow(c, below as Set<never>);
    }
    filters.push((m) => m.galleries.some((g) => below.has(g)));
  }
  const mediaType = ctx.query.get('media_type');
  if (mediaType) {
    const kinds = new Set(mediaType.split(',').map((s) => (s.trim() === 'doc' ? 'document' : s.trim())));
    for (const k of kinds) if (!['image', 'video', 'audio', 'document'].includes(k)) throw badRequest(`media_type: unknown type '${k}'.`);
    filters.push((m) => kinds.has(m.kind));
  }
  const fileName = ctx.query.get('file_name');
  if (fileName) filters.push((m) => m.fileName.toLowerCase().includes(fileName.toLowerCase()));
  const terms = ctx.query.get('terms');
  if (terms) {
    const words = terms.toLowerCase().split(/\s+/).filter(Boolean);
    const all = ctx.query.get('match_all_terms') !== 'false';
    filters.push((m) => {
      const hay = searchText(app, m);
      return all ? words.every((w) => hay.includes(w)) : words.some((w) => hay.includes(w));
    });
  }
  if (modStart !== undefined) filters.push((m) => m.modifiedAt >= modStart);
  if (modEnd !== undefined) filters.push((m) => m.modifiedAt < modEnd);
  if (createStart !== undefined) filters.push((m) => m.createdAt >= createStart);
  if (createEnd !== undefined) filters.push((m) => m.createdAt < createEnd);

  const items = allowed ? sortedMedia(app, sortKey, dir).filter((m) => filters.every((f) => f(m))) : [];
  const r = renderCtx(ctx, app);
  return listReply(ctx, items, p, (m) => mediaWithIncludes(r, m, includes));
}

function writeError(err: unknown): never {
  if (err instanceof FieldError) throw badRequest(`${err.field}: ${err.message}`);
  throw err;
}

function parseSize(raw: string | null, name: string): [number, number] | undefined {
  if (raw === null || raw === '') return undefined;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(raw);
  if (!m || +m[1] < 1 || +m[2] < 1) throw badRequest(`${name} must be WIDTHxHEIGHT, e.g. 1920x1080; got '${raw}'.`);
  return [+m[1], +m[2]];
}

/** jpeg `download_quality`: `original` or one number, the long side [prod], or WIDTHxHEIGHT [draft]. */
function jpegQuality(raw: string | null): [number, number] | undefined {
  if (raw === null || raw === '' || raw === 'original') return undefined;
  if (/^\d{1,5}$/.test(raw) && +raw >= 1) return [+raw, +raw];
  if (/^\d{1,5}x\d{1,5}$/.test(raw)) return parseSize(raw, 'download_quality');
  throw badRequest(`download_quality must be original, a number of pixels for the long side (e.g. 1200) or WIDTHxHEIGHT; got '${raw}'.`);
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
    const [w, h] = jpegQuality(ctx.query.get('download_quality')) ?? [m.width, m.height];
    const buf = jpegRendition(seed, m, w, h, 'fit');
    const name = m.fileName.replace(/\.[^.]*$/, '') + '.jpg';
    return { status: 200, headers: { 'Content-Type': 'image/jpeg', 'Content-Disposition': contentDisposition(name) }, body: bufferSource(buf) };
  }
  if (type === 'mp4') {
    if (m.kind !== 'video') throw badRequest(`download_filetype: mp4 is only available for video media.`);
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
  route('GET', '/media/{id}', 'user', (ctx, app) => {
    const m = getMedia(ctx, app);
    return envelope(ctx, mediaWithIncludes(renderCtx(ctx, app), m, parseIncludes(ctx)));
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
  route('GET', '/media/{id}/custom-metadata', 'user', (ctx, app) => envelope(ctx, customResource(renderCtx(ctx, app), getMedia(ctx, app)))),
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
    return listReply(ctx, m.galleries, paging(ctx), (g) => galleryResource(r, g));
  }),
  route('GET', '/media/{id}/download', 'user', download),
  route('GET', '/media/{id}/link', 'user', link),
];

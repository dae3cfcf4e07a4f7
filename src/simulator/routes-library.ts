// Library browsing: /library, /collections…, /galleries….
import { badRequest, notFound } from './http';
import { formatDate } from './clock';
import { orgAllowed, renderCtx, requireOrg, route, type ApiCtx, type App, type Route } from './app';
import { cmp, envelope, listReply, paging, sorting, type Direction } from './list';
import { containerResource, collectionResource, galleryResource, pathResource } from './render';
import { mediaWithIncludes, parseIncludes } from './routes-media';
import type { CollectionRec, GalleryRec, MediaRec } from './model';

type Container = CollectionRec | GalleryRec;
const CONTAINER_SORTS = ['display_order', 'name', 'creation_time', 'modification_time', 'created_at', 'modified_at'] as const;

function sortContainers(ctx: ApiCtx, items: Container[]): Container[] {
  const { key, dir } = sorting(ctx, CONTAINER_SORTS, 'display_order', 1);
  const value = (x: Container): string | number => {
    if (key === 'name') return x.name.toLowerCase();
    if (key === 'creation_time' || key === 'created_at') return x.createdAt;
    if (key === 'modification_time' || key === 'modified_at') return x.modifiedAt;
    return x.displayOrder;
  };
  return [...items].sort((a, b) => dir * cmp(value(a), value(b)) || cmp(a.id, b.id));
}

function getCollection(ctx: ApiCtx, app: App): CollectionRec {
  const c = app.store.collection(ctx.params.id);
  if (!c) throw notFound('Collection', ctx.params.id);
  requireOrg(ctx, app);
  return c;
}

function getGallery(ctx: ApiCtx, app: App): GalleryRec {
  const g = app.store.gallery(ctx.params.id);
  if (!g) throw notFound('Gallery', ctx.params.id);
  requireOrg(ctx, app);
  return g;
}

function optionalParent(ctx: ApiCtx, app: App): CollectionRec | null | undefined {
  const parent = ctx.query.get('parent');
  if (parent === null || parent === '') return undefined;
  const c = app.store.collection(parent);
  if (!c) throw badRequest(`parent: unknown collection '${parent}'.`);
  return c;
}

const GALLERY_CHILD_SORTS = ['display_order', 'added_at', 'file_name', 'creation_time', 'modification_time', 'date_taken', 'created_at', 'modified_at'] as const;

function sortGalleryMedia(ctx: ApiCtx, g: GalleryRec): MediaRec[] {
  const { key, dir } = sorting(ctx, GALLERY_CHILD_SORTS, 'display_order', 1);
  if (key === 'display_order') return dir === 1 ? [...g.media] : [...g.media].reverse();
  const value = (m: MediaRec): string | number => {
    if (key === 'added_at') return g.addedAt.get(m.id) ?? 0;
    if (key === 'file_name') return m.fileName.toLowerCase();
    if (key === 'modification_time' || key === 'modified_at') return m.modifiedAt;
    return m.createdAt;
  };
  const order = new Map(g.media.map((m, i) => [m.id, i]));
  return [...g.media].sort((a, b) => (dir as Direction) * cmp(value(a), value(b)) || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

function childCounts(g: GalleryRec): Record<string, number> {
  const counts = { total: g.media.length, image: 0, video: 0, audio: 0, document: 0 };
  for (const m of g.media) counts[m.kind]++;
  return counts;
}

export const libraryRoutes: Route[] = [
  route('GET', '/library', 'user', (ctx, app) => {
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const items = orgAllowed(ctx, app) ? sortContainers(ctx, app.store.lib.roots) : [];
    return listReply(ctx, items, p, (x) => containerResource(r, x));
  }),
  route('GET', '/collections', 'user', (ctx, app) => {
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const parent = optionalParent(ctx, app);
    let items: Container[] = [];
    if (orgAllowed(ctx, app)) {
      items = parent ? parent.collections : [...app.store.lib.collections.values()];
    }
    return listReply(ctx, sortContainers(ctx, items), p, (x) => containerResource(r, x));
  }),
  route('GET', '/collections/{id}', 'user', (ctx, app) => envelope(ctx, collectionResource(renderCtx(ctx, app), getCollection(ctx, app)))),
  route('GET', '/collections/{id}/children', 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const items = sortContainers(ctx, [...c.collections, ...c.galleries]);
    return listReply(ctx, items, p, (x) => containerResource(r, x), { children_count: { total: items.length, collections: c.collections.length, galleries: c.galleries.length } });
  }),
  ...['/collections/{id}/child-count', '/collections/{id}/count'].map((path) => route('GET', path, 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const counts = { total: c.collections.length + c.galleries.length, collections: c.collections.length, galleries: c.galleries.length };
    return envelope(ctx, { id: c.id, type: 'child_count', attributes: counts }, { children_count: counts });
  })),
  route('GET', '/collections/{id}/path', 'user', (ctx, app) => {
    const r = renderCtx(ctx, app);
    return envelope(ctx, app.store.pathOf(getCollection(ctx, app)).map((x) => pathResource(r, x)));
  }),
  route('GET', '/collections/{id}/link', 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const url = `${ctx.origin}/gallery-collection/${encodeURIComponent(c.name)}/${c.id}`;
    return envelope(ctx, { id: c.id, type: 'link', attributes: { url, link: url } });
  }),
  route('GET', '/galleries', 'user', (ctx, app) => {
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const parent = optionalParent(ctx, app);
    let items: Container[] = [];
    if (orgAllowed(ctx, app)) items = parent ? parent.galleries : [...app.store.lib.galleries.values()];
    return listReply(ctx, sortContainers(ctx, items), p, (x) => containerResource(r, x));
  }),
  route('GET', '/galleries/{id}', 'user', (ctx, app) => envelope(ctx, galleryResource(renderCtx(ctx, app), getGallery(ctx, app)))),
  route('GET', '/galleries/{id}/children', 'user', (ctx, app) => {
    const g = getGallery(ctx, app);
    const p = paging(ctx);
    const includes = parseIncludes(ctx);
    const r = renderCtx(ctx, app);
    const items = sortGalleryMedia(ctx, g);
    const order = new Map(g.media.map((m, i) => [m.id, i + 1]));
    return listReply(ctx, items, p, (m) => {
      const res = mediaWithIncludes(r, m, includes);
      res.attributes.display_order = order.get(m.id) ?? null;
      const added = g.addedAt.get(m.id);
      res.attributes.added_at = added === undefined ? null : formatDate(added, r.dateFormat);
      return res;
    }, { children_count: childCounts(g) });
  }),
  ...['/galleries/{id}/child-count', '/galleries/{id}/children/count'].map((path) => route('GET', path, 'user', (ctx, app) => {
    const g = getGallery(ctx, app);
    const counts = childCounts(g);
    return envelope(ctx, { id: g.id, type: 'child_count', attributes: counts }, { children_count: counts });
  })),
  route('GET', '/galleries/{id}/path', 'user', (ctx, app) => {
    const r = renderCtx(ctx, app);
    return envelope(ctx, app.store.pathOf(getGallery(ctx, app)).map((x) => pathResource(r, x)));
  }),
];

// Library browsing: /library, /collections…, /galleries….
import { badRequest, notFound } from './http';
import { formatDate } from './clock';
import { includesOf, orgAllowed, renderCtx, requireOrg, route, type ApiCtx, type App, type Route } from './app';
import { cmp, envelope, listReply, paging, sorting, type Direction } from './list';
import {
  collectionCounts, containerResource, collectionResource, galleryCounts, galleryResource, isListed, pathResource, permissionsResource,
  type RenderCtx, type Resource,
} from './render';
import { MEDIA_INCLUDES, mediaWithIncludes } from './routes-media';
import { isCollection, type CollectionRec, type GalleryRec, type MediaRec } from './model';

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

/** `parent=C…`: that collection; `parent=` (blank): the top level (the draft: "pass blank to find … no parent"). */
function parentFilter(ctx: ApiCtx, app: App): ((x: Container) => boolean) | undefined {
  const parent = ctx.query.get('parent');
  if (parent === null) return undefined;
  if (parent === '') return (x) => (isCollection(x) ? x.parent === null : x.parents.length === 0);
  const c = app.store.collection(parent);
  if (!c) throw badRequest(`parent: unknown collection '${parent}'.`);
  return (x) => (isCollection(x) ? x.parent === c : x.parents.includes(c));
}

function boolParam(ctx: ApiCtx, name: string): boolean | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  if (v !== 'true' && v !== 'false') throw badRequest(`${name} must be true or false; got '${v}'.`);
  return v === 'true';
}

/** `name=` exact (collections, unless `match=false`: case-insensitive partial) or partial (galleries). */
function nameFilter(ctx: ApiCtx, partialByDefault: boolean): ((x: Container) => boolean) | undefined {
  const name = ctx.query.get('name');
  if (name === null || name === '') return undefined;
  const partial = partialByDefault || boolParam(ctx, 'match') === false;
  const lower = name.toLowerCase();
  return partial ? (x) => x.name.toLowerCase().includes(lower) : (x) => x.name === name;
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

const CONTAINER_INCLUDES = ['permissions', 'parent', 'child-count'] as const;
type ContainerInclude = (typeof CONTAINER_INCLUDES)[number];

/** A container with the `include=` blocks asked for: permissions, parent (the first one), child-count. */
function containerWithIncludes(r: RenderCtx, x: Container, includes: readonly ContainerInclude[]): Resource {
  const res = containerResource(r, x);
  if (includes.length === 0) return res;
  res.includes = {};
  for (const inc of includes) {
    if (inc === 'permissions') res.includes.permissions = { data: permissionsResource(r, x) };
    else if (inc === 'parent') {
      const parent = isCollection(x) ? x.parent : (x.parents[0] ?? null);
      res.includes.parent = { data: parent ? collectionResource(r, parent) : null };
    } else {
      const counts = isCollection(x) ? collectionCounts(x) : galleryCounts(x);
      res.includes['child-count'] = { data: { id: x.id, type: 'child_count', attributes: counts } };
    }
  }
  return res;
}

function listContainers(ctx: ApiCtx, app: App, all: () => Container[], served: readonly ContainerInclude[], partialName: boolean): ReturnType<typeof listReply> {
  const p = paging(ctx);
  const r = renderCtx(ctx, app);
  const filters = [parentFilter(ctx, app), nameFilter(ctx, partialName)];
  const id = ctx.query.get('id');
  if (id) filters.push((x) => x.id === id);
  if (boolParam(ctx, 'portfolio') === true) filters.push((x) => isListed(app.store.seed, x));
  boolParam(ctx, 'recently_updated');
  const active = filters.filter((f): f is (x: Container) => boolean => f !== undefined);
  const items = orgAllowed(ctx, app) ? all().filter((x) => active.every((f) => f(x))) : [];
  const includes = includesOf(ctx, served);
  return listReply(ctx, sortContainers(ctx, items), p, (x) => containerWithIncludes(r, x, includes));
}

/** The first image in display order (else the first medium) of a gallery. */
function coverOf(g: GalleryRec): MediaRec | undefined {
  return g.media.find((m) => m.kind === 'image') ?? g.media[0];
}

function firstImageBelow(app: App, c: CollectionRec): { image: MediaRec; gallery: GalleryRec } | undefined {
  for (const g of [...c.galleries].sort((a, b) => a.displayOrder - b.displayOrder || cmp(a.id, b.id))) {
    const image = g.media.find((m) => m.kind === 'image');
    if (image) return { image, gallery: g };
  }
  for (const child of [...c.collections].sort((a, b) => a.displayOrder - b.displayOrder || cmp(a.id, b.id))) {
    const found = firstImageBelow(app, child);
    if (found) return found;
  }
  return undefined;
}

/** The draft's KeyImage: the key image of a gallery or collection, with a URL that serves it. */
function keyImage(ctx: ApiCtx, image: MediaRec, gallery: GalleryRec, collection: CollectionRec | null): Resource {
  const url = `${ctx.origin}/__sim/files/${encodeURIComponent(image.id)}/${image.version}/600x600/fit.jpg`;
  return {
    id: image.id, type: 'keyImage',
    attributes: { image_id: image.id, gallery_id: gallery.id, ...(collection ? { collection_id: collection.id } : {}), custom: false, image_url: url, public: false },
  };
}

export const libraryRoutes: Route[] = [
  route('GET', '/library', 'user', (ctx, app) => {
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const listed = boolParam(ctx, 'is_listed');
    let items = orgAllowed(ctx, app) ? app.store.lib.roots : [];
    if (listed !== undefined) items = items.filter((x) => isListed(app.store.seed, x) === listed);
    return listReply(ctx, sortContainers(ctx, items), p, (x) => containerResource(r, x));
  }),
  route('GET', '/collections', 'user', (ctx, app) => listContainers(ctx, app, () => [...app.store.lib.collections.values()], ['permissions', 'parent'], false)),
  route('GET', '/collections/{id}', 'user', (ctx, app) => envelope(ctx, collectionResource(renderCtx(ctx, app), getCollection(ctx, app)))),
  route('GET', '/collections/{id}/children', 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const p = paging(ctx);
    const r = renderCtx(ctx, app);
    const items = sortContainers(ctx, [...c.collections, ...c.galleries]);
    return listReply(ctx, items, p, (x) => containerResource(r, x), { children_count: collectionCounts(c) });
  }),
  ...['/collections/{id}/child-count', '/collections/{id}/count'].map((path) => route('GET', path, 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const counts = collectionCounts(c);
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
  route('GET', '/collections/{id}/key-image', 'user', (ctx, app) => {
    const c = getCollection(ctx, app);
    const found = firstImageBelow(app, c);
    if (!found) throw notFound('Key image of collection', c.id);
    return envelope(ctx, keyImage(ctx, found.image, found.gallery, c));
  }),
  route('GET', '/galleries', 'user', (ctx, app) => listContainers(ctx, app, () => [...app.store.lib.galleries.values()], CONTAINER_INCLUDES, true)),
  route('GET', '/galleries/{id}', 'user', (ctx, app) => envelope(ctx, galleryResource(renderCtx(ctx, app), getGallery(ctx, app)))),
  route('GET', '/galleries/{id}/children', 'user', (ctx, app) => {
    const g = getGallery(ctx, app);
    const p = paging(ctx);
    const includes = includesOf(ctx, MEDIA_INCLUDES);
    const r = renderCtx(ctx, app);
    const items = sortGalleryMedia(ctx, g);
    const order = new Map(g.media.map((m, i) => [m.id, i + 1]));
    return listReply(ctx, items, p, (m) => {
      const res = mediaWithIncludes(r, m, includes);
      res.attributes.display_order = order.get(m.id) ?? null;
      const added = g.addedAt.get(m.id);
      res.attributes.added_at = added === undefined ? null : formatDate(added, r.dateFormat);
      return res;
    }, { children_count: galleryCounts(g) });
  }),
  ...['/galleries/{id}/child-count', '/galleries/{id}/children/count'].map((path) => route('GET', path, 'user', (ctx, app) => {
    const g = getGallery(ctx, app);
    const counts = galleryCounts(g);
    return envelope(ctx, { id: g.id, type: 'child_count', attributes: counts }, { children_count: counts });
  })),
  route('GET', '/galleries/{id}/path', 'user', (ctx, app) => {
    const r = renderCtx(ctx, app);
    return envelope(ctx, app.store.pathOf(getGallery(ctx, app)).map((x) => pathResource(r, x)));
  }),
  // The draft's GalleryCover list: always a `data` array (empty for an empty gallery).
  route('GET', '/galleries/{id}/cover', 'user', (ctx, app) => {
    const cover = coverOf(getGallery(ctx, app));
    return envelope(ctx, cover ? [{ id: cover.id, type: cover.kind }] : []);
  }),
  route('GET', '/galleries/{id}/key-image', 'user', (ctx, app) => {
    const g = getGallery(ctx, app);
    const image = g.media.find((m) => m.kind === 'image');
    if (!image) throw notFound('Key image of gallery', g.id);
    return envelope(ctx, keyImage(ctx, image, g, null));
  }),
  route('GET', '/galleries/{id}/permissions', 'user', (ctx, app) => envelope(ctx, permissionsResource(renderCtx(ctx, app), getGallery(ctx, app)))),
];

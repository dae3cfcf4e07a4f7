// The library state and every change to it.
import { generateLibrary, generateMedia, generatedCustom, generatedIptc } from './generator';
import { CUSTOM_FIELDS, FieldError, customFieldByKey, validateCustomValue, validateIptcPatch, type CustomValues, type Iptc } from './fields';
import { makeId } from './ids';
import { documentId, exifDate, fileDigest, fileTime, instanceId } from './filemeta';
import type { SimClock } from './clock';
import type { CollectionRec, GalleryRec, Library, MediaKind, MediaRec } from './model';

export interface StoreOptions {
  seed: number;
  assets: number;
  orgId: string;
  userId: string;
}

export interface NewMedia {
  galleryId: string;
  fileName?: string;
  size?: number;
  width?: number;
  height?: number;
  kind?: MediaKind;
  iptc?: unknown;
  custom?: unknown;
}

export interface MediaChange {
  iptc?: unknown;
  custom?: unknown;
  galleries?: unknown;
  size?: unknown;
  fileName?: unknown;
  /** A new file version with new bytes and the same name, size and pixel size. */
  replaceFile?: unknown;
}

const PREFIX = { image: 'I0000', video: 'VD000', audio: 'AD000', document: 'DO000' } as const;
const DEFAULT_EXT = { image: '.jpg', video: '.mp4', audio: '.mp3', document: '.pdf' } as const;

export class Store {
  lib: Library;

  constructor(private opts: StoreOptions, private clock: SimClock) {
    this.lib = generateLibrary(opts);
  }

  reset(seed: number, assets: number): void {
    this.opts = { ...this.opts, seed, assets };
    this.lib = generateLibrary(this.opts);
  }

  get seed(): number {
    return this.lib.seed;
  }

  /** The number of generated media the library started from. */
  get assets(): number {
    return this.opts.assets;
  }

  media(id: string): MediaRec | undefined {
    return this.lib.media.get(id);
  }

  gallery(id: string): GalleryRec | undefined {
    return this.lib.galleries.get(id);
  }

  collection(id: string): CollectionRec | undefined {
    return this.lib.collections.get(id);
  }

  iptcOf(m: MediaRec): Iptc {
    return m.iptc ?? generatedIptc(this.lib.seed, m);
  }

  customOf(m: MediaRec): CustomValues {
    return m.custom ?? generatedCustom(this.lib.seed, m);
  }

  /** Applies a validated IPTC patch; returns whether anything changed. */
  patchIptc(m: MediaRec, input: unknown): boolean {
    const patch = validateIptcPatch(input);
    const current = this.iptcOf(m);
    const next = { ...current, ...patch };
    const changed = Object.keys(patch).some((k) => current[k as keyof Iptc] !== next[k as keyof Iptc]);
    if (changed) {
      m.iptc = next;
      this.touch(m);
    }
    return changed;
  }

  patchCustom(m: MediaRec, values: CustomValues): boolean {
    const current = this.customOf(m);
    const changed = Object.entries(values).some(([k, v]) => current[k] !== v);
    if (changed) {
      m.custom = { ...current, ...values };
      this.touch(m);
    }
    return changed;
  }

  /** Custom values keyed by field name or id (control API). */
  customByName(input: unknown): CustomValues {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new FieldError('custom', `'custom' must be an object of field name → value.`);
    const out: CustomValues = {};
    for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
      const def = customFieldByKey(key);
      if (!def) throw new FieldError(key, `Unknown custom field '${key}'.`);
      out[def.id] = validateCustomValue(def, value);
    }
    return out;
  }

  addMedia(spec: NewMedia): MediaRec {
    const g = this.lib.galleries.get(spec.galleryId);
    if (!g) throw new FieldError('galleryId', `Unknown gallery '${spec.galleryId}'.`);
    const index = this.lib.nextMediaIndex++;
    const base = generateMedia(this.lib.seed, index);
    const kind = spec.kind ?? 'image';
    if (!Object.hasOwn(PREFIX, kind)) throw new FieldError('kind', `'kind' must be one of ${Object.keys(PREFIX).join(', ')}.`);
    const now = this.clock.tickMicros();
    const m: MediaRec = {
      ...base, kind, id: makeId(PREFIX[kind], this.lib.seed, index),
      fileName: spec.fileName ?? (kind === base.kind ? base.fileName : `Upload ${index}${DEFAULT_EXT[kind]}`),
      fileSize: spec.size ?? base.fileSize,
      width: spec.width ?? (kind === 'image' ? base.width || 1600 : base.width),
      height: spec.height ?? (kind === 'image' ? base.height || 1200 : base.height),
      createdAt: now, modifiedAt: now, galleries: [],
    };
    validateFile(m.fileName, m.fileSize);
    if (spec.iptc !== undefined) m.iptc = { ...generatedIptc(this.lib.seed, m), ...validateIptcPatch(spec.iptc) };
    if (spec.custom !== undefined) m.custom = { ...generatedCustom(this.lib.seed, m), ...this.customByName(spec.custom) };
    this.lib.media.set(m.id, m);
    this.lib.mediaList.push(m);
    g.media.push(m);
    g.addedAt.set(m.id, now);
    g.modifiedAt = now;
    m.galleries.push(g);
    this.lib.revision++;
    return m;
  }

  /** A change made "in the PhotoShelter UI": metadata, gallery membership, or a replaced file. */
  changeMedia(m: MediaRec, change: MediaChange): void {
    // Validate everything before changing anything.
    const iptc = change.iptc !== undefined ? validateIptcPatch(change.iptc) : undefined;
    const custom = change.custom !== undefined ? this.customByName(change.custom) : undefined;
    let galleries: GalleryRec[] | undefined;
    if (change.galleries !== undefined) {
      if (!Array.isArray(change.galleries) || !change.galleries.every((x) => typeof x === 'string')) {
        throw new FieldError('galleries', `'galleries' must be an array of gallery ids.`);
      }
      galleries = change.galleries.map((id: string) => {
        const g = this.lib.galleries.get(id);
        if (!g) throw new FieldError('galleries', `Unknown gallery '${id}'.`);
        return g;
      });
    }
    if (change.size !== undefined && (typeof change.size !== 'number' || !Number.isSafeInteger(change.size) || change.size < 0)) {
      throw new FieldError('size', `'size' must be a non-negative integer.`);
    }
    if (change.fileName !== undefined && (typeof change.fileName !== 'string' || change.fileName === '')) {
      throw new FieldError('fileName', `'fileName' must be a non-empty string.`);
    }
    if (change.replaceFile !== undefined && typeof change.replaceFile !== 'boolean') {
      throw new FieldError('replaceFile', `'replaceFile' must be true or false.`);
    }
    if (iptc) m.iptc = { ...this.iptcOf(m), ...iptc };
    if (custom) m.custom = { ...this.customOf(m), ...custom };
    if (galleries) this.setGalleries(m, galleries);
    if (change.size !== undefined || change.fileName !== undefined || change.replaceFile === true) {
      if (typeof change.size === 'number') m.fileSize = change.size;
      if (typeof change.fileName === 'string') m.fileName = change.fileName;
      // A file's ModifyDate has whole seconds: a second version within the same second as the previous one
      // is stamped at the next second, so that every version shows a ModifyDate of its own.
      const nextSecond = (Math.floor(fileTime(m) / 1_000_000) + 1) * 1_000_000;
      m.version++;
      m.modifiedAt = this.clock.tickAtLeast(nextSecond);
      m.fileAt = m.modifiedAt;
      this.lib.revision++;
    } else {
      this.touch(m);
    }
  }

  deleteMedia(m: MediaRec): void {
    this.lib.media.delete(m.id);
    const i = this.lib.mediaList.indexOf(m);
    if (i >= 0) this.lib.mediaList.splice(i, 1);
    for (const g of m.galleries) {
      g.media.splice(g.media.indexOf(m), 1);
      g.addedAt.delete(m.id);
    }
    m.galleries = [];
    this.lib.revision++;
  }

  private setGalleries(m: MediaRec, next: GalleryRec[]): void {
    const now = this.clock.tickMicros();
    for (const g of m.galleries) {
      if (!next.includes(g)) {
        g.media.splice(g.media.indexOf(m), 1);
        g.addedAt.delete(m.id);
        g.modifiedAt = now;
      }
    }
    for (const g of next) {
      if (!m.galleries.includes(g)) {
        g.media.push(m);
        g.addedAt.set(m.id, now);
        g.modifiedAt = now;
      }
    }
    m.galleries = [...new Set(next)];
  }

  private touch(m: MediaRec): void {
    m.modifiedAt = this.clock.tickMicros();
    this.lib.revision++;
  }

  /** Every gallery at or below a collection. */
  galleriesBelow(c: CollectionRec, out = new Set<GalleryRec>()): Set<GalleryRec> {
    for (const g of c.galleries) out.add(g);
    for (const child of c.collections) this.galleriesBelow(child, out);
    return out;
  }

  /** Root-most collection down to the item itself (first parent where there are several). */
  pathOf(item: CollectionRec | GalleryRec): (CollectionRec | GalleryRec)[] {
    const out: (CollectionRec | GalleryRec)[] = [item];
    let p: CollectionRec | null = 'parents' in item ? (item.parents[0] ?? null) : item.parent;
    while (p) {
      out.unshift(p);
      p = p.parent;
    }
    return out;
  }

  /** The truth about a medium, for test assertions. */
  truth(m: MediaRec): Record<string, unknown> {
    const custom: Record<string, string | null> = {};
    const values = this.customOf(m);
    for (const f of CUSTOM_FIELDS) custom[f.name] = values[f.id] ?? null;
    return {
      id: m.id, type: m.kind, version: m.version, file_name: m.fileName, file_size: m.fileSize, width: m.width, height: m.height,
      created_at_us: m.createdAt, modified_at_us: m.modifiedAt, iptc: this.iptcOf(m), custom, custom_by_id: values,
      galleries: m.galleries.map((g) => g.id),
      file: {
        version: m.version, at_us: fileTime(m), instance_id: instanceId(this.lib.seed, m), document_id: documentId(this.lib.seed, m),
        modify_date: exifDate(fileTime(m)), hash: m.kind === 'image' ? null : fileDigest(this.lib.seed, m), digest: fileDigest(this.lib.seed, m),
      },
    };
  }
}

function validateFile(fileName: string, size: number): void {
  if (typeof fileName !== 'string' || fileName === '') throw new FieldError('fileName', `'fileName' must be a non-empty string.`);
  if (!Number.isSafeInteger(size) || size < 0) throw new FieldError('size', `'size' must be a non-negative integer.`);
}

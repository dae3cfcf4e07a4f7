// In-memory library records. Times are microseconds since the epoch.
import type { CustomValues, Iptc } from './fields';

export type MediaKind = 'image' | 'video' | 'audio' | 'document';

export interface CollectionRec {
  id: string;
  index: number;
  name: string;
  description: string | null;
  parent: CollectionRec | null;
  collections: CollectionRec[];
  galleries: GalleryRec[];
  displayOrder: number;
  createdAt: number;
  modifiedAt: number;
}

export interface GalleryRec {
  id: string;
  index: number;
  name: string;
  description: string | null;
  parents: CollectionRec[];
  media: MediaRec[];
  addedAt: Map<string, number>;
  displayOrder: number;
  createdAt: number;
  modifiedAt: number;
}

export interface MediaRec {
  id: string;
  /** Seed index: IPTC and custom values are derived from it until first written. */
  index: number;
  kind: MediaKind;
  fileName: string;
  fileSize: number;
  width: number;
  height: number;
  duration: number;
  rating: number | null;
  flags: number;
  createdAt: number;
  modifiedAt: number;
  /** The file version: 1 at upload, +1 with every replaced file. */
  version: number;
  /** When the current file version was made (µs); absent = at creation. */
  fileAt?: number;
  galleries: GalleryRec[];
  iptc: Iptc | null;
  custom: CustomValues | null;
}

export const FLAG_MODEL_RELEASED = 1;
export const FLAG_PROPERTY_RELEASED = 2;
export const FLAG_FLAGGED = 4;
export const FLAG_SEARCHABLE = 8;

export interface Library {
  seed: number;
  orgId: string;
  userId: string;
  roots: (CollectionRec | GalleryRec)[];
  collections: Map<string, CollectionRec>;
  galleries: Map<string, GalleryRec>;
  media: Map<string, MediaRec>;
  /** Insertion order; deletions remove entries. */
  mediaList: MediaRec[];
  nextMediaIndex: number;
  /** Bumped on every change; list caches key on it. */
  revision: number;
}

export function isCollection(x: CollectionRec | GalleryRec): x is CollectionRec {
  return 'collections' in x;
}

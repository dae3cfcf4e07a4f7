/**
 * The simulated library across restarts (`photoshelter-sim --state <file>`, and `npm start`): the
 * structure comes from the seed; what changed since — media added, edited, moved or deleted, gallery
 * membership and times, the clock's offset — is written to a JSON file shortly after each change and on
 * close (written to a temporary file, then renamed), and read back at start.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SimClock } from './clock';
import type { GalleryRec, MediaRec } from './model';
import type { Store } from './store';

/** A media record with its galleries as ids. */
type SavedMedia = Omit<MediaRec, 'galleries'> & { galleries: string[] };

interface SavedState {
  format: 1;
  seed: number;
  assets: number;
  orgId: string;
  clock: { offsetMs: number; lastMicros: number };
  nextMediaIndex: number;
  media: SavedMedia[];
  galleries: Array<{ id: string; modifiedAt: number; media: string[]; addedAt: Array<[string, number]> }>;
}

export function snapshot(store: Store, clock: SimClock): SavedState {
  const lib = store.lib;
  return {
    format: 1,
    seed: lib.seed,
    assets: store.assets,
    orgId: lib.orgId,
    clock: clock.saved(),
    nextMediaIndex: lib.nextMediaIndex,
    media: lib.mediaList.map((m) => ({ ...m, galleries: m.galleries.map((g) => g.id) })),
    galleries: [...lib.galleries.values()].map((g) => ({ id: g.id, modifiedAt: g.modifiedAt, media: g.media.map((m) => m.id), addedAt: [...g.addedAt] })),
  };
}

function fail(file: string, why: string): never {
  throw new Error(`The simulator state ${file} cannot be used: ${why}. Remove the file to start from the seeded library.`);
}

/** Puts a saved state into `store` and `clock`; checks everything first, so a bad file changes nothing. */
export function restore(store: Store, clock: SimClock, data: unknown, file: string): void {
  const s = data as Partial<SavedState>;
  if (!s || typeof s !== 'object' || s.format !== 1) fail(file, 'not a state file of this simulator (format 1)');
  if (!Number.isSafeInteger(s.seed) || !Number.isSafeInteger(s.assets) || !Array.isArray(s.media) || !Array.isArray(s.galleries) || !s.clock) {
    fail(file, 'seed, assets, media, galleries or clock missing');
  }
  if (s.orgId !== store.lib.orgId) fail(file, `it belongs to organization ${String(s.orgId)}, this simulator serves ${store.lib.orgId}`);
  if (s.seed !== store.seed || s.assets !== store.assets) store.reset(s.seed as number, s.assets as number);
  const lib = store.lib;
  const media = new Map<string, MediaRec>();
  for (const m of s.media as SavedMedia[]) {
    if (!m || typeof m.id !== 'string') fail(file, 'a media entry has no id');
    media.set(m.id, { ...m, galleries: [] });
  }
  const galleries: Array<[GalleryRec, MediaRec[], Map<string, number>, number]> = [];
  for (const g of s.galleries as SavedState['galleries']) {
    const rec = lib.galleries.get(g?.id);
    if (!rec) fail(file, `gallery ${String(g?.id)} is not in the library of seed ${lib.seed}`);
    const list = g.media.map((id) => media.get(id) ?? fail(file, `gallery ${g.id} lists unknown media ${id}`));
    galleries.push([rec, list, new Map(g.addedAt), g.modifiedAt]);
  }
  for (const m of s.media as SavedMedia[]) {
    for (const id of m.galleries) if (!lib.galleries.has(id)) fail(file, `media ${m.id} sits in unknown gallery ${id}`);
  }
  // checked: now apply
  for (const m of s.media as SavedMedia[]) (media.get(m.id) as MediaRec).galleries = m.galleries.map((id) => lib.galleries.get(id) as GalleryRec);
  for (const [rec, list, addedAt, modifiedAt] of galleries) {
    rec.media = list;
    rec.addedAt = addedAt;
    rec.modifiedAt = modifiedAt;
  }
  lib.media = media;
  lib.mediaList = [...media.values()];
  lib.nextMediaIndex = s.nextMediaIndex as number;
  lib.revision++;
  clock.restore(s.clock as SavedState['clock']);
}

export interface StateKeeper {
  /** Stops watching and writes the last state. */
  close(): void;
}

/** Reads `file` into the store when it exists, then writes the state back after every change. */
export function keepState(file: string, store: Store, clock: SimClock, everyMs = 250): StateKeeper {
  if (existsSync(file)) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      fail(file, (e as Error).message);
    }
    restore(store, clock, data, file);
  }
  mkdirSync(dirname(file), { recursive: true });
  let seen = '';
  const marker = () => `${store.lib.seed}/${store.lib.revision}/${store.lib.mediaList.length}/${clock.saved().offsetMs}`;
  const save = () => {
    const now = marker();
    if (now === seen) return;
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(snapshot(store, clock)));
    renameSync(tmp, file);
    seen = now;
  };
  save();
  const timer = setInterval(save, everyMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      save();
    },
  };
}

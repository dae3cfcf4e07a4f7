/**
 * A walk: every asset under a container (or the whole library), once each, with its path — even when it
 * sits in several galleries — with bounded work in flight.
 *
 * The walk emits a window of assets and moves on only as the flow acknowledges them. Its position (the
 * first unacknowledged item) is persisted, so a walk of a million assets never sits in memory and
 * resumes after a crash or a redeploy; anything emitted but not acknowledged then is emitted again.
 *
 * An asset is emitted under the first gallery (in walk order) that lists it: the walk keeps a compact set
 * of the ids listed so far (about 16 bytes each; see idset.ts), rebuilt on resume by listing the galleries
 * before the cursor again. Listings carry no parts (no include is evidenced there): the parts a flow
 * wants are read per asset, a few assets ahead.
 */
import { CoreError } from '../errors';
import { randomUUID } from 'node:crypto';
import type { PhotoShelterClient } from '../../photoshelter';
import { crashPoint } from '../../photoshelter/crashpoint';
import { normalizeAsset, type Asset, type RawResource } from '../asset';
import { ahead, assetFromMedia, type AssetPart } from '../load';
import { IdSet } from './idset';
import type { StateStore, TriggerState, WalkState } from './state';

type WalkClient = Pick<
  PhotoShelterClient,
  'library' | 'collectionChildren' | 'galleryChildPages' | 'gallery' | 'path' | 'getIptc' | 'getCustomMetadata' | 'getMediaGalleries'
>;

export type WalkScope = { kind: 'library' } | { kind: 'collection' | 'gallery'; id: string };

export interface WalkOptions {
  /** Assets emitted but not yet acknowledged, at most (default 50). */
  window: number;
  /** Wait for acknowledgements (default true); without, the walk advances as it emits. */
  acknowledge: boolean;
  include: AssetPart[];
  timeZone: string;
  /** Items per listing request (stored with the walk: positions depend on it). */
  perPage?: number;
}

export interface WalkEmit {
  asset: Asset;
  walkId: string;
  /** Position of this asset in the walk (0-based). */
  index: number;
  /** Set on the last asset: how many the walk emitted in all. */
  count?: number;
  galleryId: string;
}

export interface WalkProgress {
  walkId: string;
  emitted: number;
  acked: number;
  inFlight: number;
  galleries: number;
  galleryIndex: number;
  done: boolean;
}

interface Candidate {
  media: RawResource;
  gallery: number;
  offset: number;
}

/** A candidate with its parts read. */
interface Read {
  item: Candidate;
  value: Asset;
}

interface InFlight {
  index: number;
  gallery: number;
  offset: number;
}

const PER_PAGE = 100;
/** Assets whose parts are read ahead of the one being emitted. */
const READ_AHEAD = 8;
const SAVE_EVERY_MS = 250;
const PROGRESS_EVERY_MS = 250;

/** A medium deleted between its listing and the reading of its parts is passed over (undefined). */
async function unlessGone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    // only the medium's own calls: a 404 elsewhere (a gallery's path) is an error to report, not a deletion
    const err = e as { code?: unknown; path?: unknown };
    if (err?.code === 'ENOTFOUND' && typeof err.path === 'string' && err.path.startsWith('/media/')) return undefined;
    throw e;
  }
}

/** One item at a time, from batches (the read-ahead works item by item). */
async function* flatten<T>(batches: AsyncGenerator<T[]>): AsyncGenerator<T> {
  try {
    for await (const batch of batches) yield* batch;
  } finally {
    await batches.return(undefined);
  }
}

/** Each item as a batch of its own. */
async function* singly<T>(src: AsyncGenerator<T>): AsyncGenerator<T[]> {
  try {
    for await (const x of src) yield [x];
  } finally {
    await src.return(undefined);
  }
}

async function* present<T, U>(src: AsyncGenerator<{ item: T; value: U | undefined }>): AsyncGenerator<{ item: T; value: U }> {
  try {
    for await (const x of src) if (x.value !== undefined) yield x as { item: T; value: U };
  } finally {
    await src.return(undefined);
  }
}

export class WalkBusyError extends CoreError {
  constructor(message: string) {
    super('EWALKBUSY', message);
  }
}

export class Walker {
  private state?: TriggerState;
  private running?: Promise<void>;
  private abort?: AbortController;
  private readonly inFlight = new Map<number, InFlight>();
  private wake?: () => void;
  private lastSave = 0;
  private saveTimer?: NodeJS.Timeout;
  /** Just after the last item emitted, and the index the next one gets. */
  private readPos?: { gallery: number; offset: number };
  private nextIndex = 0;
  private lastProgress = 0;

  constructor(
    private readonly client: WalkClient,
    private readonly store: StateStore,
    private readonly configKey: string,
    private readonly o: WalkOptions,
    private readonly emit: (item: WalkEmit) => void,
    private readonly onProgress: (p: WalkProgress) => void = () => undefined,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  private async loadState(): Promise<TriggerState> {
    if (!this.state) {
      const raw = (await this.store.load()) as TriggerState | undefined;
      this.state = raw && raw.v === 1 && raw.configKey === this.configKey ? raw : { v: 1, configKey: this.configKey, positions: {} };
    }
    return this.state;
  }

  /** Resume an unfinished walk found in the store; resolves true when one was resumed. */
  async resume(): Promise<boolean> {
    const s = await this.loadState();
    if (!s.walk || s.walk.done || this.running) return false;
    this.launch(s.walk);
    return true;
  }

  /** Start a new walk. Rejects with WalkBusyError while one runs (unless `restart`). */
  async start(scope: WalkScope, restart = false): Promise<string> {
    const s = await this.loadState();
    if (this.running) {
      if (!restart) throw new WalkBusyError('A walk is already running; send msg.restart = true to start over');
      await this.stop();
    }
    const ac = new AbortController();
    this.abort = ac;
    const galleries = await this.resolveGalleries(scope, ac.signal);
    const walk: WalkState = {
      id: randomUUID(),
      scope: scope.kind === 'library' ? '*' : scope.id,
      galleries,
      cursor: { gallery: 0, offset: 0 },
      emitted: 0,
      acked: 0,
      startedAt: new Date().toISOString(),
    };
    s.walk = walk;
    await this.store.save(s);
    this.launch(walk);
    return walk.id;
  }

  /** The flow finished with the item of this walk and index. Unknown acknowledgements are ignored. */
  ack(walkId: string, index: number): boolean {
    const walk = this.state?.walk;
    if (!walk || walk.id !== walkId || !this.inFlight.has(index)) return false;
    this.inFlight.delete(index);
    walk.acked++;
    this.advanceCursor(walk);
    this.scheduleSave();
    this.wake?.();
    return true;
  }

  /** Stop emitting (the position stays where acknowledgements put it). */
  async stop(): Promise<void> {
    this.abort?.abort();
    this.wake?.();
    await this.running?.catch(() => undefined);
    this.inFlight.clear();
    await this.flush();
  }

  /** Persist now (on close). */
  async flush(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.state) await this.store.save(this.state);
  }

  progress(): WalkProgress | undefined {
    const w = this.state?.walk;
    if (!w) return undefined;
    return {
      walkId: w.id,
      emitted: w.emitted,
      acked: w.acked,
      inFlight: this.inFlight.size,
      galleries: w.galleries.length,
      galleryIndex: w.cursor.gallery,
      done: Boolean(w.done),
    };
  }

  private scheduleSave(): void {
    const due = this.lastSave + SAVE_EVERY_MS - Date.now();
    if (due <= 0) {
      this.lastSave = Date.now();
      void this.flush().catch(this.onError);
    } else if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        this.lastSave = Date.now();
        void this.flush().catch(this.onError);
      }, due);
    }
  }

  /**
   * The persisted cursor is the first item still in flight or, when none is, the item after the last one
   * emitted; `emitted` is then the index the walk resumes with.
   */
  private advanceCursor(walk: WalkState): void {
    let first: InFlight | undefined;
    for (const f of this.inFlight.values()) if (!first || f.index < first.index) first = f;
    if (first) {
      walk.cursor = { gallery: first.gallery, offset: first.offset };
      walk.emitted = first.index;
    } else if (this.readPos) {
      walk.cursor = this.readPos;
      walk.emitted = this.nextIndex;
    }
  }

  private launch(walk: WalkState): void {
    const ac = this.abort && !this.abort.signal.aborted ? this.abort : new AbortController();
    this.abort = ac;
    this.running = this.run(walk, ac.signal)
      .catch((e: unknown) => {
        if (!ac.signal.aborted) this.onError(e);
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  private async run(walk: WalkState, signal: AbortSignal): Promise<void> {
    // resumed walks restart at the first unacknowledged item; its index is the count of items before it
    const index = walk.emitted;
    this.readPos = undefined;
    this.nextIndex = index;
    const perPage = this.o.perPage ?? PER_PAGE;
    const parts = this.o.include.filter((p) => p !== 'path');
    const listed = this.candidates(walk, perPage, signal);
    // with parts to read, a few assets are read ahead, one by one; without, the listing is all there is,
    // and the walk goes through it a page at a time (each medium made an asset as it is emitted)
    const timeZone = this.o.timeZone;
    const batches: AsyncGenerator<Array<Candidate | Read>> = parts.length
      ? singly(present(ahead(flatten(listed), (c) => unlessGone(assetFromMedia(this.client, c.media, { include: parts, timeZone, signal })), READ_AHEAD)))
      : listed;
    try {
      await this.emitAll(walk, batches, index, signal);
    } finally {
      await batches.return(undefined);
    }
  }

  /** Waits while the window is full; false when the walk was stopped. */
  private async room(signal: AbortSignal): Promise<boolean> {
    while (this.inFlight.size >= this.o.window && !signal.aborted) {
      await new Promise<void>((r) => (this.wake = r));
    }
    return !signal.aborted;
  }

  private async emitAll(walk: WalkState, batches: AsyncGenerator<Array<Candidate | Read>>, first: number, signal: AbortSignal): Promise<void> {
    const at = { index: first, pathOf: undefined as { gallery: number; path: string } | undefined };
    // each item is emitted once the next is known, so the last one can say how many the walk emitted
    let held: Candidate | Read | undefined;
    for (;;) {
      const next = await batches.next();
      if (signal.aborted) return;
      if (next.done) break;
      for (const x of next.value) {
        if (held !== undefined) {
          if (this.o.acknowledge && this.inFlight.size >= this.o.window && !(await this.room(signal))) return;
          if (signal.aborted) return;
          this.emitOne(walk, held, at, false);
        }
        held = x;
      }
    }
    if (held !== undefined) {
      if (this.o.acknowledge && !(await this.room(signal))) return;
      if (signal.aborted) return;
      this.emitOne(walk, held, at, true);
    }
    // everything emitted: wait for the last acknowledgements, then the walk is done
    while (this.o.acknowledge && this.inFlight.size > 0 && !signal.aborted) {
      await new Promise<void>((r) => (this.wake = r));
    }
    if (signal.aborted) return;
    walk.done = true;
    walk.emitted = at.index;
    walk.cursor = { gallery: walk.galleries.length, offset: 0 };
    await this.flush();
    this.onProgress(this.progress() as WalkProgress);
  }

  /** One item: the asset with its path, into the window, out to the flow. */
  private emitOne(walk: WalkState, x: Candidate | Read, at: { index: number; pathOf?: { gallery: number; path: string } }, last: boolean): void {
    const index = at.index;
    const c = 'item' in x ? x.item : x;
    const asset = 'item' in x ? x.value : normalizeAsset({ media: x.media }, { timeZone: this.o.timeZone });
    if (this.o.acknowledge) this.inFlight.set(index, { index, gallery: c.gallery, offset: c.offset });
    const g = walk.galleries[c.gallery];
    // the gallery's path as text, joined once for all its assets
    if (at.pathOf?.gallery !== c.gallery) at.pathOf = { gallery: c.gallery, path: g.names.join('/') };
    asset.paths = [{ galleryId: g.id, ids: g.path, names: g.names }];
    asset.path = at.pathOf.path;
    const item: WalkEmit = { asset, walkId: walk.id, index, galleryId: g.id };
    if (last) item.count = index + 1;
    at.index = index + 1;
    this.readPos = { gallery: c.gallery, offset: c.offset + 1 };
    this.nextIndex = at.index;
    if (!this.o.acknowledge) {
      walk.acked = at.index;
      this.advanceCursor(walk);
      this.scheduleSave();
    }
    this.emit(item);
    crashPoint('walk');
    // progress (a status text) at most a few times a second
    const now = Date.now();
    if (now - this.lastProgress >= PROGRESS_EVERY_MS || last) {
      this.lastProgress = now;
      this.onProgress(this.progress() as WalkProgress);
    }
  }

  /** One gallery's media in walk order, a page at a time: by the time they were added, oldest first [draft]. */
  private listing(walk: WalkState, gi: number, perPage: number, signal: AbortSignal) {
    return this.client.galleryChildPages(walk.galleries[gi].id, { sortBy: 'added_at', sortDirection: 'ascending', perPage, signal });
  }

  /**
   * Media of each gallery from the cursor on, each once, a page's worth at a time (pages with nothing new
   * are passed over): an id listed by an earlier gallery of the walk is skipped. On resume, the galleries
   * before the cursor (and the current one up to it) are listed again to know which ids they hold.
   */
  private async *candidates(walk: WalkState, perPage: number, signal: AbortSignal): AsyncGenerator<Candidate[]> {
    const listed = new IdSet();
    for (let gi = 0; gi < Math.min(walk.cursor.gallery, walk.galleries.length); gi++) {
      for await (const page of this.listing(walk, gi, perPage, signal)) for (const media of page.items) listed.add(media.id);
    }
    for (let gi = walk.cursor.gallery; gi < walk.galleries.length; gi++) {
      const startOffset = gi === walk.cursor.gallery ? walk.cursor.offset : 0;
      let offset = 0;
      for await (const page of this.listing(walk, gi, perPage, signal)) {
        const fresh: Candidate[] = [];
        for (const media of page.items) {
          const here = offset++;
          if (listed.add(media.id) && here >= startOffset) fresh.push({ media: media as RawResource, gallery: gi, offset: here });
        }
        if (fresh.length) yield fresh;
      }
    }
  }

  /** Galleries under the scope in a stable breadth-first order, with their paths from the root. */
  private async resolveGalleries(scope: WalkScope, signal: AbortSignal): Promise<WalkState['galleries']> {
    const out: WalkState['galleries'] = [];
    const seen = new Set<string>();
    if (scope.kind === 'gallery') {
      const path = await this.client.path('gallery', scope.id, { signal });
      return [{ id: scope.id, path: path.map((p) => p.id), names: path.map((p) => String(p.attributes?.name ?? p.id)) }];
    }
    let rootPath: { ids: string[]; names: string[] } = { ids: [], names: [] };
    if (scope.kind === 'collection') {
      const path = await this.client.path('collection', scope.id, { signal });
      rootPath = { ids: path.map((p) => p.id), names: path.map((p) => String(p.attributes?.name ?? p.id)) };
    }
    const queue: Array<{ id?: string; ids: string[]; names: string[] }> = [
      { id: scope.kind === 'collection' ? scope.id : undefined, ...rootPath },
    ];
    while (queue.length) {
      const parent = queue.shift() as { id?: string; ids: string[]; names: string[] };
      const children = parent.id ? this.client.collectionChildren(parent.id, { signal }) : this.client.library({ signal });
      for await (const c of children) {
        const name = String(c.attributes?.name ?? c.id);
        const ids = [...parent.ids, c.id];
        const names = [...parent.names, name];
        if (c.type === 'gallery') {
          if (!seen.has(c.id)) {
            seen.add(c.id);
            out.push({ id: c.id, path: ids, names });
          }
        } else {
          queue.push({ id: c.id, ids, names });
        }
      }
    }
    return out;
  }
}

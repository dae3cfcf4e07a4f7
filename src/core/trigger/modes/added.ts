/**
 * `added`: media added to the chosen galleries (collections are expanded to their galleries, re-read every
 * few polls), by the galleries' `added_at`, once each.
 */
import { parseApiDate } from '../../../photoshelter/dates';
import type { RawResource } from '../../asset';
import type { Position } from '../state';
import { GONE, type PollMode, type PollRun } from './mode';

const BEGINNING = Date.UTC(1990, 0, 1);
/** Polls between two readings of the galleries under the chosen collections. */
const GALLERY_REFRESH_POLLS = 10;
/** Gallery children read per page (a quiet poll is one page). */
const ADDED_PER_PAGE = 50;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Galleries of the chosen scopes; collections are expanded (and re-read every few polls). */
async function galleries(run: PollRun): Promise<string[]> {
  const { o, state } = run;
  const direct = o.scopes.filter((s) => s.kind === 'gallery').map((s) => s.id);
  const collections = o.scopes.filter((s) => s.kind === 'collection').map((s) => s.id);
  if (!collections.length) return direct;
  const cached = state.galleries;
  if (cached && cached.pollsSinceRefresh < GALLERY_REFRESH_POLLS) {
    cached.pollsSinceRefresh++;
    return cached.ids;
  }
  const found = new Set(direct);
  const queue = [...collections];
  const visited = new Set<string>();
  while (queue.length) {
    const c = queue.shift() as string;
    if (visited.has(c)) continue;
    visited.add(c);
    for await (const child of run.client.collectionChildren(c, { signal: run.signal })) {
      if (child.type === 'gallery') found.add(child.id);
      else queue.push(child.id);
    }
  }
  state.galleries = { ids: [...found], pollsSinceRefresh: 0, refreshedAt: iso(o.now()) };
  return state.galleries.ids;
}

interface Added {
  media: RawResource;
  added: number;
  raw: string;
  id: string;
}

/**
 * Media added to a gallery at or after `since` (not in `skip`), oldest first by (added_at, id). The listing
 * is asked newest first [draft] and read only until it passes `since`, a page at a time; when the answer
 * turns out not to be in that order (a sort the server ignores), the whole gallery is read instead.
 */
async function addedSince(run: PollRun, gid: string, since: number, skip: Set<string>): Promise<Added[]> {
  const found: Added[] = [];
  let ordered = true;
  let prev = Infinity;
  let reachedOlder = false;
  let n = 0;
  const listing = run.client.galleryChildren(gid, { sortBy: 'added_at', sortDirection: 'descending', perPage: ADDED_PER_PAGE, prefetch: false, signal: run.signal });
  for await (const m of listing) {
    n++;
    const raw = String(m.attributes?.added_at ?? '');
    const added = parseApiDate(raw, run.o.timeZone)?.epochMs ?? -Infinity;
    if (added > prev) ordered = false;
    prev = added;
    if (added < since) reachedOlder = true;
    else if (!skip.has(`${m.id}@${raw}`)) found.push({ media: m as RawResource, added, raw, id: m.id });
    // in order, a page that reached older media ends the search (at a page boundary: the rest of the page
    // is checked for order too)
    if (ordered && reachedOlder && n % ADDED_PER_PAGE === 0) break;
  }
  found.sort((a, b) => a.added - b.added || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return found;
}

export const added: PollMode = {
  name: 'added',
  check: (o) => {
    if (o.scopes.length === 0) throw new Error('The added mode needs at least one gallery or collection');
  },
  poll: async (run) => {
    const { o, state } = run;
    const fresh = iso(o.now());
    const start = o.start.from === 'now' ? fresh : o.start.from === 'beginning' ? iso(BEGINNING) : undefined;
    const startAt = start ?? iso(parseApiDate((o.start as { date: string }).date, o.timeZone)?.epochMs ?? BEGINNING);
    const firstPoll = Object.keys(state.positions).length === 0;
    const previousRefresh = state.galleries?.refreshedAt;
    for (const gid of await galleries(run)) {
      const key = `gallery:${gid}`;
      // a gallery that appears later under a chosen collection counts from the refresh before it was seen
      const pos: Position = state.positions[key] ?? { at: firstPoll ? startAt : previousRefresh ?? fresh, seen: [] };
      if (run.full()) {
        run.more = true;
        state.positions[key] = pos;
        continue;
      }
      const found = await addedSince(run, gid, Date.parse(pos.at), new Set(pos.seen));
      let at = pos.at;
      let boundary = pos.seen.slice();
      for await (const { item: f, value: asset } of run.assets(found, (f) => f.media)) {
        if (run.full()) {
          run.more = true;
          break;
        }
        run.examined++;
        if (asset !== GONE) {
          run.events.push({ topic: 'added', asset, event: { type: 'added', at: parseApiDate(f.raw, o.timeZone)?.iso ?? null, detectedAt: run.detectedAt, scope: key, galleryId: gid } });
        }
        const fAt = iso(f.added);
        if (fAt !== at) {
          at = fAt;
          boundary = [];
        }
        boundary.push(`${f.media.id}@${f.raw}`);
      }
      state.positions[key] = { at, seen: boundary };
    }
  },
};

// An in-memory GET /media for change-feed tests: media with modification times, answered in an order the
// test chooses (sorted, reversed, a fixed shuffle that ignores any sort, or a new shuffle on every request)
// and with the window bounds treated the way the test chooses (inclusive or not, whole seconds or not).
import type http from 'node:http';
import type { MediaResource } from '../../../src/photoshelter';
import { apiError, handleSessionAuth, json, mediaId, startServer, type Recorded, type TestServer } from './helpers';

export type Order = 'sorted' | 'reversed' | 'fixed-shuffle' | 'reshuffle';

export interface Bounds {
  startInclusive: boolean;
  endInclusive: boolean;
  /** Compare modification times cut to the second (as a server storing seconds would). */
  wholeSeconds: boolean;
}

export const USUAL_BOUNDS: Bounds = { startInclusive: true, endInclusive: false, wholeSeconds: false };

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** iso8601ps (zone-less UTC) with microseconds, as the API sends dates. */
export function isoPs(ms: number, micros = 0): string {
  const d = new Date(Math.floor(ms));
  const frac = (Math.floor(ms) % 1000) * 1000 + micros;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(frac, 6)}`;
}

/** A seeded generator (Park–Miller) for shuffles. */
export function prng(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function shuffle<T>(list: T[], rnd: () => number): T[] {
  const out = list.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export class FakeMedia {
  readonly all: MediaResource[];
  order: Order = 'sorted';
  bounds: Bounds = USUAL_BOUNDS;
  readonly queries: Array<{ start: number; end: number; page: number; perPage: number }> = [];
  private readonly fixed: Map<string, number>;
  private readonly rnd: () => number;

  constructor(times: number[], seed = 7) {
    this.all = times.map((t, i) => ({ id: mediaId(i), type: 'image', attributes: { modified_at: isoPs(t), created_at: isoPs(Date.UTC(2020, 0, 1)) } }));
    this.rnd = prng(seed);
    const perm = shuffle(this.all.map((m) => m.id), prng(seed + 1));
    this.fixed = new Map(perm.map((id, i) => [id, i]));
  }

  timeOf(m: MediaResource): number {
    const s = String(m.attributes.modified_at);
    return Date.parse(`${s.slice(0, 23)}Z`);
  }

  /** Moves a medium to a new modification time (an edit). */
  touch(index: number, ms: number): void {
    this.all[index].attributes.modified_at = isoPs(ms);
  }

  /** One page of the media modified between start and end, treated per `bounds`, in `order`. */
  query(start: number, end: number, page: number, perPage: number): { items: MediaResource[]; total: number } {
    this.queries.push({ start, end, page, perPage });
    const b = this.bounds;
    const inWindow = this.all.filter((m) => {
      const raw = this.timeOf(m);
      const t = b.wholeSeconds ? Math.floor(raw / 1000) * 1000 : raw;
      return (b.startInclusive ? t >= start : t > start) && (b.endInclusive ? t <= end : t < end);
    });
    let ordered: MediaResource[];
    switch (this.order) {
      case 'sorted':
        ordered = inWindow.sort((x, y) => this.timeOf(x) - this.timeOf(y) || (x.id < y.id ? -1 : 1));
        break;
      case 'reversed':
        ordered = inWindow.sort((x, y) => this.timeOf(y) - this.timeOf(x) || (x.id < y.id ? 1 : -1));
        break;
      case 'fixed-shuffle':
        ordered = inWindow.sort((x, y) => (this.fixed.get(x.id) as number) - (this.fixed.get(y.id) as number));
        break;
      default:
        ordered = shuffle(inWindow, this.rnd);
    }
    return { items: ordered.slice((page - 1) * perPage, page * perPage).map((m) => structuredClone(m)), total: inWindow.length };
  }

  /** The ChangeFeed fetcher over this library. */
  fetcher() {
    return async (q: { start: number; end: number; page: number; perPage: number }) => {
      await new Promise<void>((r) => setImmediate(r));
      const r = this.query(q.start, q.end, q.page, q.perPage);
      return { items: r.items, paging: { total: r.total, page: q.page } };
    };
  }
}

/** The values the draft lists for GET /media (what a server that refuses the rest would take). */
const MEDIA_PARAMS = new Set(['org_id', 'user_id', 'galleries', 'collections', 'terms', 'modify_start', 'modify_end', 'create_start', 'create_end', 'page', 'per_page', 'sort_by', 'sort_dir']);
const MEDIA_SORTS = new Set(['relevance', 'date', 'file_name', 'upload_time']);
const GMT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

function gmt(v: string | null): number | undefined {
  if (v === null) return undefined;
  const m = GMT.exec(v);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

/**
 * GET /media over HTTP from a FakeMedia, refusing (400, naming it) any parameter or value the draft does not
 * list and any date not in its `YYYY-MM-DD HH:MM:SS GMT` form. Also answers the session calls and
 * GET /user/session (user U0000abcdefghijk).
 */
export async function startMediaServer(lib: FakeMedia, extra?: (req: Recorded, res: http.ServerResponse) => boolean): Promise<TestServer> {
  return startServer((req, res) => {
    if (handleSessionAuth(req, res)) return;
    if (extra?.(req, res)) return;
    if (req.path === '/user/session') return json(res, 200, { data: { id: 'U0000abcdefghijk', type: 'user', attributes: {} } });
    if (req.path !== '/media') return apiError(res, 404, 'ResourceNotFoundException', `no ${req.path}`);
    for (const k of req.query.keys()) if (!MEDIA_PARAMS.has(k)) return apiError(res, 400, 'BadRequestException', `Unknown query parameter '${k}'.`);
    const sortBy = req.query.get('sort_by');
    if (sortBy !== null && !MEDIA_SORTS.has(sortBy)) return apiError(res, 400, 'BadRequestException', `sort_by: '${sortBy}' is not one of relevance, date, file_name, upload_time.`);
    const dir = req.query.get('sort_dir');
    if (dir !== null && dir !== 'asc' && dir !== 'desc') return apiError(res, 400, 'BadRequestException', `sort_dir: '${dir}' is not asc or desc.`);
    const start = gmt(req.query.get('modify_start'));
    const end = gmt(req.query.get('modify_end'));
    if (Number.isNaN(start)) return apiError(res, 400, 'BadRequestException', `modify_start: '${req.query.get('modify_start')}' is not a date.`);
    if (Number.isNaN(end)) return apiError(res, 400, 'BadRequestException', `modify_end: '${req.query.get('modify_end')}' is not a date.`);
    const page = Number(req.query.get('page') ?? 1);
    const perPage = Number(req.query.get('per_page') ?? 50);
    const r = lib.query(start ?? -Infinity, end ?? Infinity, page, perPage);
    json(res, 200, { data: r.items, meta: { paging: { total: r.total, page } } });
  });
}

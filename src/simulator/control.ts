// The control API under /__sim/: drive the simulator from tests.
import { ApiError, jsonReply, type Reply } from './http';
import { CUSTOM_FIELDS, FieldError, IPTC_FIELDS } from './fields';
import { FaultError, validateFault, type Faults } from './faults';
import type { App } from './app';
import type { RequestLog } from './requestlog';
import type { RateLimiter } from './ratelimit';
import { formatIsoPs } from './clock';

export interface ControlDeps {
  app: App;
  faults: Faults;
  log: RequestLog;
  limiter: RateLimiter;
  defaults: { seed: number; assets: number };
}

function body(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'BadRequestException', 'Body is not valid JSON.');
  }
}

function obj(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'BadRequestException', 'Body must be a JSON object.');
  return v as Record<string, unknown>;
}

function bad(err: unknown): never {
  if (err instanceof FieldError) throw new ApiError(400, 'BadRequestException', `${err.field}: ${err.message}`);
  if (err instanceof FaultError) throw new ApiError(400, 'BadRequestException', err.message);
  throw err;
}

export function handleControl(method: string, path: string, query: URLSearchParams, raw: Buffer, d: ControlDeps): Reply {
  const { app } = d;
  const store = app.store;
  const mediaMatch = /^\/__sim\/media\/([^/]+)$/.exec(path);
  try {
    if (path === '/__sim/reset' && method === 'POST') {
      const b = obj(body(raw));
      const seed = b.seed === undefined ? d.defaults.seed : Number(b.seed);
      const assets = b.assets === undefined ? d.defaults.assets : Number(b.assets);
      if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(assets) || assets < 0) throw new ApiError(400, 'BadRequestException', 'seed and assets must be integers.');
      store.reset(seed, assets);
      app.clock.reset();
      d.faults.clear();
      d.log.clear();
      return jsonReply(200, { seed, assets, media: store.lib.mediaList.length, galleries: store.lib.galleries.size, collections: store.lib.collections.size });
    }
    if (path === '/__sim/state' && method === 'GET') {
      const lib = store.lib;
      return jsonReply(200, {
        seed: lib.seed, orgId: lib.orgId, userId: lib.userId, media: lib.mediaList.length,
        galleries: [...lib.galleries.values()].map((g) => ({ id: g.id, name: g.name, parents: g.parents.map((p) => p.id), media: g.media.length })),
        collections: [...lib.collections.values()].map((c) => ({ id: c.id, name: c.name, parent: c.parent?.id ?? null })),
        customFields: CUSTOM_FIELDS, iptcFields: IPTC_FIELDS, now: formatIsoPs(app.clock.nowMs() * 1000),
      });
    }
    if (path === '/__sim/media' && method === 'GET') {
      const gallery = query.get('galleryId');
      const list = gallery ? (store.gallery(gallery)?.media ?? []) : store.lib.mediaList;
      return jsonReply(200, { ids: list.map((m) => m.id) });
    }
    if (path === '/__sim/media' && method === 'POST') {
      const b = obj(body(raw));
      const m = store.addMedia({
        galleryId: String(b.galleryId ?? ''),
        fileName: b.fileName === undefined ? undefined : String(b.fileName),
        size: b.size === undefined ? undefined : Number(b.size),
        width: b.width === undefined ? undefined : Number(b.width),
        height: b.height === undefined ? undefined : Number(b.height),
        kind: b.kind === undefined ? undefined : (String(b.kind) as 'image'),
        iptc: b.iptc,
        custom: b.custom,
      });
      return jsonReply(201, { id: m.id, media: store.truth(m) });
    }
    if (mediaMatch) {
      const m = store.media(decodeURIComponent(mediaMatch[1]));
      if (!m) throw new ApiError(404, 'ResourceNotFoundException', `Media '${mediaMatch[1]}' was not found.`);
      if (method === 'GET') return jsonReply(200, store.truth(m));
      if (method === 'PATCH') {
        store.changeMedia(m, obj(body(raw)));
        return jsonReply(200, store.truth(m));
      }
      if (method === 'DELETE') {
        store.deleteMedia(m);
        return jsonReply(200, { deleted: m.id });
      }
    }
    if (path === '/__sim/clock') {
      if (method === 'POST') {
        const b = obj(body(raw));
        const s = Number(b.advanceSeconds ?? 0);
        if (!Number.isFinite(s)) throw new ApiError(400, 'BadRequestException', 'advanceSeconds must be a number.');
        app.clock.advance(s);
      } else if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowedException', 'GET or POST');
      return jsonReply(200, { now: formatIsoPs(app.clock.nowMs() * 1000), nowMs: app.clock.nowMs() });
    }
    if (path === '/__sim/faults') {
      if (method === 'POST') {
        const b = body(raw);
        const specs = Array.isArray(b) ? b : [b];
        const valid = specs.map(validateFault);
        for (const s of valid) d.faults.add(s);
        return jsonReply(200, { faults: d.faults.list() });
      }
      if (method === 'DELETE') {
        d.faults.clear();
        return jsonReply(200, { faults: [] });
      }
      if (method === 'GET') return jsonReply(200, { faults: d.faults.list() });
    }
    if (path === '/__sim/requests') {
      if (method === 'GET') return jsonReply(200, { requests: d.log.all(), ...d.log.counts() });
      if (method === 'DELETE') {
        d.log.clear();
        return jsonReply(200, { requests: [], total: 0, dropped: 0 });
      }
    }
    if (path === '/__sim/tokens/expire' && method === 'POST') {
      const b = obj(body(raw));
      const kind = b.kind === 'session' || b.kind === 'oauth' ? b.kind : 'all';
      return jsonReply(200, { expired: app.auth.expire(kind, b.refreshTokens === true) });
    }
    if (path === '/__sim/rate-limit' && method === 'POST') {
      const b = obj(body(raw));
      const rate = Number(b.rateLimit ?? 0);
      if (!Number.isFinite(rate) || rate < 0) throw new ApiError(400, 'BadRequestException', 'rateLimit must be a number ≥ 0.');
      d.limiter.setRate(rate);
      return jsonReply(200, { rateLimit: rate });
    }
  } catch (err) {
    bad(err);
  }
  throw new ApiError(404, 'ResourceNotFoundException', `No control endpoint ${method} ${path}.`);
}

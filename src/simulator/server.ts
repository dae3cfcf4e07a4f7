// The HTTP server: routing between the API, the control API and file links; faults, rate limit, request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApiError, bufferSource, errorIdForStatus, errorReply, formFields, jsonReply, type Reply } from './http';
import { checkStrict, evidenceFor } from './evidence';
import { match, type App, type ApiCtx, type Route } from './app';
import { API_BASE } from './list';
import { fraction, type Fault, type Faults } from './faults';
import { redactQuery, type RequestLog } from './requestlog';
import { sendReply, sleep, type StreamFaults } from './send';
import { handleControl, type ControlDeps } from './control';
import { jpegRendition, originalSource } from './downloads';
import { formatIsoPs } from './clock';
import type { RateLimiter } from './ratelimit';
import { authRoutes } from './routes-auth';
import { libraryRoutes } from './routes-library';
import { mediaRoutes } from './routes-media';

const ROUTES: Route[] = [...authRoutes, ...libraryRoutes, ...mediaRoutes];
const MAX_BODY = 10 * 1024 * 1024;

export interface ServerConfig {
  /** Refuse parameters, values and include names without [prod] or [draft] evidence (evidence.ts). */
  strict: boolean;
  /** Origins browsers may call from (CORS); `'*'` = any. */
  corsOrigins: readonly string[] | '*';
  /** Results reachable by paging (page × per_page); 0 = no limit. */
  maxDepth: number;
}

export interface ServerDeps extends ControlDeps {
  app: App;
  faults: Faults;
  log: RequestLog;
  limiter: RateLimiter;
  config: ServerConfig;
}

/** Request headers a browser integration sends (the PhotoShelter ones included). */
const CORS_HEADERS = 'X-PS-Api-Key, X-PS-Auth-Token, Authorization, Content-Type, Accept';
const CORS_METHODS = 'GET, POST, PATCH, PUT, DELETE, OPTIONS';

function allowedOrigin(req: IncomingMessage, config: ServerConfig): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === '') return undefined;
  if (config.corsOrigins === '*' || config.corsOrigins.includes(origin)) return origin;
  return undefined;
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Content-Disposition, Content-Length, Retry-After, WWW-Authenticate, Date',
    Vary: 'Origin',
  };
}

/** A CORS preflight: answered before the API key is looked for (browsers send none on it). */
function preflight(req: IncomingMessage, config: ServerConfig): Reply {
  const origin = allowedOrigin(req, config);
  if (!origin) return { status: 204, headers: { Vary: 'Origin' }, body: bufferSource(Buffer.alloc(0)) };
  const asked = String(req.headers['access-control-request-headers'] ?? '');
  const known = CORS_HEADERS.split(', ').map((h) => h.toLowerCase());
  const extra = asked.split(',').map((h) => h.trim()).filter((h) => h !== '' && !known.includes(h.toLowerCase()));
  return {
    status: 204,
    headers: {
      ...corsHeaders(origin),
      'Access-Control-Allow-Methods': CORS_METHODS,
      'Access-Control-Allow-Headers': [CORS_HEADERS, ...extra].join(', '),
      'Access-Control-Max-Age': 600,
    },
    body: bufferSource(Buffer.alloc(0)),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'BadRequestException', 'Body too large.'));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function streamFaults(faults: Fault[]): StreamFaults {
  const out: StreamFaults = {};
  for (const f of faults) {
    if (f.reset !== undefined && f.reset !== false) out.reset = fraction(f.reset);
    if (f.truncate !== undefined && f.truncate !== false) out.truncate = fraction(f.truncate);
    if (f.slowBytesPerSecond !== undefined) out.slowBytesPerSecond = f.slowBytesPerSecond;
  }
  return out;
}

function faultNames(faults: Fault[]): string[] {
  return faults.map((f) => (f.status ? `status:${f.status}` : f.reset ? 'reset' : f.truncate ? 'truncate' : f.slowBytesPerSecond ? 'slow' : 'latency'));
}

async function applyLatency(faults: Fault[]): Promise<void> {
  const ms = faults.reduce((s, f) => s + (f.latencyMs ?? 0), 0);
  if (ms > 0) await sleep(ms);
}

function statusFault(faults: Fault[]): Reply | undefined {
  const f = faults.find((x) => x.status !== undefined);
  if (!f || f.status === undefined) return undefined;
  const headers: Record<string, string | number> = f.status === 429 ? { 'Retry-After': f.retryAfter ?? 1 } : {};
  return errorReply(new ApiError(f.status, errorIdForStatus(f.status), `Injected fault (${f.route}).`, headers));
}

async function handleApi(ctx: ApiCtx, deps: ServerDeps): Promise<Reply> {
  const { app } = deps;
  app.auth.checkApiKey(ctx);
  const taken = deps.limiter.take();
  ctx.rate = taken.info;
  if (!taken.ok) {
    throw new ApiError(429, 'TooManyRequestsException', `Rate limit of ${taken.info.limit} requests per second exceeded.`, { 'Retry-After': taken.retryAfter });
  }
  const found = match(ROUTES, ctx.method, ctx.path);
  if (found instanceof ApiError) throw found;
  ctx.params = found.params;
  if (found.route.auth === 'user') ctx.identity = app.auth.identify(ctx, found.route.queryToken === true);
  if (deps.config.strict) {
    const form = ctx.method === 'POST' && evidenceFor(ctx.method, found.route.path)?.form ? formFields(ctx) : undefined;
    checkStrict(ctx.method, found.route.path, ctx.query, form);
  }
  return found.route.handler(ctx, app);
}

function fileLink(path: string, deps: ServerDeps): Reply {
  const m = /^\/__sim\/files\/([^/]+)\/(\d+)\/(?:(\d+)x(\d+)\/(fit|fill)\.jpg|original)$/.exec(path);
  const media = m ? deps.app.store.media(decodeURIComponent(m[1])) : undefined;
  if (!m || !media || media.version !== Number(m[2])) {
    return errorReply(new ApiError(404, 'ResourceNotFoundException', 'This link does not exist or has expired.'));
  }
  const seed = deps.app.store.seed;
  if (m[3] === undefined) return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: originalSource(seed, media) };
  const buf = jpegRendition(seed, media, Number(m[3]), Number(m[4]), m[5] as 'fit' | 'fill');
  return { status: 200, headers: { 'Content-Type': 'image/jpeg', 'Cache-Control': 'max-age=3600' }, body: bufferSource(buf) };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://localhost');
  // Date by the simulator's clock, as a real server's follows its own clock
  res.setHeader('Date', new Date(deps.app.clock.nowMs()).toUTCString());
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;

  if (path.startsWith('/__sim/') && !path.startsWith('/__sim/files/')) {
    let reply: Reply;
    try {
      reply = handleControl(method, path, url.searchParams, await readBody(req), deps);
    } catch (err) {
      reply = err instanceof ApiError ? errorReply(err) : errorReply(new ApiError(500, 'InternalServerErrorException', String(err)));
    }
    await sendReply(req, res, reply);
    return;
  }

  const isApi = path === API_BASE || path.startsWith(API_BASE + '/');
  const isFile = path.startsWith('/__sim/files/');
  const sub = isApi ? path.slice(API_BASE.length) || '/' : path;
  if ((isApi || isFile) && method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    await readBody(req);
    await sendReply(req, res, preflight(req, deps.config));
    return;
  }
  const corsOrigin = isApi || isFile ? allowedOrigin(req, deps.config) : undefined;
  const ctx: ApiCtx = {
    method, path: sub, query: url.searchParams, headers: req.headers, body: Buffer.alloc(0),
    origin: `http://${req.headers.host ?? 'localhost'}`, rate: { limit: 0, current: 0, expires: 0 }, params: {}, identity: null,
    maxDepth: deps.config.maxDepth,
  };
  const faults = isApi || isFile ? deps.faults.pick(method, sub, url.searchParams) : [];
  let reply: Reply;
  try {
    ctx.body = await readBody(req);
    await applyLatency(faults);
    const injected = statusFault(faults);
    if (injected) reply = injected;
    else if (isApi) reply = await handleApi(ctx, deps);
    else if (isFile) reply = fileLink(path, deps);
    else reply = errorReply(new ApiError(404, 'ResourceNotFoundException', `Not found: ${path}. The API lives under ${API_BASE}.`));
  } catch (err) {
    if (err instanceof ApiError) reply = errorReply(err);
    else {
      console.error('photoshelter-sim: internal error', err);
      reply = errorReply(new ApiError(500, 'InternalServerErrorException', 'Internal error in the simulator.'));
    }
  }
  if (corsOrigin) reply = { ...reply, headers: { ...reply.headers, ...corsHeaders(corsOrigin) } };
  let bytes = 0;
  try {
    bytes = await sendReply(req, res, reply, streamFaults(faults));
  } finally {
    if (isApi || isFile) {
      deps.log.add({
        method, path: sub, query: redactQuery(url.searchParams), status: reply.status,
        time: formatIsoPs(deps.app.clock.nowMs() * 1000), durationMs: Math.round(performance.now() - started),
        auth: ctx.identity?.kind ?? 'none', faults: faultNames(faults), bytes,
      });
    }
  }
}

export function createSimServer(deps: ServerDeps): Server {
  const server = createServer((req, res) => {
    handle(req, res, deps).catch((err: unknown) => {
      console.error('photoshelter-sim: failed to answer', err);
      if (!res.headersSent) {
        const r = jsonReply(500, { errors: [{ id: 'InternalServerErrorException', status: '500', title: 'Internal server error', detail: String(err) }] });
        res.writeHead(r.status, r.headers);
        res.end(r.body.read(0, r.body.length));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  return server;
}

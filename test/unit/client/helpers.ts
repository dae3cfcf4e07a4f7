import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type { Clock } from '../../../src/photoshelter/clock';
import { PhotoShelterClient, type PhotoShelterClientOptions } from '../../../src/photoshelter';

export const SECRETS = {
  apiKey: 'KEYsecret.1',
  password: 'pw-Sup3rSecretPass',
  sessionToken: 'tok-SESSION-0123456789abcdef',
  clientSecret: 'cs-CLIENTsecret-987654',
  refreshToken: 'rt-REFRESH-token-1111',
  refreshToken2: 'rt-REFRESH-token-2222',
  accessToken: 'at-ACCESS-token-aaaa',
  accessToken2: 'at-ACCESS-token-bbbb',
  bearer: 'br-BEARER-token-zzzz',
  code: 'code-AUTHZ-5555',
} as const;

export const ORG = 'O0000abcdefghijk';
export const ORG2 = 'O0000lmnopqrstuv';
export const MEDIA = 'I0000AAAAAAAAAAA';

export interface Recorded {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: Recorded, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;

export interface TestServer {
  baseUrl: string;
  requests: Recorded[];
  connections: number;
  close(): Promise<void>;
}

/** A small HTTP server whose paths are relative to /psapi/v4.0. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const u = new URL(raw.url ?? '/', 'http://x');
      const rec: Recorded = {
        method: raw.method ?? 'GET',
        url: raw.url ?? '',
        path: u.pathname.replace(/^\/psapi\/v4\.0/, ''),
        query: u.searchParams,
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      Promise.resolve(handler(rec, res, raw)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  server.on('connection', (s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/psapi/v4.0`,
    requests,
    get connections() {
      return state.connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function apiError(res: http.ServerResponse, status: number, id: string, detail = 'x', headers: Record<string, string> = {}): void {
  json(res, status, { errors: [{ id, status: String(status), title: id, detail }] }, headers);
}

/** Handles POST /authenticate and /organization/authenticate; returns true when it answered. */
export function handleSessionAuth(req: Recorded, res: http.ServerResponse, token: string = SECRETS.sessionToken): boolean {
  if (req.method === 'POST' && req.path === '/authenticate') {
    const f = new URLSearchParams(req.body);
    if (f.get('password') !== SECRETS.password) {
      apiError(res, 401, 'AuthenticationFailedException', `bad password ${f.get('password')}`);
      return true;
    }
    json(res, 200, { token });
    return true;
  }
  if (req.method === 'POST' && req.path === '/organization/authenticate') {
    json(res, 200, { meta: { status: 'OK' } });
    return true;
  }
  return false;
}

export function media(id: string, modifiedAt = '2024-01-01T00:00:00'): Record<string, unknown> {
  return { id, type: 'image', attributes: { file_name: `${id}.jpg`, modified_at: modifiedAt }, links: { self: `/media/${id}` } };
}

/** Media ids I0000 + 11 chars derived from a number. */
export function mediaId(n: number): string {
  return `I0000${String(n).padStart(11, '0')}`;
}

/**
 * A clock whose sleeps resolve at once and move time forward; records every sleep.
 * Deterministic and fast for retry and backoff tests.
 */
export class InstantClock implements Clock {
  t: number;
  sleeps: number[] = [];
  constructor(start = Date.UTC(2025, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    const target = this.t + ms;
    return new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        if (signal?.aborted) return reject(signal.reason as Error);
        this.t = Math.max(this.t, target);
        resolve();
      });
    });
  }
}

/** A clock moved by hand: sleeps resolve when advance() passes their deadline. */
export class ManualClock implements Clock {
  t: number;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  constructor(start = Date.UTC(2025, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = { at: this.t + ms, resolve };
      this.timers.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== entry);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }
  get pending(): number {
    return this.timers.length;
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.resolve();
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export function sessionClient(baseUrl: string, over: Partial<PhotoShelterClientOptions> = {}): PhotoShelterClient {
  return new PhotoShelterClient({
    baseUrl,
    apiKey: SECRETS.apiKey,
    auth: { mode: 'session', email: 'someone@example.com', password: SECRETS.password },
    clock: new InstantClock(),
    random: () => 0.5,
    timeoutMs: 5000,
    ...over,
  });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

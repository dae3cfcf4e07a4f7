// Programmatic entry point: start a PhotoShelter v4 API simulator on a local port.
import type { AddressInfo } from 'node:net';
import { AuthState } from './auth';
import { SimClock } from './clock';
import { Faults } from './faults';
import { API_BASE } from './list';
import { RateLimiter } from './ratelimit';
import { RequestLog } from './requestlog';
import { createSimServer } from './server';
import { Store } from './store';
import { keepState } from './persist';
import { API_KEY_RE, ORG_ID_RE } from './ids';

export interface SimulatorOptions {
  /** 0 = a random free port. */
  port?: number;
  host?: string;
  seed?: number;
  assets?: number;
  apiKey?: string;
  email?: string;
  password?: string;
  orgId?: string;
  /** Requests per second (token bucket, burst = rate); 0 or undefined = unlimited. */
  rateLimit?: number;
  oauthTokenTtlSeconds?: number;
  /** Keep the library's changes in this file across restarts (read at start, written after each change). */
  stateFile?: string;
  /**
   * Refuse (400) every query parameter, form field, value and include name that has no [prod] or [draft]
   * evidence (see evidence.ts). Default false: unknown parameters are ignored.
   */
  strict?: boolean;
  /** Origins that browser integrations may call from (CORS). Default: any origin. */
  corsOrigins?: readonly string[] | '*';
  /** Results reachable by paging (page × per_page); beyond, 400. Default 0 = no limit. */
  maxDepth?: number;
  /** Entries the request log (`GET /__sim/requests`) lists: the latest ones. Default 10,000. */
  requestLogSize?: number;
}

export interface SimulatorCredentials {
  apiKey: string;
  email: string;
  password: string;
  orgId: string;
  userId: string;
  oauthClientId: string;
  oauthClientSecret: string;
}

export interface RunningSimulator {
  url: string;
  baseUrl: string;
  credentials: SimulatorCredentials;
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  seed: 1,
  assets: 200,
  apiKey: 'SIMKEY00001',
  email: 'demo@example.com',
  password: 'demo-password',
  orgId: 'O0000SIMORG00001',
  userId: 'U0000SIMUSER0001',
  oauthClientId: 'SIMCLIENT0001',
  oauthClientSecret: 'sim-client-secret',
  oauthTokenTtlSeconds: 3600,
} as const;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const credentials: SimulatorCredentials = {
    apiKey: opts.apiKey ?? DEFAULTS.apiKey,
    email: opts.email ?? DEFAULTS.email,
    password: opts.password ?? DEFAULTS.password,
    orgId: opts.orgId ?? DEFAULTS.orgId,
    userId: DEFAULTS.userId,
    oauthClientId: DEFAULTS.oauthClientId,
    oauthClientSecret: DEFAULTS.oauthClientSecret,
  };
  if (!API_KEY_RE.test(credentials.apiKey)) throw new Error(`apiKey must match ${API_KEY_RE}`);
  if (!ORG_ID_RE.test(credentials.orgId)) throw new Error(`orgId must match ${ORG_ID_RE}`);
  const maxDepth = opts.maxDepth ?? 0;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) throw new Error('maxDepth must be a whole number ≥ 0 (0 = no limit)');
  const seed = opts.seed ?? DEFAULTS.seed;
  const assets = opts.assets ?? DEFAULTS.assets;
  const clock = new SimClock();
  const store = new Store({ seed, assets, orgId: credentials.orgId, userId: credentials.userId }, clock);
  const keeper = opts.stateFile ? keepState(opts.stateFile, store, clock) : undefined;
  const auth = new AuthState(credentials, clock, opts.oauthTokenTtlSeconds ?? DEFAULTS.oauthTokenTtlSeconds);
  const deps = {
    app: { store, auth, clock },
    faults: new Faults(),
    log: new RequestLog(opts.requestLogSize),
    limiter: new RateLimiter(opts.rateLimit ?? 0),
    defaults: { seed, assets },
    config: { strict: opts.strict === true, corsOrigins: opts.corsOrigins ?? '*', maxDepth },
  };
  const server = createSimServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => {
      keeper?.close();
      reject(e);
    });
    server.listen(opts.port ?? 0, opts.host ?? DEFAULTS.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    baseUrl: url + API_BASE,
    credentials,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          keeper?.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

export type { FaultSpec } from './faults';
export type { LogEntry } from './requestlog';

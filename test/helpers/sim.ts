// Starts a PhotoShelter simulator for a test and wraps its control API.
import { startSimulator, type SimulatorOptions, type FaultSpec, type LogEntry } from '../../src/simulator';

export type { FaultSpec, LogEntry };

export interface MediaTruth {
  id: string;
  type: string;
  version: number;
  file_name: string;
  file_size: number;
  width: number;
  height: number;
  created_at_us: number;
  modified_at_us: number;
  iptc: Record<string, string | null>;
  /** Custom values by field name. */
  custom: Record<string, string | null>;
  custom_by_id: Record<string, string | null>;
  galleries: string[];
  /** The current file version and the signals that tell it apart from the others. */
  file: MediaFileTruth;
}

export interface MediaFileTruth {
  version: number;
  /** When this file version was made (µs since the epoch). */
  at_us: number;
  /** `xmp.iid:<hex>`: new with every file version. */
  instance_id: string;
  /** `xmp.did:<hex>`: the same for every version of the asset. */
  document_id: string;
  /** `YYYY:MM:DD HH:MM:SS` (UTC) of `at_us`, as GET /media/{id}/metadata's XMP-xmp:ModifyDate gives it. */
  modify_date: string;
  /** The `hash` attribute the API shows (null for images, which have none). */
  hash: string | null;
  /** The per-version digest (what `hash` is for video, audio and documents). */
  digest: string;
}

export interface NewMediaSpec {
  galleryId: string;
  fileName?: string;
  size?: number;
  width?: number;
  height?: number;
  kind?: 'image' | 'video' | 'audio' | 'document';
  iptc?: Record<string, unknown>;
  /** By field name (e.g. "Approval Status") or id. */
  custom?: Record<string, string | null>;
}

export interface MediaPatch {
  iptc?: Record<string, unknown>;
  custom?: Record<string, string | null>;
  galleries?: string[];
  size?: number;
  fileName?: string;
  /** A new file version: new bytes, same size, pixel size and name (`size`/`fileName` also make one). */
  replaceFile?: boolean;
}

export interface SimControl {
  reset(opts?: { seed?: number; assets?: number }): Promise<void>;
  addMedia(spec: NewMediaSpec): Promise<string>;
  patchMedia(id: string, patch: MediaPatch): Promise<MediaTruth>;
  deleteMedia(id: string): Promise<void>;
  /** Advances the simulator clock; returns the new time (iso8601ps). */
  clock(advanceSeconds: number): Promise<string>;
  faults(rules: FaultSpec | FaultSpec[]): Promise<void>;
  clearFaults(): Promise<void>;
  requests(): Promise<LogEntry[]>;
  clearRequests(): Promise<void>;
  media(id: string): Promise<MediaTruth>;
  /** Ids of all media, or of one gallery. */
  mediaIds(galleryId?: string): Promise<string[]>;
  state(): Promise<{ galleries: { id: string; name: string; parents: string[]; media: number }[]; collections: { id: string; name: string; parent: string | null }[] }>;
  /** Makes current session and/or OAuth access tokens answer 401. */
  expireTokens(kind?: 'session' | 'oauth' | 'all', refreshTokens?: boolean): Promise<void>;
  setRateLimit(requestsPerSecond: number): Promise<void>;
}

export interface SimHandle {
  url: string;
  baseUrl: string;
  apiKey: string;
  email: string;
  password: string;
  orgId: string;
  userId: string;
  oauthClientId: string;
  oauthClientSecret: string;
  control: SimControl;
  close(): Promise<void>;
}

export async function startSim(opts: SimulatorOptions = {}): Promise<SimHandle> {
  const sim = await startSimulator({ port: 0, ...opts });
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sim.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator control ${method} ${path} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  const control: SimControl = {
    reset: async (o = {}) => void (await call('POST', '/reset', o)),
    addMedia: async (spec) => (await call<{ id: string }>('POST', '/media', spec)).id,
    patchMedia: (id, patch) => call<MediaTruth>('PATCH', `/media/${encodeURIComponent(id)}`, patch),
    deleteMedia: async (id) => void (await call('DELETE', `/media/${encodeURIComponent(id)}`)),
    clock: async (advanceSeconds) => (await call<{ now: string }>('POST', '/clock', { advanceSeconds })).now,
    faults: async (rules) => void (await call('POST', '/faults', rules)),
    clearFaults: async () => void (await call('DELETE', '/faults')),
    requests: async () => (await call<{ requests: LogEntry[] }>('GET', '/requests')).requests,
    clearRequests: async () => void (await call('DELETE', '/requests')),
    media: (id) => call<MediaTruth>('GET', `/media/${encodeURIComponent(id)}`),
    mediaIds: async (galleryId) => (await call<{ ids: string[] }>('GET', `/media${galleryId ? `?galleryId=${encodeURIComponent(galleryId)}` : ''}`)).ids,
    state: () => call('GET', '/state'),
    expireTokens: async (kind = 'all', refreshTokens = false) => void (await call('POST', '/tokens/expire', { kind, refreshTokens })),
    setRateLimit: async (rateLimit) => void (await call('POST', '/rate-limit', { rateLimit })),
  };
  return { url: sim.url, baseUrl: sim.baseUrl, ...sim.credentials, control, close: () => sim.close() };
}

/** The environment the example flows read their PhotoShelter account from, pointing at `sim`. */
export function photoshelterEnv(sim: SimHandle): Record<string, string> {
  return {
    PHOTOSHELTER_BASE_URL: sim.baseUrl,
    PHOTOSHELTER_API_KEY: sim.apiKey,
    PHOTOSHELTER_EMAIL: sim.email,
    PHOTOSHELTER_PASSWORD: sim.password,
    PHOTOSHELTER_ORG_ID: sim.orgId,
  };
}

/** A photoshelter-account config node signed in to `sim` (session), as a flow to deploy holds it. */
export function simAccountNode(sim: SimHandle, id: string): Record<string, unknown> & { id: string; type: string } {
  return {
    id,
    type: 'photoshelter-account',
    name: 'sim',
    baseUrl: sim.baseUrl,
    authMode: 'session',
    orgId: sim.orgId,
    timeZone: 'UTC',
    maxConcurrency: 4,
    timeout: 30,
    credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password },
  };
}

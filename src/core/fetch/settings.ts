/**
 * The settings of a fetch node, read and checked: the file mode, the rendition, the parts of the asset to
 * read, the buffer cap, the life of temporary files, and how many fetches run and wait at once.
 */
import { InputError } from '../errors';
import { strictBool } from '../bool';
import { ASSET_PARTS, type AssetPart } from '../load';
import { renditionSettings, type Rendition, type RenditionConfig } from '../rendition';
import { DEFAULT_TEMP_TTL_S } from './temp-files';

export const FILE_MODES = ['none', 'stream', 'buffer', 'temp', 'link'] as const;
export type FileMode = (typeof FILE_MODES)[number];

export const DEFAULT_MAX_BUFFER_MB = 50;
/** Fetches in flight per node, and messages waiting for one, unless the node says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_QUEUE = 1000;

export interface FetchConfig extends RenditionConfig {
  mode?: unknown;
  includeIptc?: unknown;
  includeCustom?: unknown;
  includeGalleries?: unknown;
  includePath?: unknown;
  /** Megabytes. */
  maxSize?: unknown;
  /** Seconds. */
  tempTimeout?: unknown;
  /** Fetches in flight at once (1–64). */
  concurrency?: unknown;
  /** Messages that may wait for a free slot (0–100000); more are refused. */
  queue?: unknown;
}

export interface FetchSettings extends Rendition {
  mode: FileMode;
  include: AssetPart[];
  maxBytes: number;
  tempTtlMs: number;
  concurrency: number;
  queue: number;
}

function wholeNumber(v: unknown, fallback: number, min: number, max: number, key: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(key, { value: String(v).slice(0, 20), min, max });
  return n;
}

function positiveNumber(v: unknown, fallback: number, key: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InputError(key, { value: String(v).slice(0, 20) });
  return n;
}

/** Reads and checks the node's configuration; throws an InputError (or a BooleanSettingError) naming what is wrong. */
export function fetchSettings(config: FetchConfig): FetchSettings {
  const mode = (config.mode ?? 'stream') as FileMode;
  if (!FILE_MODES.includes(mode)) throw new InputError('badMode', { value: String(config.mode).slice(0, 20) });
  const { fileType, quality } = renditionSettings(config);
  const flags: Record<AssetPart, unknown> = {
    iptc: config.includeIptc,
    custom: config.includeCustom,
    galleries: config.includeGalleries,
    path: config.includePath,
  };
  return {
    mode,
    fileType,
    quality,
    include: ASSET_PARTS.filter((p) => strictBool(flags[p], `include${p[0].toUpperCase()}${p.slice(1)}`, false)),
    maxBytes: Math.floor(positiveNumber(config.maxSize, DEFAULT_MAX_BUFFER_MB, 'badMaxSize') * 1024 * 1024),
    tempTtlMs: Math.floor(positiveNumber(config.tempTimeout, DEFAULT_TEMP_TTL_S, 'badTempTimeout') * 1000),
    concurrency: wholeNumber(config.concurrency, DEFAULT_CONCURRENCY, 1, 64, 'badConcurrency'),
    queue: wholeNumber(config.queue, DEFAULT_QUEUE, 0, 100_000, 'badQueue'),
  };
}


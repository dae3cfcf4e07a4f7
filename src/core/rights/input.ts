/**
 * What a rights node reads from a message: the asset (given, or the id of one to fetch), the evaluation
 * time and the channel and region of the use. Input problems are `RightsInputError`s naming a catalogue
 * entry; they are found before any request is made.
 */
import { FetchInputError, pickMediaId } from '../fetch';
import { parseApiDate } from '../../photoshelter/dates';
import { partsNeeded, type RightsPolicy } from './policy';
import { own, textOf } from './text';

export class RightsInputError extends Error {
  readonly code = 'EVALIDATION';
  constructor(
    readonly key: string,
    readonly values: Record<string, string | number> = {},
  ) {
    super(`${key} ${JSON.stringify(values)}`);
    this.name = 'RightsInputError';
  }
}

export type AssetSource = { asset: Record<string, unknown> } | { fetchId: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** True when an asset holds every part the policy reads (`custom`, `iptc` as objects). */
export function hasParts(asset: Record<string, unknown>, policy: RightsPolicy): boolean {
  return partsNeeded(policy).every((part) => isRecord(own(asset, part)));
}

/**
 * The asset to evaluate: `msg.asset` when it carries the parts the policy reads; otherwise the media id
 * to fetch, from `msg.asset.id`, `msg.payload` or `msg.payload.id` (checked before any request).
 */
export function assetSource(msg: { asset?: unknown; payload?: unknown }, policy: RightsPolicy): AssetSource {
  const given = msg.asset;
  if (isRecord(given) && hasParts(given, policy)) return { asset: given };
  const candidates = isRecord(given) ? [own(given, 'id'), msg.payload] : [msg.payload];
  try {
    return { fetchId: pickMediaId(candidates) };
  } catch (e) {
    // the same id rules as every node; the message comes from this node's catalogue
    if (e instanceof FetchInputError) throw new RightsInputError(e.key, e.values);
    throw e;
  }
}

/**
 * The evaluation instant from a typed-input value: a number is epoch milliseconds (Node-RED's
 * timestamp), a Date is itself, a string is an ISO date (a date-only `D` is 00:00 of `D`, a zone-less
 * time is wall-clock time, both in `zone`) or digits of epoch milliseconds.
 */
export function evaluationTime(value: unknown, zone: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 8.64e15) return value;
  if (value instanceof Date && Number.isFinite(value.getTime())) return value.getTime();
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^-?\d{12,16}$/u.test(s)) return evaluationTime(Number(s), zone);
    const parsed = parseApiDate(s, zone);
    if (parsed) return parsed.epochMs;
  }
  const shown = textOf(value) ?? (value === null ? 'null' : typeof value);
  throw new RightsInputError('badTime', { value: shown.slice(0, 40) });
}

/** A channel or region of the use: text, or null when none is given. */
export function useValue(value: unknown, what: 'channel' | 'region'): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string' || typeof value === 'number') return String(value).trim() || null;
  throw new RightsInputError('badUse', { what, type: Array.isArray(value) ? 'array' : typeof value });
}

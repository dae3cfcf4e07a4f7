/**
 * What a rights node reads from a message: the asset (given, or the id of one to fetch), the evaluation
 * time and the channel and region of the use. Input problems are `RightsInputError`s naming a catalogue
 * entry; they are found before any request is made.
 */
import { InputError } from '../errors';
import { assetSource as messageAsset, holdsParts } from '../message';
import { parseApiDate } from '../../photoshelter/dates';
import { partsNeeded, type RightsPolicy } from './policy';
import { textOf } from './text';

export class RightsInputError extends InputError {}

/** True when an asset holds every part the policy reads (`custom`, `iptc` as objects). */
export function hasParts(asset: Record<string, unknown>, policy: RightsPolicy): boolean {
  return holdsParts(asset, partsNeeded(policy));
}

/**
 * The asset to evaluate, by the message rule (../message.ts): `msg.asset` when it carries the parts the
 * policy reads; otherwise the media id to fetch, from `msg.asset.id` or `msg.payload` (checked before any
 * request; InputError `noId` or `badId`).
 */
export function assetSource(msg: { asset?: unknown; payload?: unknown }, policy: RightsPolicy): { asset: Record<string, unknown> } | { fetchId: string } {
  const source = messageAsset(msg, { parts: partsNeeded(policy) });
  return 'asset' in source ? source : { fetchId: source.load };
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

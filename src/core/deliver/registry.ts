/**
 * Destinations by kind, from the flat configuration of a photoshelter-destination node (its settings and
 * credentials merged): the kind's description (kind.ts, listed in kinds.ts) answers every question.
 */
import type { DestinationConfig, DestinationKind, DestinationTemplates } from './kind';
import { KINDS } from './kinds';
import { DeliverError, type Destination, type ProbeResult } from './types';

export type { DestinationConfig, DestinationTemplates } from './kind';

const BY_NAME = new Map(KINDS.map((k) => [k.kind, k]));

/** The names of the kinds, in the order the editor offers them. */
export const DESTINATION_KINDS: readonly string[] = KINDS.map((k) => k.kind);

/** The description of a configuration's kind (`folder` when none is set); an unknown kind is a configuration error. */
export function kindOf(config: DestinationConfig): DestinationKind {
  const name = String(config.kind || 'folder');
  const kind = BY_NAME.get(name);
  if (!kind) throw new DeliverError('ECONFIG', `Unknown destination kind "${name.slice(0, 20)}": use ${DESTINATION_KINDS.join(', ')}`);
  return kind;
}

/** The destination described by `config` with `credentials` (kept apart by the caller, merged here). */
export function createDestination(config: DestinationConfig, credentials: Record<string, unknown> = {}): Destination {
  const c: DestinationConfig = { ...config, ...credentials };
  return kindOf(c).create(c);
}

/** The templates a destination's settings contribute to each delivery. */
export function destinationTemplates(config: DestinationConfig): DestinationTemplates {
  return kindOf(config).templates(config);
}

/**
 * The target identity of a destination: its kind and resolved base (folder; host, port and base path;
 * endpoint, bucket and prefix; URL origin). The delivery ledger keys every record by it, with the asset
 * and the location, so that a destination pointed somewhere else delivers again. Holds no secret.
 */
export function destinationTarget(config: DestinationConfig): string {
  return kindOf(config).target(config);
}

/** Where a destination's secrets would go (see kind.ts `place`); an unknown kind is a place of its own. */
export function destinationPlace(config: DestinationConfig, credentials: Record<string, unknown>): Record<string, string> {
  const kind = BY_NAME.get(String(config.kind || 'folder'));
  return kind ? kind.place(config, credentials) : { kind: String(config.kind) };
}

/** Every credential of every kind, with its type (the destination node's credentials). */
export function destinationSecrets(): Record<string, 'password' | 'text'> {
  const all: Record<string, 'password' | 'text'> = {};
  for (const k of KINDS) Object.assign(all, k.secrets);
  return all;
}

/** Checks a destination's settings and credentials without delivering anything (Test destination). */
export function probeWith(destination: Destination, config: DestinationConfig, signal: AbortSignal): Promise<ProbeResult> {
  const kind = kindOf(config);
  if (kind.probe) return kind.probe(destination, config, signal);
  if (!destination.probe) throw new DeliverError('ECONFIG', `The ${kind.kind} destination cannot be tested`);
  return destination.probe(signal);
}

/**
 * What a trigger remembers between polls and across restarts. Kept small: positions, the ids at each
 * position's boundary, and — for approval rules — the ids that currently match.
 */
import { CoreError } from '../errors';

export interface Position {
  /** ISO 8601 UTC instant; resuming reads from here (inclusive). */
  at: string;
  /** `id@modified` (or `id@added`) of records already emitted at exactly `at`, so they are not repeated. */
  seen: string[];
}

export interface TriggerState {
  v: 1;
  /** Mode, scopes and rule the state was made under; another configuration starts afresh. */
  configKey: string;
  /** One position per scope key (`*` = the whole library, else `gallery:G…`, `collection:C…`). */
  positions: Record<string, Position>;
  /** Approval rules: ids that matched at their last change (sorted). */
  matching?: string[];
  /** Approval rules: the last value seen of recently changed assets, newest last. */
  recent?: Array<[string, unknown]>;
  /**
   * Approval rules that also report changes of approved assets: for each matching asset, `id`, then
   * fingerprints of its version key (and file hash, `-` for none) and its metadata key, space-separated.
   */
  approvedKeys?: string[];
  /** Approval rules started "now": the baseline of matching assets is complete. */
  baselineDone?: boolean;
  /** Added mode: galleries under the chosen collections, refreshed now and then. */
  galleries?: { ids: string[]; pollsSinceRefresh: number; refreshedAt: string };
  /** Walk mode. */
  walk?: WalkState;
}

export interface WalkState {
  id: string;
  /** What the walk covers: `*` or a container id. */
  scope: string;
  /** Galleries to visit, in order, with their path ids (root first). */
  galleries: Array<{ id: string; path: string[]; names: string[] }>;
  /** The first not-yet-acknowledged item: gallery index and item offset within that gallery. */
  cursor: { gallery: number; offset: number };
  /** Items emitted so far (the next `parts.index`). */
  emitted: number;
  /** Acknowledged items. */
  acked: number;
  startedAt: string;
  done?: boolean;
}

export interface StateStore {
  load(): Promise<TriggerState | undefined>;
  save(state: TriggerState): Promise<void>;
}

/** A store in memory (tests, and the fallback a node warns about). */
export class MemoryStore implements StateStore {
  private state?: string;
  async load(): Promise<TriggerState | undefined> {
    return this.state ? (JSON.parse(this.state) as TriggerState) : undefined;
  }
  async save(state: TriggerState): Promise<void> {
    this.state = JSON.stringify(state);
  }
}

/**
 * A stored state that cannot be read. Taking it for "no state" would start the trigger from its start
 * setting ("now" by default) and silently skip every change since the last good position, so the poll
 * fails instead, saying what is wrong and how to start again; the stored value is left as it is.
 */
export class TriggerStateError extends CoreError {
  constructor(detail: string) {
    super(
      'ESTATE',
      `The stored position of this trigger is damaged (${detail}). Nothing was read from it, so that no change is ` +
        'skipped unnoticed. To start again, delete the key "photoshelter-trigger" of this node in the Context ' +
        'sidebar (or in its context store): the trigger then starts as its "Start from" says; choose a date there to ' +
        're-read what may have changed since the last delivery.',
    );
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isInstant = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/**
 * Reads a stored value. Nothing stored, or a state made under another configuration (mode, scopes, rule),
 * is no state: the trigger starts afresh. Anything else that is not a state this version wrote throws
 * TriggerStateError.
 */
export function asState(raw: unknown, configKey: string): TriggerState | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new TriggerStateError(`a ${Array.isArray(raw) ? 'list' : typeof raw} instead of an object`);
  const s = raw as Record<string, unknown>;
  if (s.v !== 1) throw new TriggerStateError(`format ${JSON.stringify(s.v)?.slice(0, 20) ?? 'missing'}, this version reads format 1`);
  if (typeof s.configKey !== 'string') throw new TriggerStateError('no configuration key');
  if (s.configKey !== configKey) return undefined;
  if (!s.positions || typeof s.positions !== 'object' || Array.isArray(s.positions)) throw new TriggerStateError('no positions');
  for (const [scope, p] of Object.entries(s.positions as Record<string, unknown>)) {
    const pos = p as Partial<Position> | null;
    if (!pos || typeof pos !== 'object' || !isInstant(pos.at)) throw new TriggerStateError(`the position of ${scope.slice(0, 40)} is not a time`);
    if (!isStringArray(pos.seen)) throw new TriggerStateError(`the position of ${scope.slice(0, 40)} has no list of records seen`);
  }
  if (s.matching !== undefined && !isStringArray(s.matching)) throw new TriggerStateError('the matching assets are not a list of ids');
  if (s.recent !== undefined && !(Array.isArray(s.recent) && s.recent.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string'))) {
    throw new TriggerStateError('the last values seen are not a list of [id, value]');
  }
  if (s.approvedKeys !== undefined && !(isStringArray(s.approvedKeys) && s.approvedKeys.every((k) => /^\S+ [0-9a-f]{8} (?:[0-9a-f]{8}|-) [0-9a-f]{8}$/.test(k)))) {
    throw new TriggerStateError('the keys of the approved assets are not readable');
  }
  if (s.baselineDone !== undefined && typeof s.baselineDone !== 'boolean') throw new TriggerStateError('the baseline flag is not true or false');
  const g = s.galleries as TriggerState['galleries'] | undefined;
  if (g !== undefined && !(g && isStringArray(g.ids) && Number.isFinite(g.pollsSinceRefresh) && isInstant(g.refreshedAt))) {
    throw new TriggerStateError('the galleries under the chosen collections are not readable');
  }
  return s as unknown as TriggerState;
}

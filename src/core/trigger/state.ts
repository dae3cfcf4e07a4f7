/**
 * What a trigger remembers between polls and across restarts. Kept small: positions, the ids at each
 * position's boundary, and — for approval rules — the ids that currently match.
 */

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

/** Reads a stored value liberally: anything malformed counts as no state. */
export function asState(raw: unknown, configKey: string): TriggerState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const s = raw as Partial<TriggerState>;
  if (s.v !== 1 || s.configKey !== configKey || !s.positions || typeof s.positions !== 'object') return undefined;
  return s as TriggerState;
}

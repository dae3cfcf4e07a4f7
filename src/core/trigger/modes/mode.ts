/**
 * What a poll mode of the trigger is (changed, approved, added): the strategy the poller runs. The poller
 * (../poller.ts) keeps the position, reads assets with the parts wanted, and collects events; a mode says
 * what it needs, what it remembers, and turns what a poll reads into events. A new poll mode is one module
 * here and a line in index.ts.
 */
import type { Asset, RawResource } from '../../asset';
import type { AssetPart } from '../../load';
import type { ContainerScope, PollerOptions, TriggerClient, TriggerEvent } from '../poller';
import type { TriggerState } from '../state';

/** A medium deleted between the listing and the reading of its parts: nothing to report, handled. */
export const GONE = Symbol('gone');

/** What a mode works with during one poll. */
export interface PollRun {
  readonly client: TriggerClient;
  readonly o: PollerOptions;
  /** The state that follows this poll (a copy; saved once the events are handed on). */
  readonly state: TriggerState;
  readonly events: TriggerEvent[];
  readonly detectedAt: string;
  /** Keys already emitted in this poll (one event per asset and change). */
  readonly emitted: Set<string>;
  readonly signal?: AbortSignal;
  /** More is waiting: poll again soon. */
  more: boolean;
  /** Records looked at. */
  examined: number;
  /** The poll holds as many events as it may. */
  full(): boolean;
  /**
   * The assets of listed media, with the parts wanted, read a few ahead of the one being handled, in order
   * (GONE for a medium deleted meanwhile).
   */
  assets<T>(items: Iterable<T> | AsyncIterable<T>, media: (item: T) => RawResource): AsyncGenerator<{ item: T; value: Asset | typeof GONE }>;
  /**
   * Reads the changes since each scope's position (see poller.ts) and hands every asset read to `each`,
   * in order; moves the positions on.
   */
  scanChanges(baseline: boolean, each: (asset: Asset, scope: string, sinceMs: number) => void): Promise<void>;
}

export interface PollMode {
  readonly name: string;
  /** Checks the options the mode needs; throws an Error naming what is missing. */
  check(o: PollerOptions): void;
  /** The mode's part of the configuration key (a rule): a state made under another one starts afresh. */
  key?(o: PollerOptions): string;
  /** Parts of every asset the mode reads itself (a rule's source), besides those the flow asked for. */
  needs?(o: PollerOptions): AssetPart[];
  /** True while the first poll must record what already is instead of reporting it. */
  needsBaseline?(o: PollerOptions, state: TriggerState): boolean;
  /** One poll. */
  poll(run: PollRun, baseline: boolean): Promise<void>;
}

/** The key of a scope in the state. */
export const scopeKeyOf = (s?: ContainerScope): string => (s ? `${s.kind}:${s.id}` : '*');

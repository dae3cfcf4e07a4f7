/**
 * What a destination node opens on first use and every deliver node using it shares: the destination
 * (its connections), its templates, its target identity and its delivery ledger (a file of this Node-RED,
 * or a store shared by several).
 */
import { DEFAULT_REMOVED_RETENTION_DAYS, FileLedger, type DeliveryLedger } from './ledger';
import { openNamedLedger } from './ledger-named';
import { createDestination, destinationTarget, destinationTemplates, type DestinationConfig, type DestinationTemplates } from './registry';
import type { Destination } from './types';

export interface OpenedDestination {
  destination: Destination;
  templates: DestinationTemplates;
  ledger: DeliveryLedger;
  /** Where the bytes really go (kind and resolved base): part of every ledger key. */
  target: string;
}

export interface OpenOptions {
  /** A shared ledger's store for a target; none: the file `ledgerFile`. */
  shared?: (target: string) => Promise<DeliveryLedger>;
  ledgerFile: string;
  /** A named ledger (see ledger-named.ts): its file, shared with the destinations of the same name; `ledgerFile` is adopted. */
  namedFile?: string;
  /** The ledger, opened already (by `openLedger`): used instead of opening one. */
  ledger?: () => Promise<DeliveryLedger>;
  /** A crash's leftovers were removed (how many), or could not be. */
  cleaned?: (count: number) => void;
  cleanupFailed?: (error: unknown) => void;
}

/** Days `removed` records stay in the ledger: a number ≥ 0, else the default. */
export function retentionDays(v: unknown): number {
  const n = v === undefined || v === null || v === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_REMOVED_RETENTION_DAYS;
}

/** Makes the destination of `config` (credentials apart) and opens its ledger; on failure, nothing stays open. */
export async function openDestination(config: DestinationConfig, credentials: Record<string, unknown>, opts: OpenOptions): Promise<OpenedDestination> {
  const destination = createDestination(config, credentials);
  const templates = destinationTemplates(config);
  // what a crash left behind (temporary files of interrupted writes) goes, in the background
  destination.cleanup?.().then(
    (n) => n > 0 && opts.cleaned?.(n),
    (e: unknown) => opts.cleanupFailed?.(e),
  );
  const target = destinationTarget(config);
  try {
    const ledger = opts.ledger ? await opts.ledger() : await openLedger(config, opts);
    return { destination, templates, ledger, target };
  } catch (e) {
    await destination.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Opens the ledger of a destination alone (no connection to the destination): the shared store's, a named
 * file shared with other destinations of this Node-RED, or the destination's own file.
 */
export async function openLedger(config: DestinationConfig, opts: Omit<OpenOptions, 'ledger'>): Promise<DeliveryLedger> {
  const target = destinationTarget(config);
  if (opts.shared) return opts.shared(target);
  // records from before targets were kept are this destination's as it is configured now
  const options = { target, removedRetentionMs: retentionDays(config.retentionDays) * 86_400_000 };
  return opts.namedFile ? openNamedLedger(opts.namedFile, options, opts.ledgerFile) : FileLedger.open(opts.ledgerFile, options);
}

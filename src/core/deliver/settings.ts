/**
 * The settings of a deliver node as a flow stores them, read into what a delivery takes. Settings saved
 * before a choice existed keep their old meaning (a missing value is the default).
 */
import { strictBool } from '../bool';
import { renditionSettings, type Rendition, type RenditionConfig } from '../rendition';
import type { OverwritePolicy } from './deliver';
import { SIDECAR_KINDS, type SidecarKind } from './sidecar';

export interface DeliverConfig extends RenditionConfig {
  destination?: string;
  account?: string;
  action?: string;
  actionType?: string;
  template?: string;
  sidecar?: string;
  overwrite?: string;
  concurrency?: number | string;
  dryRun?: boolean | string;
  retries?: number | string;
  redeliverOnModify?: boolean | string;
  /** After a put, remove the copies of the asset the ledger has at other locations of the destination. */
  removeEarlier?: boolean | string;
  /** Seconds to wait when another worker sharing the ledger delivers the same file (then skipped as "in-progress"). */
  claimWait?: number | string;
}

export interface DeliverSettings {
  sidecar: SidecarKind;
  overwrite: OverwritePolicy;
  redeliverOnModify: boolean;
  /** After a put, remove the asset's copies at other locations of the destination (an earlier region or name). */
  removeEarlier: boolean;
  claimWaitMs: number;
  /** Attempts after the first for failures worth another one. */
  retries: number;
  /** The cap this node asks of its destination's shared concurrency. */
  concurrency: number;
  /** What to download when a message carries only an id: the original, or the JPEG rendition chosen. */
  rendition: Rendition;
}

/** Reads the settings; throws an InputError for a rendition or size that is not one (`badRendition`, `badSize`). */
export function deliverSettings(def: DeliverConfig): DeliverSettings {
  const wait = def.claimWait === undefined || def.claimWait === '' ? 60 : Number(def.claimWait);
  return {
    sidecar: (SIDECAR_KINDS.includes(def.sidecar as SidecarKind) ? def.sidecar : 'none') as SidecarKind,
    overwrite: (['overwrite', 'skip', 'fail'].includes(String(def.overwrite)) ? def.overwrite : 'overwrite') as OverwritePolicy,
    redeliverOnModify: def.redeliverOnModify === true || def.redeliverOnModify === 'true',
    removeEarlier: def.removeEarlier === true || def.removeEarlier === 'true',
    claimWaitMs: Number.isFinite(wait) && wait >= 0 ? Math.min(wait, 3600) * 1000 : 60_000,
    retries: def.retries === undefined || def.retries === '' ? 3 : Math.max(0, Number(def.retries) || 0),
    concurrency: Number(def.concurrency) || 2,
    rendition: renditionSettings(def),
  };
}

/** The node's dry-run setting, strictly (true or false). */
export function dryRunSetting(def: DeliverConfig): boolean {
  return strictBool(def.dryRun, 'dryRun', false);
}

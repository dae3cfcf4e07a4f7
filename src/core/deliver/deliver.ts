/**
 * Delivery orchestration: a location from templates, the ledger consulted and written around the upload,
 * the body hashed and counted on its way through, progress, retries of transient failures when the body
 * can be opened again, a concurrency cap per destination, dry-runs and sidecars. No Node-RED import.
 */
import { Readable } from 'node:stream';
import { backoffDelay, sleep } from '../../net';
import { crashPoint } from '../../photoshelter/crashpoint';
import { sameVersion, versionKeyParts } from '../asset';
import { knownOriginal, Meter, openSource, reopenable, type BodySource, type Progress } from './body';
import { ClaimedError, type DeliveryLedger, type FileEvidence, type LedgerKey, type LedgerRecord, type VersionStamp } from './ledger';
import type { DestinationTemplates } from './registry';
import { sidecarFor, type SidecarKind } from './sidecar';
import { render, renderStrict } from './template';
import { DeliverError, type Destination, type PutResult } from './types';
import { compareEvidence, HeadSniffer, isNoEvidence, modifiedSince, sha256Of, type EvidenceReader } from './version';
import type { Semaphore } from '../limit';

export type { BodySource, Progress } from './body';

export type DeliverAction = 'put' | 'remove';
export type OverwritePolicy = 'overwrite' | 'skip' | 'fail';

/** What a delivery needs to know of the asset. */
export interface DeliverAsset {
  id: string;
  versionKey: string;
  fileName?: string;
  /** The asset's modified_at (ISO): tells whether a delivered version needs a closer look. */
  modifiedAt?: string | null;
  [key: string]: unknown;
}

/**
 * What decided that a delivered version is still current (a skip), or that it is not (a delivery again):
 * `key` the version key alone (the asset was not modified since), `modified` the node's "deliver again on
 * any modification", `hash` the API's file hash, `sha256` the bytes at hand, `metadata` the file's embedded
 * metadata, `none` nothing could tell (skipped, as the version key says).
 */
export type VersionCheck = 'key' | 'modified' | 'hash' | 'sha256' | 'metadata' | 'none';

export interface Delivery {
  destination: string;
  action: DeliverAction;
  location: string;
  bytes: number;
  sha256: string | null;
  /**
   * True: nothing to do (delivered already, or the policy "skip" met a file). `"in-progress"`: another
   * worker sharing the ledger is delivering this file right now (its claim outlived the wait).
   */
  skipped: boolean | 'in-progress';
  durationMs: number;
  dryRun?: boolean;
  /** Remove: whether something was there. */
  removed?: boolean;
  /** Put to an existing target with the policy `skip`. */
  existed?: boolean;
  /** A delivery that a crash interrupted was completed (same location, overwritten). */
  recovered?: boolean;
  /** When a version with the same key had been delivered there: what told whether it is still current. */
  versionCheck?: VersionCheck;
  /** Delivered again on purpose (`redeliver`) although the ledger had it as delivered. */
  redelivered?: boolean;
  attempts?: number;
  response?: PutResult['response'];
  sidecar?: string;
  /**
   * Copies of the asset this destination's ledger had at other locations (an earlier region or file name),
   * removed after this delivery was recorded (`removeEarlier`), or by a removal of every copy.
   */
  removedCopies?: string[];
}

export interface DelivererOptions {
  destination: Destination;
  /** The name (or id) shown in `msg.delivery.destination`. */
  name: string;
  templates: DestinationTemplates;
  ledger?: DeliveryLedger;
  /** The destination's target identity (registry.ts `destinationTarget`): part of every ledger key. */
  target?: string;
  /** Reads the evidence of an asset's current file version (its embedded metadata); see version.ts. */
  evidence?: EvidenceReader;
  semaphore?: Semaphore;
  /** Attempts after the first for retryable failures (default 3). */
  retries?: number;
  /** The first back-off's ceiling (doubled each time, up to 30 s; the wait is half of it and a random part of the other half; default 500 ms). */
  backoffMs?: number;
}

export interface JobBase {
  asset: DeliverAsset;
  /** The node's location template; empty: the destination's. */
  template?: string;
  /** What templates see (msg properties, asset, file). */
  view: Record<string, unknown>;
  sidecar?: SidecarKind;
  dryRun?: boolean;
  signal: AbortSignal;
}

export interface PutJob extends JobBase {
  source: BodySource;
  overwrite?: OverwritePolicy;
  /** Deliver again whenever the asset was modified since its delivery, whatever the evidence says. */
  redeliverOnModify?: boolean;
  /** Deliver again on purpose: a record that this version is delivered at this location is ignored. */
  redeliver?: boolean;
  onProgress?: (p: Progress) => void;
  /** How often progress is reported at most (default 1 s). */
  progressIntervalMs?: number;
  /**
   * A shared ledger: how long to wait when another worker is delivering the same file (ms, default 0);
   * then the delivery is skipped as `"in-progress"`.
   */
  claimWaitMs?: number;
  /**
   * Once this version is at its location and recorded (delivered now, or found there already), remove the
   * copies of the asset that the ledger has at other locations of this destination (an earlier region or
   * file name), each recorded as removed.
   */
  removeEarlier?: boolean;
}

export interface RemoveJob extends JobBase {
  /** A location given by the message (e.g. msg.location): used as is, after `resolve()`. */
  location?: string;
}

/** What `judge` found: whether the delivered version is still current, and what the record gets. */
interface Verdict {
  same: boolean;
  check: VersionCheck;
  /** Skipped: the record is written again with the asset's modified_at and this evidence (null: none). */
  restamp?: FileEvidence | null;
  /** The evidence of the current file, when it was read (`read`). */
  evidence?: FileEvidence;
  read?: boolean;
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DeliverError('EABORTED', 'The delivery was aborted');
}


/** Appends `suffix` to a location (before the query of a URL). */
export function withSuffix(location: string, suffix: string, context: DestinationTemplates['context']): string {
  if (context !== 'url') return location + suffix;
  const u = new URL(location);
  u.pathname += suffix;
  return u.toString();
}

/**
 * A body opened ahead of its use: an error it meets before the delivery listens is kept in its `errored`
 * (read when it is used) instead of being thrown as an unhandled 'error' event.
 */
function holdErrors<T extends { body: Readable }>(opened: T): T {
  opened.body.on('error', () => undefined);
  return opened;
}

/** The ledger keeps a small summary of an HTTP answer (for remove templates), not whole bodies. */
function responseSummary(r: PutResult['response']): unknown {
  if (!r) return undefined;
  const body = JSON.stringify(r.body ?? null);
  return body.length <= 4096 ? { status: r.status, body: r.body } : { status: r.status };
}

/** The largest ceiling of a back-off between attempts. */
const MAX_BACKOFF_MS = 30_000;

export class Deliverer {
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly opts: DelivererOptions) {
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
  }

  /** The location for an asset: the templates rendered and checked by the destination. */
  location(job: Pick<JobBase, 'template' | 'view'>): string {
    const t = this.opts.templates;
    const own = (job.template ?? '').trim();
    let rendered: string;
    if (t.context === 'url') {
      const base = t.location.trim() ? renderStrict(t.location.trim(), job.view, 'url', 'URL template') : '';
      const rel = own ? renderStrict(own, job.view, 'url', 'path template') : '';
      if (!base && !rel) throw new DeliverError('EBADPATH', 'No URL: set one in the destination or a path in the node');
      try {
        rendered = base && rel ? new URL(rel, base).toString() : base || rel;
      } catch {
        throw new DeliverError('EBADPATH', `"${(rel || base).slice(0, 80)}" is not a URL`);
      }
    } else {
      rendered = renderStrict(own || t.location.trim() || '{{asset.fileName}}', job.view, 'path');
    }
    return this.opts.destination.resolve(rendered);
  }

  private metadata(view: Record<string, unknown>, asset: DeliverAsset): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, tpl] of Object.entries(this.opts.templates.metadata)) out[k] = render(tpl, view, k.startsWith('header:') ? 'text' : 'raw');
    if (asset.fileName) out['file:name'] = asset.fileName;
    return out;
  }

  private stamp(asset: DeliverAsset, evidence: FileEvidence | undefined): VersionStamp {
    return { v: asset.versionKey, m: typeof asset.modifiedAt === 'string' && asset.modifiedAt ? asset.modifiedAt : undefined, f: evidence };
  }

  private base(action: DeliverAction, location: string, started: number): Delivery {
    return { destination: this.opts.name, action, location, bytes: 0, sha256: null, skipped: false, durationMs: Date.now() - started };
  }

  /** Runs `step` with retries of retryable failures; `canRetry` tells whether the body can be opened again. */
  private async withRetries<T>(signal: AbortSignal, canRetry: boolean, step: (attempt: number) => Promise<T>): Promise<{ value: T; attempts: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { value: await step(attempt), attempts: attempt + 1 };
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        const retryable = e instanceof DeliverError && e.retryable;
        if (!retryable || attempt >= this.retries) throw e;
        if (!canRetry) {
          throw new DeliverError(
            e.code,
            `${e.message}. It was not retried: the message carried a stream, which can be read only once (fetch to a temporary file or a buffer to allow retries)`,
            true,
            { cause: e },
          );
        }
        // half the doubling delay and a random part of the other half: deliveries that failed together do not retry together
        await sleep(backoffDelay(attempt, { baseDelayMs: this.backoffMs, maxDelayMs: MAX_BACKOFF_MS, jitter: 'equal' }), signal, abortError);
      }
    }
  }

  /** The ledger key of an asset at a location of this destination. */
  private key(asset: string, location: string): LedgerKey {
    return { target: this.opts.target ?? '', asset, location };
  }

  async put(job: PutJob): Promise<Delivery> {
    const started = Date.now();
    const location = this.location(job);
    const ledger = this.opts.ledger;
    if (!ledger || job.dryRun) return this.putAt(job, location, started);
    let out: Delivery;
    try {
      out = await ledger.exclusive(this.key(job.asset.id, location), () => this.putAt(job, location, started), { waitMs: job.claimWaitMs ?? 0, signal: job.signal });
    } catch (e) {
      if (!(e instanceof ClaimedError)) throw e;
      // another worker holds the claim: its delivery, or a later re-issue once its lease ends, does it
      if (job.source.kind === 'stream') job.source.stream.destroy();
      return { ...this.base('put', location, started), skipped: 'in-progress' };
    }
    // the new copy is written and recorded: only now do the earlier ones go (also after a skip, which finishes
    // a removal that failed before)
    if (job.removeEarlier) {
      out.removedCopies = await this.removeCopies(job, location);
      out.durationMs = Date.now() - started;
    }
    return out;
  }

  /**
   * Removes every copy of the asset that this destination's ledger knows (done, or an upload begun: intent,
   * failed), except the one at `keep`, each with its sidecar of the job's kind, and records each removed.
   * No request when the ledger has none. A destination that cannot remove by location (HTTP POST without a
   * Remove URL) keeps its copies. Resolves with the locations removed.
   */
  private async removeCopies(job: JobBase, keep?: string, request = true): Promise<string[]> {
    const ledger = this.opts.ledger;
    const t = this.opts.templates;
    if (!ledger || (request && t.context === 'url' && !t.remove && !t.removeAtLocation)) return [];
    const { asset, signal } = job;
    const copies = (await ledger.placesOf(this.opts.target ?? '', asset.id)).filter((r) => r.l !== keep && (r.t === 'done' || r.t === 'intent' || r.t === 'failed'));
    const sidecar = sidecarFor(job.sidecar ?? 'none', asset as never);
    const removed: string[] = [];
    for (const r of copies) {
      const key = this.key(asset.id, r.l);
      await ledger.exclusive(key, async () => {
        // looked up again under the key's lock: a delivery to that place may have ended meanwhile
        const now = await ledger.lookup(key);
        if (!now || now.t === 'removed' || now.t === 'refused') return;
        if (!request) {
          await ledger.removed(key, { v: now.v, m: now.m, f: now.f });
          removed.push(now.l);
          return;
        }
        const where = t.context === 'url' && t.remove ? this.opts.destination.resolve(renderStrict(t.remove, { ...job.view, delivery: { location: now.l, bytes: now.b, sha256: now.h, response: now.r } }, 'url', 'remove URL template')) : now.l;
        const release = await (this.opts.semaphore?.acquire(signal) ?? Promise.resolve(() => undefined));
        try {
          await this.withRetries(signal, true, () => this.opts.destination.remove(where, signal));
          if (sidecar && t.context !== 'url') await this.withRetries(signal, true, () => this.opts.destination.remove(withSuffix(now.l, sidecar.suffix, t.context), signal));
        } finally {
          release();
        }
        await ledger.removed(key, { v: now.v, m: now.m, f: now.f });
        removed.push(now.l);
      });
    }
    return removed;
  }

  /**
   * Removes every copy of the asset that this destination's ledger knows (see removeCopies). With `request`
   * false ("forget"), only records them as removed: the copies were removed by other means (a flow of its
   * own, by hand), and the next delivery of the asset must not be skipped as done.
   */
  async removeAll(job: JobBase, request = true): Promise<Delivery> {
    const started = Date.now();
    const out = this.base('remove', '', started);
    if (job.dryRun) {
      const copies = this.opts.ledger ? await this.opts.ledger.placesOf(this.opts.target ?? '', job.asset.id) : [];
      return { ...out, dryRun: true, removedCopies: copies.filter((r) => r.t === 'done' || r.t === 'intent' || r.t === 'failed').map((r) => r.l) };
    }
    const removedCopies = await this.removeCopies(job, undefined, request);
    return { ...out, removed: removedCopies.length > 0, removedCopies, durationMs: Date.now() - started };
  }

  /** Evidence of the asset's current file, or undefined when there is none to be had. */
  private async readEvidence(id: string, signal: AbortSignal): Promise<FileEvidence | undefined> {
    if (!this.opts.evidence) return undefined;
    try {
      return await this.opts.evidence(id, signal);
    } catch (e) {
      if (!signal.aborted && isNoEvidence(e)) return undefined;
      throw e;
    }
  }

  /**
   * A version with the same key was delivered here: is it still the asset's current file? See version.ts
   * for the order of the checks; only an asset modified since the record costs more than a comparison.
   */
  private async judge(job: PutJob, prior: LedgerRecord): Promise<Verdict> {
    const { asset, source, signal } = job;
    if (!modifiedSince(asset.modifiedAt, prior)) return { same: true, check: 'key' };
    if (job.redeliverOnModify) return { same: false, check: 'modified' };
    // both keys carry the API's file hash, and sameVersion found them equal
    if (versionKeyParts(asset.versionKey)?.hash && versionKeyParts(prior.v)?.hash) return { same: true, check: 'hash', restamp: prior.f ?? null };
    if ((source.kind === 'buffer' || source.kind === 'file') && prior.h) {
      const same = (await sha256Of(source, signal)) === prior.h;
      return same ? { same, check: 'sha256', restamp: prior.f ?? null } : { same, check: 'sha256' };
    }
    if (this.opts.evidence) {
      const evidence = await this.readEvidence(asset.id, signal);
      const verdict = compareEvidence(prior.f, evidence);
      if (verdict === 'changed') return { same: false, check: 'metadata', evidence, read: true };
      // nothing in common (a record made without evidence): skipped as the key says, the evidence kept for next time
      return { same: true, check: verdict === 'same' ? 'metadata' : 'none', restamp: evidence ?? prior.f ?? null, evidence, read: true };
    }
    return { same: true, check: 'none', restamp: prior.f ?? null };
  }

  private async putAt(job: PutJob, location: string, started: number): Promise<Delivery> {
    const { asset, signal } = job;
    const ledger = this.opts.ledger;
    const key = this.key(asset.id, location);
    const out = this.base('put', location, started);
    const sidecar = sidecarFor(job.sidecar ?? 'none', asset as never);
    if (sidecar) out.sidecar = withSuffix(location, sidecar.suffix, this.opts.templates.context);
    // the sidecar's place is checked before anything is written, so that a file never lands without it
    if (out.sidecar) this.opts.destination.check?.(out.sidecar);
    const prior = await ledger?.lookup(key);
    let evidence: FileEvidence | undefined;
    let evidenceRead = false;
    const delivered = prior?.t === 'done' && sameVersion(prior.v, asset.versionKey);
    // redeliver: sent again on purpose, whatever the record says, so the version is not judged
    if (prior && delivered && !job.redeliver) {
      const verdict = await this.judge(job, prior);
      out.versionCheck = verdict.check;
      evidence = verdict.evidence;
      evidenceRead = verdict.read === true;
      if (verdict.same) {
        if (job.source.kind === 'stream') job.source.stream.destroy();
        // the record now stands for this modified_at: the next message for this version is a plain skip again
        if (ledger && !job.dryRun && verdict.restamp !== undefined) {
          await ledger.checked(key, this.stamp(asset, verdict.restamp ?? undefined), prior);
        }
        return { ...out, skipped: true, bytes: prior.b ?? 0, sha256: prior.h ?? null, durationMs: Date.now() - started };
      }
    }
    if (job.dryRun) {
      if (job.source.kind === 'stream') job.source.stream.destroy();
      return { ...out, dryRun: true, durationMs: Date.now() - started };
    }
    // an interrupted (or failed) delivery of this version: finish it at the same location, whatever the policy
    const recovering = (prior?.t === 'intent' || prior?.t === 'failed') && sameVersion(prior.v, asset.versionKey);
    const overwrite = recovering ? 'overwrite' : (job.overwrite ?? 'overwrite');
    const metadata = this.metadata(job.view, asset);
    // the evidence of the version is read before the file, so it never describes a newer file than the bytes sent
    if (ledger && !evidenceRead && !versionKeyParts(asset.versionKey)?.hash) evidence = await this.readEvidence(asset.id, signal);
    const stamp = this.stamp(asset, evidence);
    // With the policy "overwrite", the intent's sync starts before the delivery waits for its place in the
    // destination's concurrency cap, so that a place is not held through a whole sync. An intent left
    // behind without bytes (a crash or a stop before the upload) makes the next delivery "recover" it, that
    // is overwrite at the same location, which this policy does anyway. With "skip" or "fail" an intent
    // stands for an upload begun, so it is written once the place is held, as the upload starts.
    const intent = ledger && overwrite === 'overwrite' ? ledger.intent(key, stamp) : undefined;
    intent?.catch(() => undefined);
    const acquired = await (this.opts.semaphore?.acquire(signal) ?? Promise.resolve(() => undefined));
    let released = false;
    const release = (): void => {
      if (!released) acquired();
      released = true;
    };
    let claimed = false;
    try {
      // a download is opened while the intent is synced: its bytes wait in it, and none reaches the
      // destination before the intent is on disk
      let early = ledger && job.source.kind === 'fetch' ? openSource(job.source, signal, false).then(holdErrors) : undefined;
      early?.catch(() => undefined);
      try {
        if (ledger) await (intent ?? ledger.intent(key, stamp));
      } catch (e) {
        void early?.then((o) => o.body.destroy(), () => undefined);
        throw e;
      }
      claimed = true;
      let used = false;
      let meter: Meter | undefined;
      let sniffer: HeadSniffer | undefined;
      const { value: result, attempts } = await this.withRetries(signal, reopenable(job.source), async () => {
        const first = early;
        early = undefined;
        const opened = await (first ?? openSource(job.source, signal, used));
        used = true;
        // only the original's own bytes may tell the version (a rendition's XMP is the rendition's)
        const head = ledger && knownOriginal(job.source) ? new HeadSniffer() : undefined;
        sniffer = head;
        const m = new Meter(opened.size, job.onProgress, job.progressIntervalMs, head && ((chunk) => head.push(chunk)));
        meter = m;
        let sourceError: unknown;
        opened.body.on('error', (e) => {
          sourceError = e;
          m.destroy(e);
        });
        // a download opened while the intent was synced may have failed already
        if (first && opened.body.errored) {
          sourceError = opened.body.errored;
          m.destroy(opened.body.errored);
        }
        // the destination may not be reading yet when the source fails: the error is reported below
        m.on('error', () => undefined);
        m.on('close', () => {
          if (!opened.body.destroyed && !opened.body.readableEnded) opened.body.destroy();
        });
        opened.body.pipe(m);
        try {
          return await this.opts.destination.put({
            location,
            body: m,
            size: opened.size,
            contentType: opened.contentType,
            metadata,
            overwrite,
            signal,
          });
        } catch (e) {
          m.destroy();
          if (sourceError !== undefined && !signal.aborted) {
            if (sourceError instanceof DeliverError) throw sourceError;
            const retry = job.source.kind !== 'stream';
            throw new DeliverError('ESOURCE', `Reading the file to deliver failed: ${(sourceError as Error)?.message ?? String(sourceError)}`, retry, { cause: sourceError });
          }
          throw e;
        }
      });
      const m = meter as Meter;
      if (result.skipped) {
        out.skipped = true;
        out.existed = true;
      } else {
        out.bytes = m.bytes;
        out.sha256 = m.digest();
        if (job.onProgress) job.onProgress(m.progress());
      }
      if (result.response) out.response = result.response;
      if (sidecar && !result.skipped) {
        const scLoc = out.sidecar as string;
        await this.withRetries(signal, true, () =>
          this.opts.destination.put({
            location: scLoc,
            body: Readable.from([sidecar.data]),
            size: sidecar.data.length,
            contentType: sidecar.contentType,
            metadata: { ...metadata, 'file:name': `${asset.fileName || asset.id}${sidecar.suffix}` },
            overwrite: 'overwrite',
            signal,
          }),
        );
      }
      // the upload is over: the destination's slot goes to the next delivery while this one's record is synced
      release();
      crashPoint('recorded');
      if (ledger) {
        // the bytes' own XMP InstanceID (a JPEG's) describes exactly what was sent: it wins over the one read before
        const own = result.skipped ? undefined : sniffer?.evidence();
        const done = own && own.instance !== stamp.f?.instance ? { ...stamp, f: own } : stamp;
        await ledger.done(key, done, { b: out.bytes, h: out.sha256 ?? undefined, r: responseSummary(result.response) });
      }
      if (recovering) out.recovered = true;
      if (delivered && job.redeliver) out.redelivered = true;
      out.attempts = attempts;
      out.durationMs = Date.now() - started;
      return out;
    } catch (e) {
      // refused before anything was written (a file is there and the policy is "fail"): this attempt's
      // intent is void, or a later attempt would take it for an interrupted delivery of ours and overwrite
      if (ledger && e instanceof DeliverError && e.code === 'EEXIST' && !recovering) await ledger.refused(key, stamp, prior);
      // a failure after the claim is recorded (for audits) in its place; an abort (a stop) leaves the intent
      else if (ledger && claimed && !signal.aborted) {
        const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
        await ledger.failed(key, stamp, { code: typeof code === 'string' ? code : undefined, message: String(message ?? e) }).catch(() => undefined);
      }
      throw e;
    } finally {
      release();
    }
  }

  async remove(job: RemoveJob): Promise<Delivery> {
    const started = Date.now();
    const { asset, signal } = job;
    const ledger = this.opts.ledger;
    const t = this.opts.templates;
    const putLocation = job.location ? this.opts.destination.resolve(job.location, 'message') : this.location(job);
    const key = this.key(asset.id, putLocation);
    const prior = await ledger?.lookup(key);
    let target = putLocation;
    if (!job.location && !t.remove && !t.removeAtLocation) {
      throw new DeliverError('ECONFIG', 'Files were sent with POST, so the upload URL is not the file\'s: set a Remove URL in the destination (e.g. …/media/{{delivery.response.body.id}}) or msg.location');
    }
    if (!job.location && t.remove) {
      const delivery = prior ? { location: prior.l, bytes: prior.b, sha256: prior.h, response: prior.r } : job.view.delivery;
      target = this.opts.destination.resolve(renderStrict(t.remove, { ...job.view, delivery }, 'url', 'remove URL template'));
    }
    const out = this.base('remove', target, started);
    if (job.dryRun) return { ...out, dryRun: true, durationMs: Date.now() - started };
    const sidecar = sidecarFor(job.sidecar ?? 'none', asset as never);
    const release = await (this.opts.semaphore?.acquire(signal) ?? Promise.resolve(() => undefined));
    try {
      const { value, attempts } = await this.withRetries(signal, true, () => this.opts.destination.remove(target, signal));
      if (sidecar && t.context !== 'url') {
        await this.withRetries(signal, true, () => this.opts.destination.remove(withSuffix(putLocation, sidecar.suffix, t.context), signal));
      }
      if (ledger) await ledger.removed(key, { v: prior?.v ?? asset.versionKey ?? '', m: prior?.m, f: prior?.f });
      out.removed = value.removed;
      out.attempts = attempts;
      out.durationMs = Date.now() - started;
      return out;
    } finally {
      release();
    }
  }
}

import { sharedSignal } from '../net';
import { EventEmitter } from 'node:events';
import { abortReason, type Clock } from './clock';
import { PhotoShelterError } from './errors';

export interface LimiterOptions {
  /** Upper bound of requests in flight (default 4). */
  maxConcurrency: number;
  /** Starting limit (default maxConcurrency). */
  initialConcurrency?: number;
  /** Optional cap on request starts per second. */
  requestsPerSecond?: number;
  /** Consecutive successes after which the limit grows by one (default 10). */
  recoverAfter?: number;
  clock: Clock;
}

export interface LimiterState {
  limit: number;
  maxLimit: number;
  inFlight: number;
  queued: number;
  /** Epoch ms until which no request starts, when backing off. */
  backoffUntil?: number;
  /** Milliseconds left in the current backoff (0 when none). */
  backoffRemainingMs: number;
}

export type Outcome = 'success' | 'ratelimited' | 'failure' | 'neutral';

/** A held slot. Release it exactly once. */
export interface Ticket {
  readonly epoch: number;
  released: boolean;
}

interface Waiter {
  resolve: (t: Ticket) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface LimiterEvents {
  limit: [{ limit: number; previous: number; reason: 'ratelimited' | 'recovered' }];
  backoff: [{ until: number; ms: number }];
  /** A request was let through (for diagnostics and tests). */
  start: [{ inFlight: number; limit: number }];
}

/**
 * Adaptive concurrency limit shared by every caller of one client: halves on 429 (once per "epoch": the
 * requests that were already in flight when the limit dropped do not halve it again), grows by one after
 * `recoverAfter` consecutive successes, never above maxConcurrency. Also holds a shared backoff
 * deadline (from Retry-After) and an optional requests-per-second spacing.
 */
export class AdaptiveLimiter extends EventEmitter<LimiterEvents> {
  private limitValue: number;
  private readonly maxLimit: number;
  private readonly recoverAfter: number;
  private readonly minSpacingMs: number;
  private readonly clock: Clock;
  private inFlight = 0;
  private successes = 0;
  private epoch = 0;
  private backoffUntil = 0;
  private nextStartAt = 0;
  private readonly queue: Waiter[] = [];
  private timerAt = Infinity;
  private timerAbort?: AbortController;
  private closed = false;

  constructor(opts: LimiterOptions) {
    super();
    this.maxLimit = Math.max(1, Math.floor(opts.maxConcurrency));
    this.limitValue = Math.min(this.maxLimit, Math.max(1, Math.floor(opts.initialConcurrency ?? this.maxLimit)));
    this.recoverAfter = Math.max(1, opts.recoverAfter ?? 10);
    this.minSpacingMs = opts.requestsPerSecond && opts.requestsPerSecond > 0 ? 1000 / opts.requestsPerSecond : 0;
    this.clock = opts.clock;
  }

  get limit(): number {
    return this.limitValue;
  }

  state(): LimiterState {
    const now = this.clock.now();
    const until = this.backoffUntil > now ? this.backoffUntil : undefined;
    return {
      limit: this.limitValue,
      maxLimit: this.maxLimit,
      inFlight: this.inFlight,
      queued: this.queue.length,
      backoffUntil: until,
      backoffRemainingMs: until === undefined ? 0 : until - now,
    };
  }

  acquire(signal?: AbortSignal): Promise<Ticket> {
    if (this.closed) return Promise.reject(new PhotoShelterError('ECLOSED', 'The PhotoShelter client is closed'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<Ticket>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w);
          if (i !== -1) this.queue.splice(i, 1);
          reject(abortReason(signal));
        };
        sharedSignal(signal).addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.pump();
    });
  }

  release(ticket: Ticket, outcome: Outcome): void {
    if (ticket.released) return;
    ticket.released = true;
    this.inFlight--;
    if (outcome === 'success') {
      this.successes++;
      if (this.successes >= this.recoverAfter && this.limitValue < this.maxLimit) {
        const previous = this.limitValue;
        this.limitValue++;
        this.successes = 0;
        this.emit('limit', { limit: this.limitValue, previous, reason: 'recovered' });
      }
    } else if (outcome === 'ratelimited') {
      this.successes = 0;
      if (ticket.epoch === this.epoch) {
        const previous = this.limitValue;
        this.limitValue = Math.max(1, Math.floor(this.limitValue / 2));
        this.epoch++;
        if (previous !== this.limitValue) this.emit('limit', { limit: this.limitValue, previous, reason: 'ratelimited' });
      }
    } else if (outcome === 'failure') {
      this.successes = 0;
    }
    this.pump();
  }

  /** No request starts before `now + ms` (Retry-After shared by every caller). */
  backoff(ms: number): void {
    const until = this.clock.now() + ms;
    if (until > this.backoffUntil) {
      this.backoffUntil = until;
      this.emit('backoff', { until, ms });
    }
  }

  close(): void {
    this.closed = true;
    this.timerAbort?.abort();
    const err = new PhotoShelterError('ECLOSED', 'The PhotoShelter client is closed');
    for (const w of this.queue.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.limitValue) {
      const now = this.clock.now();
      const startAt = Math.max(this.backoffUntil, this.nextStartAt);
      if (startAt > now) {
        this.wakeAt(startAt);
        return;
      }
      const w = this.queue.shift() as Waiter;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      this.inFlight++;
      this.emit('start', { inFlight: this.inFlight, limit: this.limitValue });
      if (this.minSpacingMs > 0) this.nextStartAt = Math.max(now, this.nextStartAt) + this.minSpacingMs;
      w.resolve({ epoch: this.epoch, released: false });
    }
  }

  private wakeAt(at: number): void {
    if (this.timerAt <= at) return;
    this.timerAbort?.abort();
    const ac = new AbortController();
    this.timerAbort = ac;
    this.timerAt = at;
    this.clock.sleep(at - this.clock.now(), ac.signal).then(
      () => {
        if (this.timerAbort !== ac) return;
        this.timerAt = Infinity;
        this.timerAbort = undefined;
        this.pump();
      },
      () => undefined,
    );
  }
}

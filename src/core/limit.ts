/**
 * Bounded work: at most `concurrency` tasks at once, the others waiting in order. The fetch node bounds
 * its downloads per node with a queue cap (more messages are refused at once with QueueFullError); a
 * destination shares one cap among the deliver nodes that use it (no queue cap, and the smallest cap any
 * of them asks for).
 */
import { abortedError, sharedSignal } from '../net';
import { CoreError } from './errors';

/** More messages arrived than the node may run and hold. */
export class QueueFullError extends CoreError {
  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    super('EQUEUEFULL', `${running} fetches are running and ${waiting} messages are waiting: the queue is full`, { key: 'queueFull', values: { running, waiting } });
  }
}

/** At most `concurrency` tasks at once, at most `queue` waiting; beyond that a QueueFullError at once. */
export class WorkLimiter {
  private active = 0;
  private readonly waiting: Array<{ go: () => void; stop: (e: unknown) => void }> = [];

  constructor(
    /** May be changed while tasks run: a lower cap lets waiting tasks start only as running ones end. */
    public concurrency: number,
    readonly queue = Infinity,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Rejects every waiting task with `error` (the node is closing). */
  clear(error: unknown): void {
    for (const w of this.waiting.splice(0)) w.stop(error);
  }

  /** Resolves with a release function when a slot is free; rejects when the queue is full or `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = (): (() => void) => {
      this.active++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        this.active--;
        while (this.active < this.concurrency && this.waiting.length > 0) this.waiting.shift()?.go();
      };
    };
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (this.active < this.concurrency && this.waiting.length === 0) return Promise.resolve(release());
    if (this.waiting.length >= this.queue) return Promise.reject(new QueueFullError(this.active, this.waiting.length));
    return new Promise((resolve, reject) => {
      const entry = {
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release());
        },
        stop: reject,
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortedError(signal as AbortSignal));
      };
      sharedSignal(signal)?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}

/** A counting semaphore without a queue cap (the destination's shared cap); `limit` is its concurrency. */
export class Semaphore extends WorkLimiter {
  constructor(limit: number) {
    super(limit);
  }

  get limit(): number {
    return this.concurrency;
  }

  set limit(n: number) {
    this.concurrency = n;
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.queued;
  }
}

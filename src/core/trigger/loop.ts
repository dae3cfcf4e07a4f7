/**
 * The poll loop: one poll at a time, on an interval, sooner when a poll left work waiting, later when
 * PhotoShelter asks us to back off; "poll now" polls at once, or right after the running poll (which may have
 * read PhotoShelter before what the caller wants seen), several calls meanwhile sharing that one poll.
 */
import { RateLimitError } from '../../photoshelter';
import { crashPoint } from '../../photoshelter/crashpoint';
import type { PollResult, TriggerPoller } from './poller';

export interface LoopHooks {
  /** Hand the events on (the loop commits the position once this returns, or once its promise resolves). */
  emit(result: PollResult): void | Promise<void>;
  /**
   * Before each poll, when events wait for acknowledgements: how many events the poll may bring at most.
   * None: no poll now (nothing is asked of PhotoShelter); the loop looks again a second later.
   */
  room?(): number;
  /** There was no room: no poll now (called once until a poll runs again). */
  held?(): void;
  /** Before a poll; `baseline` when an approval trigger first records what already matches. */
  polling(baseline: boolean): void;
  polled(result: PollResult, at: Date): void;
  failed(error: unknown, retryInMs: number): void;
}

const SOON_MS = 1000;

export class PollLoop {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  /** The poll asked for while one was running: it starts when that one ends. */
  private again?: Promise<void>;
  private abort?: AbortController;
  private stopped = false;
  private failures = 0;
  private holding = false;

  constructor(
    private readonly poller: TriggerPoller,
    private readonly intervalMs: number,
    private readonly hooks: LoopHooks,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Poll now, or once the running poll has ended; resolves when that poll has finished. */
  pollNow(): Promise<void> {
    if (this.current) {
      this.again ??= this.current
        .catch(() => undefined)
        .then(() => {
          this.again = undefined;
          if (this.stopped) return undefined;
          return this.current ?? this.now();
        });
      return this.again;
    }
    return this.now();
  }

  private now(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
    await this.current?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, ms);
  }

  private run(): Promise<void> {
    const ac = new AbortController();
    this.abort = ac;
    // `current` is set before the poll can end (a poll with no room ends without waiting for anything)
    const running: Promise<void> = this.once(ac.signal).then((next) => {
      if (this.current === running) this.current = undefined;
      this.schedule(next);
    });
    this.current = running;
    return running;
  }

  /** One poll; resolves with the time until the next one. */
  private async once(signal: AbortSignal): Promise<number> {
    let next = this.intervalMs;
    try {
      const limit = this.hooks.room?.();
      if (limit !== undefined && limit <= 0) {
        if (!this.holding) this.hooks.held?.();
        this.holding = true;
        return SOON_MS;
      }
      this.holding = false;
      this.hooks.polling(await this.poller.needsBaseline());
      const result = await this.poller.poll(signal, limit);
      if (signal.aborted) return next;
      if (result.events.length) crashPoint('poll');
      await this.hooks.emit(result);
      await this.poller.commit(result);
      this.failures = 0;
      this.hooks.polled(result, new Date());
      if (result.more) next = SOON_MS;
    } catch (e) {
      if (signal.aborted) return next;
      this.failures++;
      // back off: what the server asked for, else doubling from the interval's tenth up to the interval
      const asked = e instanceof RateLimitError ? e.retryAfterMs : undefined;
      next = asked ?? Math.min(this.intervalMs, Math.max(SOON_MS, (this.intervalMs / 10) * 2 ** (this.failures - 1)));
      this.hooks.failed(e, next);
    }
    return next;
  }
}

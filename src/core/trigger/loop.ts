/**
 * The poll loop: one poll at a time, on an interval, sooner when a poll left work waiting, later when
 * PhotoShelter asks us to back off; "poll now" joins the running poll or starts one.
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
  /** Before a poll; `baseline` when an approval trigger first records what already matches. */
  polling(baseline: boolean): void;
  polled(result: PollResult, at: Date): void;
  failed(error: unknown, retryInMs: number): void;
}

const SOON_MS = 1000;

export class PollLoop {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private abort?: AbortController;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly poller: TriggerPoller,
    private readonly intervalMs: number,
    private readonly hooks: LoopHooks,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Poll now; resolves when that poll (or the one already running) has finished. */
  pollNow(): Promise<void> {
    if (this.current) return this.current;
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
    this.current = (async () => {
      let next = this.intervalMs;
      try {
        const limit = this.hooks.room?.();
        if (limit !== undefined && limit <= 0) {
          next = SOON_MS;
          return;
        }
        this.hooks.polling(await this.poller.needsBaseline());
        const result = await this.poller.poll(ac.signal, limit);
        if (ac.signal.aborted) return;
        if (result.events.length) crashPoint('poll');
        await this.hooks.emit(result);
        await this.poller.commit(result);
        this.failures = 0;
        this.hooks.polled(result, new Date());
        if (result.more) next = SOON_MS;
      } catch (e) {
        if (ac.signal.aborted) return;
        this.failures++;
        // back off: what the server asked for, else doubling from the interval's tenth up to the interval
        const asked = e instanceof RateLimitError ? e.retryAfterMs : undefined;
        next = asked ?? Math.min(this.intervalMs, Math.max(SOON_MS, (this.intervalMs / 10) * 2 ** (this.failures - 1)));
        this.hooks.failed(e, next);
      } finally {
        this.current = undefined;
        this.schedule(next);
      }
    })();
    return this.current;
  }
}

/**
 * The poll loop on a fake clock: when it polls (at once, every interval, sooner when work is waiting),
 * how it backs off after failures (what PhotoShelter asked for, else doubling from a tenth of the
 * interval up to the interval), and how "poll now" and stop behave. No real time passes.
 */
import assert from 'node:assert/strict';
import { RateLimitError } from '../../../src/photoshelter';
import { PollLoop, type LoopHooks } from '../../../src/core/trigger/loop';
import type { PollResult, TriggerPoller } from '../../../src/core/trigger/poller';

/** setTimeout/clearTimeout replaced by a clock that moves only when told to. */
class FakeClock {
  now = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private saved?: { set: typeof setTimeout; clear: typeof clearTimeout };

  install(): void {
    this.saved = { set: globalThis.setTimeout, clear: globalThis.clearTimeout };
    globalThis.setTimeout = ((fn: () => void, ms = 0) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + Math.max(0, ms), fn });
      return { id, unref() {}, ref() {}, hasRef: () => true, [Symbol.toPrimitive]: () => id } as unknown as NodeJS.Timeout;
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((t?: { id?: number }) => {
      if (t && typeof t === 'object' && t.id !== undefined) this.timers.delete(t.id);
    }) as typeof clearTimeout;
  }

  uninstall(): void {
    if (this.saved) {
      globalThis.setTimeout = this.saved.set;
      globalThis.clearTimeout = this.saved.clear;
    }
  }

  /** When the next timer is due, relative to now (undefined: none). */
  nextIn(): number | undefined {
    const due = [...this.timers.values()].map((t) => t.at);
    return due.length ? Math.min(...due) - this.now : undefined;
  }

  /** Moves the clock on by `ms`, firing what falls due on the way, and lets the work they start settle. */
  async tick(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      const next = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
    await settle();
  }
}

/** Lets promise chains and immediates run (the fake clock does not replace setImmediate). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const empty = (more = false): PollResult => ({ events: [], more, examined: 0, next: { v: 1, configKey: 'k', positions: {} } });

/** A poller whose polls answer from a script: a result, or an error to throw. */
class ScriptedPoller {
  polls: number[] = [];
  commits = 0;
  script: Array<PollResult | Error> = [];
  hold?: Promise<void>;
  constructor(private readonly clock: FakeClock) {}
  async needsBaseline(): Promise<boolean> {
    return false;
  }
  async poll(signal?: AbortSignal): Promise<PollResult> {
    this.polls.push(this.clock.now);
    if (this.hold) await this.hold;
    if (signal?.aborted) throw new Error('aborted');
    const next = this.script.shift() ?? empty();
    if (next instanceof Error) throw next;
    return next;
  }
  async commit(): Promise<void> {
    this.commits++;
  }
}

describe('core/trigger: the poll loop on a fake clock', () => {
  let clock: FakeClock;
  let poller: ScriptedPoller;
  let failures: Array<{ code?: string; retryInMs: number }>;
  let loop: PollLoop | undefined;
  const hooks = (): LoopHooks => ({
    emit: () => undefined,
    polling: () => undefined,
    polled: () => undefined,
    failed: (e, retryInMs) => failures.push({ code: (e as { code?: string }).code, retryInMs }),
  });
  const start = (intervalMs: number): PollLoop => {
    loop = new PollLoop(poller as unknown as TriggerPoller, intervalMs, hooks());
    loop.start();
    return loop;
  };

  beforeEach(() => {
    clock = new FakeClock();
    clock.install();
    poller = new ScriptedPoller(clock);
    failures = [];
  });
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    clock.uninstall();
  });

  it('polls at once, then every interval, never sooner', async () => {
    start(60_000);
    await clock.tick(0);
    assert.deepEqual(poller.polls, [0]);
    await clock.tick(59_999);
    assert.deepEqual(poller.polls, [0], 'not before the interval');
    await clock.tick(1);
    assert.deepEqual(poller.polls, [0, 60_000]);
    await clock.tick(120_000);
    assert.deepEqual(poller.polls, [0, 60_000, 120_000, 180_000]);
    assert.equal(poller.commits, 4, 'each poll committed');
  });

  it('polls again after a second while a poll left work waiting (maxEvents reached)', async () => {
    poller.script = [empty(true), empty(true), empty(false)];
    start(60_000);
    await clock.tick(0);
    await clock.tick(2_000);
    assert.deepEqual(poller.polls, [0, 1_000, 2_000]);
    assert.equal(clock.nextIn(), 60_000, 'then back to the interval');
  });

  it('backs off after failures: a tenth of the interval, doubling, at most the interval; a success resets it', async () => {
    const down = () => Object.assign(new Error('PhotoShelter is down'), { code: 'ESERVER' });
    poller.script = [down(), down(), down(), down(), down(), down(), empty(), down()];
    start(60_000);
    await clock.tick(0);
    for (const wait of [6_000, 12_000, 24_000, 48_000, 60_000, 60_000]) {
      assert.equal(clock.nextIn(), wait);
      await clock.tick(wait);
    }
    assert.deepEqual(failures.map((f) => f.retryInMs), [6_000, 12_000, 24_000, 48_000, 60_000, 60_000]);
    assert.equal(clock.nextIn(), 60_000, 'after the success: the interval');
    await clock.tick(60_000);
    assert.equal(failures.at(-1)?.retryInMs, 6_000, 'the next failure starts over from a tenth');
    assert.deepEqual(poller.polls, [0, 6_000, 18_000, 42_000, 90_000, 150_000, 210_000, 270_000]);
  });

  it('never backs off for less than a second, however short the interval', async () => {
    poller.script = [Object.assign(new Error('x'), { code: 'ENETWORK' })];
    start(5_000);
    await clock.tick(0);
    assert.deepEqual(failures.map((f) => f.retryInMs), [1_000]);
  });

  it('waits as long as a 429 asked, not its own back-off', async () => {
    poller.script = [new RateLimitError('slow down', { retryAfterMs: 37_000 }), new RateLimitError('no hint')];
    start(60_000);
    await clock.tick(0);
    assert.deepEqual(failures, [{ code: 'ERATELIMIT', retryInMs: 37_000 }]);
    await clock.tick(36_999);
    assert.equal(poller.polls.length, 1);
    await clock.tick(1);
    assert.equal(poller.polls.length, 2);
    assert.equal(failures[1].retryInMs, 12_000, 'without Retry-After: the doubling back-off (second failure)');
  });

  it('"poll now" during a running poll polls once more right after it (calls meanwhile share that poll), and otherwise polls at once and restarts the interval from there', async () => {
    let release!: () => void;
    poller.hold = new Promise<void>((r) => (release = r));
    start(60_000);
    await clock.tick(0);
    const a = loop!.pollNow();
    const b = loop!.pollNow();
    assert.equal(a, b, 'one promise for the poll after the running one');
    assert.deepEqual(poller.polls, [0], 'nothing more while the first runs');
    release();
    poller.hold = undefined;
    await a;
    assert.deepEqual(poller.polls, [0, 0], 'one more poll, started once the running one ended');
    assert.equal(clock.nextIn(), 60_000, 'the interval counts from that poll');
    await clock.tick(10_000);
    await loop!.pollNow();
    assert.deepEqual(poller.polls, [0, 0, 10_000]);
    assert.equal(clock.nextIn(), 60_000, 'the interval counts from the poll now');
  });

  it('stop aborts the running poll and schedules nothing more', async () => {
    let release!: () => void;
    poller.hold = new Promise<void>((r) => (release = r));
    const l = start(60_000);
    await clock.tick(0);
    const stopped = l.stop();
    release();
    await stopped;
    assert.equal(poller.commits, 0, 'the aborted poll is not committed');
    assert.equal(failures.length, 0, 'an abort is not a failure');
    assert.equal(clock.nextIn(), undefined);
    await clock.tick(600_000);
    assert.deepEqual(poller.polls, [0]);
  });
});

import assert from 'node:assert/strict';
import { AdaptiveLimiter, type Ticket } from '../../../src/photoshelter/limiter';
import { flush, ManualClock } from './helpers';

describe('client/limiter', () => {
  it('starts at most `limit` requests and queues the rest', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 3, clock });
    const got: Ticket[] = [];
    for (let i = 0; i < 5; i++) void l.acquire().then((t) => got.push(t));
    await flush();
    assert.equal(got.length, 3);
    assert.deepEqual({ ...l.state(), backoffUntil: undefined }, { limit: 3, maxLimit: 3, inFlight: 3, queued: 2, backoffUntil: undefined, backoffRemainingMs: 0 });
    l.release(got[0], 'success');
    await flush();
    assert.equal(got.length, 4);
    assert.equal(l.state().inFlight, 3);
  });

  it('halves on 429 once per epoch, down to 1, then recovers by one after N successes', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 8, recoverAfter: 3, clock });
    const changes: string[] = [];
    l.on('limit', (e) => changes.push(`${e.previous}->${e.limit}:${e.reason}`));
    // 8 requests in flight all answer 429: the limit halves once, not eight times
    const batch = await Promise.all(Array.from({ length: 8 }, () => l.acquire()));
    for (const t of batch) l.release(t, 'ratelimited');
    assert.equal(l.limit, 4);
    // the next 429 (from a request started after the drop) halves again
    for (const expected of [2, 1, 1]) {
      const t = await l.acquire();
      l.release(t, 'ratelimited');
      assert.equal(l.limit, expected);
    }
    // slow recovery: +1 after 3 consecutive successes, up to the cap
    for (let i = 0; i < 3 * 7 + 2; i++) {
      const t = await l.acquire();
      l.release(t, 'success');
    }
    assert.equal(l.limit, 8);
    assert.deepEqual(changes.slice(0, 3), ['8->4:ratelimited', '4->2:ratelimited', '2->1:ratelimited']);
    assert.equal(changes.filter((c) => c.endsWith('recovered')).length, 7);
    // a failure resets the success streak
    const t1 = await l.acquire();
    l.release(t1, 'ratelimited');
    assert.equal(l.limit, 4);
    for (let i = 0; i < 2; i++) l.release(await l.acquire(), 'success');
    l.release(await l.acquire(), 'failure');
    for (let i = 0; i < 2; i++) l.release(await l.acquire(), 'success');
    assert.equal(l.limit, 4, 'no growth: the streak was broken');
  });

  it('never has more in flight than the current limit during a 429 storm', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 6, recoverAfter: 2, clock });
    const starts: Array<{ inFlight: number; limit: number }> = [];
    l.on('start', (e) => starts.push(e));
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const limits = new Set<number>();
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const t = await l.acquire();
        await new Promise<void>((r) => setImmediate(r));
        l.release(t, rnd() < 0.3 ? 'ratelimited' : 'success');
        limits.add(l.limit);
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    assert.equal(starts.length, 12 * 40);
    const bad = starts.filter((s) => s.inFlight > s.limit);
    assert.deepEqual(bad, [], 'no request starts beyond the limit in force');
    assert.ok(limits.has(1), 'the storm drove the limit down to 1');
    assert.ok([...limits].some((x) => x > 1), 'and it recovered in between');
    assert.equal(l.state().inFlight, 0);
  });

  it('holds every start until a shared Retry-After backoff has passed', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 4, clock });
    const events: number[] = [];
    l.on('backoff', (e) => events.push(e.ms));
    l.backoff(30_000);
    let started = 0;
    void l.acquire().then(() => started++);
    void l.acquire().then(() => started++);
    await flush();
    assert.equal(started, 0);
    assert.equal(l.state().backoffRemainingMs, 30_000);
    await clock.advance(29_999);
    assert.equal(started, 0);
    await clock.advance(1);
    assert.equal(started, 2);
    assert.deepEqual(events, [30_000]);
    assert.equal(l.state().backoffUntil, undefined);
  });

  it('spaces starts to the requests-per-second cap', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 10, requestsPerSecond: 2, clock });
    const startedAt: number[] = [];
    for (let i = 0; i < 5; i++) void l.acquire().then((t) => {
      startedAt.push(clock.now());
      l.release(t, 'success');
    });
    await flush();
    for (let i = 0; i < 5; i++) await clock.advance(500);
    const t0 = startedAt[0];
    assert.deepEqual(startedAt.map((t) => t - t0), [0, 500, 1000, 1500, 2000]);
  });

  it('drops a queued waiter whose signal aborts', async () => {
    const clock = new ManualClock();
    const l = new AdaptiveLimiter({ maxConcurrency: 1, clock });
    const first = await l.acquire();
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal);
    ac.abort();
    await assert.rejects(waiting, { code: 'EABORTED' });
    assert.equal(l.state().queued, 0);
    l.release(first, 'success');
    assert.equal(l.state().inFlight, 0);
  });
});

import assert from 'node:assert/strict';
import { backoffDelay, decideRetry, DEFAULT_RETRY, parseRetryAfter } from '../../../src/photoshelter/retry';

describe('client/retry policy', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('180', now), 180_000);
    assert.equal(parseRetryAfter(' 2 ', now), 2000);
    assert.equal(parseRetryAfter('1.5', now), 1500);
    assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter(['7', '9'], now), 7000);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });

  it('backs off exponentially with full jitter', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, o, () => 0), 0);
    assert.equal(backoffDelay(0, o, () => 0.999), 99);
    assert.equal(backoffDelay(3, o, () => 0.5), 400);
    assert.equal(backoffDelay(10, o, () => 0.5), 500, 'capped at maxDelayMs');
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(2, o, Math.random);
      assert.ok(d >= 0 && d < 400);
    }
  });

  it('honours Retry-After, the attempt limit and the total time cap', () => {
    const opts = { ...DEFAULT_RETRY, maxRetries: 3, maxRetryTimeMs: 10_000 };
    assert.deepEqual(decideRetry(0, 0, 4000, opts, () => 0.5), { retry: true, delayMs: 4000 });
    assert.deepEqual(decideRetry(0, 7000, 4000, opts, () => 0.5), { retry: false, reason: 'retry-after' });
    assert.deepEqual(decideRetry(3, 0, undefined, opts, () => 0.5), { retry: false, reason: 'attempts' });
    assert.deepEqual(decideRetry(1, 9999, undefined, opts, () => 0.9), { retry: false, reason: 'time' });
    assert.deepEqual(decideRetry(1, 0, undefined, opts, () => 0.5), { retry: true, delayMs: 500 });
  });
});

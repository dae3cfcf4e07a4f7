import assert from 'node:assert/strict';
import { abortedError, backoffDelay, isRetryableNetworkError, networkCode, RETRYABLE_NETWORK_CODES, sleep } from '../../../src/net';

describe('net: what the client and the destinations share', () => {
  it('reads the low-level code of a network error, the OS code before undici\'s wrapper', () => {
    assert.equal(networkCode(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(networkCode({ code: 'UND_ERR_SOCKET', cause: { code: 'EPIPE' } }), 'EPIPE');
    assert.equal(networkCode({ message: 'fetch failed', cause: { cause: { code: 'ETIMEDOUT' } } }), 'ETIMEDOUT');
    assert.equal(networkCode(new Error('no code')), undefined);
    assert.equal(networkCode('text'), undefined);
  });

  it('one list of codes worth another attempt: the client\'s, the HTTP and the SFTP destinations\' together', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETDOWN', 'EHOSTDOWN', 'UND_ERR_SOCKET', 'UND_ERR_BODY_TIMEOUT']) {
      assert.ok(RETRYABLE_NETWORK_CODES.has(code), code);
    }
    for (const code of ['ENOTFOUND', 'EACCES', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) assert.ok(!RETRYABLE_NETWORK_CODES.has(code), code);
    assert.ok(isRetryableNetworkError({ code: 'UND_ERR_SOCKET', cause: { code: 'ECONNRESET' } }));
    assert.ok(!isRetryableNetworkError(new Error('plain')));
  });

  it('backs off exponentially with full jitter by default, capped', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 500 };
    assert.equal(backoffDelay(0, o, () => 0), 0);
    assert.equal(backoffDelay(0, o, () => 0.999), 99);
    assert.equal(backoffDelay(2, o, () => 0.5), 200);
    assert.equal(backoffDelay(10, o, () => 0.999), 499, 'capped at maxDelayMs');
  });

  it('equal jitter waits at least half the ceiling, and spreads the other half', () => {
    const o = { baseDelayMs: 500, maxDelayMs: 30_000, jitter: 'equal' as const };
    assert.equal(backoffDelay(0, o, () => 0), 250);
    assert.equal(backoffDelay(1, o, () => 0), 500);
    assert.equal(backoffDelay(1, o, () => 0.999), 999);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(2, o)));
    assert.ok([...seen].every((d) => d >= 1000 && d < 2000));
    assert.ok(seen.size > 10, 'the delays differ from one call to the next');
  });

  it('sleeps, and stops at once when the signal aborts, with its reason or an EABORTED error', async () => {
    const started = Date.now();
    await sleep(20);
    assert.ok(Date.now() - started >= 15);
    const ac = new AbortController();
    const waiting = sleep(60_000, ac.signal);
    ac.abort(new Error('closing'));
    await assert.rejects(waiting, /closing/);
    await assert.rejects(sleep(10, AbortSignal.abort('no error')), (e: Error & { code?: string }) => e.code === 'EABORTED');
    const own = new Error('ours');
    await assert.rejects(sleep(10, AbortSignal.abort(), () => own), (e) => e === own);
    assert.equal(abortedError(AbortSignal.abort(own)), own);
  });
});

import assert from 'node:assert/strict';
import type { PhotoShelterClient } from '../../../src/photoshelter';
import { NetworkError, RateLimitError, ServerError, TimeoutError, TruncatedError } from '../../../src/photoshelter';
import { apiError, handleSessionAuth, InstantClock, json, MEDIA, media, rejects, sessionClient, startServer, type Handler, type TestServer } from './helpers';

const iptcPath = `/media/${MEDIA}/iptc`;

describe('client/pipeline', () => {
  let srv: TestServer | undefined;
  let client: PhotoShelterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await srv?.close();
    client = srv = undefined;
  });

  /** A server where `route` answers with the given handlers in turn (the last one repeats). */
  async function sequence(steps: Handler[]): Promise<TestServer> {
    let i = 0;
    srv = await startServer((req, res, raw) => {
      if (handleSessionAuth(req, res)) return;
      const step = steps[Math.min(i++, steps.length - 1)];
      return step(req, res, raw);
    });
    return srv;
  }
  const ok: Handler = (_q, res) => json(res, 200, { data: media(MEDIA) });
  const apiCalls = (): number => (srv as TestServer).requests.filter((r) => !r.path.includes('authenticate')).length;

  it('takes many requests at once without a listener warning (each listens for the close of the client)', async () => {
    await sequence([ok]);
    client = sessionClient(srv!.baseUrl, { maxConcurrency: 32 });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      await Promise.all(Array.from({ length: 24 }, () => client!.getMedia(MEDIA)));
      // and many requests sharing one caller's signal, most of them waiting for a slot
      await client.close();
      client = sessionClient(srv!.baseUrl, { maxConcurrency: 2 });
      const shared = new AbortController();
      await Promise.all(Array.from({ length: 24 }, () => client!.getMedia(MEDIA, { signal: shared.signal })));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  });

  it('retries 503 and 502 with backoff, then succeeds', async () => {
    await sequence([(_q, r) => apiError(r, 503, 'ServiceUnavailable'), (_q, r) => apiError(r, 502, 'BadGateway'), ok]);
    const clock = new InstantClock();
    const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
    client = sessionClient(srv!.baseUrl, { clock, random: () => 0.5, retryBaseDelayMs: 1000 });
    client.on('retry', (e) => retries.push(e));
    const m = await client.getMedia(MEDIA);
    assert.equal(m.id, MEDIA);
    assert.equal(apiCalls(), 3);
    assert.deepEqual(retries.map((r) => [r.attempt, r.delayMs, r.reason]), [[1, 500, '503'], [2, 1000, '502']]);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const clock = new InstantClock();
    await sequence([
      (_q, r) => apiError(r, 429, 'TooManyRequestsException', 'slow down', { 'retry-after': '7' }),
      (_q, r) => apiError(r, 429, 'TooManyRequestsException', 'slow down', { 'retry-after': new Date(clock.now() + 12_000).toUTCString() }),
      ok,
    ]);
    const rl: Array<number | undefined> = [];
    client = sessionClient(srv!.baseUrl, { clock });
    client.on('ratelimited', (e) => rl.push(e.retryAfterMs));
    await client.getMedia(MEDIA);
    assert.deepEqual(rl, [7000, 12_000]);
    // the retrying request waits exactly Retry-After (the limiter's shared backoff adds no extra wait)
    assert.deepEqual(clock.sleeps.slice(0, 2), [7000, 12_000]);
  });

  it('fails at once with RateLimitError when Retry-After exceeds the retry time left', async () => {
    await sequence([(_q, r) => apiError(r, 429, 'TooManyRequestsException', 'x', { 'retry-after': '180' })]);
    const clock = new InstantClock();
    client = sessionClient(srv!.baseUrl, { clock, maxRetryTimeMs: 60_000 });
    const e = await rejects(client.getMedia(MEDIA));
    assert.ok(e instanceof RateLimitError);
    assert.equal(e.retryAfterMs, 180_000);
    assert.equal(e.status, 429);
    assert.match(e.message, /wait 180 s/);
    assert.equal(apiCalls(), 1);
    assert.deepEqual(clock.sleeps, []);
    // every caller of the client now waits out the backoff: they fail at once too, without a request
    assert.equal(client.limiterState().backoffRemainingMs, 180_000);
    clock.t += 30_000;
    const e2 = await rejects(client.getMedia(MEDIA));
    assert.ok(e2 instanceof RateLimitError);
    assert.equal(e2.retryAfterMs, 150_000);
    assert.equal(apiCalls(), 1);
  });

  it('stops retrying when the total retry time is used up', async () => {
    await sequence([(_q, r) => apiError(r, 503, 'ServiceUnavailable')]);
    const clock = new InstantClock();
    client = sessionClient(srv!.baseUrl, { clock, random: () => 0.99, retryBaseDelayMs: 1000, retryMaxDelayMs: 100_000, maxRetries: 50, maxRetryTimeMs: 10_000 });
    const e = await rejects(client.getMedia(MEDIA));
    assert.ok(e instanceof ServerError);
    const total = clock.sleeps.reduce((a, b) => a + b, 0);
    assert.ok(total <= 10_000, `slept ${total} ms`);
    assert.deepEqual(clock.sleeps, [990, 1980, 3960]);
  });

  it('repeats PATCH writes only when they are idempotent, but a 429 always', async () => {
    await sequence([(_q, r) => apiError(r, 503, 'ServiceUnavailable'), (q, r) => json(r, 200, { data: { id: MEDIA, type: 'iptc', attributes: JSON.parse(q.body) } })]);
    client = sessionClient(srv!.baseUrl);
    const e = await rejects(client.updateIptc(MEDIA, { title: 'A' }, { idempotent: false }));
    assert.ok(e instanceof ServerError);
    assert.equal(apiCalls(), 1);
    const res = await client.updateIptc(MEDIA, { title: 'B', keywords: ['x', ' y '] });
    assert.deepEqual(res.attributes, { title: 'B', keywords: 'x,y' });
    const patches = srv!.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 2);
    assert.equal(patches[1].path, iptcPath);
    assert.equal(patches[1].headers['content-type'], 'application/json');

    await srv!.close();
    await sequence([(_q, r) => apiError(r, 429, 'TooManyRequestsException', 'x', { 'retry-after': '1' }), (q, r) => json(r, 200, { data: { id: MEDIA, type: 'iptc', attributes: JSON.parse(q.body) } })]);
    await client.close();
    client = sessionClient(srv!.baseUrl);
    const r2 = await client.updateIptc(MEDIA, { title: 'C' }, { idempotent: false });
    assert.equal(r2.attributes.title, 'C');
  });

  it('retries after a connection reset', async () => {
    await sequence([(_q, _r, raw) => void raw.socket.destroy(), (_q, _r, raw) => void raw.socket.destroy(), ok]);
    const retries: string[] = [];
    client = sessionClient(srv!.baseUrl);
    client.on('retry', (e) => retries.push(e.reason));
    const m = await client.getMedia(MEDIA);
    assert.equal(m.id, MEDIA);
    assert.equal(apiCalls(), 3);
    assert.equal(retries.length, 2);
    assert.ok(retries.every((r) => /ECONNRESET|UND_ERR_SOCKET|EPIPE/.test(r)), retries.join());
  });

  it('gives up after resets with a NetworkError that names the code', async () => {
    await sequence([(_q, _r, raw) => void raw.socket.destroy()]);
    client = sessionClient(srv!.baseUrl, { maxRetries: 2 });
    const e = await rejects(client.getMedia(MEDIA));
    assert.ok(e instanceof NetworkError, e.message);
    assert.ok(e.networkCode);
    assert.equal(apiCalls(), 3);
  });

  it('times out a request that gets no answer, and retries it', async () => {
    let n = 0;
    await sequence([
      () => {
        n++; // never answers
      },
      ok,
    ]);
    client = sessionClient(srv!.baseUrl, { timeoutMs: 500 });
    const m = await client.getMedia(MEDIA);
    assert.equal(m.id, MEDIA);
    assert.equal(n, 1);
    await srv!.close();
    await sequence([() => undefined]);
    await client.close();
    client = sessionClient(srv!.baseUrl, { timeoutMs: 200, maxRetries: 0 });
    const e = await rejects(client.getMedia(MEDIA));
    assert.ok(e instanceof TimeoutError, e.message);
    assert.match(e.message, /within 200 ms/);
  });

  it('aborts through the caller signal', async () => {
    const ac = new AbortController();
    await sequence([() => ac.abort()]);
    client = sessionClient(srv!.baseUrl, { timeoutMs: 10_000 });
    const e = await rejects(client.getMedia(MEDIA, { signal: ac.signal }));
    assert.equal((e as { code?: string }).code, 'EABORTED');
    assert.equal(apiCalls(), 1, 'no retry after an abort');
  });

  it('detects a truncated JSON body and retries it', async () => {
    const partial: Handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"data":{"id":"I0000AAAA');
      setTimeout(() => res.socket?.destroy(), 100);
    };
    await sequence([partial, ok]);
    const retries: string[] = [];
    client = sessionClient(srv!.baseUrl);
    client.on('retry', (e) => retries.push(e.reason));
    const m = await client.getMedia(MEDIA);
    assert.equal(m.id, MEDIA);
    assert.deepEqual(retries, ['ETRUNCATED']);
    await client.close();
    await srv!.close();
    await sequence([partial]);
    client = sessionClient(srv!.baseUrl, { maxRetries: 1 });
    const e = await rejects(client.getMedia(MEDIA));
    assert.ok(e instanceof TruncatedError, e.message);
    assert.equal(e.expectedBytes, 500);
    assert.ok(e.receivedBytes > 0 && e.receivedBytes < 500);
  });

  it('sends the API key header and reuses connections (keep-alive)', async () => {
    await sequence([ok]);
    client = sessionClient(srv!.baseUrl, { maxConcurrency: 1 });
    await client.getMedia(MEDIA);
    const afterFirst = srv!.connections;
    for (let i = 0; i < 5; i++) await client.getMedia(MEDIA);
    assert.equal(srv!.connections, afterFirst, 'later requests reuse the open socket');
    assert.ok(srv!.requests.every((r) => r.headers['x-ps-api-key'] === 'KEYsecret.1'));
    assert.ok(srv!.requests.every((r) => !r.url.includes('api_key')));
  });

  it('validates ids before any request', async () => {
    await sequence([ok]);
    client = sessionClient(srv!.baseUrl);
    await assert.rejects(client.getMedia('I0000short'), { code: 'EVALIDATION' });
    await assert.rejects(client.gallery('C0000abcdefghijk'), { code: 'EVALIDATION' });
    await assert.rejects(client.updateCustomMetadata(MEDIA, [{ field_id: 'bad', value: 'x' }]), { code: 'EVALIDATION' });
    await assert.rejects(client.updateIptc(MEDIA, {}), { code: 'EVALIDATION' });
    await assert.rejects(client.getLink(MEDIA, { imageSize: 'big' }), { code: 'EVALIDATION' });
    assert.throws(() => client!.searchMedia({}), { code: 'EVALIDATION' });
    assert.equal(srv!.requests.length, 0);
  });
});

describe('client/pipeline under load', () => {
  it('keeps server-side concurrency within the adaptive limit through a 429 storm', async () => {
    let active = 0;
    let n = 0;
    const observed: Array<{ active: number; limit: number }> = [];
    const holder: { client?: PhotoShelterClient } = {};
    const srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      active++;
      n++;
      observed.push({ active, limit: holder.client!.limiterState().limit });
      const storm = n > 8 && n <= 20;
      setTimeout(() => {
        active--;
        if (storm) apiError(res, 429, 'TooManyRequestsException', 'x', { 'retry-after': '0' });
        else json(res, 200, { data: media(MEDIA) });
      }, 3);
    });
    const limits: number[] = [];
    const client = sessionClient(srv.baseUrl, { maxConcurrency: 4, recoverAfter: 3, maxRetries: 20 });
    holder.client = client;
    client.on('limit', (e) => limits.push(e.limit));
    try {
      await Promise.all(Array.from({ length: 60 }, () => client.getMedia(MEDIA)));
      assert.ok(Math.max(...observed.map((o) => o.active)) <= 4);
      assert.ok(limits.includes(1), `the limit fell to 1 (${limits.join(',')})`);
      assert.equal(limits[limits.length - 1], 4, 'and recovered to the cap');
      // after the drop to 1 and before any recovery, requests ran one at a time
      const firstOne = observed.findIndex((o) => o.limit === 1);
      const recovered = observed.findIndex((o, i) => i > firstOne && o.limit > 1);
      const slice = observed.slice(firstOne + 4, recovered === -1 ? undefined : recovered);
      assert.ok(slice.every((o) => o.active === 1), JSON.stringify(slice));
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('close() aborts what is in flight and refuses new work', async () => {
    const srv = await startServer((req, res) => {
      if (handleSessionAuth(req, res)) return;
      // never answers
    });
    const client = sessionClient(srv.baseUrl);
    try {
      const settled = client.getMedia(MEDIA).then(
        () => undefined,
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 50));
      await client.close();
      assert.equal(((await settled) as { code?: string }).code, 'ECLOSED');
      await assert.rejects(client.getMedia(MEDIA), { code: 'ECLOSED' });
    } finally {
      await srv.close();
    }
  });
});

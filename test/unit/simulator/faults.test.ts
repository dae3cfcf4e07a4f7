import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

interface RawResult {
  status: number;
  announced: number;
  received: number;
  error?: string;
  complete: boolean;
}

/** A plain node:http GET that reports how much of the body arrived and how the connection ended. */
function rawGet(url: string, headers: Record<string, string>): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let received = 0;
      let settled = false;
      const done = (error?: string): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, announced: Number(res.headers['content-length']), received, error, complete: res.complete });
      };
      res.on('data', (c: Buffer) => (received += c.length));
      res.on('end', () => done());
      res.on('error', (e) => done(e.message));
      res.on('aborted', () => done('aborted'));
      res.on('close', () => done(res.complete ? undefined : 'closed early'));
    });
    req.on('error', (e) => resolve({ status: 0, announced: 0, received: 0, error: e.message, complete: false }));
    req.end();
  });
}

describe('simulator: faults and rate limiting', () => {
  let sim: SimHandle;
  let token: string;
  let mediaId: string;
  let headers: Record<string, string>;
  before(async () => {
    sim = await startSim({ assets: 20 });
    token = await login(sim);
    const galleryId = (await sim.control.state()).galleries[0].id;
    mediaId = await sim.control.addMedia({ galleryId, fileName: 'f.jpg', size: 2_000_000 });
    headers = { 'X-PS-Api-Key': sim.apiKey, 'X-PS-Auth-Token': token };
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await sim.control.setRateLimit(0);
  });
  after(() => sim.close());

  it('status with count: the first N matching requests fail, then it recovers; other routes are untouched', async () => {
    await sim.control.faults({ route: '^/library$', status: 503, count: 2 });
    assert.equal((await call(sim, '/galleries', { token })).status, 200);
    const first = await call(sim, '/library', { token });
    assert.equal(first.status, 503);
    assert.equal(first.json.errors[0].id, 'ServiceUnavailableException');
    assert.equal((await call(sim, '/library', { token })).status, 503);
    assert.equal((await call(sim, '/library', { token })).status, 200);
  });

  it('rate 0 never hits, rate 1 always hits; method filters', async () => {
    await sim.control.faults([{ route: '^/collections', status: 500, rate: 0 }, { route: '^/galleries$', status: 502, rate: 1, method: 'GET' }]);
    for (let i = 0; i < 5; i++) {
      assert.equal((await call(sim, '/collections', { token })).status, 200);
      assert.equal((await call(sim, '/galleries', { token })).status, 502);
    }
    await sim.control.clearFaults();
    await sim.control.faults({ route: '^/galleries$', status: 500, method: 'POST' });
    assert.equal((await call(sim, '/galleries', { token })).status, 200);
  });

  it('429 storm with Retry-After', async () => {
    await sim.control.faults({ route: '.*', status: 429, count: 3, retryAfter: 7 });
    for (let i = 0; i < 3; i++) {
      const res = await call(sim, '/library', { token });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(res.json.errors[0].id, 'TooManyRequestsException');
    }
    assert.equal((await call(sim, '/library', { token })).status, 200);
  });

  it('latency delays the answer', async () => {
    await sim.control.faults({ route: '^/library$', latencyMs: 300 });
    const t = performance.now();
    assert.equal((await call(sim, '/library', { token })).status, 200);
    assert.ok(performance.now() - t >= 280);
  });

  it('reset: part of the body, then the connection is reset', async () => {
    await sim.control.faults({ route: '/download$', reset: 0.25, count: 1 });
    const broken = await rawGet(`${sim.baseUrl}/media/${mediaId}/download`, headers);
    assert.equal(broken.status, 200);
    assert.equal(broken.announced, 2_000_000);
    assert.ok(broken.received < 2_000_000);
    assert.ok(broken.error, 'the client sees an error');
    const ok = await rawGet(`${sim.baseUrl}/media/${mediaId}/download`, headers);
    assert.equal(ok.received, 2_000_000);
    assert.equal(ok.complete, true);
  });

  it('truncate: full Content-Length announced, fewer bytes, then the socket ends', async () => {
    await sim.control.faults({ route: '/download$', truncate: 0.5, count: 1 });
    const cut = await rawGet(`${sim.baseUrl}/media/${mediaId}/download`, headers);
    assert.equal(cut.announced, 2_000_000);
    assert.equal(cut.received, 1_000_000);
    assert.equal(cut.complete, false);
    // JSON bodies can be truncated too.
    await sim.control.faults({ route: '^/library$', truncate: true, count: 1 });
    const res = await fetch(`${sim.baseUrl}/library`, { headers });
    await assert.rejects(res.text());
  });

  it('a client that aborts mid-download does not disturb the server', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${sim.baseUrl}/media/${mediaId}/download`, { headers, signal: ctrl.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    ctrl.abort();
    await assert.rejects(reader.read());
    const ok = await rawGet(`${sim.baseUrl}/media/${mediaId}/download`, headers);
    assert.equal(ok.received, 2_000_000);
  });

  it('slow body: the bytes trickle at the given rate', async () => {
    await sim.control.faults({ route: '/iptc$', slowBytesPerSecond: 4000 });
    const t = performance.now();
    const res = await call(sim, `/media/${mediaId}/iptc`, { token });
    assert.equal(res.status, 200);
    assert.ok(res.json.data.attributes);
    const expectedMs = (Buffer.byteLength(res.text) / 4000) * 1000;
    assert.ok(performance.now() - t >= expectedMs * 0.8, `took ${performance.now() - t} ms for ${res.text.length} bytes`);
  });

  it('faults are validated; the log names the fault', async () => {
    const bad = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ route: '(' , status: 500 }) });
    assert.equal(bad.status, 400);
    const none = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ route: '.*' }) });
    assert.equal(none.status, 400);
    await sim.control.clearRequests();
    await sim.control.faults({ route: '^/library$', status: 500, count: 1 });
    await call(sim, '/library', { token });
    const [entry] = await sim.control.requests();
    assert.equal(entry.status, 500);
    assert.deepEqual(entry.faults, ['status:500']);
  });

  it('rate limit: token bucket, 429 TooManyRequestsException with Retry-After, meta.rate_limit', async () => {
    // 1 per second, burst 1: 15 calls at once exceed it unless they take 14 s to arrive
    await sim.control.setRateLimit(1);
    const results = await Promise.all(Array.from({ length: 15 }, () => call(sim, '/library', { token })));
    const limited = results.filter((r) => r.status === 429);
    const ok = results.filter((r) => r.status === 200);
    assert.ok(limited.length >= 1, `429s: ${limited.length}`);
    assert.ok(ok.length >= 1);
    for (const r of limited) {
      assert.equal(r.json.errors[0].id, 'TooManyRequestsException');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    assert.equal(ok[0].json.meta.rate_limit.limit, 1);
  });

  it('the rate limit recovers after Retry-After', async () => {
    // 1 per second, burst 1: the second of two calls at once is refused however slow the machine
    await sim.control.setRateLimit(1);
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const pair = await Promise.all([call(sim, '/library', { token }), call(sim, '/library', { token })]);
      limited = pair.find((r) => r.status === 429);
    }
    assert.ok(limited, 'hit the limit');
    await new Promise((resolve) => setTimeout(resolve, Number(limited.headers.get('retry-after')) * 1000));
    assert.equal((await call(sim, '/library', { token })).status, 200);
  });
});

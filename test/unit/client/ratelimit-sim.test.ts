/**
 * The client against the simulator's own token bucket (`--rate-limit`), not injected 429s: a burst
 * beyond the bucket is answered 429 with Retry-After and ridden out, each call succeeding once; a client
 * paced below the bucket (requestsPerSecond) is never refused; maxConcurrency caps what the server sees
 * at once.
 */
import assert from 'node:assert/strict';
import { PhotoShelterClient, type PhotoShelterClientOptions } from '../../../src/photoshelter';
import { startSim, type SimHandle } from '../../helpers/sim';
import { maxInFlight } from '../../helpers/sim-log';

describe('client against the simulator\'s rate limit (its token bucket)', function () {
  this.timeout(60_000);
  let sim: SimHandle;
  let ids: string[];
  const clients: PhotoShelterClient[] = [];
  const client = (o: Partial<PhotoShelterClientOptions> = {}) => {
    const c = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, auth: { mode: 'session', email: sim.email, password: sim.password, orgId: sim.orgId }, ...o });
    clients.push(c);
    return c;
  };
  const mediaCalls = async () => (await sim.control.requests()).filter((e) => /^\/media\/[^/]+$/.test(e.path.replace(/^.*\/v4\.0/, '')));

  before(async () => {
    sim = await startSim({ seed: 8, assets: 40 });
    ids = (await sim.control.mediaIds()).slice(0, 12);
  });
  after(async () => {
    await sim.close();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await sim.control.setRateLimit(0);
    await sim.control.clearFaults();
  });

  it('a burst beyond the bucket is answered 429 (not injected) and ridden out: every call succeeds, each 429 retried', async () => {
    const c = client({ maxConcurrency: 8 });
    await c.session();
    await sim.control.setRateLimit(3);
    await sim.control.clearRequests();
    const limited: number[] = [];
    c.on('ratelimited', (e) => limited.push(e.retryAfterMs ?? -1));
    const got = await Promise.all(ids.map((id) => c.getMedia(id)));
    assert.deepEqual(got.map((m) => m.id), ids);
    const log = await mediaCalls();
    const refused = log.filter((e) => e.status === 429);
    assert.ok(refused.length >= 1, 'the bucket refused some of the burst');
    assert.ok(log.every((e) => e.faults.length === 0), 'nothing injected: the simulator\'s own limit');
    assert.equal(log.filter((e) => e.status === 200).length, ids.length, 'each call succeeded once');
    assert.equal(limited.length, refused.length, 'every 429 was seen and waited for');
    assert.ok(limited.every((ms) => ms >= 1000), 'as long as Retry-After said (whole seconds)');
    assert.ok(c.limiterState().limit < 8, 'the concurrency limit came down');
  });

  it('paced below the bucket (requestsPerSecond), a client is never refused', async () => {
    const c = client({ maxConcurrency: 8, requestsPerSecond: 4 });
    await c.session();
    await sim.control.setRateLimit(5);
    await sim.control.clearRequests();
    await Promise.all(ids.map((id) => c.getMedia(id)));
    const log = await mediaCalls();
    assert.deepEqual(log.map((e) => e.status), ids.map(() => 200));
  });

  it('maxConcurrency caps the requests the server answers at once', async () => {
    const c = client({ maxConcurrency: 2 });
    await c.session();
    // held a while at the server, so that requests in flight overlap when they may
    await sim.control.faults({ route: '^/media/[^/]+$', method: 'GET', latencyMs: 250 });
    await sim.control.clearRequests();
    await Promise.all(ids.slice(0, 8).map((id) => c.getMedia(id)));
    assert.equal(maxInFlight(await mediaCalls()), 2);
    await sim.control.clearRequests();
    const wide = client({ maxConcurrency: 6 });
    await wide.session();
    await sim.control.clearRequests();
    await Promise.all(ids.slice(0, 8).map((id) => wide.getMedia(id)));
    assert.ok(maxInFlight(await mediaCalls()) > 2, 'and the measure sees more when more is allowed');
  });
});

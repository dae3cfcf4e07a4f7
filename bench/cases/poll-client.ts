// One poll of a 'changed' trigger over a large library after one change: how many requests it costs
// (counted by the simulator's request log) and how long it takes. A quiet poll follows (no change).
import { PhotoShelterClient } from '../../src/photoshelter';
import { TriggerPoller, type PollerOptions } from '../../src/core/trigger/poller';
import { MemoryStore } from '../../src/core/trigger/state';
import { caseMain, control, measure, type SimInfo } from '../lib';

interface LogEntry { method: string; path: string }

caseMain<SimInfo>(async (sim) => {
  const { apiKey, email, password, orgId } = sim.credentials;
  const client = new PhotoShelterClient({ baseUrl: sim.baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  const options: PollerOptions = {
    mode: 'changed',
    scopes: [],
    start: { from: 'now' },
    maxEvents: 100,
    include: [],
    timeZone: 'UTC',
    now: () => client.serverNow(),
  };
  // past the poller's settle time, and one call so that the client learns the server's new time
  const settle = async (): Promise<void> => {
    await control(sim, 'POST', 'clock', { advanceSeconds: 3 });
    await client.session();
  };
  const apiRequests = async (): Promise<LogEntry[]> => {
    const { requests } = await control<{ requests: LogEntry[] }>(sim, 'GET', 'requests');
    return requests.filter((r) => !r.path.startsWith('/authenticate') && !r.path.startsWith('/organization'));
  };
  try {
    await client.session();
    const poller = new TriggerPoller(client, options, new MemoryStore());
    await settle();
    await poller.commit(await poller.poll()); // the first poll only records "now"

    const { ids } = await control<{ ids: string[] }>(sim, 'GET', 'media');
    const target = ids[Math.floor(ids.length / 2)];
    await control(sim, 'PATCH', `media/${encodeURIComponent(target)}`, { iptc: { caption: 'changed for the benchmark' } });
    await settle();
    await control(sim, 'DELETE', 'requests');
    let events = 0;
    const r = await measure(async () => {
      const res = await poller.poll();
      await poller.commit(res);
      events = res.events.length;
      if (events !== 1 || res.events[0].asset.id !== target) throw new Error(`expected one event for ${target}, got ${res.events.map((e) => e.asset.id).join(', ') || 'none'}`);
      return {};
    });
    const changedPoll = (await apiRequests()).length;

    await settle();
    await control(sim, 'DELETE', 'requests');
    const quiet = await poller.poll();
    await poller.commit(quiet);
    const quietPoll = (await apiRequests()).length;
    return { ...r, requests: changedPoll, items: events, extra: { quietRequests: quietPoll, quietEvents: quiet.events.length, library: ids.length } };
  } finally {
    await client.close();
  }
});

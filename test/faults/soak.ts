/**
 * The soak: scenarios drawn at random from a seed — a trigger mode, a PhotoShelter fault, a destination
 * fault, and a kill (at a crash point, or kill -9 from outside after a random pause). The same seed draws
 * the same scenarios (what happens inside them still depends on timing).
 */
import type { Scenario } from './scenarios';
import type { Mode, World } from './world';

/** mulberry32: a small seeded generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const DOWNLOADS = 'download$|^/__sim/files/';

export function soakScenario(seed: number, n: number): Scenario {
  const r = rng(seed * 7919 + n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const mode = pick<Mode>(['changed', 'changed', 'approved', 'added', 'walk']);
  const ps = pick(['none', '429', '5xx', 'reset', 'truncate', 'expiry'] as const);
  const dest = pick(['none', 'http 503', 'http reset', 's3 503', 's3 reset'] as const);
  const points = mode === 'walk' ? ['walk', 'download', 'upload', 'recorded'] : ['poll', 'download', 'upload', 'recorded'];
  const kill = pick(['none', 'point', 'point', 'outside'] as const);
  const crashAt = kill === 'point' ? `${pick(points)}@${1 + Math.floor(r() * 6)}` : undefined;
  const pauseMs = Math.floor(500 + r() * 4000);
  const changes = 1 + Math.floor(r() * 4);
  const name = `soak ${seed}#${n}: ${mode}, ${ps}, ${dest}, ${crashAt ? `crash at ${crashAt}` : kill === 'outside' ? `kill -9 after ${pauseMs} ms` : 'no kill'}`;
  return {
    name,
    group: 'process',
    mode,
    ci: false,
    crashAt,
    allowPostDuplicates: kill !== 'none',
    async act(w: World) {
      const f = w.sim.control;
      if (ps === '429') await f.faults({ route: '.*', status: 429, retryAfter: 1, count: 10 + Math.floor(r() * 20) });
      if (ps === '5xx') await f.faults({ route: '.*', status: 503, rate: 0.3, count: 30 });
      if (ps === 'reset') await f.faults({ route: DOWNLOADS, reset: r(), count: 5 });
      if (ps === 'truncate') await f.faults({ route: DOWNLOADS, truncate: r(), count: 5 });
      const { http, s3 } = w.services;
      if (dest === 'http 503') http.faults.push({ kind: 'status', status: 503, count: 5 });
      if (dest === 'http reset') http.faults.push({ kind: 'reset', count: 3 });
      if (dest === 's3 503') s3.faults.push({ kind: 'status', status: 503, count: 4 });
      if (dest === 's3 reset') s3.faults.push({ kind: 'reset', count: 2 });
      if (mode === 'walk') {
        await w.expectGallery();
        await w.startWalk();
      } else {
        for (let i = 0; i < changes; i++) await w.change(Math.floor(r() * 1000));
        if (ps === 'expiry') {
          await f.expireTokens('session');
          w.made++;
        }
        void w.poll().catch(() => undefined);
      }
      if (kill === 'outside') {
        await sleep(pauseMs);
        if (w.red) await w.kill().catch(() => undefined);
      } else if (crashAt) {
        // a point a run does not reach (fewer chunks than asked) leaves the process alive: fine
        await w.crashed(30_000).catch(() => undefined);
      }
    },
  };
}

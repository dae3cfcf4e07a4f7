// Benchmark 6: several Node-RED workers. A leader Node-RED walks the simulator's library and hands each
// asset out through Mosquitto (QoS 1); 1, 2 or 3 worker Node-REDs take the items from a shared
// subscription, deliver the original to a folder with the shared PostgreSQL ledger, and acknowledge. The
// same per-worker settings in every run (8 requests and 8 deliveries at once per worker, 16 items in the
// leader's window per worker); what changes is the number of workers. Two cases, side by side:
// - latency-bound: every request a worker makes (a medium's metadata, its download) answers after 150 ms,
//   files are small (20 kB); the leader's listings are not slowed, so that the leader does not limit the run;
// - CPU-bound: no added latency, large originals (every byte is hashed with sha256 on its way to disk).
// Throughput is assets per second from the walk's start to the last done record in the ledger.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startRuntime, type Runtime } from '../test/flows/runtime';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../test/helpers/postgres';
import { mosquittoUnavailable, startMosquitto, type Mosquitto } from '../test/e2e/mosquitto';
import { control, fixed, int, median, printTable, startSimProcess, verdict, type SimHandle } from './lib';

export interface WorkersBenchOptions {
  /** Assets of the latency-bound case (150 ms per request, 20 kB files). */
  latencyAssets: number;
  /** Assets and their size (MiB) in the CPU-bound case. */
  cpuAssets: number;
  cpuMiB: number;
  rounds: number;
  workers: number[];
}

const LATENCY_MS = 150;
const PER_WORKER = { requests: 8, deliveries: 8, window: 16 };
const TARGET = 2.5;

interface Case {
  name: 'latency' | 'cpu';
  sim: SimHandle;
  assets: number;
}

function leaderFlow(sim: SimHandle, broker: Mosquitto, workers: number, tag: string): unknown[] {
  const z = 'bw.leader';
  return [
    { id: z, type: 'tab', label: `leader ${tag}` },
    { id: 'bw.l.acc', type: 'photoshelter-account', z, baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.credentials.orgId, timeZone: 'UTC', maxConcurrency: PER_WORKER.requests, timeout: 60, credentials: { apiKey: sim.credentials.apiKey, email: sim.credentials.email, password: sim.credentials.password } },
    { id: 'bw.l.broker', type: 'mqtt-broker', z, broker: '127.0.0.1', port: String(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '5', keepalive: '30', cleansession: true },
    { id: 'bw.l.go', type: 'inject', z, props: [{ p: 'restart', v: 'true', vt: 'bool' }], once: false, wires: [['bw.l.walk']] },
    { id: 'bw.l.walk', type: 'photoshelter-trigger', z, account: 'bw.l.acc', mode: 'walk', scope: '', includeIptc: false, includeCustom: false, includePath: true, window: PER_WORKER.window * workers, acknowledge: true, ackTimeout: 120, wires: [['bw.l.item']] },
    { id: 'bw.l.item', type: 'change', z, rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"asset": asset, "event": event}', tot: 'jsonata' }, { t: 'set', p: 'topic', pt: 'msg', to: 'bench/work', tot: 'str' }], wires: [['bw.l.out']] },
    { id: 'bw.l.out', type: 'mqtt out', z, topic: '', qos: '1', retain: 'false', broker: 'bw.l.broker', wires: [] },
    { id: 'bw.l.acks', type: 'mqtt in', z, topic: 'bench/ack', qos: '1', datatype: 'json', broker: 'bw.l.broker', nl: false, rap: true, rh: 0, inputs: 0, wires: [['bw.l.ack']] },
    { id: 'bw.l.ack', type: 'change', z, rules: [{ t: 'set', p: 'event', pt: 'msg', to: 'payload.event', tot: 'msg' }], wires: [['bw.l.walk']] },
  ];
}

function workerFlow(sim: SimHandle, broker: Mosquitto, pg: PostgresServer, schema: string, folder: string, name: string): unknown[] {
  const z = 'bw.worker';
  return [
    { id: z, type: 'tab', label: `worker ${name}` },
    { id: 'bw.w.acc', type: 'photoshelter-account', z, baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.credentials.orgId, timeZone: 'UTC', maxConcurrency: PER_WORKER.requests, timeout: 60, credentials: { apiKey: sim.credentials.apiKey, email: sim.credentials.email, password: sim.credentials.password } },
    { id: 'bw.w.broker', type: 'mqtt-broker', z, broker: '127.0.0.1', port: String(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '5', keepalive: '30', cleansession: true },
    { id: 'bw.w.ledger', type: 'photoshelter-ledger', z, host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: 'off', schema, lease: 30, worker: name },
    { id: 'bw.w.dest', type: 'photoshelter-destination', z, kind: 'folder', folder, template: '{{asset.id}} {{asset.fileName}}', ledger: 'bw.w.ledger' },
    { id: 'bw.w.in', type: 'mqtt in', z, topic: '$share/bench/bench/work', qos: '1', datatype: 'json', broker: 'bw.w.broker', nl: false, rap: true, rh: 0, inputs: 0, wires: [['bw.w.item']] },
    { id: 'bw.w.item', type: 'change', z, rules: [{ t: 'set', p: 'asset', pt: 'msg', to: 'payload.asset', tot: 'msg' }, { t: 'set', p: 'event', pt: 'msg', to: 'payload.event', tot: 'msg' }, { t: 'delete', p: 'payload', pt: 'msg' }], wires: [['bw.w.deliver']] },
    { id: 'bw.w.deliver', type: 'photoshelter-deliver', z, destination: 'bw.w.dest', account: 'bw.w.acc', action: 'put', actionType: 'str', sidecar: 'none', overwrite: 'overwrite', concurrency: PER_WORKER.deliveries, retries: 3, claimWait: 60, rendition: 'original', wires: [['bw.w.done']] },
    { id: 'bw.w.done', type: 'switch', z, property: 'delivery.skipped', propertyType: 'msg', rules: [{ t: 'eq', v: 'in-progress', vt: 'str' }, { t: 'else' }], outputs: 2, wires: [[], ['bw.w.ack']] },
    { id: 'bw.w.ack', type: 'change', z, rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"event": event}', tot: 'jsonata' }, { t: 'set', p: 'topic', pt: 'msg', to: 'bench/ack', tot: 'str' }], wires: [['bw.w.out']] },
    { id: 'bw.w.out', type: 'mqtt out', z, topic: '', qos: '1', retain: 'false', broker: 'bw.w.broker', wires: [] },
  ];
}

const connections = (r: Runtime): number => (r.output().match(/Connected to broker/g) ?? []).length;

async function until(cond: () => Promise<boolean> | boolean, what: string, ms: number, pause = 100): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

export async function workersBench(o: WorkersBenchOptions, log: (l: string) => void): Promise<void> {
  const why = postgresUnavailable() ?? mosquittoUnavailable();
  if (why) {
    console.log(`\n### Several Node-RED workers: not run — ${why}`);
    return;
  }
  const max = Math.max(...o.workers);
  const tmp = mkdtempSync(join(tmpdir(), 'ps-bench-workers-'));
  let pg: PostgresServer | undefined;
  let broker: Mosquitto | undefined;
  let db: Client | undefined;
  const sims: SimHandle[] = [];
  const runtimes: Runtime[] = [];
  try {
    pg = await startPostgres();
    broker = await startMosquitto();
    db = new Client({ host: pg.host, port: pg.port, user: pg.user, database: pg.database });
    await db.connect();
    log(`workers: simulators (${o.latencyAssets} assets of 20 kB at ${LATENCY_MS} ms; ${o.cpuAssets} of ${o.cpuMiB} MiB), PostgreSQL, Mosquitto, ${max + 1} Node-REDs`);
    const latencySim = await startSimProcess({ seed: 21, assets: o.latencyAssets, strict: true });
    const cpuSim = await startSimProcess({ seed: 22, assets: o.cpuAssets, strict: true });
    sims.push(latencySim, cpuSim);
    for (const [sim, size] of [[latencySim, 20_000], [cpuSim, o.cpuMiB * 1024 * 1024]] as const) {
      const { ids } = await control<{ ids: string[] }>(sim, 'GET', 'media');
      for (const id of ids) await control(sim, 'PATCH', `media/${id}`, { size });
    }
    await control(latencySim, 'POST', 'faults', { route: '^/media/|^/__sim/files/', latencyMs: LATENCY_MS });
    const countOf = async (sim: SimHandle): Promise<number> => {
      const state = await control<{ galleries: Array<{ id: string }> }>(sim, 'GET', 'state');
      const ids = new Set<string>();
      for (const g of state.galleries) for (const id of (await control<{ ids: string[] }>(sim, 'GET', `media?galleryId=${g.id}`)).ids) ids.add(id);
      return ids.size;
    };
    const cases: Case[] = [
      { name: 'latency', sim: latencySim, assets: await countOf(latencySim) },
      { name: 'cpu', sim: cpuSim, assets: await countOf(cpuSim) },
    ];
    const leader = await startRuntime();
    runtimes.push(leader);
    const workers: Runtime[] = [];
    for (let i = 0; i < max; i++) {
      workers.push(await startRuntime());
      runtimes.push(workers[i]);
    }

    const results: Record<string, number[]> = {};
    const simCores: Record<string, number[]> = {};
    let run = 0;
    for (let round = 0; round < o.rounds; round++) {
      for (const c of cases) {
        // alternate the order of the worker counts from round to round
        const counts = round % 2 ? [...o.workers].reverse() : o.workers;
        for (const n of counts) {
          const schema = `bench_${++run}`;
          const folder = join(tmp, schema);
          const before = workers.map(connections);
          const beforeLeader = connections(leader);
          await Promise.all(workers.map((w, i) => w.deploy(i < n ? workerFlow(c.sim, broker as Mosquitto, pg as PostgresServer, schema, folder, `w${i + 1}`) : [{ id: 'bw.idle', type: 'tab', label: 'idle' }])));
          await leader.deploy(leaderFlow(c.sim, broker as Mosquitto, n, schema));
          await until(() => workers.every((w, i) => i >= n || connections(w) > before[i]) && connections(leader) > beforeLeader, 'the mqtt nodes to connect', 60_000);
          const cpu0 = (await c.sim.stats()).cpuMs;
          const started = performance.now();
          const res = await leader.admin('POST', '/inject/bw.l.go');
          if (res.status !== 200) throw new Error(`starting the walk: ${res.status} ${res.text}`);
          await until(async () => {
            try {
              return Number((await (db as Client).query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.delivery WHERE state = 'done'`)).rows[0].n) >= c.assets;
            } catch (e) {
              if ((e as { code?: string }).code === '42P01') return false;
              throw e;
            }
          }, `${c.assets} deliveries`, 20 * 60_000, 20);
          const secs = (performance.now() - started) / 1000;
          const rate = c.assets / secs;
          (results[`${c.name}:${n}`] ??= []).push(rate);
          (simCores[`${c.name}:${n}`] ??= []).push(((await c.sim.stats()).cpuMs - cpu0) / 1000 / secs);
          log(`  round ${round + 1}/${o.rounds}, ${c.name}-bound, ${n} worker(s): ${c.assets} assets in ${fixed(secs, 2)} s (${fixed(rate, 1)}/s)`);
          rmSync(folder, { recursive: true, force: true });
        }
      }
    }

    const rows: string[][] = [];
    const speedups: Record<string, number> = {};
    for (const c of cases) {
      const one = median(results[`${c.name}:${Math.min(...o.workers)}`]);
      for (const n of o.workers) {
        const rate = median(results[`${c.name}:${n}`]);
        const speedup = rate / one;
        speedups[`${c.name}:${n}`] = speedup;
        const target = c.name === 'latency' && n === 3 ? ` ${verdict(speedup >= TARGET)} (target ≥ ${TARGET}×)` : '';
        rows.push([
          c.name === 'latency' ? `latency-bound (${LATENCY_MS} ms per worker request, 20 kB files)` : `CPU-bound (${o.cpuMiB} MiB originals, sha256 of every byte)`,
          String(n),
          int(c.assets),
          `${fixed(rate, 1)} (${fixed(Math.min(...results[`${c.name}:${n}`]), 1)}–${fixed(Math.max(...results[`${c.name}:${n}`]), 1)})`,
          c.name === 'cpu' ? `${fixed((rate * o.cpuMiB * 1.048576), 0)} MB/s` : '',
          fixed(median(simCores[`${c.name}:${n}`]), 2),
          `${fixed(speedup, 2)}×${target}`,
        ]);
      }
    }
    const lat3 = speedups['latency:3'];
    const cpu3 = speedups['cpu:3'];
    printTable(
      `### Several Node-RED workers: a leader, 1–3 workers, Mosquitto, a shared PostgreSQL ledger (${o.rounds} round(s), median and range; per worker ${PER_WORKER.requests} requests and ${PER_WORKER.deliveries} deliveries at once, ${PER_WORKER.window} items in the leader's window)`,
      ['case', 'workers', 'assets', 'assets per second', 'bytes', 'simulator CPU (cores)', 'vs 1 worker'],
      rows,
      `Conclusion: waiting on PhotoShelter, workers add up: ${lat3 === undefined ? '(3 workers not run)' : `3 workers deliver ${fixed(lat3, 2)}× as much as one`}. Hashing and writing large files, ${cpu3 === undefined ? '(3 workers not run)' : `3 workers deliver ${fixed(cpu3, 2)}× as much as one`}: this machine has ${cpus().length} cores, shared by the workers, the leader, the simulator generating the bytes, PostgreSQL and Mosquitto, so CPU-bound work cannot scale past its cores. Load average ${fixed(loadavg()[0], 1)}.`,
    );
  } finally {
    await db?.end().catch(() => undefined);
    for (const r of runtimes) await r.stop().catch(() => undefined);
    for (const s of sims) await s.stop().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

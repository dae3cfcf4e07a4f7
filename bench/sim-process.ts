// The simulator, alone in a process, for benchmarks. Tells the parent where it listens, answers RSS and
// CPU queries, and stops on SIGTERM or when the parent goes away.
import { startSimulator } from '../src/simulator';

const opts = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof startSimulator>[0];
startSimulator({ ...opts, port: 0, host: '127.0.0.1' }).then(
  (sim) => {
    process.send?.({ type: 'ready', url: sim.url, baseUrl: sim.baseUrl, credentials: sim.credentials });
    process.on('message', (m: { type?: string; id?: number }) => {
      if (m?.type === 'stats') {
        const cpu = process.cpuUsage();
        process.send?.({ type: 'stats', id: m.id, stats: { rss: process.memoryUsage.rss(), cpuMs: (cpu.user + cpu.system) / 1000 } });
      }
    });
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void sim.close().finally(() => process.exit(0));
    };
    process.on('SIGTERM', stop);
    process.on('disconnect', stop);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

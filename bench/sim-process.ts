// The simulator, alone in a process, for benchmarks.
import { startSimulator } from '../src/simulator';

const opts = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof startSimulator>[0];
startSimulator({ ...opts, port: 0 }).then(
  (sim) => {
    process.send?.({ baseUrl: sim.baseUrl, credentials: sim.credentials });
    const stop = () => void sim.close().finally(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('disconnect', stop);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

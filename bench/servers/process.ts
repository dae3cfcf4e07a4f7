/**
 * Sinks for the delivery benchmark, each alone in a process (so their CPU and memory are never the
 * measured side's). `startServerProcess` forks one and talks to it over IPC; `serverMain` is the other
 * end, used by the sink files. Every sink records what it received per object (bytes and sha256,
 * hashed on the fly), answers `stats` (RSS, CPU time) and `object` queries, and stops on SIGTERM or when
 * its parent goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Received {
  bytes: number;
  sha256: string;
}

export interface SinkStats {
  rss: number;
  cpuMs: number;
}

export interface SinkHandle<I> {
  info: I;
  stats(): Promise<SinkStats>;
  /** What the sink received under `key` (a path or object key); undefined when nothing complete arrived. */
  object(key: string): Promise<Received | undefined>;
  /** Forget what the sink recorded (keeps its memory flat across rounds). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

type Msg = { type: string; id?: number; key?: string; info?: unknown; value?: unknown };

/** Fork `bench/servers/<name>.ts` and wait until it listens. */
export function startServerProcess<I>(name: string, opts: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<SinkHandle<I>> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(join(__dirname, `${name}.ts`), [JSON.stringify(opts)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${name} sink did not start in time`));
    }, timeoutMs);
    const onEarlyExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`the ${name} sink exited early (${code})`));
    };
    child.once('exit', onEarlyExit);
    const pending = new Map<number, (v: unknown) => void>();
    let nextId = 1;
    const ask = <T>(type: string, key?: string): Promise<T> =>
      new Promise<T>((r, j) => {
        if (child.exitCode !== null || child.signalCode !== null) return j(new Error(`the ${name} sink is gone`));
        const id = nextId++;
        pending.set(id, r as (v: unknown) => void);
        child.send({ type, id, key });
      });
    child.on('message', (m) => {
      const msg = m as Msg;
      if (msg.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        resolve({
          info: msg.info as I,
          stats: () => ask<SinkStats>('stats'),
          object: (key) => ask<Received | undefined>('object', key),
          reset: () => ask<void>('reset'),
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
              await exited;
              clearTimeout(hard);
            }
          },
        });
      } else if (msg.type === 'answer' && msg.id !== undefined) {
        pending.get(msg.id)?.(msg.value);
        pending.delete(msg.id);
      }
    });
  });
}

export interface Sink<I> {
  info: I;
  /** Completed objects by key. */
  received: Map<string, Received>;
  close(): Promise<void>;
}

/** The sink side: start, report `ready` with `info`, answer queries, stop on SIGTERM or disconnect. */
export function serverMain<O, I>(start: (opts: O) => Promise<Sink<I>>): void {
  const opts = JSON.parse(process.argv[2] ?? '{}') as O;
  start(opts).then(
    (sink) => {
      process.send?.({ type: 'ready', info: sink.info });
      process.on('message', (m: Msg) => {
        let value: unknown;
        if (m.type === 'stats') {
          const cpu = process.cpuUsage();
          value = { rss: process.memoryUsage.rss(), cpuMs: (cpu.user + cpu.system) / 1000 };
        } else if (m.type === 'object') {
          value = sink.received.get(String(m.key));
        } else if (m.type === 'reset') {
          sink.received.clear();
        }
        process.send?.({ type: 'answer', id: m.id, value: value ?? null });
      });
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        const hard = setTimeout(() => process.exit(0), 3000);
        hard.unref();
        void sink.close().finally(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('disconnect', stop);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

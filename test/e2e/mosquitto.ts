/**
 * A Mosquitto broker for the end-to-end tests: `/usr/sbin/mosquitto` (Debian's `mosquitto` package) on a
 * free loopback port, with its own configuration file in a temporary folder (anonymous clients, no
 * persistence). `restart()` stops it and starts it again on the same port, as an operator's restart would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../flows/runtime';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? '/usr/sbin/mosquitto';

export interface Mosquitto {
  port: number;
  url: string;
  log(): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why Mosquitto cannot be started here, or undefined when it can. */
export function mosquittoUnavailable(): string | undefined {
  if (!existsSync(MOSQUITTO)) return `${MOSQUITTO} is missing: install Debian's mosquitto package (apt-get install -y mosquitto), as .ci/run does`;
  return undefined;
}

function listening(port: number, child: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`mosquitto exited with ${child.exitCode}`));
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`mosquitto did not listen on ${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startMosquitto(): Promise<Mosquitto> {
  const why = mosquittoUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'ps-mosquitto-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', ''].join('\n'));
  chmodSync(config, 0o644);
  let out = '';
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child = c;
    await listening(port, c, 15_000);
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => out,
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A PostgreSQL server for a test: the machine's PostgreSQL (Debian's `postgresql` package), `initdb` in a
 * temporary folder and started with `pg_ctl` on a free loopback port, its socket in that folder; stopped
 * and removed by `stop()`. As root, the folder belongs to the `postgres` user and the commands run as it
 * (initdb refuses root); as another user, they run as that user. A test database `photoshelter` is made.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../flows/runtime';

const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  database: string;
  dir: string;
  /** Runs SQL as the superuser (psql), returning its output (unaligned, tuples only). */
  psql(sql: string): Promise<string>;
  /** Stops the server (fast shutdown) without removing its data: `start()` brings it back on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The folder of PostgreSQL's programs (the newest installed), or undefined. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL cannot be started here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBin()) return 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): install Debian\'s postgresql package (apt-get install -y postgresql), as .ci/run does';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'the postgres system user is missing (it comes with Debian\'s postgresql package)';
    }
  }
  return undefined;
}

export async function startPostgres(): Promise<PostgresServer> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  const bin = postgresBin() as string;
  const root = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]) => (root ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const dir = mkdtempSync(join(tmpdir(), 'ps-postgres-'));
  if (root) {
    chmodSync(dir, 0o755);
    await run('chown', ['postgres:postgres', dir]);
  }
  const data = join(dir, 'data');
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await as('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const halt = async () => {
    await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
  };
  await start();
  const psql = async (sql: string, database = 'postgres') => (await as('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql])).stdout;
  await psql('CREATE DATABASE photoshelter');
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'photoshelter',
    dir,
    psql: (sql) => psql(sql, 'photoshelter'),
    halt,
    start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

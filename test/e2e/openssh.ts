/**
 * A real OpenSSH server for the end-to-end tests: `/usr/sbin/sshd` (Debian `openssh-server`) on a free
 * loopback port, with its own ed25519 host key, its own sshd_config, pid file and authorized keys in a
 * temporary folder, and SFTP served by `internal-sftp`.
 *
 * The login is a dedicated system user `psdeliver`, created when missing (`useradd -m`) and given a fresh
 * random password on each start (`chpasswd`), so both password and key authentication are exercised. This
 * needs root (sshd's privilege separation needs it anyway); `openSshUnavailable()` says why a run cannot
 * start so the tests can skip with that message.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../flows/runtime';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
export const USER = 'psdeliver';

export interface OpenSshServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** OpenSSH private key (unencrypted) whose public half is in the authorized keys. */
  privateKey: string;
  /** The host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:…`. */
  fingerprint: string;
  /** `MD5:aa:bb:…` from `ssh-keygen -E md5 -lf`. */
  fingerprintMd5: string;
  /** The user's home folder on this machine (the SFTP login folder). */
  home: string;
  /** sshd's log so far (stderr, -e). */
  log(): string;
  /**
   * Stops the server and every session it serves (a transfer in progress breaks off), then starts it again
   * on the same port with the same host key.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why OpenSSH cannot be started here, or undefined when it can. */
export function openSshUnavailable(): string | undefined {
  if (!existsSync(SSHD)) {
    return `${SSHD} is missing: install Debian's openssh-server (apt-get install -y openssh-server), as .ci/run does`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'sshd and the test user need root; run the end-to-end tests as root (as CI does)';
  }
  return undefined;
}


async function ensureUser(password: string): Promise<string> {
  try {
    await run('id', ['-u', USER]);
  } catch {
    await run('useradd', ['-m', '-s', '/bin/sh', USER]);
  }
  await new Promise<void>((resolve, reject) => {
    const child = execFile('chpasswd', (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(`${USER}:${password}\n`);
  });
  const { stdout } = await run('getent', ['passwd', USER]);
  return stdout.trim().split(':')[5];
}

/** The processes below `pid` (Linux: from /proc), deepest last. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // the command may hold spaces and parentheses: the parent pid is the second field after the last ")"
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number): void => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      visit(c);
    }
  };
  visit(pid);
  return out;
}

function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`sshd exited with ${child.exitCode}`));
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.once('data', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`sshd did not listen on ${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startOpenSsh(): Promise<OpenSshServer> {
  const why = openSshUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'ps-sshd-'));
  // sshd reads the authorized keys as the user: the folder must be readable by it.
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKey = join(dir, 'client_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-client', '-f', clientKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  chmodSync(join(dir, 'authorized_keys'), 0o644);
  const fingerprint = (await run('ssh-keygen', ['-lf', `${hostKey}.pub`])).stdout.split(/\s+/)[1];
  const fingerprintMd5 = (await run('ssh-keygen', ['-E', 'md5', '-lf', `${hostKey}.pub`])).stdout.split(/\s+/)[1];

  const password = randomBytes(12).toString('base64url');
  const home = await ensureUser(password);
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin no',
      `AllowUsers ${USER}`,
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  await run(SSHD, ['-t', '-f', config]);
  let log = '';
  const launch = (): ChildProcess => {
    const c = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.setEncoding('utf8').on('data', (d: string) => {
      log += d;
    });
    return c;
  };
  let child = launch();
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    host: '127.0.0.1',
    port,
    user: USER,
    password,
    privateKey: readFileSync(clientKey, 'utf8'),
    fingerprint,
    fingerprintMd5,
    home,
    log: () => log,
    async restart() {
      for (const pid of descendants(child.pid as number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended meanwhile
        }
      }
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      child = launch();
      await waitForPort(port, child, 10_000);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real Node-RED runtime in a child process, with this package installed in its user directory the way
 * the palette manager installs it (a package under node_modules), for tests that need the whole runtime:
 * admin API, credential storage, context stores, core nodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface RuntimeOptions {
  /** Extra environment for the runtime (e.g. PHOTOSHELTER_* variables). */
  env?: Record<string, string>;
  /** settings.js contextStorage; default: a persistent file store. */
  contextStorage?: Record<string, unknown>;
  /** Reuse a user directory (a restart, or one the caller prepared: then nothing is linked into it). */
  userDir?: string;
  /** The node executable (default: this one). */
  node?: string;
  /** Node-RED's red.js (default: the one in this repository's devDependencies). */
  redJs?: string;
  /** The port to listen on (default: a free one); see freePort() for flows that must know it beforehand. */
  port?: number;
  /** More settings.js entries (JSON values only), e.g. adminAuth. */
  settings?: Record<string, unknown>;
}

export interface Runtime {
  url: string;
  userDir: string;
  /** Everything the runtime printed. */
  output(): string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }>;
  deploy(flows: unknown[], type?: 'full' | 'nodes' | 'flows'): Promise<void>;
  stop(): Promise<void>;
  /** Stop, keeping the user directory for a restart. */
  halt(): Promise<void>;
  /** Kill -9: no close handlers, no context flush; the user directory is kept. */
  crash(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export async function startRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  const userDir = opts.userDir ?? mkdtempSync(join(tmpdir(), 'ps-nodered-'));
  if (!opts.userDir) {
    mkdirSync(join(userDir, 'node_modules', '@shelterflow'), { recursive: true });
    symlinkSync(ROOT, join(userDir, 'node_modules', '@shelterflow', 'node-red-photoshelter'), 'dir');
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'ps-test-userdir', private: true, dependencies: { '@shelterflow/node-red-photoshelter': '*' } }));
  }
  const port = opts.port ?? (await freePort());
  const contextStorage = opts.contextStorage ?? { default: { module: 'localfilesystem', config: { flushInterval: 1 } } };
  writeFileSync(
    join(userDir, 'settings.js'),
    `module.exports = ${JSON.stringify({
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: 'test-secret-for-flows',
      contextStorage,
      logging: { console: { level: 'info', metrics: false, audit: false } },
      editorTheme: { tours: false, projects: { enabled: false } },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      ...opts.settings,
    })};\n`,
  );
  // PS_TEST_NODE / PS_TEST_RED_JS run the whole suite on another Node.js and Node-RED (scripts/flows-on-node-red-5.mjs)
  const red = opts.redJs ?? process.env.PS_TEST_RED_JS ?? join(ROOT, 'node_modules', 'node-red', 'red.js');
  const child: ChildProcess = spawn(opts.node ?? process.env.PS_TEST_NODE ?? process.execPath, [red, '--userDir', userDir, '--settings', join(userDir, 'settings.js')], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited early:\n${out}`);
    if (/Started flows|Starting flows/.test(out)) {
      try {
        const res = await fetch(`${url}/settings`);
        // with adminAuth the settings ask for a token: the runtime answers, so it is up
        if (res.ok || res.status === 401) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const admin = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'Node-RED-API-Version': 'v1', 'Node-RED-Deployment-Type': 'full' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T, text };
  };
  const halt = async () => {
    // a runtime killed by a signal has no exit code, only a signal code
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url,
    userDir,
    output: () => out,
    admin,
    /** Deploy, and resolve once the runtime has started the new flows. */
    async deploy(flows, type = 'full') {
      const started = () => out.split('Started flows').length;
      const before = started();
      const res = await fetch(`${url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v1', 'Node-RED-Deployment-Type': type },
        body: JSON.stringify(flows),
      });
      if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
      const deadline = Date.now() + 30_000;
      while (started() === before) {
        if (Date.now() > deadline) throw new Error(`the deployed flows did not start:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    halt,
    async crash() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await halt();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/**
 * After a change in the simulator: move its clock on (so that the change is older than a poll's settling
 * time), wait a second, then ask each trigger to poll, twice: the client learns the simulator's new time
 * from the first answer. Every poll must succeed.
 */
export async function pollAfterChange(sim: { control: { clock(seconds: number): Promise<unknown> } }, red: Runtime, triggers: string[]): Promise<void> {
  await sim.control.clock(3);
  await new Promise((r) => setTimeout(r, 1100));
  for (let round = 0; round < 2; round++) {
    for (const id of triggers) {
      const res = await red.admin('POST', `/photoshelter/trigger/${id}/poll`);
      if (res.status !== 200) throw new Error(`polling ${id} answered ${res.status}: ${res.text}`);
    }
  }
}

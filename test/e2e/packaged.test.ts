// The package as users install it: `npm pack` (which runs the build), install the tarball into a fresh
// project, run the installed simulator binary, and use the installed client against it from plain
// JavaScript — no TypeScript, no repository files on the way.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const PACKAGE = '@shelterflow/node-red-photoshelter';
const SIM = {
  apiKey: 'TESTKEY0001',
  email: 'e2e@example.com',
  password: 'e2e-password',
  orgId: 'O0000E2E_TEST001',
  assets: 50,
};

/** Runs in the installed project with plain `node`: list the library, download one medium, report. */
const CHECK_SCRIPT = `
const { PhotoShelterClient } = require(${JSON.stringify(PACKAGE)});
const { Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const [baseUrl, apiKey, email, password, orgId, pick] = process.argv.slice(2);
(async () => {
  const client = new PhotoShelterClient({ baseUrl, apiKey, auth: { mode: 'session', email, password, orgId } });
  try {
    const media = [];
    for await (const m of client.searchMedia({ orgId }, { perPage: 20 })) media.push({ id: m.id, fileName: m.attributes && m.attributes.file_name });
    const library = [];
    for await (const c of client.library()) library.push({ id: c.id, type: c.type });
    const id = pick || media[0].id;
    const stream = await client.download(id, { fileType: 'original' });
    let bytes = 0;
    await pipeline(stream, new Writable({ write(chunk, _enc, cb) { bytes += chunk.length; cb(); } }));
    console.log(JSON.stringify({
      resolved: require.resolve(${JSON.stringify(PACKAGE)}),
      undici: require.resolve('undici', { paths: [require.resolve(${JSON.stringify(PACKAGE)})] }),
      media, library, id, bytes, contentLength: stream.contentLength, fileName: stream.fileName,
    }));
  } finally {
    await client.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

interface CheckResult {
  resolved: string;
  undici: string;
  media: Array<{ id: string; fileName?: string }>;
  library: Array<{ id: string; type: string }>;
  id: string;
  bytes: number;
  contentLength?: number;
  fileName?: string;
}

interface MediaTruth {
  id: string;
  file_name: string;
  file_size: number;
}

/** Starts the installed photoshelter-sim; resolves with the addresses it prints. */
function startInstalledSim(project: string): Promise<{ child: ChildProcess; baseUrl: string; controlUrl: string }> {
  const bin = join(project, 'node_modules', '.bin', 'photoshelter-sim');
  const args = ['--port', '0', '--assets', String(SIM.assets), '--api-key', SIM.apiKey, '--email', SIM.email, '--password', SIM.password, '--org-id', SIM.orgId];
  const child = spawn(bin, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`photoshelter-sim printed no base URL within 60 s:\n${out}\n${err}`)), 60_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const base = /base URL\s+(\S+)/.exec(out);
      const control = /control API\s+(\S+)/.exec(out);
      if (base && control) {
        clearTimeout(timer);
        resolvePromise({ child, baseUrl: base[1], controlUrl: control[1].replace(/\/?$/, '/') });
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`photoshelter-sim exited with ${code}:\n${out}\n${err}`)));
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(hard);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return (await res.json()) as T;
}

describe('e2e: the packed package, installed into a fresh project', function () {
  const temps: string[] = [];
  let tarball: string;
  let project: string;
  let sim: { child: ChildProcess; baseUrl: string; controlUrl: string } | undefined;

  before(async function () {
    const packDir = mkdtempSync(join(tmpdir(), 'ps-pack-'));
    temps.push(packDir);
    // `npm pack` runs the prepare script (the build) before packing
    await run('npm', ['pack', '--pack-destination', packDir], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    assert.equal(tgz.length, 1, `one tarball in ${packDir}: ${tgz.join(', ')}`);
    tarball = join(packDir, tgz[0]);

    project = mkdtempSync(join(tmpdir(), 'ps-project-'));
    temps.push(project);
    await run('npm', ['init', '-y'], { cwd: project });
    await run('npm', ['install', tarball, '--no-audit', '--no-fund'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  });

  after(async function () {
    await stopChild(sim?.child);
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the built code, the editor files and the bin, and no sources or tests', async function () {
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
    const files = stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/package.json',
      'package/dist/photoshelter/index.js',
      'package/dist/photoshelter/index.d.ts',
      'package/dist/simulator/cli.js',
      'package/dist/nodes/photoshelter-account.js',
      'package/dist/nodes/photoshelter-account.html',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    const stray = files.filter((f) => /^package\/(src|test|bench|scripts|node_modules)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(stray, [], 'no sources, tests, benchmarks or dependencies in the tarball');
  });

  it('runs the installed photoshelter-sim binary and prints where it listens', async function () {
    sim = await startInstalledSim(project);
    assert.match(sim.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/psapi\/v4\.0$/);
    const state = await getJson<{ media: number; orgId: string }>(`${sim.controlUrl}state`);
    assert.equal(state.media, SIM.assets);
    assert.equal(state.orgId, SIM.orgId);
  });

  it('lists the library and downloads one medium with the installed client, byte for byte', async function () {
    if (!sim) this.skip();
    const running = sim as NonNullable<typeof sim>;
    writeFileSync(join(project, 'check.js'), CHECK_SCRIPT);
    const { stdout } = await run(process.execPath, ['check.js', running.baseUrl, SIM.apiKey, SIM.email, SIM.password, SIM.orgId], {
      cwd: project,
      maxBuffer: 16 * 1024 * 1024,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop() as string) as CheckResult;

    // the code that ran is the installed copy, with its own dependencies
    const installed = join(project, 'node_modules');
    assert.ok(r.resolved.startsWith(installed + '/'), `the package resolved to ${r.resolved}`);
    assert.ok(r.undici.startsWith(installed + '/'), `undici resolved to ${r.undici}`);

    const { ids } = await getJson<{ ids: string[] }>(`${running.controlUrl}media`);
    assert.equal(r.media.length, SIM.assets, 'every medium listed');
    assert.deepEqual(r.media.map((m) => m.id).sort(), [...ids].sort());
    assert.ok(r.library.length > 0, 'the library has top-level containers');
    assert.ok(r.library.every((c) => c.type === 'collection' || c.type === 'gallery'), JSON.stringify(r.library.slice(0, 3)));

    const truth = await getJson<MediaTruth>(`${running.controlUrl}media/${encodeURIComponent(r.id)}`);
    assert.ok(truth.file_size > 0);
    assert.equal(r.bytes, truth.file_size, 'downloaded bytes = the simulator file_size');
    assert.equal(r.contentLength, truth.file_size);
    assert.equal(r.fileName, truth.file_name);
  });
});

/**
 * `npm start` as a user runs it: the demo script starts the simulator, the agency SFTP stand-in and
 * Node-RED with every example deployed; what it prints works; Ctrl-C stops everything; a second start
 * keeps the state of the first.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');

interface Demo {
  child: ChildProcess;
  out: () => string;
  editor: string;
  sim: string;
}

async function startDemo(dir: string): Promise<Demo> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'demo.mjs')], {
    env: { ...process.env, PHOTOSHELTER_DEMO_DIR: dir, DEMO_VERBOSE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /Ctrl-C stops everything/.test(out) || child.exitCode !== null, 'the demo to say it is running', 120_000);
  assert.equal(child.exitCode, null, out);
  const editor = /Node-RED editor\s+(http:\/\/\S+?)\/?\s/.exec(out)?.[1] as string;
  const sim = /simulated PhotoShelter\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] as string;
  assert.ok(editor && sim, out);
  return { child, out: () => out, editor, sim };
}

async function stop(demo: Demo): Promise<number | null> {
  const exited = new Promise<number | null>((r) => demo.child.once('exit', (code) => r(code)));
  demo.child.kill('SIGINT');
  const timer = setTimeout(() => demo.child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

describe('npm start: the demo', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'ps-demo-'));
  let demo: Demo | undefined;
  after(async () => {
    if (demo && demo.child.exitCode === null) await stop(demo);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with every example deployed, no error, and says what to try', async () => {
    demo = await startDemo(dir);
    const flows = (await (await fetch(`${demo.editor}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).json()) as Array<{ type: string; label?: string }>;
    const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.json'));
    assert.equal(flows.filter((n) => n.type === 'tab').length, examples.length, 'one tab per example');
    await new Promise((r) => setTimeout(r, 2000));
    assert.doesNotMatch(demo.out(), /\[error\]/, demo.out().slice(-3000));
    assert.match(demo.out(), /curl -s -X PATCH/);
  });

  let approved = '';
  it('the printed approval command lands the file in the folder and in the stand-in CMS', async () => {
    const d = demo as Demo;
    const cmd = /curl -s -X PATCH (\S+) -H 'content-type: application\/json' \\\s*-d '([^']+)'/.exec(d.out());
    assert.ok(cmd, 'an approval command is printed');
    approved = cmd[1].split('/').pop() as string;
    const res = await fetch(cmd[1], { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: cmd[2] });
    assert.equal(res.status, 200);
    await fetch(`${d.sim}/__sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceSeconds: 3 }) });
    const folder = join(dir, 'out', 'local-folder');
    const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };
    const inCms = async () => ((await (await fetch(`${d.editor}/demo-cms/wp/v2/media?slug=ps-${approved.toLowerCase()}`, { headers: auth })).json()) as unknown[]).length;
    await waitFor(async () => {
      await fetch(`${d.editor}/photoshelter/trigger/demo.approved/poll`, { method: 'POST' });
      await fetch(`${d.editor}/photoshelter/trigger/job1.approved/poll`, { method: 'POST' });
      await new Promise((r) => setTimeout(r, 1200));
      return existsSync(folder) && readdirSync(folder).some((f) => f.startsWith(approved)) && (await inCms()) === 1;
    }, 'the approved original in .demo/out/local-folder and in the stand-in CMS', 90_000);
  });

  it('Ctrl-C stops everything; a second start keeps the flows, the ledgers and the files', async () => {
    const first = demo as Demo;
    assert.equal(await stop(first), 0, first.out().slice(-2000));
    const flowsFile = readFileSync(join(dir, 'node-red', 'flows.json'), 'utf8');
    demo = await startDemo(dir);
    assert.equal(readFileSync(join(dir, 'node-red', 'flows.json'), 'utf8'), flowsFile, 'the flows are not deployed again');
    assert.ok(readdirSync(join(dir, 'out', 'local-folder')).some((f) => f.startsWith(approved)));
    const d = demo;
    const truth = (await (await fetch(`${d.sim}/__sim/media/${approved}`)).json()) as { custom: Record<string, string> };
    assert.equal(truth.custom['Approval Status'], 'Approved', 'the simulated library kept the approval');
    const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };
    await fetch(`${d.editor}/photoshelter/trigger/job1.approved/poll`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 2000));
    const items = (await (await fetch(`${d.editor}/demo-cms/wp/v2/media`, { headers: auth })).json()) as Array<{ slug: string }>;
    assert.equal(items.filter((i) => i.slug === `ps-${approved.toLowerCase()}`).length, 1, 'the stand-in CMS kept its item, and nothing was uploaded twice');
    assert.equal(await stop(d), 0);
  });
});

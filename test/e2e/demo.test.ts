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
import { filesUnder } from '../helpers/files';
import { launch } from './editor/browser';
import { waitFor } from '../helpers/wait';
import { debugTap } from '../helpers/debug-tap';

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
  let fileName = '';

  it('step 1: the printed approval lands the file in the folder, the stand-in CMS and on the agency SFTP server', async () => {
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
    fileName = ((await (await fetch(`${d.sim}/__sim/media/${approved}`)).json()) as { file_name: string }).file_name;
    const onSftp = () => filesUnder(join(dir, 'agency-sftp')).filter((f) => f.endsWith(fileName) || f.endsWith(`${fileName}.json`)).length;
    await waitFor(async () => {
      for (const t of ['demo.approved', 'job1.approved', 'job3.approved']) await fetch(`${d.editor}/photoshelter/trigger/${t}/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await new Promise((r) => setTimeout(r, 1200));
      return existsSync(folder) && readdirSync(folder).some((f) => f.startsWith(approved)) && (await inCms()) === 1 && onSftp() === 2;
    }, 'the approved original in .demo/out/local-folder, in the stand-in CMS and on the SFTP server with its sidecar', 90_000);
  });

  it('the printed delivery overview (example 7) counts the approval of step 1 among today\'s deliveries', async () => {
    const d = demo as Demo;
    const url = /delivery overview\s+(\S+)/.exec(d.out())?.[1] as string;
    assert.equal(url, `${d.editor}/photoshelter/overview`);
    const audit = join(dir, 'out', 'audit', 'deliveries.csv');
    await waitFor(async () => {
      await fetch(`${d.editor}/photoshelter/trigger/job7.approved/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await new Promise((r) => setTimeout(r, 1200));
      return existsSync(audit) && readFileSync(audit, 'utf8').includes(`,${approved},`);
    }, 'the approval of step 1 in the audit log', 60_000);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const html = await res.text();
    const today = new Date().toISOString().slice(0, 10);
    assert.match(html, new RegExp(`data-day="${today}" data-destination="audited folder" data-count="[1-9]`), 'a bar for today\'s delivery');
    assert.doesNotMatch(html, /(src|href)="https?:/, 'nothing loaded from elsewhere');
  });

  it('step 2: the printed metadata call, with its key, writes what changed; without the key nothing is written', async () => {
    const d = demo as Demo;
    const cmd = /curl -s -X POST (\S+\/photoshelter\/metadata) -H 'authorization: Bearer ([0-9a-f]{64})' -H 'content-type: application\/json' \\\s*-d '([^']+)'/.exec(d.out());
    assert.ok(cmd, 'a metadata command with its key is printed');
    const body = JSON.parse(cmd[3]) as { id: string; campaign: string };
    const refused = await fetch(cmd[1], { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, campaign: 'Hijacked' }) });
    assert.equal(refused.status, 401);
    const res = await fetch(cmd[1], { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${cmd[2]}` }, body: cmd[3] });
    assert.equal(res.status, 200, await res.clone().text());
    const truth = (await (await fetch(`${d.sim}/__sim/media/${body.id}`)).json()) as { custom: Record<string, string> };
    assert.equal(truth.custom.Campaign, body.campaign);
  });

  it('step 3, twice: each printed upload starts Pending and gets a review task on the review page; its Approve button (with the key the printed address gives the page) and the printed decision (with the key) decide the task just created', async () => {
    const d = demo as Demo;
    const upload = /curl -s -X POST (\S+\/__sim\/media) -H 'content-type: application\/json' -d '([^']+)'/.exec(d.out());
    const decide = /curl -s -X POST (\S+\/demo-review\/tasks\/latest\/decide) -H 'authorization: Bearer ([0-9a-f]{64})' -H 'content-type: application\/json' -d '([^']+)'/.exec(d.out());
    assert.ok(upload && decide, 'an upload and a decision with its key are printed');
    const page = /stand-in review tool\s+(\S+)/.exec(d.out())?.[1] as string;
    assert.equal(page, `${d.editor}/demo-review/#key=${decide[2]}`, 'the page address carries the key after #');
    // without the key, nothing is decided
    const refused = await fetch(decide[1], { method: 'POST', headers: { 'content-type': 'application/json' }, body: decide[3] });
    assert.equal(refused.status, 401);
    for (let round = 1; round <= 2; round++) {
      const res: Response = await fetch(upload[1], { method: 'POST', headers: { 'content-type': 'application/json' }, body: upload[2] });
      assert.equal(res.status, 201, await res.clone().text());
      const { id } = (await res.json()) as { id: string };
      assert.equal(((await (await fetch(`${d.sim}/__sim/media/${id}`)).json()) as { custom: Record<string, string> }).custom['Approval Status'], 'Pending', 'a new upload starts Pending');
      await fetch(`${d.sim}/__sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceSeconds: 3 }) });
      type Task = { id: string; assetId: string; status: string };
      const tasks = async () => (await (await fetch(`${d.editor}/demo-review/tasks`)).json()) as Task[];
      await waitFor(async () => {
        await fetch(`${d.editor}/photoshelter/trigger/job4.added/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return (await tasks()).some((t) => t.assetId === id && t.status === 'open');
      }, `a review task for upload ${round}`, 60_000);
      const html = await (await fetch(page)).text();
      const task = (await tasks()).find((t) => t.assetId === id) as Task;
      assert.match(html, new RegExp(`data-task="${task.id}" data-decision="approved">Approve</button>`), 'the page has Approve for the task');
      assert.match(html, new RegExp(`data-task="${task.id}" data-decision="rejected">Reject</button>`), 'and Reject');
      assert.ok(!html.includes(decide[2]), 'the page itself does not hold the key');
      if (round === 1) {
        // a reviewer opens the printed address in a browser and presses Approve
        const browser = await launch();
        try {
          const alerts: string[] = [];
          browser.page.on('dialog', (dialog) => {
            alerts.push(dialog.message());
            void dialog.dismiss();
          });
          await browser.page.goto(page);
          assert.equal(new URL(browser.page.url()).hash, '', 'the key leaves the address bar');
          await browser.page.click(`button[data-task="${task.id}"][data-decision="approved"]`);
          await waitFor(async () => (await tasks()).find((t) => t.id === task.id)?.status === 'approved', 'the task decided from the page', 60_000);
          assert.deepEqual(alerts, [], 'the approval flow took the decision');
        } finally {
          await browser.close();
        }
      } else {
        const decided = await fetch(decide[1], { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${decide[2]}` }, body: decide[3] });
        const answer = (await decided.json()) as { task: string; callback: { status: number } };
        assert.equal(answer.task, task.id, 'the task just created is decided');
        assert.equal(answer.callback.status, 200, JSON.stringify(answer));
      }
      const truth = (await (await fetch(`${d.sim}/__sim/media/${id}`)).json()) as { custom: Record<string, string> };
      assert.equal(truth.custom['Approval Status'], 'Approved');
      // released: the delivery flows see the approval (here, the stand-in CMS gets it)
      await fetch(`${d.sim}/__sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceSeconds: 3 }) });
      const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };
      await waitFor(async () => {
        for (const t of ['demo.approved', 'job1.approved', 'job3.approved']) await fetch(`${d.editor}/photoshelter/trigger/${t}/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        await new Promise((r) => setTimeout(r, 1200));
        return ((await (await fetch(`${d.editor}/demo-cms/wp/v2/media?slug=ps-${id.toLowerCase()}`, { headers: auth })).json()) as unknown[]).length === 1;
      }, `upload ${round} released to the stand-in CMS`, 90_000);
    }
  });

  it('prints where Node-RED\'s log is, and the editor asks no first-run question', async () => {
    const d = demo as Demo;
    const logFile = /Node-RED's log\s+(\S+)/.exec(d.out())?.[1] as string;
    assert.equal(logFile, join(dir, 'node-red.log'));
    assert.match(readFileSync(logFile, 'utf8'), /Started flows/);
    const settings = (await (await fetch(`${d.editor}/settings`)).json()) as { telemetryEnabled?: boolean };
    assert.equal(settings.telemetryEnabled, false, 'decided: the editor does not ask about update notifications');
  });

  it('step 4: an expired licence and the printed sweep command remove it from the CMS and the SFTP server, with a notification', async () => {
    const d = demo as Demo;
    const cmds = [...d.out().matchAll(/curl -s -X (PATCH|POST) (\S+) -H 'content-type: application\/json' -d '([^']+)'/g)];
    const expire = cmds.find((c) => c[3].includes('License Expiration Date'));
    assert.ok(expire, 'an expiry command is printed');
    assert.equal((await fetch(expire[2], { method: expire[1], headers: { 'content-type': 'application/json' }, body: expire[3] })).status, 200);
    const sweep = /curl -s -X POST (\S+\/inject\/\S+)/.exec(d.out());
    assert.ok(sweep, 'a sweep command is printed');
    assert.equal((await fetch(sweep[1], { method: 'POST' })).status, 200);
    const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };
    await waitFor(async () => {
      const items = (await (await fetch(`${d.editor}/demo-cms/wp/v2/media?slug=ps-${approved.toLowerCase()}`, { headers: auth })).json()) as unknown[];
      const left = filesUnder(join(dir, 'agency-sftp')).filter((f) => f.endsWith(fileName) || f.endsWith(`${fileName}.json`));
      return items.length === 0 && left.length === 0;
    }, 'the expired asset gone from the CMS and the SFTP server', 120_000);
    await waitFor(async () => JSON.stringify(await (await fetch(`${d.editor}/demo-cms/notifications`)).json()).includes(approved), 'a notification naming it', 60_000);
  });

  it('Ctrl-C stops everything; a second start keeps the flows, the simulated library, the ledgers and the files', async () => {
    const first = demo as Demo;
    assert.equal(await stop(first), 0, first.out().slice(-2000));
    const flowsFile = readFileSync(join(dir, 'node-red', 'flows.json'), 'utf8');
    demo = await startDemo(dir);
    const d = demo;
    assert.equal(readFileSync(join(dir, 'node-red', 'flows.json'), 'utf8'), flowsFile, 'the flows are not deployed again');
    assert.ok(readdirSync(join(dir, 'out', 'local-folder')).some((f) => f.startsWith(approved)), 'delivered files stay');
    const truth = (await (await fetch(`${d.sim}/__sim/media/${approved}`)).json()) as { custom: Record<string, string> };
    assert.equal(truth.custom['Approval Status'], 'Approved', 'the simulated library kept the approval');
    assert.equal(truth.custom['License Expiration Date'], '2020-01-01', 'and the expiry');
    const notes = (await (await fetch(`${d.editor}/demo-cms/notifications`)).json()) as unknown[];
    assert.ok(notes.length >= 1, 'the stand-in CMS kept its notifications');
    // polled again after the restart, nothing is delivered a second time
    // examples 1, 3 and 5 share the ledger named "examples"
    const ledger = () => readFileSync(join(dir, 'node-red', 'photoshelter', 'deliveries', 'named', 'examples.jsonl'), 'utf8');
    const before = ledger();
    const tap = await debugTap(d.editor);
    try {
      for (const t of ['job1.approved', 'job3.approved']) {
        // the trigger's status after the poll says what it emitted: nothing
        await waitFor(() => tap.polls(t).length >= 1, `the status of ${t}'s first poll`, 60_000);
        const polled = tap.polls(t).length;
        await fetch(`${d.editor}/photoshelter/trigger/${t}/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        await waitFor(() => tap.polls(t).length > polled, `the status of ${t}'s poll`);
        assert.deepEqual(tap.polls(t), tap.polls(t).map(() => 0), `${t} emitted nothing after the restart`);
      }
    } finally {
      tap.close();
    }
    assert.equal(ledger(), before, 'no new delivery to the CMS');
    const auth = { authorization: `Basic ${Buffer.from('demo:demo-app-password').toString('base64')}` };
    const items = (await (await fetch(`${d.editor}/demo-cms/wp/v2/media?slug=ps-${approved.toLowerCase()}`, { headers: auth })).json()) as unknown[];
    assert.equal(items.length, 0, 'the removed item is not uploaded again');
    assert.equal(await stop(d), 0);
  });
});

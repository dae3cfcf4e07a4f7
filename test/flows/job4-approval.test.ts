import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startSim, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { freePort, startRuntime, type Runtime, pollAfterChange } from './runtime';
import { debugTap, type DebugTap } from '../helpers/debug-tap';

const FLOW = join(__dirname, '..', '..', 'examples', '4 Approval workflow with a review tool.json');

interface Task {
  id: string;
  status: string;
  assetId: string;
  fileName: string;
  title: string;
  caption: string;
  previewUrl: string | null;
  callbackUrl: string;
}

/** The key of the review callback (and of the stand-in tool's decide endpoint), as the demo sets one. */
const REVIEW_CALLBACK_KEY = 'job4-test-review-key-0123456789abcdef';

describe('example 4, approval workflow with a review tool, as shipped in a real runtime', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;

  const poll = () => red.admin('POST', '/photoshelter/trigger/job4.added/poll');
  const settleAndPoll = () => pollAfterChange(sim, red, ['job4.added']);
  const tasks = async (): Promise<Task[]> => (await (await fetch(`${red.url}/demo-review/tasks`)).json()) as Task[];
  const post = async (path: string, body: unknown, key = REVIEW_CALLBACK_KEY) => {
    const res = await fetch(`${red.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const writes = async () => (await sim.control.requests()).filter((r) => r.method !== 'GET' && r.path.includes('/media/'));

  before(async () => {
    // seed 1 is the library the flow's REVIEW_SCOPE default names; it is left unset here, so the default is used
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    const port = await freePort();
    red = await startRuntime({
      port,
      env: {
        ...photoshelterEnv(sim),
        REVIEW_TOOL_URL: `http://127.0.0.1:${port}/demo-review/tasks`,
        REVIEW_CALLBACK_URL: `http://127.0.0.1:${port}/photoshelter/review-decision`,
        REVIEW_CALLBACK_KEY,
      },
    });
    await red.deploy(JSON.parse(readFileSync(FLOW, 'utf8')) as unknown[]);
    tap = await debugTap(red.url);
    // the first poll records where "now" is; uploads after it are new
    assert.equal((await poll()).status, 200);
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
  });

  it('deploys without an error', () => {
    assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
  });

  let first: string;
  it('a new upload creates exactly one review task, with the asset, a preview link and the callback', async () => {
    const galleries = (await sim.control.state()).galleries;
    await sim.control.clock(2);
    first = await sim.control.addMedia({
      galleryId: galleries[0].id,
      fileName: 'review me.jpg',
      iptc: { headline: 'Review me', caption: 'A new upload waiting for a decision' },
      custom: { 'Approval Status': 'Pending' },
    });
    await settleAndPoll();
    await waitFor(async () => (await tasks()).length >= 1, 'the review task at the stand-in tool');
    // placed in a second gallery and polled again: still one task
    await sim.control.patchMedia(first, { galleries: [galleries[0].id, galleries[1].id] });
    await settleAndPoll();
    await settleAndPoll();
    const all = await tasks();
    assert.equal(all.length, 1, JSON.stringify(all));
    const [task] = all;
    assert.equal(task.id, 'T1');
    assert.equal(task.assetId, first);
    assert.equal(task.fileName, 'review me.jpg');
    assert.equal(task.title, 'Review me');
    assert.equal(task.caption, 'A new upload waiting for a decision');
    assert.equal(task.callbackUrl, `${red.url}/photoshelter/review-decision`);
    assert.ok(task.previewUrl, 'a preview link');
    const preview = await fetch(task.previewUrl);
    assert.equal(preview.status, 200);
    assert.match(preview.headers.get('content-type') ?? '', /image\/jpeg/);
    // nothing was decided yet
    assert.equal((await sim.control.media(first)).custom['Approval Status'], 'Pending');
  });

  it('an existing asset placed in a watched gallery that is already approved gets no task', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const approved = truths.find((t) => t.custom['Approval Status'] === 'Approved' && t.id !== first);
    assert.ok(approved);
    const galleries = (await sim.control.state()).galleries;
    const other = galleries.find((g) => !approved.galleries.includes(g.id));
    assert.ok(other);
    const polled = tap.polls('job4.added').length;
    await sim.control.patchMedia(approved.id, { galleries: [...approved.galleries, other.id] });
    // a pending upload after it, through the same trigger and flow: once its task exists, the approved
    // asset, emitted before it, has been through the flow too
    const sentinel = await sim.control.addMedia({ galleryId: galleries[0].id, fileName: 'after the approved one.jpg', custom: { 'Approval Status': 'Pending' } });
    sentinels.push(sentinel);
    await settleAndPoll();
    await waitFor(async () => (await tasks()).some((t) => t.assetId === sentinel), 'the task of the upload that followed');
    assert.deepEqual((await tasks()).map((t) => t.assetId), [first, sentinel]);
    // the trigger's status after each poll counts what it emitted (its messages arrive a moment later)
    const emitted = () => tap.polls('job4.added').slice(polled).reduce((a, b) => a + b, 0);
    await waitFor(() => emitted() >= 2, 'the status of the polls that emitted them');
    assert.equal(emitted(), 2, 'the trigger emitted both: the approved asset and the upload');
  });
  const sentinels: string[] = [];

  it('the decision made in the tool comes back and writes Approval Status = Approved', async () => {
    const res = await post('/demo-review/tasks/T1/decide', { decision: 'approved', reviewer: 'Dana', comment: 'Fine for the campaign' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const callback = res.json.callback as { status: number; body: Record<string, unknown> };
    assert.equal(callback.status, 200);
    assert.equal(callback.body.id, first);
    assert.equal(callback.body.approvalStatus, 'Approved');
    assert.equal(callback.body.changed, true);
    assert.deepEqual(callback.body.fields, { 'Approval Status': { before: 'Pending', after: 'Approved' } });
    assert.equal(callback.body.reviewer, 'Dana');
    assert.equal(callback.body.taskId, 'T1');
    assert.equal((await sim.control.media(first)).custom['Approval Status'], 'Approved');
    const [task] = await tasks();
    assert.equal(task.status, 'approved');
  });

  let second: string;
  it('a rejected decision writes Rejected', async () => {
    const galleries = (await sim.control.state()).galleries;
    second = await sim.control.addMedia({ galleryId: galleries[3].id, fileName: 'second.jpg', custom: { 'Approval Status': null } });
    await settleAndPoll();
    await waitFor(async () => (await tasks()).some((t) => t.assetId === second), 'the second task');
    assert.equal((await tasks()).length, 2 + sentinels.length);
    const res = await post('/photoshelter/review-decision', { id: second, decision: 'Rejected', reviewer: 'Sam', comment: 'Logo is cut off' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.approvalStatus, 'Rejected');
    assert.equal(res.json.changed, true);
    const truth = await sim.control.media(second);
    assert.equal(truth.custom['Approval Status'], 'Rejected');
  });

  it('a repeated callback answers 200, changes nothing and writes nothing', async () => {
    await sim.control.clearRequests();
    const res = await post('/photoshelter/review-decision', { id: second, decision: 'rejected', reviewer: 'Sam' });
    assert.equal(res.status, 200);
    assert.equal(res.json.changed, false);
    assert.deepEqual(await writes(), []);
  });

  it('bad callbacks get a 400 with the reason and write nothing', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const untasked = truths.find((t) => t.custom['Approval Status'] === 'Pending' && t.id !== first && t.id !== second);
    assert.ok(untasked);
    await sim.control.clearRequests();
    const unknown = await post('/photoshelter/review-decision', { id: untasked.id, decision: 'approved', reviewer: 'Mallory' });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.json.error), /No review task was sent for/);
    const badDecision = await post('/photoshelter/review-decision', { id: first, decision: 'maybe' });
    assert.equal(badDecision.status, 400);
    assert.match(String(badDecision.json.error), /"decision" must be "approved" or "rejected"/);
    const badId = await post('/photoshelter/review-decision', { id: 'not-an-id', decision: 'approved' });
    assert.equal(badId.status, 400);
    assert.match(String(badId.json.error), /media id/);
    const noBody = await post('/photoshelter/review-decision', []);
    assert.equal(noBody.status, 400);
    assert.deepEqual(await writes(), [], 'nothing was written to PhotoShelter');
    assert.equal((await sim.control.media(untasked.id)).custom['Approval Status'], 'Pending');
    assert.equal((await sim.control.media(first)).custom['Approval Status'], 'Approved');
    // a bad decision through the stand-in tool is relayed with the flow's 400
    const viaTool = await post('/demo-review/tasks/T1/decide', { decision: 'perhaps' });
    assert.equal(viaTool.status, 400);
    assert.equal((viaTool.json.callback as { status: number }).status, 400);
    assert.deepEqual(await writes(), []);
  });

  it('a callback or a decision without the key gets 401 and writes nothing', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const pending = truths.find((t) => t.custom['Approval Status'] === 'Pending') as { id: string };
    await sim.control.clearRequests();
    for (const key of ['', 'not-the-key', `${REVIEW_CALLBACK_KEY}x`]) {
      const callback = await post('/photoshelter/review-decision', { id: second, decision: 'approved', reviewer: 'Mallory' }, key);
      assert.equal(callback.status, 401, key);
      assert.match(String(callback.json.error), /REVIEW_CALLBACK_KEY/);
      const decide = await post('/demo-review/tasks/T1/decide', { decision: 'approved', reviewer: 'Mallory' }, key);
      assert.equal(decide.status, 401, key);
    }
    // a form post, as any web page could send it
    const form = await fetch(`${red.url}/photoshelter/review-decision`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${pending.id}&decision=approved` });
    assert.equal(form.status, 401);
    assert.deepEqual(await writes(), [], 'nothing was written to PhotoShelter');
    assert.equal((await sim.control.media(second)).custom['Approval Status'], 'Rejected');
  });

  it('the review page lists the tasks with their decisions, holds no key, and may connect only to its own origin', async () => {
    const res = await fetch(`${red.url}/demo-review/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<li class="task approved">.*<b>T1<\/b>/s, 'the approved task');
    assert.ok(!html.includes(REVIEW_CALLBACK_KEY), 'the key is not in the page');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /connect-src 'self'/, 'its script sends decisions (and the key) to this origin only');
    assert.match(csp, /frame-ancestors 'none'/, 'no other page frames it');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    // "latest" decides nothing without the key either
    const before = await tasks();
    assert.equal((await post('/demo-review/tasks/latest/decide', { decision: 'approved' }, '')).status, 401);
    assert.deepEqual(await tasks(), before);
  });
});

describe('example 4 with a review tool that is down at first (a capture server as REVIEW_TOOL_URL)', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let tool: Server;
  let tap: DebugTap;
  const received: Array<{ contentType: string | undefined; body: Record<string, unknown>; answered: number }> = [];
  let failures = 1;

  const poll = () => red.admin('POST', '/photoshelter/trigger/job4.added/poll');

  before(async () => {
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    tool = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const answered = failures-- > 0 ? 503 : 201;
        received.push({ contentType: req.headers['content-type'], body: JSON.parse(text) as Record<string, unknown>, answered });
        res.writeHead(answered, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answered === 201 ? { id: `task-${received.length}` } : { error: 'maintenance' }));
      });
    });
    await new Promise<void>((ok) => tool.listen(0, '127.0.0.1', ok));
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
        REVIEW_SCOPE: 'C0000IrfNDAAAAAB',
        REVIEW_TOOL_URL: `http://127.0.0.1:${(tool.address() as AddressInfo).port}/api/tasks`,
        REVIEW_CALLBACK_URL: 'https://nodered.example.com/photoshelter/review-decision',
        REVIEW_CALLBACK_KEY,
      },
    });
    await red.deploy(JSON.parse(readFileSync(FLOW, 'utf8')) as unknown[]);
    tap = await debugTap(red.url);
    await poll();
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sim?.close();
    await new Promise((r) => tool?.close(r));
  });

  it('tries again until the tool takes the task, then accepts its decision', async () => {
    const state = await sim.control.state();
    // REVIEW_SCOPE is the "Annual Report" collection: a gallery outside it is not watched
    const outside = state.galleries.find((g) => g.parents.length === 0) as { id: string };
    const inside = state.galleries.find((g) => g.parents.includes('C0000IrfNDAAAAAB')) as { id: string };
    await sim.control.clock(2);
    const ignored = await sim.control.addMedia({ galleryId: outside.id, custom: { 'Approval Status': 'Pending' } });
    const id = await sim.control.addMedia({ galleryId: inside.id, fileName: 'campaign.pdf', kind: 'document', custom: { 'Approval Status': 'Pending' } });
    await sim.control.clock(3);
    await new Promise((r) => setTimeout(r, 1100));
    await poll();
    await poll();
    await waitFor(() => received.length >= 1, 'the first attempt');
    assert.equal(received[0].answered, 503);
    await waitFor(() => received.length >= 2, 'the second attempt, 10 s later', 30_000);
    // the flow's own word that the task exists: the retry loop has ended
    await waitFor(() => tap.json<{ assetId?: string }>('job4.taskLog').some((m) => m.assetId === id), '"task created" for the asset');
    assert.equal(received.length, 2, 'no further attempt once the task exists');
    assert.equal(received[1].answered, 201);
    assert.match(received[1].contentType ?? '', /application\/json/);
    assert.deepEqual(received[1].body, received[0].body, 'the same task again');
    const body = received[1].body;
    assert.equal(body.assetId, id);
    assert.notEqual(body.assetId, ignored);
    assert.equal(body.fileName, 'campaign.pdf');
    assert.equal(body.callbackUrl, 'https://nodered.example.com/photoshelter/review-decision');
    assert.equal(body.galleryId, inside.id);
    assert.ok(!('headers' in body) && !('statusCode' in body));
    // the task carries no key: the tool knows it from its own configuration
    assert.ok(!JSON.stringify(body).includes(REVIEW_CALLBACK_KEY), 'the key is not in the task');
    const res = await fetch(`${red.url}/photoshelter/review-decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REVIEW_CALLBACK_KEY}` },
      body: JSON.stringify({ id, decision: 'approved', reviewer: 'Ines' }),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(answer));
    assert.equal(answer.taskId, 'task-2');
    assert.equal((await sim.control.media(id)).custom['Approval Status'], 'Approved');
    assert.equal((await sim.control.media(ignored)).custom['Approval Status'], 'Pending');
  });
});

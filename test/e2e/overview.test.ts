// Example 7's delivery overview in a real browser (Debian's chromium, driven by playwright-core): the page the
// flow serves at GET /photoshelter/overview, after the flow delivered approved photos (one delivery failing)
// and exported its inventory. What the page shows is checked against the audit log and the simulator's
// truth; the page loads nothing but itself. The screenshot the README shows is written into docs/screenshots
// only with UPDATE_SCREENSHOTS=1 (otherwise into a temporary folder).
//
// For the picture, the audit log starts with two weeks of rows written here (four destinations, a few
// failures), as other flows linked to "audit: delivery" would have left them; today's rows are the flow's.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { parseCsv } from '../helpers/files';
import { combineExamples } from '../helpers/examples';
import { photoshelterEnv, startSim, type MediaTruth, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from '../flows/runtime';
import { CHROMIUM, chromiumAvailable, launch, type Browser } from './editor/browser';

const ROOT = resolve(__dirname, '..', '..');
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'ps-e2e-shots-'));
/** INVENTORY_SCOPE's default: "Annual Report" of the seed-1 library. */
const SCOPE = 'C0000IrfNDAAAAAB';
const DAY = 86_400_000;
const HEADER = 'time,assetId,fileName,version,action,destination,location,bytes,sha256,skipped,dryRun,durationMs,error';
const utcDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Thirteen days of audit rows before today, varied but the same on every run. */
function history(assets: MediaTruth[], today: number): string {
  const destinations = ['audited folder', 'agency SFTP', 'WordPress media library', 'APAC library (S3)'];
  const rows: string[] = [];
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed >>> 8) % n;
  };
  for (let back = 13; back >= 1; back--) {
    const weekend = [0, 6].includes(new Date(today - back * DAY).getUTCDay());
    destinations.forEach((dest, d) => {
      const count = weekend ? next(2) : [3, 2, 2, 1][d] + next(4);
      for (let k = 0; k < count; k++) {
        const a = assets[next(assets.length)];
        const at = new Date(today - back * DAY + (8 + next(9)) * 3_600_000 + next(3_600_000)).toISOString();
        rows.push([at, a.id, csvCell(a.file_name), `${a.file_size}`, 'put', dest, csvCell(`/library/${a.file_name}`), String(a.file_size), 'ab'.repeat(32), 'false', 'false', String(100 + next(900)), ''].join(','));
      }
    });
    if (back % 5 === 2) {
      const a = assets[next(assets.length)];
      const at = new Date(today - back * DAY + 11 * 3_600_000).toISOString();
      rows.push([at, a.id, csvCell(a.file_name), `${a.file_size}`, 'put', 'agency SFTP', '', '', '', 'false', 'false', '', '"ENETWORK: connect ECONNREFUSED 198.51.100.7:22 (after 3 attempts)"'].join(','));
    }
  }
  return rows.sort().join('\n') + '\n';
}

describe('e2e: example 7\'s delivery overview page in a real browser (chromium)', function () {
  this.timeout(300_000);
  let sim: SimHandle;
  let red: Runtime;
  let browser: Browser;
  let page: Page;
  let out: string;
  const requests: string[] = [];
  const problems: string[] = [];

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(`    skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      this.skip();
    }
    sim = await startSim({ strict: true, seed: 1, assets: 60 });
    out = mkdtempSync(join(tmpdir(), 'ps-overview-'));
    mkdirSync(join(out, 'audit'));
    const today = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);
    const library = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    writeFileSync(join(out, 'audit', 'deliveries.csv'), `${HEADER}\n${history(library.filter((t) => t.type === 'image'), today)}`);
    red = await startRuntime({ env: { ...photoshelterEnv(sim), PHOTOSHELTER_OUT_DIR: out } });
    await red.deploy(combineExamples(['7 Audit log and metadata inventory.json']));
    // the trigger's first poll records what is approved already
    assert.equal((await red.admin('POST', '/photoshelter/trigger/job7.approved/poll')).status, 200);
    browser = await launch({ width: 1280, height: 900 });
    page = browser.page;
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await sim?.close();
    if (out) rmSync(out, { recursive: true, force: true });
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  });

  const deliveries = () => parseCsv(readFileSync(join(out, 'audit', 'deliveries.csv'), 'utf8')).slice(1);
  let failing: MediaTruth;
  let expected: Array<{ id: string; expires: string }> = [];

  it('the flow delivers approved photos (one fails) and exports its inventory', async () => {
    const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
    const pending = truths.filter((t) => t.custom['Approval Status'] === 'Pending' && t.type === 'image' && t.file_size < 3_000_000).slice(0, 4);
    assert.equal(pending.length, 4);
    failing = pending[3];
    await sim.control.faults({ route: `^/media/${failing.id.replace(/\./g, '\\.')}/download$`, status: 403 });
    for (const t of pending) await sim.control.patchMedia(t.id, { custom: { 'Approval Status': 'Approved' } });
    await pollAfterChange(sim, red, ['job7.approved']);
    const todays = () => deliveries().filter((r) => r[0].startsWith(utcDay(Date.now())));
    await waitFor(() => todays().length >= 4, 'four audit rows of today: three deliveries and a failure', 60_000);
    assert.deepEqual(todays().filter((r) => r[12] !== '').map((r) => r[1]), [failing.id], 'the failure is audited with its error');

    // licences: two within 30 days, one beyond, one past, among the inventory's assets
    const state = await sim.control.state();
    const inTree = new Set([SCOPE]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const c of state.collections) if (c.parent && inTree.has(c.parent) && !inTree.has(c.id)) grew = Boolean(inTree.add(c.id));
    }
    const ids = [...new Set((await Promise.all(state.galleries.filter((g) => g.parents.some((p) => inTree.has(p))).map((g) => sim.control.mediaIds(g.id)))).flat())].sort();
    const inDays = (n: number) => utcDay(Date.now() + n * DAY);
    const set: Array<[number, number]> = [[0, 5], [1, 21], [2, 45], [3, -1]];
    for (const [i, n] of set) await sim.control.patchMedia(ids[i], { custom: { 'License Expiration Date': inDays(n) } });
    const today = utcDay(Date.now());
    const horizon = inDays(30);
    expected = (await Promise.all(ids.map((id) => sim.control.media(id))))
      .map((t) => ({ id: t.id, expires: t.custom['License Expiration Date'] ?? '' }))
      .filter((t) => t.expires >= today && t.expires <= horizon)
      .sort((a, b) => (a.expires < b.expires ? -1 : a.expires > b.expires ? 1 : a.id < b.id ? -1 : 1));
    assert.ok(expected.length >= 2);
    assert.equal((await red.admin('POST', '/inject/job7.inv.now')).status, 200);
    await waitFor(() => /inventory complete/.test(red.output()), 'the inventory', 60_000);
  });

  it('the page shows the deliveries per day and destination, the failures and the licences expiring within 30 days, loading nothing else', async () => {
    const url = `${red.url}/photoshelter/overview`;
    const res = await page.goto(url);
    assert.equal(res?.status(), 200);
    assert.match(String(res?.headers()['content-security-policy']), /default-src 'none'/);

    // deliveries per day and destination: the bars, as the audit log counts them
    const rows = deliveries();
    const from = utcDay(Date.now() - 13 * DAY);
    const delivered = rows.filter((r) => r[0].slice(0, 10) >= from && r[4] === 'put' && r[9] === 'false' && r[10] === 'false' && r[12] === '');
    const count = new Map<string, number>();
    for (const r of delivered) count.set(`${r[0].slice(0, 10)}|${r[5]}`, (count.get(`${r[0].slice(0, 10)}|${r[5]}`) ?? 0) + 1);
    const bars = await page.locator('#deliveries rect.bar').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-day')}|${e.getAttribute('data-destination')}=${e.getAttribute('data-count')}`));
    assert.deepEqual(bars.sort(), [...count].map(([k, n]) => `${k}=${n}`).sort());
    assert.ok(bars.includes(`${utcDay(Date.now())}|audited folder=3`), "today's three deliveries of the flow");
    assert.equal(await page.locator('#total-delivered b').innerText(), String(delivered.length));
    assert.deepEqual((await page.locator('#deliveries .legend .destination').allInnerTexts()).map((t) => t.trim()).sort(), ['APAC library (S3)', 'WordPress media library', 'agency SFTP', 'audited folder'].sort());

    // failures: per day, and the newest with its error
    const failures = rows.filter((r) => r[0].slice(0, 10) >= from && r[12] !== '');
    assert.equal(await page.locator('#total-failed b').innerText(), String(failures.length));
    const failureBars = await page.locator('#failures rect.bar').evaluateAll((els) => els.reduce((s, e) => s + Number(e.getAttribute('data-count')), 0));
    assert.equal(failureBars, failures.length);
    const newest = page.locator('#recent-failures tbody tr').first();
    assert.match(await newest.innerText(), new RegExp(failing.id.replace(/\./g, '\\.')));
    assert.match(await newest.innerText(), /403|EPERM|permission|refused/i);

    // licences expiring within 30 days, by date, from the inventory
    const listed = await page.locator('#expiring-licences tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-asset')));
    assert.deepEqual(listed, expected.map((e) => e.id));
    assert.equal(await page.locator('#total-expiring b').innerText(), String(expected.length));

    assert.deepEqual([...new Set(requests)], [url], 'the page loads nothing but itself');
    assert.deepEqual(problems, []);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true, animations: 'disabled' });
  });
});

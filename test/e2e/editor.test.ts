// The editor experience in a real browser: Debian's chromium (driven by playwright-core) against a real
// Node-RED with this package installed and the PhotoShelter simulator running. It drives the palette, each
// node's edit dialog, the account's connection test, the trigger's collection picker, the examples of
// Import → Examples, deploys, and the trigger's poll-now button; it checks each dialog's layout at a narrow
// tray and a wide one; it takes the screenshots the README shows, and writes them into docs/screenshots
// only when UPDATE_SCREENSHOTS=1 (otherwise into a temporary folder, so that a test run changes no file).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSim, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { startRuntime, type Runtime } from '../flows/runtime';
import { CHROMIUM, chromiumAvailable, launch, ProblemLog, type Browser } from './editor/browser';
import {
  canvasNode,
  closeTrays,
  deploy,
  dragFromPalette,
  editorNode,
  importExample,
  openEditor,
  openNodeDialog,
  paletteNode,
  pressConfigDone,
  pressDone,
  settle,
  showDebug,
  showWorkspace,
  statuses,
} from './editor/nodered';
import type { Page } from 'playwright-core';

const ROOT = resolve(__dirname, '..', '..');
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'ps-e2e-shots-'));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

/** Node types of this package, and which are config nodes (by their editor definition's category). */
const TYPES = Object.keys(PKG['node-red'].nodes);
const CONFIG_TYPES = TYPES.filter((t) => {
  const html = join(ROOT, 'nodes', `${t}.html`);
  return existsSync(html) && /category:\s*['"]config['"]/.test(readFileSync(html, 'utf8'));
});
/** Config nodes of Node-RED's core that examples use (the editor lists config nodes apart from flow nodes). */
const FLOW_TYPES = TYPES.filter((t) => !CONFIG_TYPES.includes(t));

/** The editor files are copied into dist/ by the build: rebuild when dist is missing or older than them. */
function ensureBuilt(): void {
  const stale = TYPES.some((t) => {
    const js = join(ROOT, PKG['node-red'].nodes[t]);
    const html = join(ROOT, 'dist', 'nodes', `${t}.html`);
    if (!existsSync(js) || !existsSync(html)) return true;
    const built = statSync(html).mtimeMs;
    const sources = [join(ROOT, 'nodes', `${t}.html`), join(ROOT, 'nodes', 'locales', 'en-US', `${t}.json`), join(ROOT, 'nodes', 'locales', 'en-US', `${t}.html`)];
    return sources.some((s) => existsSync(s) && statSync(s).mtimeMs > built);
  });
  if (stale) execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

// the editor's passing notifications ("Imported", "Successfully deployed") would cover what a screenshot shows
const NO_TOASTS = '.red-ui-notification { visibility: hidden !important; }';
const shot = async (page: Page, name: string, target?: ReturnType<Page['locator']>): Promise<void> => {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  if (target) await target.screenshot({ path, animations: 'disabled', style: NO_TOASTS });
  else await page.screenshot({ path, animations: 'disabled', style: NO_TOASTS });
};

describe('e2e: the editor in a real browser (chromium)', function () {
  this.timeout(300_000);
  let sim: SimHandle;
  let red: Runtime;
  let browser: Browser;
  let page: Page;
  const problems = new ProblemLog();
  /** Node ids made in the dialogs, by type. */
  const made: Record<string, string> = {};
  let accountId = '';

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(`    skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      this.skip();
    }
    ensureBuilt();
    sim = await startSim({ seed: 1, assets: 40 });
    red = await startRuntime({
      env: {
        ...photoshelterEnv(sim),
      },
    });
    browser = await launch();
    page = browser.page;
    page.setDefaultTimeout(30_000);
    problems.attach(page);
    await openEditor(page, red.url);
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
    await sim?.close();
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  });

  /** Fails with what the page reported about this package's nodes since the last check. */
  const noProblems = (): void => {
    const ours = problems.ours();
    const others = problems.all.filter((p) => !p.ours);
    if (others.length) console.log(`      (the page also reported, not about this package:\n${problems.describe(others)})`);
    problems.all.length = 0;
    assert.deepEqual(ours, [], `the editor page reported problems with this package's nodes:\n${problems.describe(ours)}`);
  };

  afterEach(async () => {
    // a failed step may leave a tray open, which would block the next one
    if (page) await closeTrays(page);
  });

  it('the palette shows a PhotoShelter category with every node of the package', async () => {
    const category = page.locator('#red-ui-palette-container-PhotoShelter');
    await category.waitFor({ state: 'attached' });
    for (const t of FLOW_TYPES) {
      assert.equal(await category.locator(`.red-ui-palette-node[data-palette-type="${t}"]`).count(), 1, `${t} in the PhotoShelter category`);
      const label = (await paletteNode(page, t).locator('.red-ui-palette-label').innerText()).replace(/\s+/g, ' ').trim();
      assert.ok(label.length > 0, `${t} has a palette label`);
      const icon = await paletteNode(page, t).locator('.red-ui-palette-icon').getAttribute('style');
      assert.match(icon ?? '', /icons\/@shelterflow\/node-red-photoshelter\//, `${t} shows the package's own icon`);
    }
    for (const t of CONFIG_TYPES) assert.equal(await paletteNode(page, t).count(), 0, `${t} (a config node) is not in the palette`);
    // only this category open, for the picture
    await page.evaluate(() => {
      document.querySelectorAll('.red-ui-palette-category').forEach((c) => {
        if (c.id !== 'red-ui-palette-container-PhotoShelter' && c.querySelector('.red-ui-palette-header i.expanded')) {
          (c.querySelector('.red-ui-palette-header') as HTMLElement).click();
        }
      });
    });
    await category.scrollIntoViewIfNeeded();
    await settle(page, 500);
    await shot(page, 'palette', page.locator('#red-ui-palette'));
    noProblems();
  });

  it('the trigger dialog opens, creates an account whose Test connection succeeds and fails clearly, and saves', async () => {
    const id = await dragFromPalette(page, 'photoshelter-trigger', 160, 120);
    made['photoshelter-trigger'] = id;
    await openNodeDialog(page, id);
    for (const f of ['name', 'account', 'mode', 'scope', 'interval', 'start', 'maxEvents', 'includeIptc', 'store']) {
      assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `field ${f}`);
    }
    await page.locator('#node-input-mode').selectOption('approved');
    await page.locator('.ps-trigger-rule').first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('#node-input-ruleField').inputValue(), 'Approval Status');
    await page.locator('#node-input-interval').fill('15');

    // a new account, from the trigger's account field
    await page.locator('#node-input-btn-account-add').click();
    const config = page.locator('#node-config-dialog-ok');
    await config.waitFor({ state: 'visible' });
    await page.locator('#node-config-input-baseUrl').waitFor({ state: 'visible' });
    await settle(page);
    await page.locator('#node-config-input-name').fill('Simulated library');
    await page.locator('#node-config-input-baseUrl').fill(sim.baseUrl);
    await page.locator('#node-config-input-apiKey').fill(sim.apiKey);
    await page.locator('#node-config-input-email').fill(sim.email);
    await page.locator('#node-config-input-password').fill(sim.password);
    await page.locator('#node-config-input-orgId').fill(sim.orgId);
    const result = page.locator('#node-config-photoshelter-test-result');
    await page.locator('#node-config-photoshelter-test').click();
    await page.locator('#node-config-photoshelter-test-result.ps-ok').waitFor();
    const ok = await result.innerText();
    assert.match(ok, /^Connected \([^)]+\): \d+ top-level collections and galleries$/, ok);
    const topLevel = (await sim.control.state()).collections.filter((c) => c.parent === null);
    assert.ok(topLevel.length > 0);
    const orgs = page.locator('#node-config-photoshelter-test-orgs');
    assert.match(await orgs.innerText(), new RegExp(`Organizations of this user:\\s*Example Corp \\(${sim.orgId}\\)`));
    await shot(page, 'photoshelter-account', page.locator('.red-ui-tray').filter({ has: config }));

    // no organization chosen although the user has one: a warning, and the organization a click away
    await page.locator('#node-config-input-orgId').fill('');
    await page.locator('#node-config-photoshelter-test').click();
    await page.locator('#node-config-photoshelter-test-orgs.ps-warn').waitFor();
    assert.match(await orgs.innerText(), /No organization is chosen/);
    await orgs.getByRole('link', { name: 'use it' }).click();
    assert.equal(await page.locator('#node-config-input-orgId').inputValue(), sim.orgId);

    // a wrong API key: the failure says so
    await page.locator('#node-config-input-apiKey').fill('WRONGKEY000');
    await problems.allowing(/photoshelter\/account\/test|status of (4|5)\d\d/, async () => {
      await page.locator('#node-config-photoshelter-test').click();
      await page.locator('#node-config-photoshelter-test-result.ps-fail').waitFor();
    });
    const failed = await result.innerText();
    assert.match(failed, /^Failed: /, failed);
    assert.match(failed, /key/i, `the failure names the API key: ${failed}`);
    assert.doesNotMatch(failed, new RegExp(sim.password), 'the message carries no secret');
    await page.locator('#node-config-input-apiKey').fill(sim.apiKey);
    await pressConfigDone(page);

    const selected = await page.locator('#node-input-account').inputValue();
    assert.ok(selected && selected !== '_ADD_', 'the new account is selected in the trigger');
    accountId = selected;
    await shot(page, 'photoshelter-trigger', page.locator('.red-ui-tray').filter({ has: page.locator('#node-dialog-ok') }));
    await pressDone(page);

    const node = await editorNode(page, id);
    assert.ok(node);
    assert.equal(node.mode, 'approved');
    assert.equal(String(node.interval), '15');
    assert.equal(node.ruleField, 'Approval Status');
    assert.equal(node.account, accountId);
    const account = await editorNode(page, accountId);
    assert.equal(account?.type, 'photoshelter-account');
    assert.equal(account?.baseUrl, sim.baseUrl);
    assert.equal(account?.orgId, sim.orgId);
    assert.equal(account?.name, 'Simulated library');
    // the configured node reads well on the canvas
    const label = await canvasNode(page, id).locator('.red-ui-flow-node-label').textContent();
    assert.equal(label?.replace(/\s+/g, ' ').trim(), 'approved: Approval Status = Approved');
    noProblems();
  });

  it('a node dropped from the palette starts with the only account there is', async () => {
    const dropped: string[] = [];
    try {
      let y = 200;
      for (const type of ['photoshelter-fetch', 'photoshelter-deliver', 'photoshelter-update', 'photoshelter-rights', 'photoshelter-trigger']) {
        const id = await dragFromPalette(page, type, 700, (y += 60));
        dropped.push(id);
        assert.equal((await editorNode(page, id))?.account, accountId, `${type} starts with the account`);
        await openNodeDialog(page, id);
        assert.equal(await page.locator('#node-input-account').inputValue(), accountId, `${type}: the dialog shows the account`);
        await page.locator('#node-dialog-cancel').click();
        await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
      }
    } finally {
      await removeNodes(dropped);
    }
    noProblems();
  });

  /** Removes nodes from the editor (they were only there for a check). */
  async function removeNodes(ids: string[]): Promise<void> {
    await page.evaluate((list) => {
      const R = (window as unknown as { RED: { nodes: { remove(id: string): unknown; node(id: string): unknown }; view: { redraw(full: boolean): void } } }).RED;
      for (const nid of list) if (R.nodes.node(nid)) R.nodes.remove(nid);
      R.view.redraw(true);
    }, ids);
  }

  /** How a dialog lays out in the tray on top: widths, what sticks out on the right, and how each checkbox sits by its text. */
  async function layout(): Promise<{ tray: number; body: number; formOver: number; maxOver: number; widest: string; checks: Array<{ id: string; dy: number; dx: number }>; groups: Array<{ label: string; dy: number }> }> {
    // the function below names its helpers; the TypeScript loader wraps named functions in __name()
    await page.evaluate('globalThis.__name = globalThis.__name || function (f) { return f; }');
    return page.evaluate(() => {
      const trays = Array.from(document.querySelectorAll<HTMLElement>('.red-ui-tray'));
      const tray = trays[trays.length - 1];
      const t = tray.getBoundingClientRect();
      const body = tray.querySelector<HTMLElement>('.red-ui-tray-body') as HTMLElement;
      const form = tray.querySelector<HTMLElement>('form') as HTMLElement;
      const visible = (e: Element): boolean => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().width > 0;
      let maxOver = -Infinity;
      let widest = '';
      form.querySelectorAll('*').forEach((e) => {
        if (!visible(e)) return;
        const over = e.getBoundingClientRect().right - t.right;
        if (over > maxOver) {
          maxOver = over;
          widest = `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${String((e as HTMLElement).className).split(' ')[0]}`;
        }
      });
      /** The first line of the text in `el`. */
      const firstLine = (el: Element): DOMRect | undefined => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return Array.from(range.getClientRects()).find((r) => r.width > 0);
      };
      const mid = (r: { top: number; bottom: number }): number => (r.top + r.bottom) / 2;
      const checks = Array.from(form.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')).filter(visible).map((box) => {
        const label = form.querySelector(`label[for="${box.id}"]`);
        const text = label ? Array.from(label.querySelectorAll('span')).find((x) => (x.textContent ?? '').trim()) ?? label : undefined;
        const line = text ? firstLine(text) : undefined;
        const b = box.getBoundingClientRect();
        return { id: box.id, dy: line ? Math.abs(mid(b) - mid(line)) : 99, dx: line ? line.left - b.right : -99 };
      });
      const groups = Array.from(form.querySelectorAll('.ps-checks')).filter(visible).map((g) => {
        const label = g.previousElementSibling;
        const box = g.querySelector('input[type="checkbox"]');
        const line = label && (label.textContent ?? '').trim() ? firstLine(label) : undefined;
        return { label: (label?.textContent ?? '').trim(), dy: line && box ? Math.abs(mid(line) - mid(box.getBoundingClientRect())) : 0 };
      });
      return { tray: t.width, body: body.getBoundingClientRect().width, formOver: form.getBoundingClientRect().right - t.right, maxOver, widest, checks, groups };
    });
  }

  /** Adds a node of `type` to the flow (without the palette) and opens its dialog; for a config type, opens it from `via`'s add button. */
  async function openDialogOf(type: string, via?: { host: string; field: string; kind?: string }): Promise<string> {
    const id = `layout${Math.random().toString(16).slice(2, 10)}`;
    await page.evaluate(({ nid, t }) => {
      const R = (window as unknown as { RED: { view: { importNodes(n: unknown[], o: unknown): void }; workspaces: { active(): string }; editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      R.view.importNodes([{ id: nid, type: t, x: 900, y: 600, z: R.workspaces.active() }], { generateIds: false });
      R.editor.edit(R.nodes.node(nid));
    }, { nid: id, t: via?.host ?? type });
    await page.locator('#dialog-form').waitFor({ state: 'visible' });
    if (via) {
      await page.locator(`#node-input-btn-${via.field}-add`).click();
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
      if (via.kind) await page.locator('#node-config-input-kind').selectOption(via.kind);
    }
    await settle(page, 700);
    return id;
  }

  it('at a narrow tray (430 px) every dialog reflows as a core dialog does, and each checkbox sits on its text\'s line, narrow and wide', async () => {
    const dialogs: Array<{ name: string; type: string; via?: { host: string; field: string; kind?: string }; prepare?: () => Promise<void> }> = [
      { name: 'fetch', type: 'photoshelter-fetch' },
      { name: 'deliver', type: 'photoshelter-deliver' },
      { name: 'update', type: 'photoshelter-update', prepare: async () => page.locator('.red-ui-editableList-addButton').first().click() },
      { name: 'rights', type: 'photoshelter-rights' },
      { name: 'trigger', type: 'photoshelter-trigger' },
      { name: 'trigger (walk)', type: 'photoshelter-trigger', prepare: async () => void (await page.locator('#node-input-mode').selectOption('walk')) },
      { name: 'account', type: 'photoshelter-account', via: { host: 'photoshelter-fetch', field: 'account' } },
      ...['folder', 'http', 'sftp', 's3'].map((kind) => ({ name: `destination (${kind})`, type: 'photoshelter-destination', via: { host: 'photoshelter-deliver', field: 'destination', kind } })),
    ];
    const added: string[] = [];
    try {
      for (const width of [760, 1400]) {
        await page.setViewportSize({ width, height: 900 });
        await settle(page, 500);
        // a core dialog at the same width, to compare with
        added.push(await openDialogOf('http request'));
        const core = await layout();
        await closeTrays(page);
        if (width === 760) assert.ok(Math.abs(core.tray - 430) <= 10, `the tray is narrow: ${core.tray}`);
        for (const d of dialogs) {
          added.push(await openDialogOf(d.type, d.via));
          await d.prepare?.();
          await settle(page, 300);
          const l = await layout();
          const where = `${d.name} at ${Math.round(l.tray)} px`;
          if (width === 760) {
            assert.ok(l.body <= core.body + 2, `${where}: the dialog asks for no more width than a core dialog (${Math.round(l.body)} > ${Math.round(core.body)})`);
            assert.ok(l.maxOver <= core.formOver + 1, `${where}: nothing sticks out further than a core dialog's form (${l.widest} by ${Math.round(l.maxOver)} px, core ${Math.round(core.formOver)})`);
          }
          for (const c of l.checks) {
            assert.ok(c.dy <= 3, `${where}: checkbox ${c.id} is ${c.dy.toFixed(1)} px off its text's line`);
            assert.ok(c.dx >= 2 && c.dx <= 12, `${where}: checkbox ${c.id} is ${c.dx.toFixed(1)} px from its text`);
          }
          for (const g of l.groups) assert.ok(g.dy <= 3, `${where}: the row "${g.label}" and its first checkbox are ${g.dy.toFixed(1)} px apart`);
          await closeTrays(page);
        }
      }
    } finally {
      await closeTrays(page);
      await page.setViewportSize({ width: 1400, height: 900 });
      await removeNodes(added);
      await settle(page, 500);
    }
    noProblems();
  });

  it('every other node dialog opens, shows its fields and saves', async () => {
    const plan: Record<string, { fields: string[]; edit: () => Promise<void>; check: (n: Record<string, unknown>) => void }> = {
      'photoshelter-fetch': {
        fields: ['name', 'account', 'idProp', 'mode', 'rendition', 'includeIptc'],
        edit: async () => {
          await page.locator('#node-input-mode').selectOption('buffer');
          await page.locator('#node-input-maxSize').waitFor({ state: 'visible' });
          await page.locator('#node-input-maxSize').fill('20');
          await page.locator('#node-input-includeCustom').check();
        },
        check: (n) => {
          assert.equal(n.mode, 'buffer');
          assert.equal(String(n.maxSize), '20');
          assert.equal(n.includeCustom, true);
        },
      },
      'photoshelter-update': {
        fields: ['name', 'account', 'rows-container', 'dryRun', 'concurrency'],
        edit: async () => {
          await page.locator('.red-ui-editableList-addButton').first().click();
          const row = page.locator('#node-input-rows-container li').last();
          await row.locator('.ps-update-target').fill('Campaign');
          await row.locator('.ps-update-op').selectOption('set');
          await row.locator('input.red-ui-typedInput-input').fill('Spring 2027');
          await page.locator('#node-input-dryRun').check();
        },
        check: (n) => {
          assert.deepEqual(n.rows, [{ target: 'Campaign', op: 'set', value: 'Spring 2027', valueType: 'str' }]);
          assert.equal(n.dryRun, true);
        },
      },
      'photoshelter-rights': {
        fields: ['name', 'account', 'channel', 'region', 'at', 'expiryField', 'termsField', 'window', 'timeZone', 'rules-container'],
        edit: async () => {
          await page.locator('#node-input-window').fill('14');
          await page.locator('#node-input-timeZone').fill('Europe/Berlin');
        },
        check: (n) => {
          assert.equal(String(n.window), '14');
          assert.equal(n.timeZone, 'Europe/Berlin');
          assert.ok(Array.isArray(n.rules) && n.rules.length > 0, 'the default usage rules are kept');
        },
      },
    };
    let y = 200;
    for (const type of FLOW_TYPES.filter((t) => t !== 'photoshelter-trigger')) {
      y += 80;
      const id = await dragFromPalette(page, type, 160, y);
      made[type] = id;
      await openNodeDialog(page, id);
      const tray = page.locator('.red-ui-tray').filter({ has: page.locator('#node-dialog-ok') });
      const step = plan[type];
      const fields = step?.fields ?? ['name'];
      for (const f of fields) assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `${type}: field ${f}`);
      if (await page.locator('#node-input-account').count()) {
        await page.locator('#node-input-account').selectOption(accountId);
      }
      await page.locator('#node-input-name').fill(`my ${type.replace('photoshelter-', '')}`);
      await step?.edit();
      await settle(page);
      await shot(page, type, tray);
      await pressDone(page);
      const node = await editorNode(page, id);
      assert.ok(node, `${type} exists after Done`);
      assert.equal(node.name, `my ${type.replace('photoshelter-', '')}`);
      if (await page.evaluate((t) => 'account' in ((window as unknown as { RED: { nodes: { getType(t: string): { defaults: object } } } }).RED.nodes.getType(t).defaults), type)) {
        assert.equal(node.account, accountId, `${type} uses the account`);
      }
      if (step) {
        step.check(node);
      } else {
        // a node this test has no settings for may need more than a name: it leaves the flow again
        await openNodeDialog(page, id);
        await page.locator('#node-dialog-delete').click();
        await page.locator('#node-dialog-delete').waitFor({ state: 'detached' });
        assert.equal(await editorNode(page, id), null, `${type} deleted`);
        delete made[type];
      }
    }
    noProblems();
  });

  it('before deploy, the trigger picker browses with the account as the dialog holds it, and names the ids of the scope', async () => {
    const id = made['photoshelter-trigger'];
    assert.equal(await page.evaluate((acc) => Boolean((window as unknown as { RED: { nodes: { node(id: string): { changed?: boolean } } } }).RED.nodes.node(acc).changed), accountId), true, 'the account is not deployed yet');
    await openNodeDialog(page, id);
    await page.locator('#ps-trigger-browse').click();
    const picker = page.locator('#ps-trigger-picker');
    await picker.locator('.ps-picker-row').first().waitFor({ state: 'visible', timeout: 60_000 });
    const state = await sim.control.state();
    const top = state.collections.filter((x) => x.parent === null);
    const names = await picker.locator('.ps-picker-row .ps-picker-name').allInnerTexts();
    for (const c of top) assert.ok(names.some((n) => n.trim().startsWith(c.name)), `top-level collection ${c.name} listed in ${JSON.stringify(names)}`);
    // a picked id shows its name beside it at once; a typed one is looked up; a mistyped one is pointed out
    await picker.locator('.ps-picker-add').first().click();
    const picked = (await page.locator('#node-input-scope').inputValue()).trim();
    const pickedName = [...state.collections, ...state.galleries].find((x) => x.id === picked)?.name as string;
    const beside = page.locator('#ps-trigger-scope-names');
    await beside.getByText(pickedName, { exact: false }).waitFor({ timeout: 10_000 });
    const gallery = state.galleries[0];
    await page.locator('#node-input-scope').fill(`${picked}, ${gallery.id}, G0000zzzzzzzzzzz`);
    await page.locator('#node-input-scope').dispatchEvent('change');
    await beside.getByText(gallery.name, { exact: false }).waitFor({ timeout: 30_000 });
    await beside.locator('.ps-scope-missing').first().waitFor({ timeout: 30_000 });
    assert.match(await beside.locator('.ps-scope-missing').first().innerText(), /not found/);
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
    assert.equal((await editorNode(page, id))?.scope, '');
    noProblems();
  });

  it('deploys; the trigger picker lists the top-level collections of the deployed account', async () => {
    await deploy(page);
    const id = made['photoshelter-trigger'];
    await openNodeDialog(page, id);
    await page.locator('#ps-trigger-browse').click();
    const picker = page.locator('#ps-trigger-picker');
    await picker.locator('.ps-picker-row').first().waitFor({ state: 'visible', timeout: 60_000 });
    const names = await picker.locator('.ps-picker-row .ps-picker-name').allInnerTexts();
    const state = await sim.control.state();
    for (const c of state.collections.filter((x) => x.parent === null)) {
      assert.ok(names.some((n) => n.trim().startsWith(c.name)), `top-level collection ${c.name} listed in ${JSON.stringify(names)}`);
    }
    // add one to the scope, then cancel (the saved trigger stays as it was)
    await picker.locator('.ps-picker-add').first().click();
    assert.match(await page.locator('#node-input-scope').inputValue(), /^[CG]0000/);
    await settle(page);
    await shot(page, 'photoshelter-trigger', page.locator('.red-ui-tray').filter({ has: page.locator('#node-dialog-ok') }));
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
    assert.equal((await editorNode(page, id))?.scope, '');
    noProblems();
  });

  it('the nodes made in the dialogs show no red status after deploy', async () => {
    await page.waitForFunction((id) => {
      const n = (window as unknown as { RED: { nodes: { node(id: string): { status?: { fill?: string; text?: string } } | null } } }).RED.nodes.node(id);
      return !!n?.status?.text;
    }, made['photoshelter-trigger'], { timeout: 60_000 });
    const s = await statuses(page, FLOW_TYPES);
    for (const [nid, st] of Object.entries(s)) assert.notEqual(st?.fill, 'red', `${nid}: ${JSON.stringify(st)}`);
    noProblems();
  });

  it('the deliver dialog adds a destination of each kind with the right rows, saves, deploys with no red status; Test destination succeeds', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ps-e2e-dest-'));
    const id = await dragFromPalette(page, 'photoshelter-deliver', 480, 120);
    const destinations: Record<string, string> = {};
    try {
      await deliverDialog(id, folder, destinations);
    } catch (e) {
      // a half-configured deliver node would make every later deploy ask for a confirmation
      await closeTrays(page);
      await page.evaluate((ids) => {
        const RED = (window as unknown as { RED: { nodes: { remove(id: string): unknown; dirty(d: boolean): void }; view: { redraw(full: boolean): void } } }).RED;
        for (const nid of ids) RED.nodes.remove(nid);
        RED.nodes.dirty(true);
        RED.view.redraw(true);
      }, [id, ...Object.values(destinations)]);
      throw e;
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    noProblems();
  });

  /** The deliver node `id`: a destination of each kind added from its dialog, deployed, tested again. */
  async function deliverDialog(id: string, folder: string, destinations: Record<string, string>): Promise<void> {
    await openNodeDialog(page, id);
    await page.locator('#node-input-name').fill('deliver to a folder');
    await page.locator('#node-input-account').selectOption(accountId);
    const configTray = page.locator('.red-ui-tray').filter({ has: page.locator('#node-config-dialog-ok') });
    const KINDS = ['folder', 'http', 'sftp', 's3'];
    /** Which kind's rows the dialog shows, and whether the path row is there. */
    const shown = async () => ({
      // a kind counts as shown when one of its own rows (rows of that kind only) is visible
      kinds: await page.evaluate((kinds) => kinds.filter((k) => Array.from(document.querySelectorAll<HTMLElement>(`.ps-dest-${k}`)).some((el) =>
        kinds.every((o) => o === k || !el.classList.contains(`ps-dest-${o}`)) && el.offsetParent !== null)), KINDS),
      path: await page.locator('.ps-dest-path').isVisible(),
    });
    /** Marks the field invalid, as the editor does when its validator refuses the value. */
    const invalid = (field: string) => page.locator(`#node-config-input-${field}`).evaluate((el) => el.classList.contains('input-error'));
    const add = async (kind: string, fill: () => Promise<void>) => {
      await page.locator('#node-input-btn-destination-add').click();
      await page.locator('#node-config-input-kind').waitFor({ state: 'visible' });
      await settle(page);
      await page.locator('#node-config-input-name').fill(`${kind} destination`);
      await page.locator('#node-config-input-kind').selectOption(kind);
      assert.deepEqual(await shown(), { kinds: [kind], path: kind !== 'http' }, `${kind}: only its rows`);
      assert.equal(await page.locator('#node-config-input-fsync').isVisible(), kind === 'folder' || kind === 'sftp', `${kind}: the flush-to-disk row`);
      assert.equal(await page.locator('#node-config-photoshelter-destination-test').isVisible(), true, `${kind}: Test destination`);
      await fill();
      await pressConfigDone(page);
      const dest = await page.locator('#node-input-destination').inputValue();
      assert.ok(dest && dest !== '_ADD_', `the new ${kind} destination is selected`);
      const node = await editorNode(page, dest);
      assert.equal(node?.kind, kind);
      assert.equal(await page.evaluate((d) => (window as unknown as { RED: { nodes: { node(id: string): { valid?: boolean } | null } } }).RED.nodes.node(d)?.valid, dest), true, `the ${kind} destination is valid`);
      destinations[kind] = dest;
    };
    await add('http', async () => {
      await page.locator('#node-config-input-method').selectOption('PUT');
      await page.locator('#node-config-input-url').fill('not a url');
      await page.locator('#node-config-input-url').press('Tab');
      assert.equal(await invalid('url'), true, 'a URL that is none is refused');
      // the example flows configure destinations from the environment
      await page.locator('#node-config-input-url').fill('${PS_E2E_UPLOAD_URL}');
      await page.locator('#node-config-input-url').press('Tab');
      assert.equal(await invalid('url'), false, 'a whole-value ${NAME} is accepted');
      await page.locator('#node-config-input-auth').selectOption('bearer');
      assert.equal(await page.locator('.ps-dest-bearer').isVisible(), true);
      assert.equal(await page.locator('.ps-dest-basic').first().isVisible(), false);
      await page.locator('#node-config-input-token').fill('e2e-token');
      await page.locator('#node-config-input-bodyMode').selectOption('multipart');
      assert.equal(await page.locator('.ps-dest-multipart').first().isVisible(), true, 'multipart shows the file field and fields');
    });
    await add('sftp', async () => {
      await page.locator('#node-config-input-host').fill('${PS_E2E_SFTP_HOST}');
      await page.locator('#node-config-input-port').fill('twenty-two');
      await page.locator('#node-config-input-port').press('Tab');
      assert.equal(await invalid('port'), true, 'a port that is no number is refused');
      await page.locator('#node-config-input-port').fill('${PS_E2E_SFTP_PORT}');
      await page.locator('#node-config-input-port').press('Tab');
      assert.equal(await invalid('port'), false, 'a port from ${NAME} is accepted');
      await page.locator('#node-config-input-user').fill('deliver');
      await page.locator('#node-config-input-password').fill('e2e-password');
      await page.locator('#node-config-input-hostKey').fill(`SHA256:${'A'.repeat(43)}`);
      await page.locator('#node-config-input-basePath').fill('/upload');
    });
    await add('s3', async () => {
      await page.locator('#node-config-input-endpoint').fill('http://127.0.0.1:9');
      await page.locator('#node-config-input-bucket').fill('${PS_E2E_BUCKET}');
      await page.locator('#node-config-input-accessKeyId').fill('AKIDE2E');
      await page.locator('#node-config-input-secretAccessKey').fill('e2e-secret');
      await page.locator('#node-config-input-forcePathStyle').check();
    });
    await add('folder', async () => {
      await page.locator('#node-config-input-folder').fill(folder);
      await page.locator('#node-config-input-template').fill('{{asset.id}}/{{asset.fileName}}');
      // Test destination with the dialog's values, before anything is saved
      await page.locator('#node-config-photoshelter-destination-test').click();
      const result = page.locator('#node-config-photoshelter-destination-test-result.ps-ok');
      await result.waitFor({ state: 'visible' });
      assert.match(await result.innerText(), /is there and writable/);
      assert.deepEqual(readdirSync(folder), [], 'the test left nothing in the folder');
      // the preview: where an asset of the account would go
      const preview = page.locator('#ps-destination-preview');
      await page.waitForFunction((dir) => (document.querySelector('#ps-destination-preview')?.textContent ?? '').startsWith(`→ ${dir}/`), folder);
      assert.match(await preview.innerText(), new RegExp(`^→ ${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/I0000\\S+/.+ \\(for .+ \\(I0000\\S+\\) of the account\\)$`));
      await settle(page);
      await shot(page, 'photoshelter-destination', configTray);
    });
    // the deliver node's own path: checked as it is typed, with a preview of where it goes
    const preview = page.locator('#ps-deliver-preview');
    const previewText = async (re: RegExp) => {
      await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#ps-deliver-preview')?.textContent ?? ''), re.source);
      return preview.innerText();
    };
    await page.locator('#node-input-template').fill('{{{asset.path}}}/{{asset.fileName}');
    await page.locator('#node-input-template').press('Tab');
    assert.match(await previewText(/Unclosed tag/), /^Unclosed tag at character \d+ of the template$/);
    assert.equal(await page.locator('#node-input-template').evaluate((el) => el.classList.contains('input-error')), true, 'the field is marked invalid');
    await page.locator('#node-input-template').fill('{{asset.iptc.titel}}/{{asset.fileName}}');
    assert.match(await previewText(/titel/), /uses \{\{asset\.iptc\.titel\}\}, which this message does not have/);
    await page.locator('#node-input-template').fill('');
    assert.match(await previewText(/^→ /), /^→ .+ \(for .+ of the account\)$/);
    await pressDone(page);
    const deliver = await editorNode(page, id);
    assert.equal(deliver?.destination, destinations.folder);
    assert.equal(deliver?.account, accountId);
    const saved = await Promise.all(KINDS.map((k) => editorNode(page, destinations[k])));
    assert.deepEqual(saved.map((n) => n?.kind), KINDS);
    assert.equal(saved[1]?.url, '${PS_E2E_UPLOAD_URL}');
    assert.equal(saved[2]?.port, '${PS_E2E_SFTP_PORT}');
    assert.equal(saved[0]?.folder, folder);

    await deploy(page);
    // the editor points out the destinations no node uses yet (http, sftp, s3): acknowledged
    await dismissUnusedConfigNotice();
    await settle(page, 1000);
    const s = await statuses(page, ['photoshelter-deliver']);
    assert.notEqual(s[id]?.fill, 'red', JSON.stringify(s[id]));
    assert.doesNotMatch(red.output(), /\[error\] \[photoshelter-(deliver|destination)/);

    // the deployed destination, tested again from its dialog (secrets now stored)
    await openNodeDialog(page, id);
    await page.locator('#node-input-btn-destination-edit').click();
    await page.locator('#node-config-input-folder').waitFor({ state: 'visible' });
    await page.locator('#node-config-photoshelter-destination-test').click();
    const again = page.locator('#node-config-photoshelter-destination-test-result.ps-ok');
    await again.waitFor({ state: 'visible' });
    assert.match(await again.innerText(), new RegExp(`The folder ${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is there and writable`));
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#node-config-dialog-cancel').waitFor({ state: 'detached' });
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });

    // the unused destinations leave again, so that later deploys have nothing to point out
    await page.evaluate((ids) => {
      const RED = (window as unknown as { RED: { nodes: { remove(id: string): unknown; dirty(d: boolean): void } } }).RED;
      for (const nid of ids) RED.nodes.remove(nid);
      RED.nodes.dirty(true);
    }, ['http', 'sftp', 's3'].map((k) => destinations[k]));
    await deploy(page);
    for (const k of ['http', 'sftp', 's3']) assert.equal(await editorNode(page, destinations[k]), null);
  }

  /** Closes the editor's "unused configuration nodes" notice, when it shows. */
  async function dismissUnusedConfigNotice(): Promise<void> {
    const notice = page.locator('.red-ui-notification').filter({ hasText: /unused configuration nodes/ });
    await notice.first().waitFor({ state: 'visible', timeout: 5000 }).catch(() => undefined);
    for (const n of await notice.all()) await n.locator('button', { hasText: /^Close$/ }).click().catch(() => undefined);
    await notice.first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => undefined);
  }

  for (const example of EXAMPLES) {
    it(`Import → Examples → ${PKG.name} → ${example}: imports and deploys with no red status`, async () => {
      const before = new Set((await page.evaluate(() => {
        const ids: string[] = [];
        (window as unknown as { RED: { nodes: { eachNode(cb: (n: { id: string }) => void): void } } }).RED.nodes.eachNode((n) => void ids.push(n.id));
        return ids;
      })));
      const file = JSON.parse(readFileSync(join(ROOT, 'examples', `${example}.json`), 'utf8')) as Array<{ id: string; type: string }>;
      await importExample(page, PKG.name, example, { conflicts: file.some((n) => before.has(n.id)) });
      // the editor lists groups, subflow definitions and config nodes (ours and core ones such as mqtt-broker)
      // apart from nodes; a subflow an earlier example brought is not imported again
      const configTypes = await page.evaluate(
        (types) => types.filter((t) => (window as unknown as { RED: { nodes: { getType(t: string): { category?: string } | undefined } } }).RED.nodes.getType(t)?.category === 'config'),
        [...new Set(file.map((n) => n.type))],
      );
      const expected = file.filter((n) => !['tab', 'group', 'subflow'].includes(n.type) && !configTypes.includes(n.type) && !before.has(n.id)).length;
      await page.waitForFunction(
        ({ known, count }) => {
          let added = 0;
          (window as unknown as { RED: { nodes: { eachNode(cb: (n: { id: string }) => void): void } } }).RED.nodes.eachNode((n) => void (known.includes(n.id) || added++));
          return added >= count;
        },
        { known: [...before], count: expected },
      );
      await deploy(page);
      const ours = file.filter((n) => TYPES.includes(n.type) && !CONFIG_TYPES.includes(n.type)).map((n) => n.id);
      // the triggers report their first poll; then nothing of the example may be red
      const triggerIds = file.filter((n) => n.type === 'photoshelter-trigger').map((n) => n.id);
      await page.waitForFunction(
        (ids) => ids.every((i) => !!(window as unknown as { RED: { nodes: { node(id: string): { status?: { text?: string; fill?: string } } | null } } }).RED.nodes.node(i)?.status?.fill),
        triggerIds,
        { timeout: 60_000 },
      );
      const s = await statuses(page, TYPES);
      for (const nid of ours) {
        assert.ok(nid in s, `${nid} of the example is in the editor with its id`);
        assert.notEqual(s[nid]?.fill, 'red', `${nid}: ${JSON.stringify(s[nid])}`);
      }
      assert.equal(await page.locator('#red-ui-workspace-chart .red-ui-flow-node-status-dot-red, #red-ui-workspace-chart .red-ui-flow-node-status-ring-red').count(), 0, 'no red status on the canvas');
      noProblems();
    });
  }

  it("the trigger's poll-now button produces debug output after a change in the library", async function () {
    const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'Approved photos to a local folder.json'), 'utf8')) as Array<{ id: string; type: string; name?: string; mode?: string; z?: string; wires?: string[][] }>;
    const trigger = example.find((n) => n.type === 'photoshelter-trigger' && n.mode === 'changed');
    const debugNode = example.find((n) => n.type === 'debug' && n.id === trigger?.wires?.[0]?.[0]);
    if (!trigger || !debugNode?.name) return this.skip();
    await showWorkspace(page, trigger.z as string);
    const debug = await showDebug(page);
    await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(a: string): void } } }).RED.actions.invoke('core:clear-debug-messages'));
    const [id] = await sim.control.mediaIds();
    await sim.control.patchMedia(id, { iptc: { headline: 'Changed in the editor test' } });
    await sim.control.clock(3);
    const button = canvasNode(page, trigger.id).locator('.red-ui-flow-node-button-button');
    await button.waitFor({ state: 'visible' });
    // a message of the debug node the trigger feeds (the sidebar names it)
    const msg = debug.locator('.red-ui-debug-msg').filter({ has: page.locator('.red-ui-debug-msg-name', { hasText: debugNode.name }) });
    for (let attempt = 0; attempt < 6 && (await msg.count()) === 0; attempt++) {
      await button.click();
      await page.locator('.red-ui-notification').filter({ hasText: 'polled' }).last().waitFor({ state: 'visible', timeout: 30_000 });
      await settle(page, 1200);
    }
    await msg.first().waitFor({ state: 'visible', timeout: 30_000 });
    // the message is an update event, with the asset
    const first = msg.first();
    const assetKey = first.locator('.red-ui-debug-msg-object-key', { hasText: /^asset$/ }).first();
    if (!(await assetKey.isVisible())) await first.locator('.red-ui-debug-msg-object-handle').first().click();
    await assetKey.waitFor({ state: 'visible' });
    assert.match(await first.innerText(), /topic: "updated"/);
    await settle(page, 500);
    await shot(page, 'flow');
    noProblems();
  });

  it('the nodes of this package leave no error in the page or in the runtime log', async () => {
    noProblems();
    assert.doesNotMatch(red.output(), /\[error\] \[photoshelter/, red.output().slice(-3000));
  });
});

// Driving Node-RED's editor the way a user does: palette, canvas, edit trays, deploy, import, debug sidebar.
// Values are read back through the editor's own RED object once the UI has acted.
import type { Locator, Page } from 'playwright-core';

/** A node as the editor holds it. */
export type EditorNode = Record<string, unknown> & { id: string; type: string; z?: string };

/** The editor's global, as far as these helpers use it. */
interface RedGlobal {
  nodes: {
    node(id: string): EditorNode | null;
    eachNode(cb: (n: EditorNode) => void): void;
    eachConfig(cb: (n: EditorNode) => void): void;
    dirty(): boolean;
  };
  settings: Record<string, unknown> & { telemetryEnabled?: boolean };
  workspaces: { active(): string; show(id: string): void };
  view: { state(): number; reveal(id: string): void };
  actions: { invoke(name: string): void };
  sidebar: { show(id: string): void };
  _(key: string, opts?: Record<string, unknown>): string;
}
declare const RED: RedGlobal;

/** Opens the editor and answers its first-run question (update notifications: no). */
export async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#red-ui-palette .red-ui-palette-node', { timeout: 90_000 });
  await page.waitForSelector('.red-ui-header-toolbar', { state: 'visible', timeout: 30_000 });
  const telemetryAsked = await page.evaluate(() => RED.settings.telemetryEnabled === undefined);
  if (telemetryAsked) {
    const no = await page.evaluate(() => RED._('telemetry.disableLabel'));
    await page.getByRole('button', { name: no }).click({ timeout: 30_000 });
    await page.getByRole('button', { name: no }).waitFor({ state: 'detached' });
  }
}

export function paletteNode(page: Page, type: string): Locator {
  return page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
}

async function nodeIds(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const ids: string[] = [];
    RED.nodes.eachNode((n) => void ids.push(n.id));
    return ids;
  });
}

/** Drags a node type from the palette onto the canvas at (x, y) of the chart; returns the new node's id. */
export async function dragFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  const before = new Set(await nodeIds(page));
  const source = paletteNode(page, type);
  await source.scrollIntoViewIfNeeded();
  const box = await source.boundingBox();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!box || !chart) throw new Error(`no palette entry for ${type} or no canvas`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 5, { steps: 4 });
  await page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction(
    ({ known, t }) => {
      let found = false;
      RED.nodes.eachNode((n) => {
        if (n.type === t && !known.includes(n.id)) found = true;
      });
      return found;
    },
    { known: [...before], t: type },
  );
  const added = (await nodeIds(page)).filter((id) => !before.has(id));
  if (added.length !== 1) throw new Error(`dropping ${type} added ${added.length} nodes`);
  return added[0];
}

/** The node's shape on the canvas (a group whose id is the node id). */
export function canvasNode(page: Page, id: string): Locator {
  return page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
}

/** Double-clicks a node on the canvas and waits for its edit tray. */
export async function openNodeDialog(page: Page, id: string): Promise<Locator> {
  await page.evaluate((nodeId) => {
    const n = RED.nodes.node(nodeId);
    if (n?.z && RED.workspaces.active() !== n.z) RED.workspaces.show(n.z);
  }, id);
  const shape = canvasNode(page, id).locator('rect.red-ui-flow-node');
  await shape.waitFor({ state: 'visible' });
  await shape.dblclick();
  const tray = page.locator('.red-ui-tray').filter({ has: page.locator('#node-dialog-ok') });
  await tray.waitFor({ state: 'visible' });
  await page.locator('#dialog-form').waitFor({ state: 'visible' });
  await settle(page);
  return tray;
}

/** Presses Done in the node's tray and waits for it to close. */
export async function pressDone(page: Page): Promise<void> {
  await page.locator('#node-dialog-ok').click();
  await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
}

/** Presses Add/Update in the config node tray and waits for it to close. */
export async function pressConfigDone(page: Page): Promise<void> {
  await page.locator('#node-config-dialog-ok').click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
}

export async function editorNode(page: Page, id: string): Promise<EditorNode | null> {
  return page.evaluate((nodeId) => {
    const n = RED.nodes.node(nodeId);
    if (!n) return null;
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      if (k.startsWith('_') || typeof v === 'function') continue;
      try {
        plain[k] = JSON.parse(JSON.stringify(v));
      } catch {
        // not serializable (DOM references): left out
      }
    }
    return plain as EditorNode;
  }, id);
}

export async function nodesOfType(page: Page, type: string): Promise<EditorNode[]> {
  const ids = await page.evaluate((t) => {
    const found: string[] = [];
    RED.nodes.eachNode((n) => void (n.type === t && found.push(n.id)));
    RED.nodes.eachConfig((n) => void (n.type === t && found.push(n.id)));
    return found;
  }, type);
  const out: EditorNode[] = [];
  for (const id of ids) out.push((await editorNode(page, id)) as EditorNode);
  return out;
}

/** Clicks Deploy and waits until the editor has no undeployed changes. */
export async function deploy(page: Page): Promise<void> {
  const button = page.locator('#red-ui-header-button-deploy');
  await button.click();
  // deployed, or the editor asks for a confirmation (invalid or unknown nodes): that is a failure here
  const confirm = '.red-ui-notification:has(button)';
  await page.waitForFunction((sel) => !RED.nodes.dirty() || !!document.querySelector(sel), confirm, { timeout: 60_000 });
  if (await page.evaluate(() => RED.nodes.dirty())) {
    const text = await page.locator(confirm).first().innerText();
    await page.locator(`${confirm} button`).first().click();
    throw new Error(`deploy asked for a confirmation: ${text}`);
  }
  await button.and(page.locator('.disabled')).waitFor({ timeout: 30_000 });
}

/** Statuses of nodes of the given types (node id → status or null), as the editor shows them. */
export async function statuses(page: Page, types: string[]): Promise<Record<string, { fill?: string; shape?: string; text?: string; type: string; name: string } | null>> {
  return page.evaluate((ts) => {
    const out: Record<string, { fill?: string; shape?: string; text?: string; type: string; name: string } | null> = {};
    RED.nodes.eachNode((n) => {
      if (!ts.includes(n.type)) return;
      const s = n.status as { fill?: string; shape?: string; text?: string } | undefined;
      out[n.id] = s && (s.fill || s.text) ? { ...s, type: n.type, name: String(n.name ?? '') } : null;
    });
    return out;
  }, types);
}

/** Opens Menu → Import → Examples and imports one example of the module. */
export async function importExample(page: Page, moduleName: string, example: string, opts: { conflicts?: boolean } = {}): Promise<void> {
  await page.locator('#red-ui-header-button-sidemenu').click();
  await page.locator('#menu-item-import').click();
  const dialog = page.locator('#red-ui-clipboard-dialog');
  await dialog.waitFor({ state: 'visible' });
  await dialog.locator('a[href="#red-ui-clipboard-dialog-import-tab-examples"]').click();
  const tab = dialog.locator('#red-ui-clipboard-dialog-import-tab-examples');
  await tab.waitFor({ state: 'visible' });
  const moduleRow = tab.locator('.red-ui-treeList-label').filter({ hasText: moduleName });
  await moduleRow.first().click();
  const exampleRow = tab.locator('.red-ui-treeList-label').filter({ hasText: example });
  await exampleRow.first().waitFor({ state: 'visible' });
  await exampleRow.first().click();
  const ok = page.locator('#red-ui-clipboard-dialog-ok');
  await page.waitForFunction(() => !document.querySelector('#red-ui-clipboard-dialog-ok')?.classList.contains('ui-state-disabled'));
  await ok.click();
  await dialog.waitFor({ state: 'hidden' });
  // examples that share a subflow (1 and 5) each carry it: importing the second, the editor says that some
  // nodes exist already; as a user does, look at them and import what is new (the subflow stays as it is)
  if (opts.conflicts) {
    const conflict = page.locator('.red-ui-notification').filter({ hasText: /already exist/ });
    await conflict.first().waitFor({ state: 'visible' });
    await conflict.first().locator('button', { hasText: /^View nodes/ }).click();
    await dialog.waitFor({ state: 'visible' });
    await page.locator('#red-ui-clipboard-dialog-import-conflict').click();
    await dialog.waitFor({ state: 'hidden' });
    // the notice fades out: gone, it can no more be taken for a question of the next deploy
    await conflict.first().waitFor({ state: 'detached' });
  }
  // an import into the current flow follows the mouse until a click places it
  if (await page.evaluate(() => RED.view.state() !== 0)) await page.mouse.click(400, 400);
}

/** Opens the debug sidebar. */
export async function showDebug(page: Page): Promise<Locator> {
  await page.evaluate(() => RED.sidebar.show('debug'));
  const content = page.locator('.red-ui-debug-content');
  await content.first().waitFor({ state: 'visible' });
  return content.first();
}

export async function showWorkspace(page: Page, tabId: string): Promise<void> {
  await page.evaluate((id) => RED.workspaces.show(id), tabId);
  await page.waitForFunction((id) => RED.workspaces.active() === id, tabId);
}

/** A moment for animations and lazily drawn parts of the UI. */
export async function settle(page: Page, ms = 300): Promise<void> {
  await page.waitForTimeout(ms);
}

/** Cancels any open edit trays (config node trays first). */
export async function closeTrays(page: Page): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const cancel = page.locator('#node-config-dialog-cancel:visible, #node-dialog-cancel:visible').first();
    if ((await cancel.count()) === 0) return;
    await cancel.click().catch(() => undefined);
    await settle(page, 400);
  }
}

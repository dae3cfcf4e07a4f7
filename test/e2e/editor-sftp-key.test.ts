// The SFTP destination's private key in a real browser (Debian's chromium, driven by playwright-core): an
// OpenSSH key pasted into the dialog's multi-line field signs in through Test destination with the host
// key checked; after deploy the key is stored (not shown) and a second test uses it; when the dialog
// changes where it would go (another port), the stored key is dropped, the dialog says to type it again,
// and Test destination sends nothing to the new place.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startSftpTarget, generateEd25519, type SftpTarget } from '../../src/simulator/sftp';
import { startRuntime, type Runtime } from '../flows/runtime';
import { CHROMIUM, chromiumAvailable, launch, ProblemLog, type Browser } from './editor/browser';
import { closeTrays, deploy, dragFromPalette, editorNode, openEditor, openNodeDialog, pressConfigDone, pressDone, settle } from './editor/nodered';

describe('e2e: the SFTP private key in the destination dialog (chromium)', function () {
  this.timeout(300_000);
  let tmp: string;
  let sftp: SftpTarget;
  let red: Runtime;
  let browser: Browser;
  let page: Page;
  let other: Server;
  let otherBytes = 0;
  const sockets = new Set<Socket>();
  const problems = new ProblemLog();
  const key = generateEd25519({ comment: 'deliver@photoshelter-e2e' });

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(`    skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'ps-e2e-key-'));
    sftp = await startSftpTarget({ root: join(tmp, 'sftp'), user: 'agency', publicKey: key.public });
    // the place the dialog is changed to: it must receive nothing
    other = createServer((s) => {
      sockets.add(s);
      s.on('data', (d) => (otherBytes += d.length));
      s.on('error', () => undefined);
    });
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', ok));
    red = await startRuntime();
    browser = await launch();
    page = browser.page;
    page.setDefaultTimeout(30_000);
    problems.attach(page);
    await openEditor(page, red.url);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await sftp?.close();
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((ok) => (other ? other.close(() => ok()) : ok()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    if (page) await closeTrays(page);
  });

  const result = () => page.locator('#node-config-photoshelter-destination-test-result');
  async function testDestination(): Promise<{ ok: boolean; text: string }> {
    await result().evaluate((el) => (el.textContent = ''));
    await page.locator('#node-config-photoshelter-destination-test').click();
    await page.locator('#node-config-photoshelter-destination-test-result.ps-ok, #node-config-photoshelter-destination-test-result.ps-fail').waitFor();
    return { ok: await result().evaluate((el) => el.classList.contains('ps-ok')), text: await result().innerText() };
  }

  it('a pasted OpenSSH key signs in; deployed, it is stored and used again; another port drops it and sends nothing there', async () => {
    // only the PhotoShelter category open, so that its nodes are in view
    await page.locator('#red-ui-palette-container-PhotoShelter').waitFor({ state: 'attached' });
    await page.evaluate(() => {
      document.querySelectorAll('.red-ui-palette-category').forEach((c) => {
        if (c.id !== 'red-ui-palette-container-PhotoShelter' && c.querySelector('.red-ui-palette-header i.expanded')) {
          (c.querySelector('.red-ui-palette-header') as HTMLElement).click();
        }
      });
    });
    await settle(page, 500);
    const id = await dragFromPalette(page, 'photoshelter-deliver', 300, 160);
    await openNodeDialog(page, id);
    await page.locator('#node-input-btn-destination-add').click();
    await page.locator('#node-config-input-kind').waitFor({ state: 'visible' });
    await settle(page);
    await page.locator('#node-config-input-name').fill('agency over SFTP');
    await page.locator('#node-config-input-kind').selectOption('sftp');
    await page.locator('#node-config-input-host').fill(sftp.host);
    await page.locator('#node-config-input-port').fill(String(sftp.port));
    await page.locator('#node-config-input-user').fill('agency');
    await page.locator('#node-config-input-hostKey').fill(sftp.hostKeyFingerprint);
    const area = page.locator('#node-config-input-privateKey');
    assert.equal(await area.evaluate((el) => el.tagName), 'TEXTAREA', 'the key is a multi-line field');
    assert.equal(await page.locator('#node-config-photoshelter-key-choose').isVisible(), true, 'a key can be read from a file');
    await area.fill(key.private);
    assert.equal(await area.inputValue(), key.private, 'the pasted key keeps its lines');

    const first = await testDestination();
    assert.ok(first.ok, first.text);
    assert.match(first.text, /Signed in to .* \(host key SHA256:.* as configured\)/);

    await pressConfigDone(page);
    const dest = await page.locator('#node-input-destination').inputValue();
    await pressDone(page);
    await deploy(page);
    assert.equal((await editorNode(page, dest))?.kind, 'sftp');

    // reopened: the stored key is not shown, the dialog says one is stored, and Test destination uses it
    await openNodeDialog(page, id);
    await page.locator('#node-input-btn-destination-edit').click();
    await page.locator('#node-config-input-host').waitFor({ state: 'visible' });
    await settle(page);
    assert.equal(await area.inputValue(), '', 'the stored key is not shown');
    assert.equal(await page.locator('#node-config-photoshelter-key-stored').isVisible(), true);
    const again = await testDestination();
    assert.ok(again.ok, again.text);

    // Done without touching the key keeps it stored (the dialog gives the editor the stored marker back)
    await pressConfigDone(page);
    await pressDone(page);
    await deploy(page);
    await openNodeDialog(page, id);
    await page.locator('#node-input-btn-destination-edit').click();
    await page.locator('#node-config-input-host').waitFor({ state: 'visible' });
    await settle(page);
    assert.equal(await page.locator('#node-config-photoshelter-key-stored').isVisible(), true, 'still stored');
    const kept = await testDestination();
    assert.ok(kept.ok, kept.text);

    // another port: the stored key is dropped and must be typed again; nothing reaches that port
    const connections = sftp.connectionCount;
    await page.locator('#node-config-input-port').fill(String((other.address() as AddressInfo).port));
    await page.locator('#node-config-input-port').dispatchEvent('change');
    assert.equal(await page.locator('#node-config-photoshelter-key-stored').isVisible(), false);
    assert.equal(await page.locator('#node-config-photoshelter-destination-retype').isVisible(), true, 'the dialog says to type it again');
    assert.match(await page.locator('#node-config-photoshelter-destination-retype').innerText(), /Type this again/);
    await problems.allowing(/photoshelter\/destination\/test|status of 4\d\d/, async () => {
      const moved = await testDestination();
      assert.equal(moved.ok, false);
      assert.match(moved.text, /password or a private key/);
    });
    assert.equal(otherBytes, 0, 'nothing was sent to the other port');
    assert.equal(sftp.connectionCount, connections);
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').click();
    assert.deepEqual(problems.ours(), [], problems.describe(problems.ours()));
  });
});

// The shared ledger's edit dialog in a real browser (Debian's chromium) against a real Node-RED and a real
// PostgreSQL: it opens without a problem on the page, shows the CA field only for a checked TLS, Test
// connection reports the server with the stored password, and pointing the dialog at another server
// empties the stored password (it is typed again, never sent elsewhere). Takes the dialog's screenshot (into
// docs/screenshots only with UPDATE_SCREENSHOTS=1, as the other editor tests).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../helpers/postgres';
import { startRuntime, type Runtime } from '../flows/runtime';
import { CHROMIUM, chromiumAvailable, launch, ProblemLog, type Browser } from './editor/browser';
import { openEditor } from './editor/nodered';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : join(tmpdir(), 'ps-e2e-ledger-shots');
declare const RED: { editor: { editConfig(name: string, type: string, id: string): void } };

describe('e2e: the shared ledger\'s dialog in a real browser (chromium, PostgreSQL)', function () {
  this.timeout(300_000);
  let pg: PostgresServer;
  let red: Runtime;
  let browser: Browser;
  let page: Page;
  const problems = new ProblemLog();

  before(async function () {
    const why = !chromiumAvailable() ? `${CHROMIUM} is not installed (apt-get install -y chromium)` : postgresUnavailable();
    if (why) {
      console.warn(`    not run: ${why}`);
      this.skip();
    }
    pg = await startPostgres();
    red = await startRuntime();
    await red.deploy([
      { id: 'tab', type: 'tab', label: 'ledger' },
      { id: 'led', type: 'photoshelter-ledger', name: 'shared ledger', host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: 'off', schema: 'photoshelter', lease: 30, credentials: { password: 'stored-ledger-password' } },
      { id: 'dest', type: 'photoshelter-destination', name: 'shared folder', kind: 'folder', folder: '/tmp/ps-ledger-dialog', ledger: 'led' },
    ]);
    browser = await launch();
    page = browser.page;
    problems.attach(page);
    await openEditor(page, red.url);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await pg?.stop();
  });

  it('opens, shows its fields, and Test connection reports the server with the stored password', async () => {
    await page.evaluate(() => RED.editor.editConfig('', 'photoshelter-ledger', 'led'));
    const tray = page.locator('.red-ui-tray').last();
    await page.locator('#node-config-input-host').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#node-config-input-host').inputValue(), pg.host);
    assert.equal(await page.locator('#node-config-input-password').inputValue(), '__PWRD__', 'the password shows as stored');
    assert.equal(await page.locator('#node-config-input-tls option').count(), 3);
    assert.equal(await page.locator('#node-config-input-ca').isVisible(), false, 'no CA field without a checked TLS');
    await page.locator('#node-config-photoshelter-ledger-test').click();
    const ok = page.locator('#node-config-photoshelter-ledger-test-result.ps-ok');
    await ok.waitFor({ timeout: 30_000 });
    assert.match(await ok.innerText(), /Connected: PostgreSQL \d+/);
    mkdirSync(SHOTS, { recursive: true });
    await tray.screenshot({ path: join(SHOTS, 'photoshelter-ledger.png'), animations: 'disabled' });
  });

  it('a checked TLS shows the CA field; pointing the dialog elsewhere empties the stored password, which must be typed again', async () => {
    await page.locator('#node-config-input-tls').selectOption('verify');
    assert.equal(await page.locator('#node-config-input-ca').isVisible(), true);
    assert.equal(await page.locator('#node-config-input-password').inputValue(), '', 'another TLS setting is another place');
    await page.locator('#node-config-input-tls').selectOption('off');
    await page.locator('#node-config-input-port').fill('1');
    await page.locator('#node-config-input-port').dispatchEvent('change');
    assert.equal(await page.locator('#node-config-input-password').inputValue(), '');
    assert.equal(await page.locator('#node-config-photoshelter-ledger-retype').isVisible(), true);
    await problems.allowing(/photoshelter\/ledger\/test|502|400/, async () => {
      await page.locator('#node-config-photoshelter-ledger-test').click();
      const failed = page.locator('#node-config-photoshelter-ledger-test-result.ps-fail');
      await failed.waitFor({ timeout: 30_000 });
      assert.doesNotMatch(await failed.innerText(), /stored-ledger-password/);
    });
    assert.deepEqual(problems.ours(), [], problems.describe(problems.ours()));
  });
});

/**
 * Installed as users install it: the packed tarball in a fresh Node-RED user directory, on Node-RED 4.1 with
 * Node 20 and on Node-RED 5 with Node 22 (the npm package node@22). The nodes load without a warning, the
 * examples are listed, the help renders.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime, type Runtime } from '../flows/runtime';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };
const TYPES = Object.keys(pkg['node-red'].nodes).sort();
const EXAMPLES = readdirJson(join(ROOT, 'examples'));

function readdirJson(dir: string): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:fs') as typeof import('node:fs')).readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
}

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 240_000 });

describe('installed from the packed tarball into a fresh Node-RED', function () {
  this.timeout(300_000);
  const temps: string[] = [];
  let tarball: string;
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    temps.push(d);
    return d;
  };

  before(() => {
    const out = temp('ps-pack-');
    const name = npm(['pack', '--silent', '--pack-destination', out], ROOT).trim().split('\n').pop() as string;
    tarball = join(out, name);
  });
  after(() => {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  function userDirWithPackage(): string {
    const dir = temp('ps-userdir-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, version: '0.0.1' }));
    npm(['install', '--no-audit', '--no-fund', tarball], dir);
    return dir;
  }

  async function check(red: Runtime) {
    const nodes = await red.admin<Array<{ module: string; types: string[]; enabled: boolean; err?: string }>>('GET', '/nodes');
    const ours = nodes.body.filter((n) => n.module === pkg.name);
    assert.deepEqual(ours.flatMap((n) => n.types).sort(), TYPES, 'every node type loads');
    assert.ok(ours.every((n) => n.enabled && !n.err), JSON.stringify(ours));
    assert.doesNotMatch(red.output(), /\[(warn|error)\][^\n]*(photoshelter|shelterflow)/i, red.output());
    const examples = await red.admin<unknown>('GET', `/library/examples/flows/${pkg.name}`);
    assert.equal(examples.status, 200);
    for (const name of EXAMPLES) assert.ok(examples.text.includes(name), `example "${name}" is listed`);
    const html = await fetch(`${red.url}/nodes`, { headers: { accept: 'text/html' } }).then((r) => r.text());
    for (const type of TYPES) {
      assert.ok(html.includes(`data-help-name="${type}"`), `help of ${type}`);
      assert.ok(html.includes(`registerType('${type}'`) || html.includes(`registerType("${type}"`), `editor of ${type}`);
    }
    const catalogue = await red.admin<Record<string, unknown>>('GET', `/locales/${pkg.name}/photoshelter-trigger?lng=en-US`);
    assert.equal(catalogue.status, 200);
    assert.ok(catalogue.text.includes('Poll every'), 'the message catalogue is served');
  }

  it('Node-RED 4.1 on Node 20', async () => {
    const red = await startRuntime({ userDir: userDirWithPackage() });
    try {
      await check(red);
      assert.match(red.output(), /Node-RED version: v4\./);
    } finally {
      await red.halt();
    }
  });

  it('Node-RED 5 on Node 22', async () => {
    const node22 = execFileSync('npx', ['-y', '-p', 'node@22', 'node', '-p', 'process.execPath'], { encoding: 'utf8', timeout: 240_000 }).trim();
    const runtimeDir = temp('ps-nodered5-');
    writeFileSync(join(runtimeDir, 'package.json'), JSON.stringify({ name: 'nodered5', private: true }));
    npm(['install', '--no-audit', '--no-fund', 'node-red@5'], runtimeDir);
    const red = await startRuntime({ userDir: userDirWithPackage(), node: node22, redJs: join(runtimeDir, 'node_modules', 'node-red', 'red.js') });
    try {
      await check(red);
      assert.match(red.output(), /Node-RED version: v5\./);
      assert.match(red.output(), /Node\.js {2}version: v22\./);
    } finally {
      await red.halt();
    }
  });
});

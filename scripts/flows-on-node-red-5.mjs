// The flows suite (test/flows: every example and the runtime checks, each in a real Node-RED) on Node-RED 5
// running on Node.js 22. Node 22 comes from the npm package node@22, Node-RED 5 from npm, both kept in
// .cache/node-red-5 so that a second run installs nothing. The tests themselves run in this Node.js; the
// runtimes they start use Node 22 and Node-RED 5 (test/flows/runtime.ts reads PS_TEST_NODE and PS_TEST_RED_JS).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache', 'node-red-5');
const redJs = join(cache, 'node_modules', 'node-red', 'red.js');

if (!existsSync(redJs)) {
  console.log('== installing node-red@5 into .cache/node-red-5');
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'package.json'), JSON.stringify({ name: 'node-red-5-for-tests', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', 'node-red@5'], { cwd: cache, stdio: 'inherit' });
}
const node22 = execFileSync('npx', ['-y', '-p', 'node@22', 'node', '-p', 'process.execPath'], { cwd: cache, encoding: 'utf8' }).trim();
const versions = execFileSync(node22, ['-p', `process.version + ' / Node-RED ' + require(${JSON.stringify(join(cache, 'node_modules', 'node-red', 'package.json'))}).version`], { encoding: 'utf8' }).trim();
console.log(`== the flows suite on Node.js ${versions}`);

// arguments name other spec files (and mocha options); by default, the whole flows suite
const args = process.argv.slice(2);
const mocha = spawnSync('npx', ['mocha', ...(args.length ? args : ['test/flows/**/*.test.ts'])], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PS_TEST_NODE: node22, PS_TEST_RED_JS: redJs },
});
process.exit(mocha.status ?? 1);

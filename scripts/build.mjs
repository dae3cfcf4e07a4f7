// Build: compile src/ with tsc, then copy the editor side (nodes/*.html, locales, icons) next to the
// compiled node files under dist/nodes/, where Node-RED's loader looks for them.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const nodesOut = join(dist, 'nodes');
mkdirSync(nodesOut, { recursive: true });
const nodesSrc = join(root, 'nodes');
if (existsSync(nodesSrc)) {
  for (const entry of readdirSync(nodesSrc)) {
    if (entry.endsWith('.html')) cpSync(join(nodesSrc, entry), join(nodesOut, entry));
  }
  if (existsSync(join(nodesSrc, 'locales'))) cpSync(join(nodesSrc, 'locales'), join(nodesOut, 'locales'), { recursive: true });
}
if (existsSync(join(root, 'icons'))) cpSync(join(root, 'icons'), join(nodesOut, 'icons'), { recursive: true });
const cli = join(dist, 'simulator', 'cli.js');
if (existsSync(cli)) chmodSync(cli, 0o755);

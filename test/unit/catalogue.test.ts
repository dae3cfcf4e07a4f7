import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBLEM_KEYS } from '../../src/nodes/shared/errors';
import { LIFECYCLE_KEYS } from '../../src/nodes/shared/lifecycle';
import { previewKeys } from '../../src/nodes/shared/preview';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

function lookup(catalogue: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalogue);
}

describe('message catalogues', () => {
  for (const type of Object.keys(pkg['node-red'].nodes)) {
    describe(type, () => {
      const src = join(root, 'src', 'nodes', `${type}.ts`);
      const html = join(root, 'nodes', `${type}.html`);
      const json = join(root, 'nodes', 'locales', 'en-US', `${type}.json`);
      const help = join(root, 'nodes', 'locales', 'en-US', `${type}.html`);

      it('has a runtime file, an editor file, a catalogue and help', () => {
        for (const f of [src, html, json, help]) assert.ok(existsSync(f), `${f} exists`);
        assert.match(readFileSync(help, 'utf8'), new RegExp(`data-help-name="${type}"`));
      });

      it('defines every key the runtime and the editor use', () => {
        if (!existsSync(json)) return;
        const catalogue = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
        const ts = readFileSync(src, 'utf8');
        const editor = readFileSync(html, 'utf8');
        const keys = new Set<string>();
        for (const m of ts.matchAll(/RED\._\(\s*['"`]([\w-]+\.[\w.]+)['"`]/g)) keys.add(m[1]);
        // nodes that wrap RED._ as t('key') for their own namespace
        for (const m of ts.matchAll(/\bt\(\s*['"]([\w.]+)['"]/g)) keys.add(`${type}.${m[1]}`);
        for (const m of ts.matchAll(/\bt\(\s*(\w+)\s*\?\s*['"]([\w.]+)['"]\s*:\s*['"]([\w.]+)['"]/g)) {
          keys.add(`${type}.${m[2]}`);
          keys.add(`${type}.${m[3]}`);
        }
        for (const m of editor.matchAll(/data-i18n="(?:\[\w+\])?([\w-]+\.[\w.]+)"/g)) keys.add(m[1]);
        for (const m of editor.matchAll(/\._\(\s*['"]([\w-]+\.[\w.]+)['"]/g)) keys.add(m[1]);
        // a key ending in a dot is built at run time (prefix + value): not checkable here
        const own = [...keys].filter((k) => k.startsWith(`${type}.`) && !k.endsWith('.'));
        assert.ok(own.length > 0, 'the node uses its catalogue');
        const missing = own.filter((k) => typeof lookup(catalogue, k) !== 'string');
        assert.deepEqual(missing, [], `keys missing from ${type}.json`);
      });

      it('the runtime uses no other node\'s catalogue (Node-RED gives each node module its own), and has the texts of the shared helpers it calls', () => {
        const catalogue = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
        const ts = readFileSync(src, 'utf8');
        const foreign = [...ts.matchAll(/RED\._\(\s*['"`](photoshelter-[\w-]+)\./g)].map((m) => m[1]).filter((ns) => ns !== type);
        assert.deepEqual(foreign, []);
        const needed = [
          // the common life of nodes with an input words client problems and aborts from the node's catalogue
          ...(/clientProblem\(|inputNode</.test(ts) ? PROBLEM_KEYS.map((k) => `problems.${k}`) : []),
          ...(/inputNode</.test(ts) ? LIFECYCLE_KEYS.map((k) => `errors.${k}`) : []),
          ...(/configNote: true/.test(ts) ? ['errors.config'] : []),
          ...(/registerPreview\(/.test(ts) ? previewKeys(type) : []),
        ];
        assert.deepEqual(needed.filter((k) => typeof lookup(catalogue, `${type}.${k}`) !== 'string'), [], `keys missing from ${type}.json`);
      });
    });
  }
});

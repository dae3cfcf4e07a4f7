/**
 * The destination kinds describe themselves (src/core/deliver/kind.ts): the destination node, its editor
 * and its endpoints know a kind only through that description. These checks hold the editor text to it:
 * a kind's settings are the editor's fields with the same defaults (saved flows keep their meaning), its
 * secrets the editor's credentials, the parts of its place the fields whose change empties a stored
 * secret; and its target and place never carry a secret.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KINDS } from '../../../src/core/deliver/kinds';
import { createDestination, DESTINATION_KINDS, destinationPlace, destinationSecrets, destinationTarget, destinationTemplates, kindOf } from '../../../src/core/deliver/registry';
import { DeliverError } from '../../../src/core/deliver/types';

const root = join(__dirname, '..', '..', '..');
const html = readFileSync(join(root, 'nodes', 'photoshelter-destination.html'), 'utf8');
const catalogue = JSON.parse(readFileSync(join(root, 'nodes', 'locales', 'en-US', 'photoshelter-destination.json'), 'utf8'))['photoshelter-destination'] as Record<string, Record<string, string>>;

/** The `defaults` of the editor's registerType, name → the value a new node starts with. */
function editorDefaults(): Record<string, unknown> {
  const block = html.slice(html.indexOf('defaults: {'), html.indexOf('credentials: {'));
  const out: Record<string, unknown> = {};
  for (const m of block.matchAll(/^\s{12}(\w+): \{ value: ('[^']*'|true|false|-?\d+(?:\.\d+)?|\[\])/gm)) out[m[1]] = JSON.parse(m[2].replace(/'/g, '"'));
  return out;
}

/** The `credentials` of the editor's registerType, name → type. */
function editorCredentials(): Record<string, string> {
  const block = html.slice(html.indexOf('credentials: {'), html.indexOf('label: function'));
  return Object.fromEntries([...block.matchAll(/(\w+): \{ type: '(\w+)' \}/g)].map((m) => [m[1], m[2]]));
}

/** A list literal of the editor's script (`var NAME = [...]`). */
function editorList(name: string): string[] {
  const m = new RegExp(`var ${name} = \\[([^\\]]*)\\]`).exec(html);
  assert.ok(m, `the editor has ${name}`);
  return [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1]);
}

describe('core/deliver: destination kinds describe themselves', () => {
  it('the editor offers exactly the registered kinds, each with its name in the catalogue', () => {
    const offered = /\[([^\]]*)\]\.forEach\(function \(k\) \{\s*\$\('#node-config-input-kind'\)/.exec(html);
    assert.ok(offered);
    assert.deepEqual([...offered[1].matchAll(/'(\w+)'/g)].map((m) => m[1]), [...DESTINATION_KINDS]);
    for (const k of DESTINATION_KINDS) assert.equal(typeof catalogue.kind?.[k], 'string', k);
  });

  it('a kind\'s settings are editor fields with the same defaults, each with its input', () => {
    const defaults = editorDefaults();
    for (const kind of KINDS) {
      for (const [name, value] of Object.entries(kind.settings)) {
        assert.ok(name in defaults, `${kind.kind}: the editor has no field ${name}`);
        assert.deepEqual(defaults[name], value, `${kind.kind}.${name}: the editor starts new nodes with another value`);
        assert.ok(html.includes(`id="node-config-input-${name}"`) || html.includes(`id="node-config-input-${name}-list"`), `${kind.kind}.${name} has an input`);
      }
    }
    // and every field of the editor belongs to a kind, or to the node itself
    const own = new Set(['name', 'kind', 'retentionDays', 'ledger', 'ledgerName']);
    const described = new Set(KINDS.flatMap((k) => Object.keys(k.settings)));
    assert.deepEqual(Object.keys(defaults).filter((f) => !own.has(f) && !described.has(f)), []);
    assert.deepEqual(editorList('SETTINGS').filter((f) => !own.has(f) && !described.has(f)), []);
    assert.deepEqual([...described].filter((f) => !['headers', 'fields'].includes(f) && !editorList('SETTINGS').includes(f)), [], 'the dialog\'s settings list');
  });

  it('a kind\'s secrets are the editor\'s credentials, with their types, each emptied when the place changes', () => {
    assert.deepEqual(editorCredentials(), destinationSecrets());
    assert.deepEqual(new Set(editorList('SECRETS')), new Set(Object.keys(destinationSecrets())));
    for (const kind of KINDS) for (const name of Object.keys(kind.secrets)) assert.ok(html.includes(`id="node-config-input-${name}"`), `${kind.kind}.${name} has an input`);
  });

  it('every part of a kind\'s place is a field whose change in the dialog empties the stored secrets', () => {
    const place = new Set(editorList('PLACE'));
    for (const kind of KINDS) {
      for (const part of Object.keys(kind.place({ kind: kind.kind }, {}))) assert.ok(place.has(part), `${kind.kind}: ${part} is not watched by the dialog`);
    }
  });

  it('the target identity and the place carry no secret', () => {
    const secrets = Object.fromEntries(Object.keys(destinationSecrets()).map((k) => [k, `SECRET-${k}-value`]));
    for (const kind of KINDS) {
      const config = { ...kind.settings, kind: kind.kind, folder: '/srv/out', url: 'https://cms.example.com/{{asset.id}}', host: 'sftp.example.com', user: 'agency', bucket: 'b', ...secrets };
      const shown = JSON.stringify([kind.target(config), kind.place(config, secrets), destinationTarget(config), destinationPlace(config, secrets)]);
      for (const [name, value] of Object.entries(secrets)) if (kind.secrets[name] === 'password') assert.ok(!shown.includes(value), `${kind.kind}: ${name} in its target or place`);
    }
  });

  it('an unknown kind is a clear configuration error', () => {
    assert.throws(() => kindOf({ kind: 'ftp' }), (e: unknown) => e instanceof DeliverError && e.code === 'ECONFIG' && /use folder, http, sftp, s3/.test(e.message));
    assert.throws(() => createDestination({ kind: 'ftp' }), DeliverError);
    assert.equal(kindOf({}).kind, 'folder', 'no kind: a folder, as before kinds existed');
  });

  it('each kind\'s templates: a path for folder, SFTP and S3, the URL for HTTP', () => {
    for (const k of ['folder', 'sftp', 's3']) assert.deepEqual(destinationTemplates({ kind: k, template: '{{asset.id}}' }), { context: 'path', location: '{{asset.id}}', removeAtLocation: true, metadata: {} });
    assert.deepEqual(destinationTemplates({ kind: 'http', url: 'https://x/{{asset.id}}', method: 'POST', headers: [{ name: 'X-T', value: '{{asset.iptc.title}}' }] }), {
      context: 'url', location: 'https://x/{{asset.id}}', remove: undefined, removeAtLocation: false, metadata: { 'header:X-T': '{{asset.iptc.title}}' },
    });
  });
});

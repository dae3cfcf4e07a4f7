/**
 * The examples are safe to deploy (class 3). The HTTP endpoints of examples 2, 4 and 7 that write metadata
 * or set an approval pass every request through a key check first: a bearer token from an environment
 * variable, compared in constant time; the key is documented on each tab's read me. Each key check is run
 * here as shipped (its function code, in a sandbox like the function node's) against hostile headers. Every
 * CSV an example writes turns cells that begin with =, +, -, @, a tab or a carriage return into text. The
 * flows tests (test/flows/) run the same endpoints in a real Node-RED with the keys the demo sets.
 */
import assert from 'node:assert/strict';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import jsonata from 'jsonata';
import { parseCsv } from '../helpers/files';

type FlowNode = Record<string, unknown> & { id: string; type: string; wires?: string[][]; func?: string; info?: string; name?: string };
const DIR = join(__dirname, '..', '..', 'examples');
const load = (file: string): FlowNode[] => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as FlowNode[];
const byId = (flow: FlowNode[], id: string): FlowNode => flow.find((n) => n.id === id) as FlowNode;
const DANGEROUS = ['=1+1', '+1+2', '-2+3', '@SUM(A1:A2)', '\t=1', '\r=1'];

/** Runs a function node's code as Node-RED would: msg, env, node, context, flow and its libs in scope. */
function runFunction(node: FlowNode, msg: Record<string, unknown>, env: Record<string, string> = {}): unknown {
  const store = new Map<string, unknown>();
  const ctx = { get: (k: string) => store.get(k), set: (k: string, v: unknown) => void store.set(k, v) };
  const libs = Object.fromEntries(((node.libs ?? []) as Array<{ var: string; module: string }>).map((l) => [l.var, l.module === 'crypto' ? crypto : undefined]));
  const warnings: string[] = [];
  const sandbox = {
    msg,
    env: { get: (k: string) => env[k] },
    node: { warn: (t: string) => warnings.push(t), log: () => undefined, status: () => undefined, error: () => undefined, send: () => undefined },
    context: ctx,
    flow: ctx,
    global: ctx,
    Buffer,
    ...libs,
  };
  return runInNewContext(`(function () {\n${node.func}\n})()`, sandbox);
}

const KEY_CHECKS: Array<[string, string, string, string]> = [
  ['2 Campaign metadata from a master system.json', 'meta.in', 'meta.key', 'METADATA_API_KEY'],
  ['4 Approval workflow with a review tool.json', 'job4.decisionIn', 'job4.key', 'REVIEW_CALLBACK_KEY'],
  ['4 Approval workflow with a review tool.json', 'job4.tool.decideIn', 'job4.tool.key', 'REVIEW_CALLBACK_KEY'],
  ['7 Audit log and metadata inventory.json', 'job7.updateIn', 'job7.key', 'AUDITED_UPDATE_KEY'],
];

describe('security: the examples are safe to deploy (class 3)', () => {
  describe('every HTTP endpoint of an example that leads to a PhotoShelter write asks for a key first', () => {
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json'))) {
      it(`${file}: no http in node reaches an update node without a key check on the way`, () => {
        const flow = load(file);
        for (const start of flow.filter((n) => n.type === 'http in')) {
          for (const update of flow.filter((n) => n.type === 'photoshelter-update')) {
            assert.ok(pathHasKey(flow, start.id, update.id), `${start.id} (${String(start.url)}) reaches ${update.id} without a key check`);
          }
        }
      });
    }
  });

  for (const [file, httpIn, keyNode, variable] of KEY_CHECKS) {
    describe(`${file.replace(/\.json$/, '')}: ${keyNode} (${variable})`, () => {
      const flow = load(file);
      const node = byId(flow, keyNode);
      const KEY = 'a3f1c9e0b7d24c6a8e5f0b1d2c3a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d';
      const call = (authorization: string | undefined, env: Record<string, string> = { [variable]: KEY }) => {
        const msg: Record<string, unknown> = { req: { headers: authorization === undefined ? {} : { authorization }, originalUrl: String(byId(flow, httpIn).url) }, payload: { id: 'I0000abcdefghijk' } };
        const [ok, refused] = runFunction(node, msg, env) as [Record<string, unknown> | null, Record<string, unknown> | null];
        return { ok, refused };
      };
      it('is the only way on from the http in node, uses crypto.timingSafeEqual, and is documented on the tab', () => {
        assert.deepEqual(byId(flow, httpIn).wires, [[keyNode]]);
        assert.match(node.func ?? '', /crypto\.timingSafeEqual\(digest\(m\[1\]\), digest\(key\)\)/);
        assert.ok(flow.some((n) => n.type === 'comment' && String(n.info).includes(variable) && /Bearer/.test(String(n.info))), 'a read me names the key and the header');
        assert.ok(((flow.find((n) => n.type === 'tab')?.env ?? []) as Array<{ name: string }>).some((e) => e.name === variable), 'the tab lists the variable');
        assert.ok(!JSON.stringify(flow).includes(KEY));
      });
      it('lets the right key through (control)', () => {
        assert.ok(call(`Bearer ${KEY}`).ok);
        assert.ok(call(`bearer ${KEY}`).ok, 'the scheme is case-insensitive');
      });
      const HOSTILE: Array<[string, string | undefined]> = [
        ['no Authorization header', undefined],
        ['an empty header', ''],
        ['"Bearer" with no key', 'Bearer '],
        ['another key', 'Bearer not-the-key'],
        ['the key with one more character', `Bearer ${KEY}0`],
        ['the key without its last character', `Bearer ${KEY.slice(0, -1)}`],
        ['the key in upper case', `Bearer ${KEY.toUpperCase()}`],
        ['the key as basic authentication', `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`],
        ['the key without a scheme', KEY],
        ['the key followed by another word', `Bearer ${KEY} extra`],
      ];
      for (const [what, header] of HOSTILE) {
        it(`refuses ${what} with 401, saying which key, echoing none`, () => {
          const { ok, refused } = call(header);
          assert.equal(ok, null);
          assert.equal(refused?.statusCode, 401);
          assert.match(String((refused?.payload as { error: string }).error), new RegExp(variable));
          assert.ok(!JSON.stringify(refused?.payload).includes(KEY));
          assert.equal((refused?.headers as Record<string, string>)['www-authenticate'], 'Bearer');
        });
      }
      it('is closed (503) while the variable is not set, whatever is sent', () => {
        for (const header of [undefined, 'Bearer ', 'Bearer undefined', `Bearer ${KEY}`]) {
          const { ok, refused } = call(header, {});
          assert.equal(ok, null);
          assert.equal(refused?.statusCode, 503);
          assert.match(String((refused?.payload as { error: string }).error), new RegExp(`closed until ${variable} is set`));
        }
      });
    });
  }

  describe('the stand-in review tool gives the key only to the callback it was set up with', () => {
    const flow = load('4 Approval workflow with a review tool.json');
    const ENV = { REVIEW_CALLBACK_KEY: 'tool-key', REVIEW_CALLBACK_URL: 'http://127.0.0.1:1880/photoshelter/review-decision' };
    const run = (id: string, msg: Record<string, unknown>, tasks: unknown[]) => {
      const store = new Map<string, unknown>([['demoReviewTasks', tasks]]);
      return runInNewContext(`(function () {\n${byId(flow, id).func}\n})()`, {
        msg,
        env: { get: (k: string) => (ENV as Record<string, string>)[k] },
        flow: { get: (k: string) => store.get(k), set: (k: string, v: unknown) => void store.set(k, v) },
        node: { warn: () => undefined, status: () => undefined },
      }) as unknown;
    };
    it('a task whose callback is another URL is not taken (400)', () => {
      const out = run('job4.tool.store', { payload: { assetId: 'I0000abcdefghijk', callbackUrl: 'http://evil.example/steal' } }, []) as Record<string, unknown>;
      assert.equal(out.statusCode, 400);
    });
    it('a stored task with another callback is not called, and no key is sent (409)', () => {
      const [call, answer] = run('job4.tool.decide', { payload: { decision: 'approved' }, req: { params: { id: 'T1' } }, res: {} }, [{ id: 'T1', assetId: 'I0000abcdefghijk', callbackUrl: 'http://evil.example/steal', status: 'open' }]) as Array<Record<string, unknown> | null>;
      assert.equal(call, null);
      assert.equal(answer?.statusCode, 409);
      assert.ok(!JSON.stringify(answer).includes('tool-key'));
    });
    it('the oldest open task, decided by the button, is not called when its callback is another URL', () => {
      const out = run('job4.tool.decide', { payload: { decision: 'approved' } }, [{ id: 'T1', assetId: 'I0000abcdefghijk', callbackUrl: 'http://evil.example/steal', status: 'open' }]) as unknown[];
      assert.deepEqual([...out], [null, null]);
    });
  });

  it('the local-folder example keeps a file name from PhotoShelter inside its folder', async () => {
    const rule = (byId(load('Approved photos to a local folder.json'), 'demo.name').rules as Array<{ to: string }>)[0].to;
    for (const name of ['../../../etc/cron.d/evil', '..\\..\\win.ini', 'a/b.jpg', 'x:y.jpg']) {
      const path = String(await jsonata(rule).evaluate({ asset: { id: 'I0000abcdefghijk', fileName: name } }, { env: () => '/out' }));
      assert.ok(path.startsWith('/out/local-folder/I0000abcdefghijk '), path);
      assert.equal(path.slice('/out/local-folder/'.length).includes('/'), false, path);
      assert.equal(path.includes('\\'), false, path);
    }
  });

  it('the stand-in review tool sends the key with its callback', () => {
    const flow = load('4 Approval workflow with a review tool.json');
    const msg: Record<string, unknown> = { payload: { decision: 'approved' }, req: { params: { id: 'T1' } }, res: {} };
    const store = new Map<string, unknown>([['demoReviewTasks', [{ id: 'T1', assetId: 'I0000abcdefghijk', callbackUrl: 'http://x/cb', status: 'open' }]]]);
    const node = byId(flow, 'job4.tool.decide');
    const [out] = runInNewContext(`(function () {\n${node.func}\n})()`, {
      msg,
      env: { get: (k: string) => (k === 'REVIEW_CALLBACK_KEY' ? 'tool-key' : k === 'REVIEW_CALLBACK_URL' ? 'http://x/cb' : undefined) },
      flow: { get: (k: string) => store.get(k), set: () => undefined },
      node: { warn: () => undefined },
    }) as [Record<string, unknown>];
    assert.equal((out.headers as Record<string, string>).authorization, 'Bearer tool-key');
  });

  describe('CSV written by the examples: a cell a spreadsheet would run as a formula is text (OWASP)', () => {
    const expectText = (cell: string, original: string) => assert.equal(cell, `'${original}`, JSON.stringify(cell));

    for (const value of DANGEROUS) {
      it(`example 3, the delivery log: a file name ${JSON.stringify(value)}`, () => {
        const node = byId(load('3 Approved gallery images to an agency over SFTP.json'), 'job3.logLine');
        const out = runFunction(node, { asset: { id: 'I0000abcdefghijk', fileName: value }, galleryName: value, delivery: { location: value, sidecar: 'x.json', bytes: 3, sha256: 'ab' } }, { PHOTOSHELTER_OUT_DIR: '/tmp' }) as { payload: string };
        const rows = parseCsv(out.payload);
        const row = rows[rows.length - 1];
        expectText(row[3], value);
        expectText(row[4], value);
        expectText(row[5], value);
      });
      it(`example 8, the failures list: an error ${JSON.stringify(value)}`, () => {
        const node = byId(load('8 Migration of a collection tree to a folder tree.json'), 'job8.errorText');
        const outs = runFunction(node, { event: { walkId: 'w', index: 1 }, asset: { id: 'I0000abcdefghijk', fileName: value, path: value }, error: { message: value, code: 'EFAIL' } }, { PHOTOSHELTER_OUT_DIR: '/tmp' }) as Array<{ payload: string } | null>;
        const rows = parseCsv((outs[2] as { payload: string }).payload);
        const row = rows[rows.length - 1];
        expectText(row[2], value);
        expectText(row[3], value);
      });
    }
    const seven = load('7 Audit log and metadata inventory.json');
    const rule = (id: string) => String(((byId(seven, id).rules as Array<{ p: string; to: string }>).find((r) => r.p === 'payload') as { to: string }).to);
    for (const value of DANGEROUS) {
      it(`example 7, deliveries, updates and the inventory: ${JSON.stringify(value)}`, async () => {
        const delivery = (await jsonata(rule('job7.deliveryRow')).evaluate({ asset: { id: 'I0000abcdefghijk', fileName: value }, delivery: { location: value, destination: value } })) as Record<string, string>;
        expectText(delivery.fileName, value);
        expectText(delivery.location, value);
        const updates = (await jsonata(rule('job7.updateRow')).evaluate({ update: { id: value, changed: false, dryRun: false }, asset: { id: value } })) as Array<Record<string, string>>;
        expectText(updates[0].assetId, value);
        const inventory = (await jsonata(rule('job7.inv.row')).evaluate({ asset: { id: value, fileName: value, iptc: { caption: value, keywords: [value] }, custom: { Campaign: value } } })) as Record<string, string>;
        for (const c of ['id', 'fileName', 'caption', 'keywords', 'campaign']) expectText(inventory[c], value);
      });
    }
    it('ordinary values are written as they are (control)', async () => {
      const inventory = (await jsonata(rule('job7.inv.row')).evaluate({ asset: { id: 'I0000abcdefghijk', fileName: 'a-b.jpg', iptc: { caption: 'Minus -2 inside' } } })) as Record<string, string>;
      assert.equal(inventory.fileName, 'a-b.jpg');
      assert.equal(inventory.caption, 'Minus -2 inside');
    });
  });
});

/** True when every path from `from` to `to` passes a key check (a function node with timingSafeEqual). */
function pathHasKey(flow: FlowNode[], from: string, to: string): boolean {
  const byIdMap = new Map(flow.map((n) => [n.id, n]));
  const stack: string[] = [from];
  const seen = new Set<string>();
  while (stack.length) {
    const id = stack.pop() as string;
    if (id === to) return false;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = byIdMap.get(id);
    if (!n) continue;
    if (n.type === 'function' && /timingSafeEqual/.test(n.func ?? '')) continue;
    stack.push(...(n.wires ?? []).flat(), ...(n.type === 'link out' ? ((n.links ?? []) as string[]) : []));
  }
  return true;
}

// the digest comparison the examples use, checked once here: equal keys match, others do not
describe('security: the constant-time comparison the examples use', () => {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  it('compares keys of any length without throwing, and only equal keys match', () => {
    assert.equal(timingSafeEqual(digest('a'), digest('a')), true);
    assert.equal(timingSafeEqual(digest('a'), digest('a'.repeat(1000))), false);
  });
});

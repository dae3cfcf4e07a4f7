import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Deliverer, type DeliverAsset } from '../../../src/core/deliver/deliver';
import { Semaphore } from '../../../src/core/limit';
import { checkRelativePath, FolderDestination } from '../../../src/core/deliver/folder';
import { FileLedger } from '../../../src/core/deliver/ledger';
import { createDestination, destinationTemplates } from '../../../src/core/deliver/registry';
import { xmpPacket } from '../../../src/core/deliver/sidecar';
import { render, viewOf } from '../../../src/core/deliver/template';
import { DeliverError } from '../../../src/core/deliver/types';
import { removeEarlierScenario } from './remove-earlier';
import { elsewhereUnlessPermissionsApply } from '../../helpers/permissions';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function asset(extra: Partial<DeliverAsset> = {}): DeliverAsset {
  return {
    id: 'I0000abcdefghijk',
    versionKey: '1000-10x10-aaaa',
    fileName: 'harbour.jpg',
    path: 'Campaigns/Spring',
    iptc: {
      title: 'Harbour <at> dawn & "mist"',
      caption: 'Boats in the harbour',
      keywords: ['sea', 'boat', 'a<b'],
      copyright: '© Shelter',
      author: 'Ana',
      credit: 'Shelter Photo',
      city: 'Brest',
      country: 'France',
      location: 'Port',
    },
    ...extra,
  };
}

function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(p, (e: unknown) => e instanceof DeliverError && e.code === code);
}

describe('deliver: folder destination', function () {
  this.timeout(20_000);
  let tmp: string;
  let base: string;
  let ledgerFile: string;
  const ledgers: FileLedger[] = [];
  const openLedger = async (): Promise<FileLedger> => {
    const l = await FileLedger.open(ledgerFile);
    ledgers.push(l);
    return l;
  };
  async function deliverer(opts: { template?: string; ledger?: FileLedger | null; fsync?: boolean } = {}) {
    const config = { kind: 'folder', folder: base, template: opts.template ?? '{{{asset.path}}}/{{asset.fileName}}', fsync: opts.fsync };
    const destination = createDestination(config);
    const ledger = opts.ledger === null ? undefined : (opts.ledger ?? (await openLedger()));
    return { d: new Deliverer({ destination, templates: destinationTemplates(config), ledger, name: 'folder', backoffMs: 5 }), ledger, destination };
  }
  const put = (d: Deliverer, data: Buffer, a = asset(), extra: Record<string, unknown> = {}) =>
    d.put({ asset: a, view: viewOf({}, { asset: a }), source: { kind: 'buffer', data }, signal: new AbortController().signal, ...extra });
  const files = (dir = base): string[] => {
    const out: string[] = [];
    const walk = (d: string, pre: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${pre}${e.name}/`);
        else out.push(pre + e.name);
      }
    };
    if (existsSync(dir)) walk(dir, '');
    return out.sort();
  };

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-deliver-'));
    base = join(tmp, 'out');
    ledgerFile = join(tmp, 'ledger', 'dest.jsonl');
  });
  afterEach(async () => {
    for (const l of ledgers.splice(0)) await l.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a moved or renamed asset leaves no copy at its earlier place ("remove earlier copies"); other assets stay', async () => {
    const config = { kind: 'folder', folder: base };
    await removeEarlierScenario({ destination: createDestination(config), templates: destinationTemplates(config), list: async () => files() });
  });

  it('puts a file at the templated path, atomically, with sha256 and bytes, and removes it', async () => {
    const { d } = await deliverer({ fsync: true });
    const data = Buffer.from('x'.repeat(70_000));
    const r = await put(d, data);
    assert.equal(r.location, 'Campaigns/Spring/harbour.jpg');
    assert.equal(r.bytes, data.length);
    assert.equal(r.sha256, sha(data));
    assert.equal(r.skipped, false);
    assert.deepEqual(files(), ['Campaigns/Spring/harbour.jpg'], 'no temporary file is left');
    assert.deepEqual(readFileSync(join(base, r.location)), data);
    const rm = await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal });
    assert.equal(rm.removed, true);
    assert.deepEqual(files(), []);
    const again = await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal });
    assert.equal(again.removed, false);
  });

  it('streams a body, hashing on the way, and reports progress', async () => {
    const { d } = await deliverer({ ledger: null });
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const all = Buffer.concat(chunks);
    const seen: number[] = [];
    const r = await d.put({
      asset: asset(), view: viewOf({}, { asset: asset() }), source: { kind: 'stream', stream: Readable.from(chunks), size: all.length },
      signal: new AbortController().signal, onProgress: (p) => seen.push(p.percent ?? -1), progressIntervalMs: 0,
    });
    assert.equal(r.sha256, sha(all));
    assert.equal(seen.at(-1), 100);
    assert.ok(seen.length > 2);
  });

  it('writes JSON and XMP sidecars next to the file; the XMP parses back', async () => {
    const { d } = await deliverer();
    const r1 = await put(d, Buffer.from('a'), asset(), { sidecar: 'json' });
    assert.equal(r1.sidecar, 'Campaigns/Spring/harbour.jpg.json');
    const json = JSON.parse(readFileSync(join(base, r1.sidecar as string), 'utf8')) as DeliverAsset;
    assert.equal(json.id, asset().id);
    const a2 = asset({ fileName: 'b.jpg' });
    const r2 = await put(d, Buffer.from('b'), a2, { sidecar: 'xmp' });
    const xmp = readFileSync(join(base, 'Campaigns/Spring/b.jpg.xmp'), 'utf8');
    assert.equal(r2.sidecar, 'Campaigns/Spring/b.jpg.xmp');
    const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
    const field = (tag: string): string[] => {
      const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xmp);
      if (!m) return [];
      const lis = [...m[1].matchAll(/<rdf:li[^>]*>([\s\S]*?)<\/rdf:li>/g)].map((x) => unescape(x[1]));
      return lis.length ? lis : [unescape(m[1])];
    };
    assert.deepEqual(field('dc:title'), ['Harbour <at> dawn & "mist"']);
    assert.deepEqual(field('dc:description'), ['Boats in the harbour']);
    assert.deepEqual(field('dc:subject'), ['sea', 'boat', 'a<b']);
    assert.deepEqual(field('dc:rights'), ['© Shelter']);
    assert.deepEqual(field('dc:creator'), ['Ana']);
    assert.deepEqual(field('photoshop:Credit'), ['Shelter Photo']);
    assert.deepEqual(field('photoshop:City'), ['Brest']);
    assert.deepEqual(field('photoshop:Country'), ['France']);
    assert.deepEqual(field('Iptc4xmpCore:Location'), ['Port']);
    assert.ok(!/<[^>]*<|&(?!amp;|lt;|gt;|quot;|apos;)/.test(xmp.replace(/<\?xpacket[^>]*\?>/g, '')), 'well-formed escapes');
    // remove takes the sidecar along
    await d.remove({ asset: a2, view: viewOf({}, { asset: a2 }), sidecar: 'xmp', signal: new AbortController().signal });
    assert.ok(!existsSync(join(base, 'Campaigns/Spring/b.jpg.xmp')));
  });

  it('escapes template values into one safe segment; triple braces keep slashes', () => {
    const view = { asset: { fileName: '../../etc/pa:ss\u0001wd', path: 'a/b' } };
    assert.equal(render('{{asset.fileName}}', view, 'path'), '.._.._etc_pa_ss_wd');
    assert.equal(render('{{{asset.path}}}/x', view, 'path'), 'a/b/x');
    assert.equal(render('{{asset.path}}', view, 'url'), 'a%2Fb');
    assert.equal(render('{{asset.fileName}}', { asset: { fileName: 'photo.' } }, 'path'), 'photo_');
  });

  it('refuses path attacks with EBADPATH and writes nothing', async () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'C:\\x', 'a\u0000b', 'CON', 'a/nul.txt', 'COM1.jpg', `${'n'.repeat(256)}.jpg`, '', '.']) {
      assert.throws(() => checkRelativePath(bad), (e: unknown) => e instanceof DeliverError && e.code === 'EBADPATH', JSON.stringify(bad));
    }
    assert.equal(checkRelativePath('./a//b/c.jpg'), 'a/b/c.jpg');
    assert.equal(checkRelativePath(`${'é'.repeat(126)}.j`), `${'é'.repeat(126)}.j`); // 254 bytes
    assert.throws(() => checkRelativePath(`${'é'.repeat(127)}.j`), /256 bytes/);
    const { d, ledger } = await deliverer({ template: '{{{asset.fileName}}}' });
    for (const fileName of ['../escape.jpg', '/abs.jpg', 'x\u0000.jpg', 'aux', 'a'.repeat(300)]) {
      await rejectsCode(put(d, Buffer.from('z'), asset({ fileName })), 'EBADPATH');
    }
    assert.deepEqual(files(tmp).filter((f) => !f.startsWith('ledger/')), []);
    assert.equal(ledger?.size, 0, 'nothing recorded');
  });

  it('skips a delivered version, also after a restart; a new version is delivered again', async () => {
    const first = await deliverer();
    const r1 = await put(first.d, Buffer.from('v1'));
    assert.equal(r1.skipped, false);
    const r2 = await put(first.d, Buffer.from('v1'));
    assert.equal(r2.skipped, true);
    assert.equal(r2.sha256, sha('v1'));
    await first.ledger?.close();
    // a restart: a new ledger on the same file
    const second = await deliverer();
    const r3 = await put(second.d, Buffer.from('other bytes'));
    assert.equal(r3.skipped, true);
    assert.deepEqual(readFileSync(join(base, r1.location), 'utf8'), 'v1');
    const r4 = await put(second.d, Buffer.from('v2'), asset({ versionKey: '2000-10x10-aaaa' }));
    assert.equal(r4.skipped, false);
    assert.equal(readFileSync(join(base, r1.location), 'utf8'), 'v2');
    // the ledger was compacted on open: one line per asset and location, then appended
    const lines = readFileSync(ledgerFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; v: string });
    assert.deepEqual(lines.map((l) => l.t), ['done', 'intent', 'done']);
  });

  it('redeliver sends a delivered version again on purpose, and records it; the next plain repeat is skipped again', async () => {
    const { d, ledger } = await deliverer();
    await put(d, Buffer.from('v1'));
    // someone changed the file at the destination: a plain repeat leaves it, a redelivery puts ours back
    writeFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'edited by hand');
    assert.equal((await put(d, Buffer.from('v1'))).skipped, true);
    const again = await put(d, Buffer.from('v1'), asset(), { redeliver: true });
    assert.equal(again.skipped, false);
    assert.equal(again.redelivered, true);
    assert.equal(readFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'utf8'), 'v1');
    assert.equal(ledger?.get({ target: '', asset: asset().id, location: 'Campaigns/Spring/harbour.jpg' })?.t, 'done');
    assert.equal((await put(d, Buffer.from('v1'))).skipped, true);
    // a version never delivered is simply delivered, redeliver or not
    const fresh = await put(d, Buffer.from('v3'), asset({ versionKey: '3000-10x10-aaaa' }), { redeliver: true });
    assert.equal(fresh.skipped, false);
    assert.equal(fresh.redelivered, undefined);
  });

  it('a removal is recorded: the same version is delivered again afterwards', async () => {
    const { d, ledger } = await deliverer();
    await put(d, Buffer.from('v1'));
    await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), signal: new AbortController().signal });
    assert.equal(ledger?.get({ target: '', asset: asset().id, location: 'Campaigns/Spring/harbour.jpg' })?.t, 'removed');
    const r = await put(d, Buffer.from('v1'));
    assert.equal(r.skipped, false);
  });

  it('dry-run resolves the location and writes nothing, ledger included', async () => {
    const { d } = await deliverer();
    const before = readFileSync(ledgerFile, 'utf8');
    const r = await put(d, Buffer.from('v1'), asset(), { dryRun: true, sidecar: 'xmp' });
    assert.equal(r.location, 'Campaigns/Spring/harbour.jpg');
    assert.equal(r.dryRun, true);
    assert.deepEqual(files(), []);
    assert.equal(readFileSync(ledgerFile, 'utf8'), before);
    const rm = await d.remove({ asset: asset(), view: viewOf({}, { asset: asset() }), dryRun: true, signal: new AbortController().signal });
    assert.equal(rm.dryRun, true);
    assert.equal(readFileSync(ledgerFile, 'utf8'), before);
  });

  it('after a crash between upload and record, the next attempt overwrites the same location', async () => {
    const l1 = await openLedger();
    // the crash: intent on disk, the file written, no done record
    await l1.intent({ target: '', asset: asset().id, location: 'Campaigns/Spring/harbour.jpg' }, { v: asset().versionKey });
    await l1.close();
    writeFileSync(ledgerFile, readFileSync(ledgerFile, 'utf8') + '{"t":"done","a":"I0000ab'); // a torn line
    const { d } = await deliverer();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'Campaigns/Spring'), { recursive: true });
    writeFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'partial');
    const r = await put(d, Buffer.from('complete'), asset(), { overwrite: 'fail' });
    assert.equal(r.recovered, true);
    assert.equal(r.location, 'Campaigns/Spring/harbour.jpg');
    assert.deepEqual(files(), ['Campaigns/Spring/harbour.jpg'], 'one copy only');
    assert.equal(readFileSync(join(base, r.location), 'utf8'), 'complete');
  });

  it('an upload refused because a file is there (policy "fail") leaves no intent: a later attempt refuses again, never overwrites', async () => {
    const { d } = await deliverer();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'Campaigns/Spring'), { recursive: true });
    // someone else's file at the location this asset maps to
    writeFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'not ours');
    await rejectsCode(put(d, Buffer.from('ours'), asset(), { overwrite: 'fail' }), 'EEXIST');
    await rejectsCode(put(d, Buffer.from('ours'), asset(), { overwrite: 'fail' }), 'EEXIST');
    assert.equal(readFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'utf8'), 'not ours');
    // after a restart (the ledger read back from disk) too
    const { d: again } = await deliverer();
    await rejectsCode(put(again, Buffer.from('ours'), asset(), { overwrite: 'fail' }), 'EEXIST');
    assert.equal(readFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'utf8'), 'not ours');
  });

  it('a failed upload is recorded with its error (for audits), and the next attempt completes it at the same place', async () => {
    const { d, ledger } = await deliverer();
    const broken = new Readable({ read() { this.destroy(Object.assign(new Error('the disk went away'), { code: 'EIO' })); } });
    await assert.rejects(d.put({ asset: asset(), view: viewOf({}, { asset: asset() }), source: { kind: 'stream', stream: broken }, signal: new AbortController().signal }));
    const rec = await (ledger as FileLedger).lookup({ target: '', asset: asset().id, location: 'Campaigns/Spring/harbour.jpg' });
    assert.equal(rec?.t, 'failed');
    assert.equal(rec?.v, asset().versionKey);
    assert.match(String(rec?.e?.message), /the disk went away/);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'Campaigns/Spring'), { recursive: true });
    writeFileSync(join(base, 'Campaigns/Spring/harbour.jpg'), 'left by the failed attempt');
    const r = await put(d, Buffer.from('complete'), asset(), { overwrite: 'fail' });
    assert.equal(r.recovered, true, 'the failed attempt is completed, whatever the policy');
    assert.equal(readFileSync(join(base, r.location), 'utf8'), 'complete');
    // and after a restart, the failed record is read back as it was written
    const lines = readFileSync(ledgerFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; e?: { code?: string } });
    assert.deepEqual(lines.map((l) => l.t), ['intent', 'failed', 'intent', 'done']);
    assert.equal(lines[1].e?.code, 'ESOURCE');
  });

  it('a refusal after an earlier version was delivered keeps the record of that delivery', async () => {
    const { d } = await deliverer();
    const first = await put(d, Buffer.from('v1'));
    await rejectsCode(put(d, Buffer.from('v2'), asset({ versionKey: 'v2' }), { overwrite: 'fail' }), 'EEXIST');
    const again = await put(d, Buffer.from('v1'));
    assert.equal(again.skipped, true, 'version 1 is still known as delivered there');
    assert.equal(readFileSync(join(base, first.location), 'utf8'), 'v1');
  });

  it('overwrite policies: skip leaves an existing file, fail refuses it', async () => {
    const { d } = await deliverer({ ledger: null });
    await put(d, Buffer.from('old'));
    const s = await put(d, Buffer.from('new'), asset(), { overwrite: 'skip' });
    assert.equal(s.skipped, true);
    assert.equal(s.existed, true);
    await rejectsCode(put(d, Buffer.from('new'), asset(), { overwrite: 'fail' }), 'EEXIST');
    assert.equal(readFileSync(join(base, s.location), 'utf8'), 'old');
  });

  it('a write that cannot happen is a clear, non-retryable error and leaves no temporary file', async () => {
    // a file where a folder must be: ENOTDIR whoever runs the test
    writeFileSync(join(tmp, 'blocker'), 'x');
    const { d } = await deliverer({ template: 'blocker/{{asset.fileName}}' });
    const destination = new FolderDestination({ base: tmp });
    await assert.rejects(
      new Deliverer({ destination, templates: destinationTemplates({ kind: 'folder', template: 'blocker/{{asset.fileName}}' }), name: 'x' }).put({
        asset: asset(), view: viewOf({}, { asset: asset() }), source: { kind: 'buffer', data: Buffer.from('x') }, signal: new AbortController().signal,
      }),
      (e: unknown) => e instanceof DeliverError && e.code === 'ENOTDIR' && !e.retryable,
    );
    void d;
  });

  it('permission denied is EACCES, not retried, temp file removed', async function () {
    if (await elsewhereUnlessPermissionsApply(this, __filename)) return; // root: run without CAP_DAC_OVERRIDE
    const { chmodSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'locked'), { recursive: true });
    chmodSync(join(base, 'locked'), 0o500);
    try {
      const { d } = await deliverer({ template: 'locked/{{asset.fileName}}' });
      await assert.rejects(put(d, Buffer.from('x')), (e: unknown) => e instanceof DeliverError && e.code === 'EACCES' && !e.retryable && e.message.includes('Permission denied'));
      assert.deepEqual(readdirSync(join(base, 'locked')), []);
    } finally {
      chmodSync(join(base, 'locked'), 0o700);
    }
  });

  it('a disk-full write is ENOSPC, not retried, and removes its temporary file', async () => {
    // the file system fills up under the write (the module reads fs/promises at call time)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
    const orig = fsp.open;
    let writes = 0;
    (fsp as { open: unknown }).open = async (...args: Parameters<typeof orig>) => {
      const real = await orig(...args);
      real.writev = async () => {
        writes++;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      return real;
    };
    try {
      const { d } = await deliverer();
      await assert.rejects(put(d, Buffer.alloc(10_000)), (e: unknown) => e instanceof DeliverError && e.code === 'ENOSPC' && !e.retryable && /disk is full/.test(e.message));
    } finally {
      (fsp as { open: unknown }).open = orig;
    }
    assert.equal(writes, 1, 'tried once');
    assert.deepEqual(files(), [], 'temporary file removed');
  });

  it('a source that fails before the destination reads is reported, not thrown at the process', async () => {
    const { d } = await deliverer({ ledger: null });
    const body = new Readable({
      read() {
        this.destroy(new Error('download reset'));
      },
    });
    await assert.rejects(d.put({ asset: asset(), view: viewOf({}, { asset: asset() }), source: { kind: 'stream', stream: body }, signal: new AbortController().signal }), (e: unknown) => e instanceof DeliverError && e.code === 'ESOURCE');
    assert.deepEqual(files().filter((f) => f.endsWith('.part')), []);
  });

  it('an abort stops the write and removes the temporary file', async () => {
    const { d } = await deliverer({ ledger: null });
    const ac = new AbortController();
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1000));
    const p = d.put({ asset: asset(), view: viewOf({}, { asset: asset() }), source: { kind: 'stream', stream: body }, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await assert.rejects(p);
    assert.deepEqual(files(), []);
  });

  it('caps concurrency per destination', async () => {
    const sem = new Semaphore(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await sem.acquire();
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 10));
        active--;
        release();
      }),
    );
    assert.equal(peak, 2);
  });

  it('XMP escapes and omits empty fields', () => {
    const x = xmpPacket({ ...asset(), iptc: { keywords: [], title: 'a&b', caption: null } } as never);
    assert.match(x, /a&amp;b/);
    assert.doesNotMatch(x, /dc:description/);
  });
});

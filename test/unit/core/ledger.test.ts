/**
 * The file store of the delivery ledger: records keyed by target, asset and location; format-1 files read
 * and attributed; durability (a promise resolves only once its record is in the file); group commit;
 * compaction on open and when the file has doubled; retention of removals; exclusivity.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger, type LedgerKey, type LedgerRecord } from '../../../src/core/deliver/ledger';

const lines = (file: string): LedgerRecord[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LedgerRecord);

describe('core/deliver/ledger: the file store', function () {
  this.timeout(20_000);
  let tmp: string;
  let file: string;
  const open: FileLedger[] = [];
  const openLedger = async (opts: Parameters<typeof FileLedger.open>[1] = {}): Promise<FileLedger> => {
    const l = await FileLedger.open(file, opts);
    open.push(l);
    return l;
  };
  const key = (asset: string, location = `${asset}.jpg`, target = 'folder:/srv/out'): LedgerKey => ({ target, asset, location });

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-ledger-'));
    file = join(tmp, 'deliveries', 'dest.jsonl');
  });
  afterEach(async () => {
    for (const l of open.splice(0)) await l.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('keys records by target, asset and location, and writes format 2 records', async () => {
    const l = await openLedger();
    await l.intent(key('I1'), { v: 'v1', m: '2024-06-02T09:30:00Z' });
    await l.done(key('I1'), { v: 'v1', m: '2024-06-02T09:30:00Z', f: { instance: 'xmp.iid:1' } }, { b: 3, h: 'abc' });
    assert.equal((await l.lookup(key('I1')))?.t, 'done');
    assert.equal(await l.lookup(key('I1', 'I1.jpg', 'folder:/srv/elsewhere')), undefined, 'another target knows nothing of it');
    assert.equal(await l.lookup(key('I1', 'other.jpg')), undefined, 'another location neither');
    const [intent, done] = lines(file);
    assert.deepEqual({ ...intent, at: 'x' }, { t: 'intent', d: 'folder:/srv/out', a: 'I1', v: 'v1', l: 'I1.jpg', m: '2024-06-02T09:30:00Z', at: 'x' });
    assert.deepEqual({ ...done, at: 'x' }, { t: 'done', d: 'folder:/srv/out', a: 'I1', v: 'v1', l: 'I1.jpg', m: '2024-06-02T09:30:00Z', f: { instance: 'xmp.iid:1' }, b: 3, h: 'abc', at: 'x' });
  });

  it('a format-1 file (records without target) is attributed to the target it is opened for, and rewritten with it', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(tmp, 'deliveries'));
    // exactly what the previous version wrote: intent, done, and one removal, no target
    writeFileSync(
      file,
      [
        '{"t":"intent","a":"I0000abcdefghijk","v":"1000-10x10-aaaaaaaa","l":"a/b.jpg","at":"2024-01-01T00:00:00.000Z"}',
        '{"t":"done","a":"I0000abcdefghijk","v":"1000-10x10-aaaaaaaa","l":"a/b.jpg","b":1000,"h":"ff","at":"2024-01-01T00:00:01.000Z"}',
        '{"t":"done","a":"I0000bbbbbbbbbbb","v":"7-1x1-bbbbbbbb","l":"c.jpg","b":7,"h":"ee","r":{"status":201,"body":{"id":4}},"at":"2024-01-01T00:00:02.000Z"}',
        '',
      ].join('\n'),
    );
    const l = await openLedger({ target: 'folder:/srv/out' });
    const r = await l.lookup({ target: 'folder:/srv/out', asset: 'I0000abcdefghijk', location: 'a/b.jpg' });
    assert.equal(r?.t, 'done');
    assert.equal(r?.v, '1000-10x10-aaaaaaaa');
    assert.equal(r?.h, 'ff');
    assert.equal(r?.m, undefined, 'no modified_at was kept then');
    assert.deepEqual((await l.lookup({ target: 'folder:/srv/out', asset: 'I0000bbbbbbbbbbb', location: 'c.jpg' }))?.r, { status: 201, body: { id: 4 } });
    // the compaction on open wrote the attribution down: one line per key, each with its target
    const after = lines(file);
    assert.equal(after.length, 2);
    assert.ok(after.every((x) => x.d === 'folder:/srv/out'));
    await l.close();
    // opened again for another target (the destination was changed later): the records stay the old target's
    const moved = await openLedger({ target: 'folder:/srv/new' });
    assert.equal(await moved.lookup({ target: 'folder:/srv/new', asset: 'I0000abcdefghijk', location: 'a/b.jpg' }), undefined);
    assert.equal((await moved.lookup({ target: 'folder:/srv/out', asset: 'I0000abcdefghijk', location: 'a/b.jpg' }))?.t, 'done');
  });

  it('ignores a torn last line and lines that are no records', async () => {
    const l1 = await openLedger();
    await l1.done(key('I1'), { v: 'v1' }, { b: 1 });
    await l1.close();
    writeFileSync(file, readFileSync(file, 'utf8') + 'null\n{"t":"bogus","a":"x","l":"y"}\n{"t":"done","d":"folder:/srv/out","a":"I2","v":');
    const l2 = await openLedger();
    assert.equal(l2.size, 1);
    assert.equal((await l2.lookup(key('I1')))?.t, 'done');
    assert.equal(await l2.lookup(key('I2')), undefined);
  });

  it('a record is in the file when its promise resolves', async () => {
    const l = await openLedger();
    const seen: boolean[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        l.intent(key(`I${i}`), { v: 'v' }).then(() => {
          seen.push(readFileSync(file, 'utf8').includes(`"a":"I${i}"`));
        }),
      ),
    );
    assert.equal(seen.length, 20);
    assert.ok(seen.every(Boolean), 'every record was on disk before its append resolved');
  });

  it('group commit: appends made while a sync runs share the next sync', async () => {
    const grouped = await openLedger();
    const before = grouped.stats.syncs;
    await Promise.all(Array.from({ length: 200 }, (_, i) => grouped.intent(key(`I${i}`), { v: 'v' })));
    const groupedSyncs = grouped.stats.syncs - before;
    assert.equal(grouped.stats.records, 200);
    assert.ok(groupedSyncs < 200, `200 records took ${groupedSyncs} syncs`);
    // the first append starts a sync alone; everything queued behind it goes in the next one
    assert.ok(groupedSyncs <= 3, `200 records queued at once take at most a few syncs, not ${groupedSyncs}`);
    await grouped.close();
    rmSync(file);
    const single = await openLedger({ groupCommit: false });
    await Promise.all(Array.from({ length: 50 }, (_, i) => single.intent(key(`I${i}`), { v: 'v' })));
    assert.equal(single.stats.syncs, 50, 'without group commit, one sync per record');
    assert.equal(lines(file).length, 50);
  });

  it('compacts on open, and when the file has doubled since the last compaction, to the live records', async () => {
    const l = await openLedger({ minCompactBytes: 2_000 });
    assert.equal(l.stats.compactions, 1, 'on open');
    // the same ten keys over and over: the live records stay ten
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => l.done(key(`I${i}`), { v: `v${round}` }, { b: round })));
    }
    assert.ok(l.stats.compactions >= 2, `compacted while running (${l.stats.compactions})`);
    const size = readFileSync(file).length;
    assert.ok(size < 2 * 2_000 + 2_000, `the file stays bounded (${size} bytes)`);
    assert.ok(!existsSync(`${file}.compact`), 'no file left aside');
    await l.close();
    const again = await openLedger();
    assert.equal(again.size, 10);
    for (let i = 0; i < 10; i++) assert.equal((await again.lookup(key(`I${i}`)))?.v, 'v19', 'the last record of each key survives');
    assert.equal(lines(file).length, 10);
  });

  it('a compaction interrupted before its rename leaves the old file whole: the next open reads it', async () => {
    const l = await openLedger();
    await l.done(key('I1'), { v: 'v1' }, { b: 1 });
    await l.close();
    // a crash while the compacted copy was written: a partial file aside
    writeFileSync(`${file}.compact`, '{"t":"done","d":"folder:/srv/out","a":"I1","v":"v0"');
    const again = await openLedger();
    assert.equal((await again.lookup(key('I1')))?.v, 'v1');
    assert.ok(!existsSync(`${file}.compact`));
  });

  it('drops removals older than the retention when it compacts, and keeps recent ones and everything else', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const l = await openLedger({ removedRetentionMs: 10 * 86_400_000, now: () => now });
    await l.done(key('kept-done'), { v: 'v' }, { b: 1 });
    await l.removed(key('old-removal'), { v: 'v' });
    await l.refused(key('refused'), { v: 'v' });
    now += 5 * 86_400_000;
    await l.removed(key('recent-removal'), { v: 'v' });
    await l.close();
    now += 6 * 86_400_000; // the first removal is 11 days old, the second 6
    const again = await openLedger({ removedRetentionMs: 10 * 86_400_000, now: () => now });
    const live: string[] = [];
    for await (const r of again.records()) live.push(`${r.a}:${r.t}`);
    assert.deepEqual(live.sort(), ['kept-done:done', 'recent-removal:removed', 'refused:refused']);
    assert.equal(lines(file).length, 3);
  });

  it('placesOf: the live records of one asset at one target, every location, also after a reopen and a compaction', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const l = await openLedger({ removedRetentionMs: 86_400_000, now: () => now });
    await l.done(key('I1', 'emea/a.jpg'), { v: 'v1' }, { b: 1 });
    await l.done(key('I1', 'apac/a.jpg'), { v: 'v1' }, { b: 1 });
    await l.done(key('I1', 'other/a.jpg', 'folder:/srv/elsewhere'), { v: 'v1' }, { b: 1 });
    await l.done(key('I2', 'emea/b.jpg'), { v: 'v1' }, { b: 1 });
    await l.removed(key('I1', 'emea/a.jpg'), { v: 'v1' });
    const places = async (x: FileLedger, asset: string, target = 'folder:/srv/out') => (await x.placesOf(target, asset)).map((r) => `${r.l}:${r.t}`).sort();
    assert.deepEqual(await places(l, 'I1'), ['apac/a.jpg:done', 'emea/a.jpg:removed']);
    assert.deepEqual(await places(l, 'I1', 'folder:/srv/elsewhere'), ['other/a.jpg:done']);
    assert.deepEqual(await places(l, 'I3'), []);
    await l.close();
    now += 2 * 86_400_000; // the removal is past the retention: the compaction on open drops it
    const again = await openLedger({ removedRetentionMs: 86_400_000, now: () => now });
    assert.deepEqual(await places(again, 'I1'), ['apac/a.jpg:done']);
    assert.deepEqual(await places(again, 'I2'), ['emea/b.jpg:done']);
  });

  it('a refusal puts back the record that was there before the claim', async () => {
    const l = await openLedger();
    await l.done(key('I1'), { v: 'v1', m: '2024-01-01T00:00:00Z' }, { b: 5, h: 'aa', r: { status: 201 } });
    const previous = await l.lookup(key('I1'));
    await l.intent(key('I1'), { v: 'v2' });
    await l.refused(key('I1'), { v: 'v2' }, previous);
    const r = await l.lookup(key('I1'));
    assert.equal(r?.t, 'done');
    assert.equal(r?.v, 'v1');
    assert.equal(r?.h, 'aa');
    assert.equal(r?.m, '2024-01-01T00:00:00Z');
    await l.intent(key('I2'), { v: 'v1' });
    await l.refused(key('I2'), { v: 'v1' }, undefined);
    assert.equal((await l.lookup(key('I2')))?.t, 'refused');
  });

  it('exclusive: one run at a time per key, others in parallel', async () => {
    const l = await openLedger();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = l.exclusive(key('I1'), async () => {
      order.push('a start');
      await gate;
      order.push('a end');
    });
    const b = l.exclusive(key('I1'), async () => void order.push('b'));
    const c = l.exclusive(key('I2'), async () => void order.push('c'));
    await c;
    assert.deepEqual(order, ['a start', 'c'], 'another key ran meanwhile; the same key waited');
    release();
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a start', 'c', 'a end', 'b']);
  });

  it('a closed ledger refuses appends with a clear error', async () => {
    const l = await openLedger();
    await l.close();
    await assert.rejects(l.intent(key('I1'), { v: 'v' }), /closed/);
  });
});

/**
 * What was delivered, read from the file ledger (its in-memory index, no file scan), and named ledgers:
 * destinations of one Node-RED that give the same name share one file (what one delivered, another sees,
 * and a removal by one counts for the others), a destination's own earlier file is adopted once, and the
 * file closes with its last user.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileLedger, type DeliveredAsset, type DeliveryLedger, type LedgerKey } from '../../../src/core/deliver/ledger';
import { ledgerName, namedLedgerFile, namedLedgerUsers, openNamedLedger } from '../../../src/core/deliver/ledger-named';
import { deliveredSequence } from '../../../src/core/deliver/delivered';

const key = (asset: string, location = `${asset}.jpg`, target = 'folder:/srv/out'): LedgerKey => ({ target, asset, location });
const all = async (l: DeliveryLedger, target?: string): Promise<DeliveredAsset[]> => {
  const out: DeliveredAsset[] = [];
  for await (const d of l.deliveredAssets(target === undefined ? {} : { target })) out.push(d);
  return out;
};

describe('core/deliver: what was delivered, and named file ledgers', function () {
  this.timeout(20_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-delivered-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists the assets whose latest record at a place is done, with those places, at every target or one', async () => {
    const l = await FileLedger.open(join(tmp, 'd.jsonl'));
    await l.done(key('I2'), { v: 'v1' }, { b: 20 });
    await l.done(key('I1'), { v: 'v1' }, { b: 10 });
    await l.done(key('I1', 'apac/I1.jpg'), { v: 'v1' }, { b: 10 });
    await l.done(key('I1', 'I1.jpg', 'sftp://a@h:22/out'), { v: 'v2' }, { b: 11 });
    await l.done(key('I3'), { v: 'v1' }, { b: 30 });
    await l.removed(key('I3'), { v: 'v1' });
    await l.intent(key('I4'), { v: 'v1' });
    await l.intent(key('I5'), { v: 'v1' });
    await l.failed(key('I5'), { v: 'v1' }, { message: 'gone' });
    const list = await all(l);
    assert.deepEqual(list.map((d) => d.asset), ['I1', 'I2'], 'removed, claimed and failed ones are not delivered');
    assert.deepEqual(list[0].places.map((p) => `${p.target} ${p.location} ${p.version} ${p.bytes}`), [
      'folder:/srv/out I1.jpg v1 10',
      'folder:/srv/out apac/I1.jpg v1 10',
      'sftp://a@h:22/out I1.jpg v2 11',
    ]);
    assert.match(list[0].places[0].at, /^\d{4}-/);
    assert.deepEqual((await all(l, 'sftp://a@h:22/out')).map((d) => d.asset), ['I1']);
    // the same after a restart (read from the file)
    await l.close();
    const again = await FileLedger.open(join(tmp, 'd.jsonl'));
    assert.deepEqual(await all(again), list);
    // as a sequence of messages
    const seq = await deliveredSequence(again, 'seq-1');
    assert.deepEqual(seq.map((m) => [m.payload, m.asset.id, m.parts.index, m.parts.count, m.parts.id, m.parts.type]), [
      ['I1', 'I1', 0, 2, 'seq-1', 'array'],
      ['I2', 'I2', 1, 2, 'seq-1', 'array'],
    ]);
    assert.deepEqual(seq[1].delivered.places.map((p) => p.location), ['I2.jpg']);
    await again.close();
  });

  it('ledger names: plain names only; the file lies under named/', () => {
    assert.equal(ledgerName('  demo deliveries '), 'demo deliveries');
    assert.equal(ledgerName(''), undefined);
    assert.equal(ledgerName(undefined), undefined);
    for (const bad of ['../x', 'a/b', '.hidden', 'x'.repeat(65), 'semi;colon']) assert.throws(() => ledgerName(bad), { code: 'ECONFIG' }, bad);
    assert.equal(namedLedgerFile('/u/deliveries', 'demo deliveries'), join('/u/deliveries', 'named', 'demo_deliveries.jsonl'));
  });

  it('destinations with the same name share one ledger: a delivery by one is seen by the other, a removal by the other counts for the first', async () => {
    const file = namedLedgerFile(tmp, 'demo');
    const a = await openNamedLedger(file, { target: 'folder:/srv/out' });
    const b = await openNamedLedger(file, { target: 'sftp://a@h:22/out' });
    assert.equal(namedLedgerUsers(file), 2);
    await a.done(key('I1'), { v: 'v1' }, { b: 1 });
    await b.done(key('I2', 'I2.jpg', 'sftp://a@h:22/out'), { v: 'v1' }, { b: 2 });
    assert.deepEqual((await all(b)).map((d) => d.asset), ['I1', 'I2']);
    assert.equal((await b.lookup(key('I1')))?.t, 'done');
    await b.removed(key('I1'), { v: 'v1' });
    assert.equal((await a.lookup(key('I1')))?.t, 'removed', 'the first destination sees the removal');
    // closing one share leaves the other working; the file closes with the last
    await a.close();
    await a.close();
    assert.equal(namedLedgerUsers(file), 1);
    await b.done(key('I3'), { v: 'v1' }, { b: 3 });
    await b.close();
    assert.equal(namedLedgerUsers(file), 0);
    await assert.rejects(b.done(key('I4'), { v: 'v1' }, { b: 4 }), /closed/);
    // reopened (a redeploy): everything is there
    const c = await openNamedLedger(file, { target: 'folder:/srv/out' });
    assert.deepEqual((await all(c)).map((d) => d.asset), ['I2', 'I3']);
    await c.close();
  });

  it('a destination that joins a name brings its own earlier records along once, without overriding the named ledger\'s', async () => {
    const own = join(tmp, 'dest-1.jsonl');
    // format 1 (no target) and format 2 records of the destination's own file
    writeFileSync(own, [
      JSON.stringify({ t: 'done', a: 'I1', v: 'v1', l: 'I1.jpg', b: 5, at: '2024-01-01T00:00:00.000Z' }),
      JSON.stringify({ t: 'done', d: 'folder:/srv/out', a: 'I2', v: 'v1', l: 'I2.jpg', b: 6, at: '2024-01-02T00:00:00.000Z' }),
      '',
    ].join('\n'));
    const file = namedLedgerFile(tmp, 'demo');
    await mkdir(dirname(file), { recursive: true });
    const first = await openNamedLedger(file, { target: 'folder:/srv/out' });
    await first.done(key('I2'), { v: 'v9' }, { b: 9 });
    const joined = await openNamedLedger(file, { target: 'folder:/srv/out' }, own);
    assert.equal((await joined.lookup(key('I1')))?.at, '2024-01-01T00:00:00.000Z', 'the earlier record, its time kept, attributed to the target');
    assert.equal((await joined.lookup(key('I2')))?.v, 'v9', 'the named ledger\'s own record stays');
    assert.ok(!existsSync(own) && existsSync(`${own}.adopted`), 'the old file is set aside');
    await joined.close();
    await first.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { a: string; d: string });
    assert.deepEqual(lines.map((r) => `${r.a} ${r.d}`).sort(), ['I1 folder:/srv/out', 'I2 folder:/srv/out'], 'durable in the named file');
    // adopting again (the old file is gone) changes nothing
    const again = await openNamedLedger(file, { target: 'folder:/srv/out' }, own);
    assert.equal((await all(again)).length, 2);
    await again.close();
  });
});

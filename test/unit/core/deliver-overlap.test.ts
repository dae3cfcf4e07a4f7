// A delivery's waits that overlap: the download opens while the intent is synced (no byte reaches the
// destination before the intent is on disk), and the destination's slot is free while the done record is
// synced; with the policy "overwrite" the intent is synced while the delivery waits for its slot.
// Event-driven: each test waits for the step it is about, never for a time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Deliverer, type DeliverAsset } from '../../../src/core/deliver/deliver';
import { FileLedger, type LedgerKey, type VersionStamp, type DeliveryResult } from '../../../src/core/deliver/ledger';
import type { Destination, PutRequest, PutResult } from '../../../src/core/deliver/types';
import { Semaphore } from '../../../src/core/limit';

/** A promise with its resolve at hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A destination that keeps what it gets in memory and logs each step. */
class MemoryDestination implements Destination {
  readonly kind = 'memory';
  readonly files = new Map<string, Buffer>();
  constructor(private readonly log: string[]) {}
  resolve(rendered: string): string {
    return rendered;
  }
  async put(req: PutRequest): Promise<PutResult> {
    this.log.push(`put ${req.location}`);
    const chunks: Buffer[] = [];
    for await (const c of req.body) chunks.push(c as Buffer);
    this.files.set(req.location, Buffer.concat(chunks));
    this.log.push(`stored ${req.location}`);
    return { location: req.location, bytes: Buffer.concat(chunks).length };
  }
  async remove(): Promise<{ removed: boolean }> {
    return { removed: false };
  }
  async close(): Promise<void> {}
}

/** A FileLedger whose intent and done records can be held back before they are written. */
class HeldLedger {
  intentGate?: Promise<void>;
  doneGate?: Promise<void>;
  constructor(
    readonly inner: FileLedger,
    private readonly log: string[],
  ) {}
  lookup = async (k: LedgerKey) => {
    const r = await this.inner.lookup(k);
    this.log.push(`looked up ${k.location}`);
    return r;
  };
  exclusive = <T>(k: LedgerKey, fn: () => Promise<T>) => this.inner.exclusive(k, fn);
  checked = (k: LedgerKey, v: VersionStamp, d: Parameters<FileLedger['checked']>[2]) => this.inner.checked(k, v, d);
  removed = (k: LedgerKey, v: VersionStamp) => this.inner.removed(k, v);
  refused = (k: LedgerKey, v: VersionStamp, p?: Parameters<FileLedger['refused']>[2]) => this.inner.refused(k, v, p);
  failed = (k: LedgerKey, v: VersionStamp, f: Parameters<FileLedger['failed']>[2]) => this.inner.failed(k, v, f);
  records = () => this.inner.records();
  close = () => this.inner.close();
  async intent(k: LedgerKey, v: VersionStamp): Promise<void> {
    this.log.push(`intent asked ${k.location}`);
    await this.intentGate;
    await this.inner.intent(k, v);
    this.log.push(`intent on disk ${k.location}`);
  }
  async done(k: LedgerKey, v: VersionStamp, r: DeliveryResult): Promise<void> {
    this.log.push(`done asked ${k.location}`);
    await this.doneGate;
    await this.inner.done(k, v, r);
    this.log.push(`done on disk ${k.location}`);
  }
}

const asset = (id: string): DeliverAsset => ({ id, versionKey: `10-1x1-${id.slice(-8).toLowerCase().padStart(8, '0')}`, fileName: `${id}.jpg` });
/** A job's asset, the view its templates see, and a signal. */
const job = (id: string) => {
  const a = asset(id);
  return { asset: a, view: { asset: a }, signal: new AbortController().signal };
};

describe('deliver: waits that overlap', function () {
  this.timeout(10_000);
  let tmp: string;
  let ledger: FileLedger;
  beforeEach(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-overlap-'));
    ledger = await FileLedger.open(join(tmp, 'ledger.jsonl'));
  });
  afterEach(async () => {
    await ledger.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  function setUp(semaphore?: Semaphore) {
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    const held = new HeldLedger(ledger, log);
    const d = new Deliverer({ destination, templates: { context: 'path', location: '{{asset.fileName}}', metadata: {} } as never, ledger: held as never, name: 'memory', semaphore, backoffMs: 1 });
    return { log, destination, held, d };
  }

  it('opens the download while the intent is synced, and sends no byte to the destination before the intent is on disk', async () => {
    const { log, destination, held, d } = setUp();
    const intent = gate();
    held.intentGate = intent.promise;
    const opened = gate();
    const body = new PassThrough();
    const put = d.put({
      ...job('I0000000000000A1'),
      source: {
        kind: 'fetch',
        open: async () => {
          log.push('download opened');
          opened.open();
          return Object.assign(body, { contentLength: 5 });
        },
      },
    });
    await opened.promise;
    body.end(Buffer.from('bytes'));
    // the download is open, the intent not on disk yet, and nothing went to the destination
    assert.deepEqual(log.filter((l) => !l.startsWith('looked up')).sort(), ['download opened', 'intent asked I0000000000000A1.jpg']);
    intent.open();
    const delivery = await put;
    assert.equal(delivery.bytes, 5);
    assert.equal(destination.files.get('I0000000000000A1.jpg')?.toString(), 'bytes');
    assert.ok(log.indexOf('intent on disk I0000000000000A1.jpg') < log.indexOf('put I0000000000000A1.jpg'), log.join(' | '));
    assert.equal(ledger.get({ target: '', asset: 'I0000000000000A1', location: 'I0000000000000A1.jpg' })?.t, 'done');
  });

  it('a download that fails while the intent is synced is opened again by a retry', async () => {
    const { log, destination, held, d } = setUp();
    const intent = gate();
    held.intentGate = intent.promise;
    let opens = 0;
    const failed = gate();
    const put = d.put({
      ...job('I0000000000000A2'),
      source: {
        kind: 'fetch',
        open: async () => {
          opens++;
          if (opens === 1) {
            // fails before anything reads it: an error no one listens to yet
            const broken = new PassThrough();
            setImmediate(() => {
              broken.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
              failed.open();
            });
            return broken;
          }
          return Object.assign(Readable.from([Buffer.from('again')]), { contentLength: 5 });
        },
      },
    });
    await failed.promise;
    intent.open();
    const delivery = await put;
    assert.equal(opens, 2);
    assert.equal(delivery.attempts, 2);
    assert.equal(destination.files.get('I0000000000000A2.jpg')?.toString(), 'again');
    assert.ok(log.includes('done on disk I0000000000000A2.jpg'));
  });

  it('a failed intent closes the download opened beside it, and sends nothing', async () => {
    const { log, held, d } = setUp();
    const body = new PassThrough();
    const opened = gate();
    held.intentGate = opened.promise.then(() => Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })));
    const closed = new Promise<void>((r) => body.once('close', () => r()));
    const put = d.put({
      ...job('I0000000000000A3'),
      source: {
        kind: 'fetch',
        open: async () => {
          opened.open();
          return body;
        },
      },
    });
    await assert.rejects(put, /disk full/);
    await closed;
    assert.ok(!log.some((l) => l.startsWith('put ')), log.join(' | '));
  });

  it("frees the destination's slot once the upload is over: the next upload starts while the done record waits", async () => {
    const { log, held, d } = setUp(new Semaphore(1));
    const done = gate();
    held.doneGate = done.promise;
    const buffered = (id: string) => ({ ...job(id), source: { kind: 'buffer' as const, data: Buffer.from(id) } });
    const first = d.put(buffered('I0000000000000B1'));
    const second = d.put(buffered('I0000000000000B2'));
    // the second is stored while the first's done record is still held back
    await new Promise<void>((resolve) => {
      const check = (): void => (log.includes('stored I0000000000000B2.jpg') ? resolve() : void setImmediate(check));
      check();
    });
    assert.ok(!log.includes('done on disk I0000000000000B1.jpg'), log.join(' | '));
    done.open();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.skipped, false);
    assert.equal(b.skipped, false);
    // each delivery was reported only once its own done record was on disk
    assert.equal(ledger.get({ target: '', asset: 'I0000000000000B1', location: 'I0000000000000B1.jpg' })?.t, 'done');
    assert.equal(ledger.get({ target: '', asset: 'I0000000000000B2', location: 'I0000000000000B2.jpg' })?.t, 'done');
  });

  /** Waits until `line` is in the log (checked once per turn of the event loop). */
  const logged = (log: string[], line: string): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => (log.includes(line) ? resolve() : void setImmediate(check));
      check();
    });

  it('overwrite: a delivery waiting for the destination\'s slot has its intent synced while it waits', async () => {
    const { log, d } = setUp(new Semaphore(1));
    const body = new PassThrough();
    const first = d.put({ ...job('I0000000000000C1'), source: { kind: 'stream', stream: body } });
    await logged(log, 'put I0000000000000C1.jpg');
    const second = d.put({ ...job('I0000000000000C2'), source: { kind: 'buffer', data: Buffer.from('second') } });
    // the first holds the only slot (its body is still open), and the second's intent is on disk meanwhile
    await logged(log, 'intent on disk I0000000000000C2.jpg');
    assert.ok(!log.includes('put I0000000000000C2.jpg'), log.join(' | '));
    assert.equal(ledger.get({ target: '', asset: 'I0000000000000C2', location: 'I0000000000000C2.jpg' })?.t, 'intent');
    body.end(Buffer.from('first'));
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.bytes, 5);
    assert.equal(b.bytes, 6);
    assert.ok(log.indexOf('intent on disk I0000000000000C2.jpg') < log.indexOf('put I0000000000000C2.jpg'), log.join(' | '));
    assert.equal(ledger.get({ target: '', asset: 'I0000000000000C2', location: 'I0000000000000C2.jpg' })?.t, 'done');
  });

  it('"fail" or "skip": the intent is written only once the delivery holds its slot, as the upload starts', async () => {
    const { log, d } = setUp(new Semaphore(1));
    const body = new PassThrough();
    const first = d.put({ ...job('I0000000000000D1'), source: { kind: 'stream', stream: body } });
    await logged(log, 'put I0000000000000D1.jpg');
    const second = d.put({ ...job('I0000000000000D2'), overwrite: 'fail', source: { kind: 'buffer', data: Buffer.from('second') } });
    await logged(log, 'looked up I0000000000000D2.jpg');
    // one more turn: every step the second could take without the slot is taken
    await new Promise((r) => setImmediate(r));
    body.end(Buffer.from('first'));
    await Promise.all([first, second]);
    assert.ok(log.indexOf('stored I0000000000000D1.jpg') < log.indexOf('intent asked I0000000000000D2.jpg'), log.join(' | '));
  });
});

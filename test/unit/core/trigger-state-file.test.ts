/**
 * The trigger's state file: atomic (a crash between the write of the temporary file and its rename leaves
 * the old file whole), grouped (many saves, few fsyncs; each save resolves once its content is on disk),
 * never a silent fresh start (a file it cannot read is TriggerStateError, and is left as it is), and the
 * carry-over of what an earlier version kept in the context store (read once, written at once).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TriggerStateFile } from '../../../src/core/trigger/state-file';
import { TriggerStateError, type TriggerState } from '../../../src/core/trigger/state';

const MODULE = resolve(__dirname, '..', '..', '..', 'src', 'core', 'trigger', 'state-file.ts');

const state = (at: string): TriggerState => ({ v: 1, configKey: 'k', positions: { '*': { at, seen: [] } } });

describe('trigger state file', function () {
  this.timeout(30_000);
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ps-state-file-'));
    path = join(dir, 'photoshelter', 'triggers', 'n1.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps state and window in one file (0600 in a folder of 0700) that another instance reads back', async () => {
    const f = new TriggerStateFile<{ n: number }>(path);
    assert.equal(await f.state.load(), undefined, 'no file: no state');
    await f.state.save(state('2024-01-01T00:00:00.000Z'));
    await f.window.save({ v: 1, configKey: 'k', items: [{ key: 'a', item: { n: 1 }, issuedAt: 1, issues: 1 }] });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'photoshelter', 'triggers')).mode & 0o777, 0o700);
    const again = new TriggerStateFile<{ n: number }>(path);
    assert.deepEqual(await again.state.load(), state('2024-01-01T00:00:00.000Z'));
    assert.deepEqual((await again.window.load())?.items.map((i) => i.item), [{ n: 1 }]);
    assert.ok(!existsSync(`${path}.tmp`));
  });

  it('groups saves: a burst shares few writes, and each save resolves only once its content (or a later one) is on disk', async () => {
    const f = new TriggerStateFile(path);
    await f.state.save(state('2024-01-01T00:00:00.000Z'));
    const before = f.writes;
    const saves: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      const at = new Date(Date.UTC(2024, 1, 1, 0, 0, i)).toISOString();
      saves.push(
        f.state.save(state(at)).then(() => {
          // on disk now: this save's position, or a later one
          const onDisk = (JSON.parse(readFileSync(path, 'utf8')) as { state: TriggerState }).state.positions['*'].at;
          assert.ok(onDisk >= at, `${onDisk} on disk after the save of ${at}`);
        }),
      );
    }
    await Promise.all(saves);
    assert.ok(f.writes - before <= 3, `${f.writes - before} writes for 200 saves`);
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { state: TriggerState }).state.positions['*'].at, new Date(Date.UTC(2024, 1, 1, 0, 0, 199)).toISOString());
  });

  it('a crash between the write of the temporary file and its rename leaves the old file whole: the next start reads it and removes the rest', () => {
    // a process that saves twice and is killed (SIGKILL) at the second save, after its temporary file was synced
    const script = `const { TriggerStateFile } = require(${JSON.stringify(MODULE)});
const f = new TriggerStateFile(${JSON.stringify(path)});
const s = (at) => ({ v: 1, configKey: 'k', positions: { '*': { at, seen: [] } } });
f.state.save(s('2024-01-01T00:00:00.000Z')).then(() => { process.stdout.write('first saved\\n'); return f.state.save(s('2024-02-02T00:00:00.000Z')); }).then(() => process.stdout.write('second saved\\n'));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, PHOTOSHELTER_TEST_CRASH_AT: 'state@2' }, encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.equal(r.stdout, 'first saved\n');
    assert.match(readFileSync(`${path}.tmp`, 'utf8'), /2024-02-02/, 'the second content was written aside');
    assert.match(readFileSync(path, 'utf8'), /2024-01-01/, 'the file itself holds the first');
    return (async () => {
      const f = new TriggerStateFile(path);
      assert.equal((await f.state.load())?.positions['*'].at, '2024-01-01T00:00:00.000Z');
      assert.ok(!existsSync(`${path}.tmp`), 'what the crash left aside is removed');
    })();
  });

  for (const [what, text, detail] of [
    ['not JSON', '{"v":1,"state":{"v":1,"posit', /not JSON/],
    ['empty', '', /empty/],
    ['a list', '[]', /no object/],
    ['another format', '{"v":2}', /format 2/],
    ['a window that is no list', '{"v":1,"window":{"v":1,"items":{}}}', /window/],
  ] as const) {
    it(`a file that is ${what} is TriggerStateError (ESTATE, naming the file), every time, and stays as it is`, async () => {
      mkdirSync(join(dir, 'photoshelter', 'triggers'), { recursive: true });
      writeFileSync(path, text);
      const f = new TriggerStateFile(path, { read: async () => assert.fail('the context store is not read while a file is there'), forget: async () => undefined });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(f.state.load(), (e: unknown) => e instanceof TriggerStateError && e.code === 'ESTATE' && detail.test(e.message) && e.message.includes(path));
      }
      await assert.rejects(f.state.save(state('2024-01-01T00:00:00.000Z')), TriggerStateError);
      assert.equal(readFileSync(path, 'utf8'), text);
    });
  }

  it('a file that cannot be read is ESTATE too (here: a folder in its place)', async () => {
    mkdirSync(path, { recursive: true });
    await assert.rejects(new TriggerStateFile(path).state.load(), (e: unknown) => e instanceof TriggerStateError && /cannot be read: EISDIR/.test(e.message));
  });

  it('carries over what an earlier version kept in the context store: written to the file at once, then forgotten there, read only once', async () => {
    let reads = 0;
    let forgotten = 0;
    const legacy = {
      read: async () => {
        reads++;
        return { state: state('2023-05-05T00:00:00.000Z'), window: { v: 1, configKey: 'k', items: [{ key: 'x', item: 1, issuedAt: 0, issues: 1 }] } };
      },
      forget: async () => void forgotten++,
    };
    const f = new TriggerStateFile(path, legacy);
    assert.equal((await f.state.load())?.positions['*'].at, '2023-05-05T00:00:00.000Z');
    assert.equal((await f.window.load())?.items.length, 1);
    assert.ok(existsSync(path), 'written at once');
    assert.deepEqual([reads, forgotten], [1, 1]);
    const next = new TriggerStateFile(path, legacy);
    assert.equal((await next.state.load())?.positions['*'].at, '2023-05-05T00:00:00.000Z');
    assert.deepEqual([reads, forgotten], [1, 1], 'the file is there: the context store is not read again');
  });

  it('nothing in the context store either: a fresh start, and nothing is written until the first save', async () => {
    const f = new TriggerStateFile(path, { read: async () => ({}), forget: async () => assert.fail('nothing to forget') });
    assert.equal(await f.state.load(), undefined);
    assert.ok(!existsSync(path));
  });

  it('a context store that cannot be read is an error, not a fresh start; nothing is written', async () => {
    const f = new TriggerStateFile(path, { read: async () => Promise.reject(new Error('store down')), forget: async () => undefined });
    await assert.rejects(f.state.load(), /store down/);
    assert.ok(!existsSync(path));
  });
});

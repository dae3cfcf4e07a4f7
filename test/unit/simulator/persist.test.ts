import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim } from '../../helpers/sim';
import { startSimulator } from '../../../src/simulator';

describe('simulator: the library kept across restarts (stateFile)', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'ps-sim-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('edits, uploads, deletions, moves and the clock survive a restart; without the file the seed is back', async () => {
    const file = join(dir, 'state.json');
    const first = await startSim({ seed: 7, assets: 30, stateFile: file });
    const [a, b, c] = await first.control.mediaIds();
    const { galleries } = await first.control.state();
    await first.control.patchMedia(a, { custom: { 'Approval Status': 'Approved' }, iptc: { headline: 'Kept' } });
    await first.control.patchMedia(b, { galleries: [galleries[1].id], size: 4242 });
    await first.control.deleteMedia(c);
    const added = await first.control.addMedia({ galleryId: galleries[0].id, fileName: 'new.jpg', size: 1000 });
    const moved = await first.control.clock(3600);
    const before = await Promise.all([a, b, added].map((id) => first.control.media(id)));
    await first.close();
    assert.ok(existsSync(file));

    const second = await startSim({ seed: 7, assets: 30, stateFile: file });
    try {
      const after = await Promise.all([a, b, added].map((id) => second.control.media(id)));
      assert.deepEqual(after, before, 'the same truth, times included');
      assert.ok(!(await second.control.mediaIds()).includes(c), 'deleted stays deleted');
      assert.deepEqual((await second.control.mediaIds(galleries[1].id)).includes(b), true, 'moved stays moved');
      assert.ok((await second.control.clock(0)) >= moved, 'the clock does not go back');
      const next = await second.control.addMedia({ galleryId: galleries[0].id });
      assert.notEqual(next, added, 'new ids do not collide with kept ones');
    } finally {
      await second.close();
    }
    const fresh = await startSim({ seed: 7, assets: 30 });
    try {
      assert.notEqual((await fresh.control.media(a)).iptc.headline, 'Kept', 'a simulator without the file starts from the seed');
      assert.ok((await fresh.control.mediaIds()).includes(c));
    } finally {
      await fresh.close();
    }
  });

  it('a damaged or foreign state file is refused with a clear error and left as it is', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format":1,');
    await assert.rejects(startSimulator({ port: 0, stateFile: bad }), /simulator state .*bad\.json cannot be used.*Remove the file/);
    assert.equal(readFileSync(bad, 'utf8'), '{"format":1,');
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ format: 1, seed: 1, assets: 10, orgId: 'O0000OTHERORG001', clock: { offsetMs: 0, lastMicros: 0 }, nextMediaIndex: 10, media: [], galleries: [] }));
    await assert.rejects(startSimulator({ port: 0, stateFile: foreign }), /organization O0000OTHERORG001/);
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ format: 1, seed: 1, assets: 10, orgId: 'O0000SIMORG00001', clock: { offsetMs: 0, lastMicros: 0 }, nextMediaIndex: 10, media: [], galleries: [{ id: 'G0000NOSUCHGAL01', modifiedAt: 0, media: [], addedAt: [] }] }));
    await assert.rejects(startSimulator({ port: 0, stateFile: wrong }), /gallery G0000NOSUCHGAL01 is not in the library/);
  });
});

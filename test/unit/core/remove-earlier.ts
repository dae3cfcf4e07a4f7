// One scenario for every destination kind: an asset whose place changes (its region, then its file name)
// leaves no copy at its earlier places when the deliver node removes earlier copies; other assets stay.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Deliverer, type DeliverAsset } from '../../../src/core/deliver/deliver';
import { FileLedger } from '../../../src/core/deliver/ledger';
import type { DestinationTemplates } from '../../../src/core/deliver/registry';
import { viewOf } from '../../../src/core/deliver/template';
import type { Destination } from '../../../src/core/deliver/types';

export interface Place {
  destination: Destination;
  templates: DestinationTemplates;
  /** What the destination holds now (paths or keys relative to its base), sorted. */
  list(): Promise<string[]>;
}

const asset = (id: string, fileName: string, size: number): DeliverAsset => ({ id, fileName, versionKey: `${size}-10x10-${fileName}`, iptc: { title: fileName } });

export async function removeEarlierScenario(place: Place): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ps-remove-earlier-'));
  const ledger = await FileLedger.open(join(dir, 'ledger.jsonl'));
  try {
    const d = new Deliverer({ destination: place.destination, templates: place.templates, ledger, target: 'test:place', name: 'place', backoffMs: 5 });
    const signal = new AbortController().signal;
    const put = (a: DeliverAsset, region: string, removeEarlier = true) =>
      d.put({ asset: a, template: '{{region}}/{{asset.fileName}}', view: viewOf({ region }, { asset: a }), sidecar: 'json', source: { kind: 'buffer', data: Buffer.from(`${a.fileName} ${a.versionKey}`) }, removeEarlier, signal });

    let a = asset('I0000aaaaaaaaaaa', 'harbour.jpg', 100);
    const other = asset('I0000bbbbbbbbbbb', 'dunes.jpg', 200);
    assert.deepEqual((await put(a, 'emea')).removedCopies, [], 'nothing earlier');
    await put(other, 'emea');
    assert.deepEqual(await place.list(), ['emea/dunes.jpg', 'emea/dunes.jpg.json', 'emea/harbour.jpg', 'emea/harbour.jpg.json']);

    // another region: the copy in the old one goes, with its sidecar, once the new one is there
    const moved = await put(a, 'apac');
    assert.equal(moved.location, 'apac/harbour.jpg');
    assert.deepEqual(moved.removedCopies, ['emea/harbour.jpg']);
    assert.deepEqual(await place.list(), ['apac/harbour.jpg', 'apac/harbour.jpg.json', 'emea/dunes.jpg', 'emea/dunes.jpg.json']);
    assert.equal((await ledger.lookup({ target: 'test:place', asset: a.id, location: 'emea/harbour.jpg' }))?.t, 'removed');

    // another file name (a new version): the copy under the old name goes
    a = asset(a.id, 'harbour final.jpg', 120);
    const renamed = await put(a, 'apac');
    assert.deepEqual(renamed.removedCopies, ['apac/harbour.jpg']);
    assert.deepEqual(await place.list(), ['apac/harbour final.jpg', 'apac/harbour final.jpg.json', 'emea/dunes.jpg', 'emea/dunes.jpg.json']);

    // a repeat is skipped and finds nothing earlier to remove
    const repeat = await put(a, 'apac');
    assert.equal(repeat.skipped, true);
    assert.deepEqual(repeat.removedCopies, []);

    // without the option, a move leaves the earlier copy (as before)
    const kept = await put(other, 'latam', false);
    assert.equal(kept.removedCopies, undefined);
    assert.ok((await place.list()).includes('emea/dunes.jpg'));
    // and a later delivery with the option removes it
    assert.deepEqual((await put(other, 'latam')).removedCopies, ['emea/dunes.jpg']);

    // every copy the ledger knows, from another destination's point of view (the action "remove every copy")
    const gone = await d.removeAll({ asset: a, view: viewOf({}, { asset: a }), sidecar: 'json', signal });
    assert.equal(gone.removed, true);
    assert.deepEqual(gone.removedCopies, ['apac/harbour final.jpg']);
    assert.deepEqual(await place.list(), ['latam/dunes.jpg', 'latam/dunes.jpg.json']);
    assert.deepEqual((await d.removeAll({ asset: a, view: viewOf({}, { asset: a }), signal })).removedCopies, [], 'nothing left to remove');

    // "forget": copies removed by other means are recorded as removed, with no request to the destination,
    // and the next delivery of the asset is made instead of skipped as done
    const held = await place.list();
    const forgot = await d.removeAll({ asset: other, view: viewOf({}, { asset: other }), signal }, false);
    assert.deepEqual(forgot.removedCopies, ['latam/dunes.jpg']);
    assert.deepEqual(await place.list(), held, 'forget touches nothing at the destination');
    assert.equal((await ledger.lookup({ target: 'test:place', asset: other.id, location: 'latam/dunes.jpg' }))?.t, 'removed');
    const again = await put(other, 'latam', false);
    assert.notEqual(again.skipped, true, 'delivered again');
    assert.equal((await ledger.lookup({ target: 'test:place', asset: other.id, location: 'latam/dunes.jpg' }))?.t, 'done');
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

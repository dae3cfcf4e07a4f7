import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../helpers/sim';
import { call, login } from './util';

const hasDjpeg = spawnSync('djpeg', ['-version'], { encoding: 'utf8' }).error === undefined;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function download(sim: SimHandle, id: string, token: string): Promise<Buffer> {
  const res = await fetch(`${sim.baseUrl}/media/${id}/download`, { headers: { 'X-PS-Api-Key': sim.apiKey, 'X-PS-Auth-Token': token } });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** The XMP packet of a JPEG: the APP1 segment whose payload starts with the XMP namespace. */
function xmpOf(jpeg: Buffer): string | undefined {
  let pos = 2;
  while (pos + 4 <= jpeg.length && jpeg[pos] === 0xff) {
    const marker = jpeg[pos + 1];
    const len = jpeg.readUInt16BE(pos + 2);
    if (marker === 0xe1) {
      const payload = jpeg.subarray(pos + 4, pos + 2 + len).toString('utf8');
      if (payload.startsWith('http://ns.adobe.com/xap/1.0/\0')) return payload;
    }
    if (marker === 0xda) break;
    pos += 2 + len;
  }
  return undefined;
}

const attr = (xmp: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(xmp)?.[1];

async function raw(sim: SimHandle, id: string, token: string): Promise<Record<string, unknown>> {
  const res = await call(sim, `/media/${id}/metadata`, { token });
  assert.equal(res.status, 200, res.text);
  assert.equal(typeof res.json.data.attributes.raw, 'string', 'raw is a JSON string');
  return JSON.parse(res.json.data.attributes.raw) as Record<string, unknown>;
}

describe('simulator: a replaced file is visible in every signal', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let token: string;
  let galleryId: string;

  before(async () => {
    sim = await startSim({ assets: 20 });
    token = await login(sim);
    galleryId = (await sim.control.state()).galleries[0].id;
  });
  after(() => sim.close());

  it('replaceFile: same name, size and pixel size; new version, bytes, XMP ids and times', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'same.jpg', size: 250_000, width: 3000, height: 2000 });
    const before = await sim.control.media(id);
    const apiBefore = (await call(sim, `/media/${id}`, { token })).json.data.attributes;
    const bytes1 = await download(sim, id, token);
    const raw1 = await raw(sim, id, token);

    const after = await sim.control.patchMedia(id, { replaceFile: true });
    assert.equal(after.version, before.version + 1);
    assert.deepEqual([after.file_name, after.file_size, after.width, after.height], [before.file_name, before.file_size, before.width, before.height]);
    assert.ok(after.modified_at_us > before.modified_at_us, 'modified_at moves');
    assert.equal(after.file.at_us, after.modified_at_us, 'the version is stamped with the change');
    assert.notEqual(after.file.instance_id, before.file.instance_id);
    assert.equal(after.file.document_id, before.file.document_id, 'the asset keeps its DocumentID');
    assert.notEqual(after.file.modify_date, before.file.modify_date);
    assert.match(after.file.instance_id, /^xmp\.iid:[0-9a-f]{32}$/);
    assert.match(after.file.document_id, /^xmp\.did:[0-9a-f]{32}$/);

    const apiAfter = (await call(sim, `/media/${id}`, { token })).json.data.attributes;
    assert.deepEqual([apiAfter.file_name, apiAfter.file_size, apiAfter.width, apiAfter.height], [apiBefore.file_name, apiBefore.file_size, apiBefore.width, apiBefore.height]);
    assert.notEqual(apiAfter.modified_at, apiBefore.modified_at);

    const bytes2 = await download(sim, id, token);
    assert.equal(bytes2.length, 250_000, 'still exactly file_size bytes');
    assert.notEqual(sha(bytes2), sha(bytes1));

    // The download itself tells the version: its XMP packet carries the truth's ids and time.
    for (const [bytes, truth] of [[bytes1, before], [bytes2, after]] as const) {
      const xmp = xmpOf(bytes);
      assert.ok(xmp, 'an APP1 XMP segment');
      assert.equal(attr(xmp, 'xmpMM:InstanceID'), truth.file.instance_id);
      assert.equal(attr(xmp, 'xmpMM:DocumentID'), truth.file.document_id);
      assert.equal(attr(xmp, 'xmp:ModifyDate')?.replace(/-/g, ':').replace('T', ' '), truth.file.modify_date);
    }

    const raw2 = await raw(sim, id, token);
    assert.equal(raw1['XMP-xmpMM:InstanceID'], before.file.instance_id);
    assert.equal(raw2['XMP-xmpMM:InstanceID'], after.file.instance_id);
    assert.equal(raw2['XMP-xmpMM:DocumentID'], raw1['XMP-xmpMM:DocumentID']);
    assert.equal(raw2['XMP-xmp:ModifyDate'], after.file.modify_date);
    assert.notEqual(raw2['XMP-xmp:ModifyDate'], raw1['XMP-xmp:ModifyDate']);
    assert.deepEqual([raw2['File:FileName'], raw2['File:FileSize'], raw2['File:ImageWidth'], raw2['File:ImageHeight']], ['same.jpg', 250_000, 3000, 2000]);
  });

  it('the original with its XMP packet still decodes', async function () {
    if (!hasDjpeg) this.skip();
    const id = await sim.control.addMedia({ galleryId, fileName: 'dec.jpg', size: 70_001, width: 1200, height: 800 });
    await sim.control.patchMedia(id, { replaceFile: true });
    const dir = mkdtempSync(join(tmpdir(), 'simxmp-'));
    try {
      const file = join(dir, 'x.jpg');
      writeFileSync(file, await download(sim, id, token));
      const out = spawnSync('djpeg', ['-pnm', file]);
      assert.equal(out.status, 0, out.stderr.toString());
      assert.match(out.stdout.subarray(0, 20).toString('latin1'), /^P6\s+\d+\s+\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('metadata contract: Group:Tag keys, ExifTool dates, for every kind', async () => {
    for (const kind of ['image', 'video', 'audio', 'document'] as const) {
      const id = await sim.control.addMedia({ galleryId, kind, size: 90_000, ...(kind === 'image' ? { width: 800, height: 600 } : {}) });
      const res = await call(sim, `/media/${id}/metadata`, { token });
      assert.equal(res.json.data.id, id);
      assert.ok('author' in res.json.data.attributes);
      const r = JSON.parse(res.json.data.attributes.raw) as Record<string, unknown>;
      assert.ok(r !== null && typeof r === 'object' && !Array.isArray(r));
      for (const k of Object.keys(r)) assert.match(k, /^[A-Za-z0-9-]+:[A-Za-z0-9]+$/, `key ${k}`);
      for (const k of ['XMP-xmpMM:InstanceID', 'XMP-xmpMM:DocumentID', 'XMP-xmp:ModifyDate', 'File:FileName', 'File:FileSize']) assert.ok(k in r, `${kind} has ${k}`);
      assert.match(String(r['XMP-xmp:ModifyDate']), /^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.equal(r['File:FileSize'], 90_000);
      assert.equal('File:ImageWidth' in r, kind === 'image');
    }
  });

  it('hash of video, audio and documents changes with every file version, not with metadata edits', async () => {
    for (const kind of ['video', 'audio', 'document'] as const) {
      const id = await sim.control.addMedia({ galleryId, kind, size: 120_000 });
      const h1 = (await call(sim, `/media/${id}`, { token })).json.data.attributes.hash;
      assert.match(h1, /^[0-9a-f]{40}$/, `${kind} hash`);
      await sim.control.patchMedia(id, { iptc: { headline: 'edited' }, custom: { 'Approval Status': 'Approved' } });
      assert.equal((await call(sim, `/media/${id}`, { token })).json.data.attributes.hash, h1, 'metadata edits keep the hash');
      const truth = await sim.control.patchMedia(id, { replaceFile: true });
      const h2 = (await call(sim, `/media/${id}`, { token })).json.data.attributes.hash;
      assert.notEqual(h2, h1);
      assert.equal(truth.file.hash, h2);
    }
  });

  it('a metadata edit changes neither the bytes nor the embedded metadata', async () => {
    const id = await sim.control.addMedia({ galleryId, size: 60_000 });
    const b1 = sha(await download(sim, id, token));
    const r1 = await raw(sim, id, token);
    await sim.control.patchMedia(id, { iptc: { title: 'x' } });
    assert.equal(sha(await download(sim, id, token)), b1);
    assert.deepEqual(await raw(sim, id, token), r1);
  });

  it('replaceFile must be a boolean; false changes nothing about the file', async () => {
    const id = (await sim.control.mediaIds())[0];
    await assert.rejects(sim.control.patchMedia(id, { replaceFile: 'yes' as unknown as boolean }), /400.*replaceFile/);
    const v = (await sim.control.media(id)).version;
    assert.equal((await sim.control.patchMedia(id, { replaceFile: false })).version, v);
  });

  it('file versions and their fingerprints survive a restart with --state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ps-sim-ver-'));
    try {
      const file = join(dir, 'state.json');
      const first = await startSim({ seed: 3, assets: 10, stateFile: file });
      const id = (await first.control.mediaIds())[2];
      await first.control.patchMedia(id, { replaceFile: true });
      const truth = await first.control.patchMedia(id, { replaceFile: true });
      await first.close();
      const second = await startSim({ seed: 3, assets: 10, stateFile: file });
      try {
        const again = await second.control.media(id);
        assert.equal(again.version, truth.version);
        assert.deepEqual(again.file, truth.file);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

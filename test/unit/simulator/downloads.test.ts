import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../helpers/sim';
import { encodeJpeg, patternFor } from '../../../src/simulator/jpeg';
import { contentDisposition } from '../../../src/simulator/downloads';
import { call, login } from './util';

const hasDjpeg = spawnSync('djpeg', ['-version'], { encoding: 'utf8' }).error === undefined;

/** Walks the marker segments; returns the markers seen up to SOS and whether the data ends in EOI. */
function markers(buf: Buffer): { list: number[]; width: number; height: number; eoi: boolean } {
  assert.equal(buf.readUInt16BE(0), 0xffd8, 'SOI');
  const list: number[] = [];
  let width = 0;
  let height = 0;
  let pos = 2;
  while (pos < buf.length) {
    assert.equal(buf[pos], 0xff, `marker at ${pos}`);
    const marker = buf[pos + 1];
    list.push(marker);
    const len = buf.readUInt16BE(pos + 2);
    if (marker === 0xc0) {
      height = buf.readUInt16BE(pos + 5);
      width = buf.readUInt16BE(pos + 7);
    }
    pos += 2 + len;
    if (marker === 0xda) break;
  }
  return { list, width, height, eoi: buf.readUInt16BE(buf.length - 2) === 0xffd9 };
}

/** Decodes with djpeg to PPM; returns width, height and RGB pixels. */
function decode(buf: Buffer): { width: number; height: number; rgb: Buffer; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'simjpeg-'));
  try {
    const file = join(dir, 'x.jpg');
    writeFileSync(file, buf);
    const out = spawnSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 28 });
    assert.equal(out.status, 0, out.stderr.toString());
    const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(out.stdout.subarray(0, 40).toString('latin1'));
    assert.ok(header, 'PPM header');
    return { width: +header[1], height: +header[2], rgb: out.stdout.subarray(header[0].length), stderr: out.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bytes(sim: SimHandle, path: string, token: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(sim.baseUrl + path, { headers: { 'X-PS-Api-Key': sim.apiKey, 'X-PS-Auth-Token': token } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('simulator: JPEG encoder', () => {
  it('writes SOI, APP0, DQT, SOF0, DHT, SOS … EOI with the requested size', () => {
    const jpg = encodeJpeg(37, 21, patternFor(5, 37, 21));
    const m = markers(jpg);
    assert.deepEqual(m.list, [0xe0, 0xdb, 0xc0, 0xc4, 0xda]);
    assert.equal(m.width, 37);
    assert.equal(m.height, 21);
    assert.ok(m.eoi);
  });

  it('is deterministic and depends on the pattern', () => {
    assert.equal(sha(encodeJpeg(64, 48, patternFor(1, 64, 48))), sha(encodeJpeg(64, 48, patternFor(1, 64, 48))));
    assert.notEqual(sha(encodeJpeg(64, 48, patternFor(1, 64, 48))), sha(encodeJpeg(64, 48, patternFor(2, 64, 48))));
  });

  it('decodes with djpeg to the gradient it encoded', function () {
    if (!hasDjpeg) this.skip();
    const w = 97;
    const h = 61;
    const img = decode(encodeJpeg(w, h, patternFor(9, w, h), { quality: 90 }));
    assert.equal(img.stderr, '');
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    const px = (x: number, y: number): number[] => [...img.rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    // Red follows x, green follows y (within JPEG error).
    assert.ok(px(2, 30)[0] < 40 && px(w - 3, 30)[0] > 215, `red ${px(2, 30)} ${px(w - 3, 30)}`);
    assert.ok(px(48, 2)[1] < 40 && px(48, h - 3)[1] > 215, `green ${px(48, 2)} ${px(48, h - 3)}`);
  });
});

describe('simulator: downloads and links', () => {
  let sim: SimHandle;
  let token: string;
  let galleryId: string;
  before(async () => {
    sim = await startSim({ assets: 30 });
    token = await login(sim);
    galleryId = (await sim.control.state()).galleries[0].id;
  });
  after(() => sim.close());

  it('original: exact file_size bytes, headers, a valid JPEG, stable checksum', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'Café 🎉 "x".jpg', size: 300_001, width: 3000, height: 2000 });
    const attrs = (await call(sim, `/media/${id}`, { token })).json.data.attributes;
    const a = await bytes(sim, `/media/${id}/download`, token);
    assert.equal(a.status, 200);
    assert.equal(a.body.length, attrs.file_size);
    assert.equal(a.headers.get('content-length'), String(attrs.file_size));
    assert.equal(a.headers.get('content-type'), 'application/octet-stream');
    assert.equal(a.headers.get('content-disposition'), `attachment; filename="Caf_ _ _x_.jpg"; filename*=UTF-8''Caf%C3%A9%20%F0%9F%8E%89%20%22x%22.jpg`);
    const m = markers(a.body);
    assert.equal(m.list[0], 0xe0);
    assert.ok(m.list.includes(0xc0) && m.list.includes(0xda) && m.eoi);
    const b = await bytes(sim, `/media/${id}/download?download_filetype=original`, token);
    assert.equal(sha(a.body), sha(b.body));
  });

  it('odd sizes keep the exact length and stay valid (segment edge cases)', async () => {
    for (const size of [65_536 * 3 + 20 + 2, 65_536 * 2 + 1, 5_000, 600, 10]) {
      const id = await sim.control.addMedia({ galleryId, fileName: `s${size}.jpg`, size });
      const r = await bytes(sim, `/media/${id}/download`, token);
      assert.equal(r.body.length, size, `size ${size}`);
      if (size >= 5_000) {
        const m = markers(r.body);
        assert.ok(m.list.includes(0xc0), `SOF0 in ${size}`);
        if (hasDjpeg) assert.ok(decode(r.body).width > 0);
      }
    }
  });

  it('a new file version changes the bytes; metadata edits do not', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'v.jpg', size: 200_000 });
    const v1 = sha((await bytes(sim, `/media/${id}/download`, token)).body);
    await sim.control.patchMedia(id, { iptc: { title: 'edited' } });
    assert.equal(sha((await bytes(sim, `/media/${id}/download`, token)).body), v1);
    const truth = await sim.control.patchMedia(id, { size: 200_000 });
    assert.equal(truth.version, 2);
    const v2 = (await bytes(sim, `/media/${id}/download`, token)).body;
    assert.equal(v2.length, 200_000);
    assert.notEqual(sha(v2), v1);
    const renamed = await sim.control.patchMedia(id, { fileName: 'v2.jpg', size: 123_457 });
    assert.equal(renamed.version, 3);
    const v3 = await bytes(sim, `/media/${id}/download`, token);
    assert.equal(v3.body.length, 123_457);
    assert.match(v3.headers.get('content-disposition')!, /filename="v2\.jpg"/);
  });

  it('jpeg rendition fits download_quality and decodes', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'r.png', size: 50_000, width: 4000, height: 3000 });
    const r = await bytes(sim, `/media/${id}/download?download_filetype=jpeg&download_quality=400x400`, token);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    assert.match(r.headers.get('content-disposition')!, /filename="r\.jpg"/);
    const m = markers(r.body);
    assert.equal(m.width, 400);
    assert.equal(m.height, 300);
    if (hasDjpeg) assert.equal(decode(r.body).height, 300);
    const bad = await call(sim, `/media/${id}/download?download_filetype=jpeg&download_quality=big`, { token });
    assert.equal(bad.status, 400);
    assert.equal((await call(sim, `/media/${id}/download?download_filetype=mp4`, { token })).status, 400);
    assert.equal((await call(sim, `/media/${id}/download?download_filetype=tiff`, { token })).status, 400);
  });

  it('renditions are capped at 4096 px a side', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'pano.jpg', size: 50_000, width: 8192, height: 128 });
    const r = await bytes(sim, `/media/${id}/download?download_filetype=jpeg&download_quality=10000x10000`, token);
    const m = markers(r.body);
    assert.deepEqual([m.width, m.height], [4096, 64]);
  });

  it('video: original and mp4 renditions stream with the right types', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'clip.mov', size: 3_000_000, kind: 'video', width: 1920, height: 1080 });
    const orig = await bytes(sim, `/media/${id}/download`, token);
    assert.equal(orig.body.length, 3_000_000);
    const mp4 = await bytes(sim, `/media/${id}/download?download_filetype=mp4`, token);
    assert.equal(mp4.headers.get('content-type'), 'video/mp4');
    assert.equal(mp4.body.subarray(4, 8).toString('latin1'), 'ftyp');
  });

  it('link: a URL that serves the rendition without credentials, until the file changes', async () => {
    const id = await sim.control.addMedia({ galleryId, fileName: 'l.jpg', size: 80_000, width: 2000, height: 1000 });
    const res = await call(sim, `/media/${id}/link?image_size=500x500&image_mode=fit`, { token });
    assert.equal(res.status, 200);
    const url = res.json.data.attributes.link as string;
    const img = await fetch(url);
    assert.equal(img.status, 200);
    const body = Buffer.from(await img.arrayBuffer());
    const m = markers(body);
    assert.deepEqual([m.width, m.height], [500, 250]);
    await sim.control.patchMedia(id, { size: 90_000 });
    assert.equal((await fetch(url)).status, 404);
    assert.equal((await call(sim, `/media/${id}/link?image_mode=stretch`, { token })).status, 400);
  });

  it('content-disposition quotes and encodes', () => {
    assert.equal(contentDisposition('a b.jpg'), `attachment; filename="a b.jpg"; filename*=UTF-8''a%20b.jpg`);
    assert.equal(contentDisposition("it's (1).jpg"), `attachment; filename="it's (1).jpg"; filename*=UTF-8''it%27s%20%281%29.jpg`);
  });

  it('streams a large original (64 MiB) with a stable checksum', async () => {
    const size = 64 * 1024 * 1024 + 7;
    const id = await sim.control.addMedia({ galleryId, fileName: 'big.jpg', size });
    const res = await fetch(`${sim.baseUrl}/media/${id}/download`, { headers: { 'X-PS-Api-Key': sim.apiKey, 'X-PS-Auth-Token': token } });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      n += chunk.length;
    }
    assert.equal(n, size);
    const again = await fetch(`${sim.baseUrl}/media/${id}/download`, { headers: { 'X-PS-Api-Key': sim.apiKey, 'X-PS-Auth-Token': token } });
    const hash2 = createHash('sha256');
    for await (const chunk of again.body as unknown as AsyncIterable<Uint8Array>) hash2.update(chunk);
    assert.equal(hash.digest('hex'), hash2.digest('hex'));
  });
});

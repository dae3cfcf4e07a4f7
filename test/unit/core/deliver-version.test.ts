/**
 * Which version of a file a delivery record stands for, and where it went: the deliverer's decisions with
 * a folder destination, a file ledger and a fake reader of the embedded metadata (counting its calls).
 * - the target: a destination pointed elsewhere delivers again; format-1 ledgers keep skipping;
 * - a file replaced at the same size, pixel size and name is delivered again, found by the embedded
 *   metadata, the sha256 of bytes at hand, or the API's hash; an unmodified asset costs no request;
 * - the evidence in `GET /media/{id}/metadata` read liberally.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { normalizeAsset, sameVersion, versionKeyOf } from '../../../src/core/asset';
import { Deliverer, type BodySource, type DeliverAsset, type PutJob } from '../../../src/core/deliver/deliver';
import { FileLedger, type FileEvidence, type LedgerRecord } from '../../../src/core/deliver/ledger';
import { createDestination, destinationTarget, destinationTemplates, type DestinationConfig } from '../../../src/core/deliver/registry';
import { viewOf } from '../../../src/core/deliver/template';
import { compareEvidence, evidenceFromEmbedded, jpegXmpInstance, modifiedSince } from '../../../src/core/deliver/version';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const ID = 'I0000abcdefghijk';
const KEY = versionKeyOf(ID, 'retouched.tif', 5000, 3000, 2000);
const T0 = '2024-06-01T10:00:00.000Z';
const T1 = '2024-06-02T10:00:00.000Z';
const T2 = '2024-06-03T10:00:00.000Z';

/** A JPEG segment: marker, length, payload. */
const segment = (marker: number, payload: Buffer): Buffer => {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
};
const XMP = (body: string): Buffer => segment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(body)]));
/** A JPEG with an APP0, an EXIF APP1 and an XMP packet naming `instance`, then image data. */
const jpeg = (instance: string, data = 'pixels'): Buffer =>
  Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from('JFIF\0\x01\x02')),
    segment(0xe1, Buffer.from('Exif\0\0xmpMM:InstanceID="not this one"')),
    XMP(`<x:xmpmeta><rdf:RDF><rdf:Description xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmpMM:DocumentID="xmp.did:1" xmpMM:InstanceID="${instance}"/></rdf:RDF></x:xmpmeta>`),
    segment(0xda, Buffer.from([0, 1, 2])),
    Buffer.from(data),
    Buffer.from([0xff, 0xd9]),
  ]);

/** The embedded metadata as the simulator (and, we expect, PhotoShelter) answers it: `raw` is a JSON string. */
const embedded = (tags: Record<string, unknown>) => ({ id: ID, type: 'metadata', attributes: { raw: JSON.stringify(tags) } });

describe('core/deliver: the version and the target of a delivery', function () {
  this.timeout(20_000);
  let tmp: string;
  let ledgerFile: string;
  const closers: Array<() => Promise<void>> = [];
  /** The evidence the fake API gives for the asset's current file, and the reads made. */
  let current: FileEvidence | undefined;
  let reads: number;
  let readError: (Error & { code?: string; status?: number }) | undefined;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-version-'));
    ledgerFile = join(tmp, 'ledger', 'dest.jsonl');
    current = { instance: 'xmp.iid:one', modify: '2024:06:01 10:00:00' };
    reads = 0;
    readError = undefined;
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function setup(config: DestinationConfig = { kind: 'folder', folder: join(tmp, 'out'), template: '{{asset.fileName}}' }, opts: { evidence?: boolean } = {}) {
    const target = destinationTarget(config);
    const ledger = await FileLedger.open(ledgerFile, { target });
    const destination = createDestination(config);
    closers.push(() => ledger.close(), () => destination.close());
    const evidence =
      opts.evidence === false
        ? undefined
        : async () => {
            reads++;
            if (readError) throw readError;
            return evidenceFromEmbedded(embedded(current ? { 'XMP-xmpMM:InstanceID': current.instance, 'XMP-xmp:ModifyDate': current.modify } : {}));
          };
    const d = new Deliverer({ destination, templates: destinationTemplates(config), ledger, target, evidence, name: 'out', backoffMs: 5 });
    return { d, ledger, target };
  }
  const asset = (extra: Partial<DeliverAsset> = {}): DeliverAsset => ({ id: ID, versionKey: KEY, fileName: 'retouched.tif', modifiedAt: T0, ...extra });
  const put = (d: Deliverer, data: string, a = asset(), extra: Partial<PutJob> = {}, source?: BodySource) =>
    d.put({ asset: a, view: viewOf({}, { asset: a }), source: source ?? { kind: 'stream', stream: Readable.from([Buffer.from(data)]) }, signal: new AbortController().signal, ...extra });
  const at = (name = 'retouched.tif', dir = join(tmp, 'out')): string => readFileSync(join(dir, name), 'utf8');

  describe('the target', () => {
    it('a folder destination whose base folder changed delivers again, into the new folder', async () => {
      const first = await setup({ kind: 'folder', folder: join(tmp, 'old'), template: '{{asset.fileName}}' });
      assert.equal((await put(first.d, 'v1')).skipped, false);
      assert.equal((await put(first.d, 'v1')).skipped, true);
      await first.ledger.close();
      // the base folder corrected and redeployed: the same ledger file, another target
      const moved = await setup({ kind: 'folder', folder: join(tmp, 'new'), template: '{{asset.fileName}}' });
      const r = await put(moved.d, 'v1');
      assert.equal(r.skipped, false, 'not "already delivered": nothing is in the new folder yet');
      assert.equal(at('retouched.tif', join(tmp, 'new')), 'v1');
      assert.equal((await put(moved.d, 'v1')).skipped, true);
    });

    it('a ledger written before targets were recorded keeps an unchanged destination skipping, and a changed one delivering', async () => {
      const folder = join(tmp, 'out');
      mkdirSync(join(tmp, 'ledger'));
      // the previous version's record of this delivery: no target, no modified_at, no evidence
      writeFileSync(ledgerFile, `${JSON.stringify({ t: 'done', a: ID, v: KEY, l: 'retouched.tif', b: 2, h: sha('v1'), at: T1 })}\n`);
      const same = await setup({ kind: 'folder', folder, template: '{{asset.fileName}}' });
      const r = await put(same.d, 'v1');
      assert.equal(r.skipped, true, 'the same destination: skipped as before the upgrade');
      assert.equal(r.versionCheck, 'key', 'the asset was not modified after the delivery: no request');
      assert.equal(reads, 0);
      await same.ledger.close();
      const moved = await setup({ kind: 'folder', folder: join(tmp, 'elsewhere'), template: '{{asset.fileName}}' });
      assert.equal((await put(moved.d, 'v1')).skipped, false, 'the old records belong to the old folder');
    });

    it('each kind names its real target, without secrets', () => {
      const sftp = { kind: 'sftp', host: 'Files.Example.com', port: 22, user: 'agency', basePath: '/upload/', password: 'sftp-secret', privateKey: 'KEYDATA', passphrase: 'pp' };
      const s3 = { kind: 's3', endpoint: 'https://minio.example.com:9000/', region: 'eu-west-1', bucket: 'assets', keyPrefix: 'spring/', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3-secret' };
      const http = { kind: 'http', url: 'https://cms.example.com/wp-json/wp/v2/media/{{asset.id}}', auth: 'bearer', token: 'http-token', httpPassword: 'pw' };
      const targets = {
        folder: destinationTarget({ kind: 'folder', folder: '/srv/out/' }),
        sftp: destinationTarget(sftp),
        s3: destinationTarget(s3),
        http: destinationTarget(http),
      };
      assert.deepEqual(targets, {
        folder: 'folder:/srv/out',
        sftp: 'sftp://agency@files.example.com:22/upload',
        s3: 's3:https://minio.example.com:9000/assets/spring/',
        http: 'http:https://cms.example.com',
      });
      for (const t of Object.values(targets)) assert.doesNotMatch(t, /secret|KEYDATA|token|AKIA|pp@|pw/);
      const differs = (a: DestinationConfig, b: DestinationConfig) => assert.notEqual(destinationTarget(a), destinationTarget(b), `${JSON.stringify(b)}`);
      differs(sftp, { ...sftp, host: 'other.example.com' });
      differs(sftp, { ...sftp, port: 2222 });
      differs(sftp, { ...sftp, basePath: '/upload/2025' });
      differs(sftp, { ...sftp, basePath: 'upload' }); // relative: in the user's home
      differs(sftp, { ...sftp, user: 'other' });
      differs(s3, { ...s3, bucket: 'assets-2' });
      differs(s3, { ...s3, keyPrefix: 'summer/' });
      differs(s3, { ...s3, endpoint: 'https://s3.eu-west-1.amazonaws.com' });
      differs({ kind: 's3', region: 'eu-west-1', bucket: 'b' }, { kind: 's3', region: 'us-east-1', bucket: 'b' });
      differs(http, { ...http, url: 'https://cms2.example.com/wp-json/wp/v2/media/{{asset.id}}' });
      // how files are sent is not where they go
      assert.equal(destinationTarget({ ...sftp, password: 'changed', fsync: true }), targets.sftp);
      assert.equal(destinationTarget({ ...s3, forcePathStyle: true, secretAccessKey: 'x' }), targets.s3);
      assert.equal(destinationTarget({ ...http, token: 'rotated', timeout: 5 }), targets.http);
    });
  });

  describe('a replaced file', () => {
    it('an unmodified asset sent again is skipped without a request; the first delivery read the evidence once', async () => {
      const { d, ledger, target } = await setup();
      const first = await put(d, 'v1');
      assert.equal(first.skipped, false);
      assert.equal(reads, 1, 'one read of the embedded metadata, before the file');
      const rec = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' })) as LedgerRecord;
      assert.equal(rec.m, T0);
      assert.deepEqual(rec.f, current);
      for (let i = 0; i < 5; i++) {
        const again = await put(d, 'v1');
        assert.equal(again.skipped, true);
        assert.equal(again.versionCheck, 'key');
      }
      assert.equal(reads, 1, 'no request on the skip path');
    });

    it('replaced at the same size, pixel size and name: the embedded metadata tells, and the new bytes are delivered', async () => {
      const { d } = await setup();
      await put(d, 'old bytes');
      // the file replaced in PhotoShelter: same key, a later modified_at, a new XMP InstanceID
      current = { instance: 'xmp.iid:two', modify: '2024:06:02 10:00:00' };
      const r = await put(d, 'new bytes', asset({ modifiedAt: T1 }));
      assert.equal(r.skipped, false);
      assert.equal(r.versionCheck, 'metadata');
      assert.equal(at(), 'new bytes');
      assert.equal(reads, 2, 'one read to decide, none more for the record');
      assert.equal((await put(d, 'new bytes', asset({ modifiedAt: T1 }))).skipped, true);
      assert.equal(reads, 2);
    });

    /** A download the deliverer opens itself, of the original or of a rendition. */
    const download = (data: Buffer, original: boolean): BodySource => ({ kind: 'fetch', open: async () => Readable.from([data]), original });

    it('the XMP InstanceID in the original\'s own bytes is what the record keeps: a file replaced during the download is not taken for the one read before', async () => {
      const { d, ledger, target } = await setup();
      // the metadata read before the download says version one; the bytes that come are already version two
      current = { instance: 'xmp.iid:one' };
      await put(d, '', asset(), {}, download(jpeg('xmp.iid:two'), true));
      const rec = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' })) as LedgerRecord;
      assert.deepEqual(rec.f, { instance: 'xmp.iid:two' });
      // PhotoShelter now answers version two: the same as delivered, so a modification is a skip
      current = { instance: 'xmp.iid:two' };
      const r = await put(d, '', asset({ modifiedAt: T1 }), {}, { kind: 'stream', stream: Readable.from([jpeg('xmp.iid:two')]) });
      assert.equal(r.skipped, true);
      assert.equal(r.versionCheck, 'metadata');
    });

    it('a rendition\'s bytes tell nothing of the original\'s version: the record keeps the evidence read before, and a later check sees no new version', async () => {
      const { d, ledger, target } = await setup();
      // a JPEG rendition made from version one carries an InstanceID of its own
      current = { instance: 'xmp.iid:one' };
      await put(d, '', asset(), {}, download(jpeg('xmp.iid:rendition'), false));
      const rec = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' })) as LedgerRecord;
      assert.deepEqual(rec.f, { instance: 'xmp.iid:one' }, 'the original\'s evidence, read through the API');
      // modified (a metadata edit), the original unchanged: the check against the API finds the same version
      const r = await put(d, '', asset({ modifiedAt: T1 }), {}, download(jpeg('xmp.iid:rendition'), false));
      assert.equal(r.skipped, true, 'not taken for a new version');
      assert.equal(r.versionCheck, 'metadata');
    });

    it('bytes handed in (a buffer, a stream) are not known to be the original: their InstanceID is not the record\'s', async () => {
      const { d, ledger, target } = await setup();
      current = { instance: 'xmp.iid:one' };
      await put(d, '', asset(), {}, { kind: 'buffer', data: jpeg('xmp.iid:edited-copy') });
      const rec = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' })) as LedgerRecord;
      assert.equal(rec.f?.instance, 'xmp.iid:one');
    });

    it('modified but not replaced (a metadata edit): one read, skipped, then free again', async () => {
      const { d, ledger, target } = await setup();
      await put(d, 'v1');
      const deliveredAt = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' }))?.at;
      const r = await put(d, 'v1', asset({ modifiedAt: T1 }));
      assert.equal(r.skipped, true);
      assert.equal(r.versionCheck, 'metadata');
      assert.equal(reads, 2);
      const delivered = (await ledger.lookup({ target, asset: ID, location: 'retouched.tif' })) as LedgerRecord;
      assert.equal(delivered.m, T1, 'the record now stands for the new modified_at');
      assert.equal(delivered.at, deliveredAt, 'the delivery\'s time kept');
      assert.ok(delivered.c && delivered.c >= delivered.at, 'and the time of the check');
      const again = await put(d, 'v1', asset({ modifiedAt: T1 }));
      assert.equal(again.versionCheck, 'key');
      assert.equal(reads, 2, 'no further request');
    });

    it('only the date in the embedded metadata: it decides when there is no InstanceID', async () => {
      const { d } = await setup();
      current = { modify: '2024:06:01 10:00:00' };
      await put(d, 'v1');
      assert.equal((await put(d, 'v1', asset({ modifiedAt: T1 }))).skipped, true);
      current = { modify: '2024:06:03 08:00:00' };
      const r = await put(d, 'v2', asset({ modifiedAt: T2 }));
      assert.equal(r.skipped, false);
      assert.equal(at(), 'v2');
    });

    it('the bytes at hand (a buffer or a temporary file) are compared by sha256, without a request', async () => {
      const { d } = await setup(undefined, { evidence: false });
      await put(d, 'v1', asset(), {}, { kind: 'buffer', data: Buffer.from('v1') });
      const same = await put(d, 'v1', asset({ modifiedAt: T1 }), {}, { kind: 'buffer', data: Buffer.from('v1') });
      assert.equal(same.skipped, true);
      assert.equal(same.versionCheck, 'sha256');
      const file = join(tmp, 'download.tif');
      writeFileSync(file, 'v2, same size');
      const changed = await put(d, '', asset({ modifiedAt: T2 }), {}, { kind: 'file', path: file });
      assert.equal(changed.skipped, false);
      assert.equal(changed.versionCheck, 'sha256');
      assert.equal(at(), 'v2, same size');
    });

    it('the API hash: a different hash is a different version; the same hash after a modification is a request-free skip', async () => {
      const { d } = await setup();
      const k1 = versionKeyOf(ID, 'clip.mp4', 9000, 1920, 1080, '051a007701ae51921e2e5eec19dfe0000000001');
      const k2 = versionKeyOf(ID, 'clip.mp4', 9000, 1920, 1080, '051a007701ae51921e2e5eec19dfe0000000002');
      const video = (v: string, m: string) => asset({ versionKey: v, fileName: 'clip.mp4', modifiedAt: m });
      const r1 = await put(d, 'v1', video(k1, T0));
      assert.equal(r1.skipped, false);
      assert.equal(reads, 0, 'with a hash, the embedded metadata is not needed');
      const edit = await put(d, 'v1', video(k1, T1));
      assert.equal(edit.skipped, true);
      assert.equal(edit.versionCheck, 'hash');
      const replaced = await put(d, 'v2', video(k2, T2));
      assert.equal(replaced.skipped, false);
      assert.equal(readFileSync(join(tmp, 'out', 'clip.mp4'), 'utf8'), 'v2');
      assert.equal(reads, 0);
    });

    it('a record made before the API gave a hash still matches the key with the hash: no re-delivery after the upgrade', async () => {
      const { d } = await setup();
      const legacy = versionKeyOf(ID, 'clip.mp4', 9000, 1920, 1080);
      const hashed = versionKeyOf(ID, 'clip.mp4', 9000, 1920, 1080, 'abcdef0123456789');
      assert.ok(sameVersion(legacy, hashed) && !sameVersion(hashed, versionKeyOf(ID, 'clip.mp4', 9000, 1920, 1080, 'abcdef0123456780')));
      await put(d, 'v1', asset({ versionKey: legacy, fileName: 'clip.mp4' }));
      const r = await put(d, 'v1', asset({ versionKey: hashed, fileName: 'clip.mp4' }));
      assert.equal(r.skipped, true);
    });

    it('a format-1 record, the asset modified since: one read; nothing to compare, so skipped as before, and the evidence kept for next time', async () => {
      mkdirSync(join(tmp, 'ledger'));
      writeFileSync(ledgerFile, `${JSON.stringify({ t: 'done', a: ID, v: KEY, l: 'retouched.tif', b: 2, h: sha('v1'), at: T0 })}\n`);
      const { d } = await setup();
      const r = await put(d, 'v1', asset({ modifiedAt: T1 }));
      assert.equal(r.skipped, true);
      assert.equal(r.versionCheck, 'none');
      assert.equal(reads, 1);
      // from now on a replacement is seen
      current = { instance: 'xmp.iid:three' };
      const replaced = await put(d, 'v3', asset({ modifiedAt: T2 }));
      assert.equal(replaced.skipped, false);
      assert.equal(at(), 'v3');
    });

    it('"deliver again on any modification": a modification delivers again whatever the evidence', async () => {
      const { d } = await setup();
      await put(d, 'v1');
      assert.equal((await put(d, 'v1', asset(), { redeliverOnModify: true })).skipped, true, 'not modified: skipped');
      const r = await put(d, 'v1 again', asset({ modifiedAt: T1 }), { redeliverOnModify: true });
      assert.equal(r.skipped, false);
      assert.equal(r.versionCheck, 'modified');
      assert.equal(at(), 'v1 again');
    });

    it('no modified_at in the message: skipped as the key says, no request', async () => {
      const { d } = await setup();
      await put(d, 'v1');
      const r = await put(d, 'v1', asset({ modifiedAt: undefined }));
      assert.equal(r.skipped, true);
      assert.equal(reads, 1);
    });

    it('a medium without embedded metadata (404) is no error; a failing API is', async () => {
      const { d } = await setup();
      readError = Object.assign(new Error('No such resource'), { code: 'ENOTFOUND', status: 404 });
      assert.equal((await put(d, 'v1')).skipped, false, 'delivered without evidence');
      assert.equal((await put(d, 'v1', asset({ modifiedAt: T1 }))).versionCheck, 'none');
      readError = Object.assign(new Error('Service unavailable'), { code: 'ESERVER', status: 503 });
      await assert.rejects(put(d, 'v1', asset({ modifiedAt: T2 })), /Service unavailable/);
    });

    it('dry run: reports the decision, writes nothing to the ledger', async () => {
      const { d } = await setup();
      await put(d, 'v1');
      const before = readFileSync(ledgerFile, 'utf8');
      const r = await put(d, 'v1', asset({ modifiedAt: T1 }), { dryRun: true });
      assert.equal(r.skipped, true);
      assert.equal(readFileSync(ledgerFile, 'utf8'), before);
    });
  });

  describe('evidence and dates', () => {
    it('reads the embedded metadata liberally', () => {
      assert.deepEqual(
        evidenceFromEmbedded(embedded({ 'XMP-xmpMM:DocumentID': 'xmp.did:1', 'XMP-xmpMM:InstanceID': 'xmp.iid:2', 'XMP-xmp:ModifyDate': '2024:06:01 10:00:00+02:00', 'File:FileName': 'a.tif', 'File:FileSize': 5000 })),
        { instance: 'xmp.iid:2', modify: '2024:06:01 10:00:00+02:00' },
      );
      // an ExifTool array, other group names, a nested group
      assert.deepEqual(evidenceFromEmbedded({ attributes: { raw: JSON.stringify([{ 'XMP:InstanceID': 'i', 'EXIF:ModifyDate': 'd' }]) } }), { instance: 'i', modify: 'd' });
      assert.deepEqual(evidenceFromEmbedded({ attributes: { raw: { XMP: { xmpMM: { InstanceID: 'nested' } } } } }), { instance: 'nested' });
      // the xmpMM InstanceID wins over others; history entries do not count
      assert.deepEqual(evidenceFromEmbedded(embedded({ 'XMP-xmpMM:HistoryInstanceID': 'h', 'XMP-xmpMM:DerivedFromInstanceID': 'old', 'XMP-xmpMM:InstanceID': 'now' })), { instance: 'now' });
      // the version a file was derived from is not its own (two exports of one source share it)
      assert.equal(evidenceFromEmbedded(embedded({ 'XMP-xmpMM:DerivedFromInstanceID': 'derived' })), undefined);
      assert.deepEqual(evidenceFromEmbedded(embedded({ 'XMP-custom:MyInstanceID': 'mine' })), { instance: 'mine' });
      // ModifyDate of XMP preferred; a tag ending in ModifyDate as a last resort; access dates never
      assert.deepEqual(evidenceFromEmbedded(embedded({ 'IFD0:ModifyDate': 'exif', 'XMP-xmp:ModifyDate': 'xmp' })), { modify: 'xmp' });
      assert.deepEqual(evidenceFromEmbedded(embedded({ 'File:FileAccessDate': 'now', 'File:FileModifyDate': 'fs' })), { modify: 'fs' });
      for (const bad of [embedded({ 'File:FileName': 'a.jpg' }), { attributes: { raw: '{not json' } }, { attributes: {} }, null, { attributes: { raw: '"text"' } }]) {
        assert.equal(evidenceFromEmbedded(bad), undefined, JSON.stringify(bad));
      }
    });

    it('finds the XMP InstanceID of a JPEG in its metadata segments, and nowhere else', () => {
      assert.equal(jpegXmpInstance(jpeg('xmp.iid:abc')), 'xmp.iid:abc');
      const element = Buffer.concat([Buffer.from([0xff, 0xd8]), XMP('<rdf:Description><xmpMM:InstanceID> uuid:42 </xmpMM:InstanceID></rdf:Description>'), segment(0xda, Buffer.from([0]))]);
      assert.equal(jpegXmpInstance(element), 'uuid:42');
      // a packet behind the start of scan belongs to the image data, not to the file's metadata
      const late = Buffer.concat([Buffer.from([0xff, 0xd8]), segment(0xda, Buffer.from([0])), XMP('xmpMM:InstanceID="late"')]);
      assert.equal(jpegXmpInstance(late), undefined);
      // other formats, a head cut inside the packet, no packet
      assert.equal(jpegXmpInstance(Buffer.from('%PDF-1.7 xmpMM:InstanceID="pdf"')), undefined);
      assert.equal(jpegXmpInstance(jpeg('xmp.iid:abc').subarray(0, 60)), undefined);
      assert.equal(jpegXmpInstance(Buffer.concat([Buffer.from([0xff, 0xd8]), segment(0xe0, Buffer.from('JFIF')), segment(0xda, Buffer.from([0]))])), undefined);
    });

    it('compares evidence by InstanceID first, then the date', () => {
      assert.equal(compareEvidence({ instance: 'a', modify: '1' }, { instance: 'a', modify: '2' }), 'same');
      assert.equal(compareEvidence({ instance: 'a' }, { instance: 'b' }), 'changed');
      assert.equal(compareEvidence({ modify: '1' }, { instance: 'b', modify: '1' }), 'same');
      assert.equal(compareEvidence({ modify: '1' }, { instance: 'b' }), 'unknown');
      assert.equal(compareEvidence(undefined, { instance: 'b' }), 'unknown');
    });

    it('modified since: against the record\'s modified_at, or for old records its time', () => {
      assert.equal(modifiedSince(T0, { m: T0, at: T2 }), false);
      assert.equal(modifiedSince('2024-06-01T10:00:00Z', { m: T0, at: T2 }), false, 'the same instant written otherwise');
      assert.equal(modifiedSince(T1, { m: T0, at: T2 }), true);
      assert.equal(modifiedSince(T0, { at: T1 }), false, 'modified before the delivery');
      assert.equal(modifiedSince(T2, { at: T1 }), true);
      assert.equal(modifiedSince(null, { m: T0, at: T1 }), false);
    });

    it('the version key takes the API hash where there is one, in the shape it always had otherwise', () => {
      const media = (attrs: Record<string, unknown>) => normalizeAsset({ media: { id: 'VD000abcdefghijk', type: 'video', attributes: { file_name: 'c.mp4', file_size: 10, width: 2, height: 1, ...attrs } } });
      const plain = media({}).versionKey;
      assert.match(plain, /^10-2x1-[0-9a-f]{8}$/);
      assert.equal(media({ hash: null }).versionKey, plain);
      const hashed = media({ hash: '051A007701AE51921E2E5EEC19DFEEXAMPLEHASH' }).versionKey;
      assert.match(hashed, /^10-2x1-[0-9a-f]{8}-h[0-9a-f]+$/);
      assert.notEqual(media({ hash: '051a007701ae51921e2e5eec19dfe0000000002' }).versionKey, hashed);
      assert.equal(media({ hash: '051a007701ae51921e2e5eec19dfe0000000002' }).versionKey, media({ hash: '051A007701AE51921E2E5EEC19DFE0000000002' }).versionKey);
    });
  });
});

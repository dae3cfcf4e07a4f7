// The S3 destination against s3rver, an S3 implementation that is not ours (npm, started here on a loopback
// port, its buckets in a temporary folder): a small file and a multipart upload with their metadata
// headers, the overwrite policy, removal, refused credentials; then example 6 as shipped, its APAC library
// in an s3rver bucket. What the bucket holds is read back through s3rver's own S3 API.
//
// s3rver checks that the access key exists but does not verify SigV4 signatures, so a wrong secret is
// refused only by the package's own S3 stand-in (test/unit/core/deliver-s3.test.ts, which checks every
// signature); here an unknown access key is.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import jsonata from 'jsonata';
import { createS3Destination, type S3Destination, type S3DestinationConfig } from '../../src/core/deliver/s3/destination';
import { DeliverError } from '../../src/core/deliver/types';
import { loadExample } from '../helpers/examples';
import { filesUnder } from '../helpers/files';
import { photoshelterEnv, startSim, type MediaTruth, type SimHandle } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from '../flows/runtime';

const MB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** s3rver's built-in account. */
const KEY = 'S3RVER';
const SECRET = 'S3RVER';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

async function startS3rver(buckets: string[]): Promise<{ endpoint: string; dir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ps-s3rver-'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A stream of `size` random bytes in 64 KiB chunks, and their digest. */
function source(size: number): { stream: Readable; sha256: string } {
  const data = randomBytes(size);
  const chunks: Buffer[] = [];
  for (let at = 0; at < size; at += 64 * 1024) chunks.push(data.subarray(at, at + 64 * 1024));
  return { stream: Readable.from(chunks), sha256: sha256(data) };
}

/** An RFC 2047 encoded word as the destination writes non-ASCII metadata, decoded. */
const decodeWord = (v: string): string => {
  const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(v);
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : v;
};

describe('e2e: the S3 destination against s3rver', function () {
  this.timeout(240_000);
  const BUCKET = 'deliveries';
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const opened: S3Destination[] = [];
  const signal = () => AbortSignal.timeout(60_000);
  const dest = (extra: Partial<S3DestinationConfig> = {}): S3Destination => {
    const d = createS3Destination({ endpoint: s3.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: KEY, secretAccessKey: SECRET, keyPrefix: 'shelf/', ...extra });
    opened.push(d);
    return d;
  };
  /** What the bucket holds at a key, through s3rver's API. */
  const object = async (bucket: string, key: string) => {
    const res = await fetch(`${s3.endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const keys = async (bucket: string, prefix = ''): Promise<string[]> => {
    const res = await fetch(`${s3.endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
    assert.equal(res.status, 200);
    return [...(await res.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1].replace(/&amp;/g, '&').replace(/&apos;/g, "'").replace(/&quot;/g, '"')).sort();
  };

  before(async () => {
    s3 = await startS3rver([BUCKET, 'apac-library']);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });
  after(async () => {
    await s3?.close();
  });

  describe('the destination', () => {
    it('a small file is one PutObject: the bucket holds its bytes, its content type and its metadata headers (non-ASCII encoded)', async () => {
      const d = dest();
      const data = randomBytes(300 * 1024);
      const location = d.resolve('2026/Zürich harbour (1).jpg');
      const metadata = { 'meta:asset-id': 'I0000abcdEFGHijk', 'meta:caption': 'Zürich, “Hafen” at dawn', 'file:name': 'Zürich harbour (1).jpg' };
      await d.put({ location, body: Readable.from([data]), size: data.length, contentType: 'image/jpeg', metadata, signal: signal() });
      const stored = await object(BUCKET, 'shelf/2026/Zürich harbour (1).jpg');
      assert.equal(stored.status, 200);
      assert.equal(sha256(stored.body), sha256(data));
      assert.equal(stored.headers.get('content-type'), 'image/jpeg');
      assert.equal(stored.headers.get('x-amz-meta-asset-id'), 'I0000abcdEFGHijk');
      assert.equal(decodeWord(String(stored.headers.get('x-amz-meta-caption'))), 'Zürich, “Hafen” at dawn');
      assert.equal(d.stats.partsUploaded, 0, 'no multipart upload');
    });

    it('a 12 MB stream goes in 5 MB parts (a multipart upload): the bucket holds it whole, with its metadata', async () => {
      const d = dest({ partSizeMb: 5 });
      const src = source(12 * MB + 4321);
      await d.put({ location: d.resolve('video/launch film.mp4'), body: src.stream, contentType: 'video/mp4', metadata: { 'meta:asset-id': 'VD000multipart01' }, signal: signal() });
      // three parts went up, s3rver took each and put them together on CompleteMultipartUpload
      assert.equal(d.stats.partsUploaded, 3);
      assert.equal(d.stats.bufferedBytes, 0);
      const stored = await object(BUCKET, 'shelf/video/launch film.mp4');
      assert.equal(stored.status, 200);
      assert.equal(stored.body.length, 12 * MB + 4321);
      assert.equal(sha256(stored.body), src.sha256);
      assert.equal(stored.headers.get('x-amz-meta-asset-id'), 'VD000multipart01');
      assert.equal(stored.headers.get('content-type'), 'video/mp4');
    });

    it('overwrite "fail" refuses an existing key (EEXIST) and "skip" leaves it as it is, both after a HeadObject', async () => {
      const d = dest();
      const location = d.resolve('policy/once.bin');
      await d.put({ location, body: Readable.from([Buffer.from('first')]), size: 5, signal: signal() });
      await assert.rejects(d.put({ location, body: Readable.from([Buffer.from('second')]), size: 6, overwrite: 'fail', signal: signal() }), (e: unknown) => e instanceof DeliverError && e.code === 'EEXIST');
      const skipped = await d.put({ location, body: Readable.from([Buffer.from('third')]), size: 5, overwrite: 'skip', signal: signal() });
      assert.equal(skipped.skipped, true);
      assert.equal((await object(BUCKET, 'shelf/policy/once.bin')).body.toString(), 'first');
    });

    it('remove deletes the object; a second remove finds nothing there', async () => {
      const d = dest();
      const location = d.resolve('gone/expired licence.jpg');
      await d.put({ location, body: Readable.from([Buffer.from('jpeg')]), size: 4, signal: signal() });
      assert.ok((await keys(BUCKET, 'shelf/gone/')).includes('shelf/gone/expired licence.jpg'));
      assert.deepEqual(await d.remove(location, signal()), { removed: true });
      assert.equal((await object(BUCKET, 'shelf/gone/expired licence.jpg')).status, 404);
      assert.deepEqual(await keys(BUCKET, 'shelf/gone/'), []);
      assert.deepEqual(await d.remove(location, signal()), { removed: false });
    });

    it('an unknown access key is refused (EAUTH, not retried), nothing is stored, and the secret is in no error', async () => {
      const secret = 'not/the-secret+of-anyone-0123456789';
      const d = dest({ accessKeyId: 'AKIDNOSUCHKEY0000', secretAccessKey: secret });
      const err = await d.put({ location: d.resolve('refused/x.jpg'), body: Readable.from([Buffer.from('x')]), size: 1, signal: signal() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof DeliverError, String(err));
      assert.equal(err.code, 'EAUTH');
      assert.equal(err.retryable, false);
      assert.ok(!JSON.stringify({ message: err.message, stack: err.stack }).includes(secret));
      assert.deepEqual(await keys(BUCKET, 'shelf/refused/'), []);
    });

    it('a bucket that does not exist is ENOTFOUND', async () => {
      const d = dest({ bucket: 'no-such-bucket' });
      await assert.rejects(d.put({ location: d.resolve('x.jpg'), body: Readable.from([Buffer.from('x')]), size: 1, signal: signal() }), (e: unknown) => e instanceof DeliverError && e.code === 'ENOTFOUND');
    });
  });

  describe('example 6, as shipped, with its APAC library in an s3rver bucket', () => {
    const FLOW = '6 Curated collection to regional campaign libraries.json';
    /** CAMPAIGN_COLLECTION's default: "Spring Launch" of the seed-1 library. */
    const COLLECTION = 'C0000Gu8u8AAAAAA';
    let sim: SimHandle;
    let red: Runtime;
    let out: string;
    let scope: MediaTruth[] = [];
    /** The flow's own region rule (its "region" node), applied to the simulator's truth. */
    const regionRule = jsonata(String(((loadExample(FLOW).find((n) => n.id === 'job6.region') as unknown as { rules: Array<{ to: string }> }).rules[0]).to));
    const regionOf = async (t: MediaTruth): Promise<string> => String(await regionRule.evaluate({ asset: { custom: t.custom, iptc: t.iptc } }));
    const original = async (t: MediaTruth) => Buffer.from(await (await fetch(`${sim.url}/__sim/files/${t.id}/${t.version}/original`)).arrayBuffer());
    /** The walk's state as the trigger stored it (its state file). */
    const walk = async (): Promise<{ id: string; done: boolean } | undefined> => {
      try {
        return (JSON.parse(readFileSync(join(red.userDir, 'photoshelter', 'triggers', 'job6_walk.json'), 'utf8')) as { state?: { walk?: { id: string; done: boolean } } }).state?.walk;
      } catch {
        return undefined;
      }
    };

    before(async () => {
      sim = await startSim({ strict: true, seed: 1, assets: 60 });
      out = mkdtempSync(join(tmpdir(), 'ps-job6-s3-'));
      red = await startRuntime({
        env: {
          ...photoshelterEnv(sim),
          PHOTOSHELTER_OUT_DIR: out,
          CAMPAIGN_S3_BUCKET_APAC: 'apac-library',
          CAMPAIGN_S3_ENDPOINT: s3.endpoint,
          CAMPAIGN_S3_REGION: 'us-east-1',
          CAMPAIGN_S3_ACCESS_KEY_ID: KEY,
          CAMPAIGN_S3_SECRET_ACCESS_KEY: SECRET,
        },
      });
      await red.deploy(loadExample(FLOW));
      for (const t of ['job6.changed', 'job6.added']) assert.equal((await red.admin('POST', `/photoshelter/trigger/${t}/poll`)).status, 200);
      const state = await sim.control.state();
      const inTree = new Set([COLLECTION]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const c of state.collections) if (c.parent && inTree.has(c.parent) && !inTree.has(c.id)) grew = Boolean(inTree.add(c.id));
      }
      const ids = new Set((await Promise.all(state.galleries.filter((g) => g.parents.some((p) => inTree.has(p))).map((g) => sim.control.mediaIds(g.id)))).flat());
      scope = await Promise.all([...ids].map((id) => sim.control.media(id)));
    });
    after(async () => {
      await red?.stop();
      await sim?.close();
      if (out) rmSync(out, { recursive: true, force: true });
    });

    let apac: MediaTruth[] = [];
    it('a sync puts the APAC assets into the bucket, byte for byte, and no other region there', async () => {
      const regions = await Promise.all(scope.map(regionOf));
      apac = scope.filter((_, i) => regions[i] === 'APAC');
      assert.ok(apac.length >= 2, `the collection has APAC assets (${apac.length} of ${scope.length})`);
      assert.equal((await red.admin('POST', '/inject/job6.syncNow')).status, 200);
      await waitFor(async () => (await walk())?.done === true, 'the end of the walk', 120_000);
      assert.deepEqual(await keys('apac-library'), apac.map((t) => `campaign-library/apac/${t.id} ${t.file_name}`).sort());
      for (const t of apac) {
        const stored = await object('apac-library', `campaign-library/apac/${t.id} ${t.file_name}`);
        assert.equal(stored.body.length, t.file_size, t.id);
        assert.equal(sha256(stored.body), sha256(await original(t)), `${t.id}: the original's bytes`);
      }
      const folders = filesUnder(join(out, 'campaign-library'));
      assert.equal(folders.length, scope.length - apac.length, 'the other regions go to their folders');
      assert.ok(!folders.some((f) => f.startsWith('apac/')), 'no APAC asset in a folder');
      assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
    });

    it('a new version of an APAC asset replaces its object in the bucket', async () => {
      const [t] = apac.filter((a) => a.file_size < 5_000_000);
      assert.ok(t, 'a small APAC asset');
      const newer = await sim.control.patchMedia(t.id, { replaceFile: true });
      assert.notEqual(newer.version, t.version);
      await pollAfterChange(sim, red, ['job6.changed', 'job6.added']);
      const want = sha256(await original(newer));
      await waitFor(async () => sha256((await object('apac-library', `campaign-library/apac/${t.id} ${t.file_name}`)).body) === want, 'the new version in the bucket', 60_000);
      assert.equal((await keys('apac-library')).length, apac.length, 'still one object per asset');
    });

    it('an asset that moves between the bucket and a folder library leaves no copy behind, either way', async () => {
      const [t] = apac.filter((a) => a.file_size < 5_000_000);
      const key = `campaign-library/apac/${t.id} ${t.file_name}`;
      const folderFile = join(out, 'campaign-library', 'emea', `${t.id} ${t.file_name}`);
      // out of APAC: into the EMEA folder, and out of the bucket
      await sim.control.patchMedia(t.id, { custom: { Region: 'EMEA' } });
      await pollAfterChange(sim, red, ['job6.changed', 'job6.added']);
      await waitFor(async () => existsSync(folderFile) && !(await keys('apac-library')).includes(key), 'the asset in the EMEA folder and gone from the bucket', 60_000);
      assert.equal((await keys('apac-library')).length, apac.length - 1);
      // back into APAC: into the bucket, and out of the folder
      await sim.control.patchMedia(t.id, { custom: { Region: 'APAC' } });
      await pollAfterChange(sim, red, ['job6.changed', 'job6.added']);
      await waitFor(async () => !existsSync(folderFile) && (await keys('apac-library')).includes(key), 'the asset back in the bucket and gone from the folder', 60_000);
      const now = await sim.control.media(t.id);
      assert.equal(sha256((await object('apac-library', key)).body), sha256(await original(now)));
      assert.equal(filesUnder(join(out, 'campaign-library')).length, scope.length - apac.length, 'the folders hold the other regions only');
      assert.doesNotMatch(red.output(), /\[error\]/, red.output().slice(-2000));
    });
  });
});

// Jobs 1 and 5 against a real WordPress (test/e2e/wordpress.ts): the examples, as shipped, in a real
// Node-RED runtime, with the PhotoShelter simulator as the source. Every step is checked at the site: the
// media items it holds, their slugs, titles, captions, alt text, MIME types and bytes; and the sweep's
// notifications as the notified server received them.
//   job 1: an approval publishes the original (a video or a PDF as it is) with its description and slug; a
//          repeat changes nothing; a new version replaces the item; a metadata edit of an asset that stays
//          approved updates the item's title, caption and alt text without uploading again;
//   job 5: the rights sweep removes the items of assets whose licence expired or whose terms exclude the
//          web, keeps the rest, and says so in one notification; an empty sweep says nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { encodeJpeg, patternFor } from '../../src/simulator/jpeg';
import { startRuntime, type Runtime } from '../flows/runtime';
import { startSim, type MediaTruth, type SimHandle, photoshelterEnv } from '../helpers/sim';
import { waitFor } from '../helpers/wait';
import { combineExamples } from '../helpers/examples';
import { debugTap, type DebugTap } from '../helpers/debug-tap';
import { startWordPress, wordPressUnavailable, type WordPress } from './wordpress';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const JOB1 = '1 Approved photos to the WordPress media library.json';
const JOB5 = '5 Rights sweep of delivered photos.json';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Media {
  id: number;
  slug: string;
  /** When WordPress last changed the item (GMT, without a zone). */
  modified: string;
  source_url: string;
  mime_type: string;
  title: { raw?: string; rendered: string };
  caption: { raw?: string; rendered: string };
  alt_text: string;
  media_details?: { filesize?: number };
}

/** REST calls to the WordPress under test, authenticated with its application password. */
function restClient(wp: WordPress) {
  const call = async <T>(method: string, url: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) => {
    const res = await fetch(url, { method, headers: { authorization: wp.authorization, ...init.headers }, body: init.body, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as T, text };
  };
  const item = (id: number, query = '') => `${wp.mediaUrl}/${id}${query ? `&${query}` : ''}`;
  return {
    call,
    item,
    get: (id: number) => call<Media>('GET', item(id, 'context=edit')),
    bySlug: async (slug: string) => {
      const res = await call<Media[]>('GET', `${wp.mediaUrl}&slug=${encodeURIComponent(slug)}&context=edit`);
      assert.equal(res.status, 200, res.text);
      return res.json;
    },
    download: async (url: string) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      assert.equal(res.status, 200, `GET ${url}`);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

describe('e2e: a real WordPress', function () {
  this.timeout(300_000);
  let wp: WordPress | undefined;
  let rest: ReturnType<typeof restClient>;

  before(async function () {
    this.timeout(180_000);
    const why = wordPressUnavailable();
    if (why) throw new Error(why);
    wp = await startWordPress();
    rest = restClient(wp);
    console.log(`      WordPress ready in ${wp.setupMs} ms (${Object.entries(wp.timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  });
  after(async () => {
    await wp?.stop();
  });

  describe('the media REST API through the harness', () => {
    it('uploads a JPEG, describes it, reads both back and deletes it', async () => {
      const jpeg = encodeJpeg(64, 48, patternFor(12345, 64, 48));
      const up = await rest.call<Media>('POST', wp!.mediaUrl, {
        body: new Uint8Array(jpeg),
        headers: { 'content-type': 'image/jpeg', 'content-disposition': 'attachment; filename="harness-check.jpg"' },
      });
      assert.equal(up.status, 201, up.text);
      const id = up.json.id;
      assert.ok(Number.isInteger(id) && id > 0);
      assert.equal(up.json.mime_type, 'image/jpeg');
      const stored = await rest.download(up.json.source_url);
      assert.equal(stored.length, jpeg.length);
      assert.equal(sha(stored), sha(jpeg));

      const meta = { title: 'Harbour at dawn', caption: 'Boats in the harbour, early morning.', alt_text: 'Fishing boats moored in a calm harbour' };
      const set = await rest.call<Media>('POST', rest.item(id), { body: JSON.stringify(meta), headers: { 'content-type': 'application/json' } });
      assert.equal(set.status, 200, set.text);
      const back = await rest.get(id);
      assert.equal(back.status, 200, back.text);
      assert.equal(back.json.title.raw, meta.title);
      assert.equal(back.json.caption.raw, meta.caption);
      assert.equal(back.json.alt_text, meta.alt_text);

      const del = await rest.call<{ deleted: boolean }>('DELETE', rest.item(id, 'force=true'));
      assert.equal(del.status, 200, del.text);
      assert.equal(del.json.deleted, true);
      assert.equal((await rest.get(id)).status, 404);
      assert.equal((await fetch(up.json.source_url)).status, 404, 'the file is gone too');
    });

    it('refuses a call without valid credentials', async () => {
      const res = await fetch(wp!.mediaUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${wp!.user}:wrong password`).toString('base64')}`, 'content-type': 'image/jpeg', 'content-disposition': 'attachment; filename="x.jpg"' },
        body: new Uint8Array(encodeJpeg(8, 8, patternFor(1, 8, 8))),
      });
      assert.equal(res.status, 401);
    });
  });

  describe('jobs 1 and 5, as shipped, in a Node-RED runtime', () => {
    let sim: SimHandle;
    let red: Runtime | undefined;
    let notifier: Server | undefined;
    const notifications: Array<{ sweptAt: string; removed: Array<Record<string, unknown>> }> = [];
    let tap: DebugTap | undefined;
    let kept: MediaTruth;
    let expiring: MediaTruth;
    let restricted: MediaTruth;
    let dotted: MediaTruth;
    const wordpressIds = new Map<string, number>();

    const poll = () => red!.admin('POST', '/photoshelter/trigger/job1.approved/poll');
    /** A client learns the simulator's new time from its next response: poll twice, 1.1 s apart. */
    const settleAndPoll = async () => {
      await sim.control.clock(3);
      await sleep(1100);
      await poll();
      await sleep(1100);
      await poll();
    };
    const log = () => red!.output().slice(-4000);
    const slugOf = (t: MediaTruth) => `ps-${t.id.toLowerCase()}`;
    /** What the site holds for an asset: one media item with its slug, described (the title set by the flow). */
    const described = async (t: MediaTruth, title = t.iptc.headline ?? t.iptc.title ?? t.file_name): Promise<Media | undefined> => {
      const found = await rest.bySlug(slugOf(t));
      return found.length === 1 && found[0].title.raw === title ? found[0] : undefined;
    };
    /** Every media item of the site (the test site holds fewer than 100). */
    const allMedia = async (): Promise<Media[]> => {
      const res = await rest.call<Media[]>('GET', `${wp!.mediaUrl}&per_page=100&context=edit`);
      assert.equal(res.status, 200, res.text);
      return res.json;
    };
    /** The original's bytes, straight from the simulator's API. */
    const original = async (id: string): Promise<Buffer> => {
      const auth = await fetch(`${sim.baseUrl}/authenticate`, {
        method: 'POST',
        headers: { 'x-ps-api-key': sim.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: sim.email, password: sim.password, org_id: sim.orgId, mode: 'token' }),
      });
      assert.equal(auth.status, 200, 'simulator login');
      const { token } = (await auth.json()) as { token: string };
      const res = await fetch(`${sim.baseUrl}/media/${encodeURIComponent(id)}/download?download_filetype=original`, {
        headers: { 'x-ps-api-key': sim.apiKey, 'x-ps-auth-token': token },
      });
      assert.equal(res.status, 200, `simulator download of ${id}`);
      return Buffer.from(await res.arrayBuffer());
    };

    before(async function () {
      this.timeout(120_000);
      for (const f of [JOB1, JOB5]) assert.ok(existsSync(join(EXAMPLES, f)), `the example "${f}" is missing`);
      sim = await startSim({ seed: 23, assets: 40 });
      notifier = createServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          try {
            notifications.push(JSON.parse(body));
          } catch {
            notifications.push({ sweptAt: '', removed: [{ unparsed: body }] });
          }
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => notifier!.listen(0, '127.0.0.1', r));
      red = await startRuntime({
        env: {
          ...photoshelterEnv(sim),
          WORDPRESS_MEDIA_URL: wp!.mediaUrl,
          WORDPRESS_USER: wp!.user,
          WORDPRESS_APP_PASSWORD: wp!.appPassword,
          NOTIFY_URL: `http://127.0.0.1:${(notifier.address() as AddressInfo).port}/notifications`,
        },
      });
      const flows = combineExamples([JOB1, JOB5]);
      await red.deploy(flows);
      tap = await debugTap(red.url);

      // three pending JPEG images with a headline and a caption, within their licence for the web in the EU
      const truths = await Promise.all((await sim.control.mediaIds()).map((id) => sim.control.media(id)));
      const candidates = truths.filter(
        (t) =>
          t.type === 'image' &&
          t.custom['Approval Status'] === 'Pending' &&
          /\.(jpe?g)$/i.test(t.file_name) &&
          /^[A-Za-z0-9_-]+$/.test(t.id) &&
          t.iptc.headline &&
          t.iptc.caption &&
          t.file_size < 5_000_000,
      );
      assert.ok(candidates.length >= 3, 'the simulator has three pending JPEGs with headline and caption');
      for (const t of candidates.slice(0, 3)) {
        await sim.control.patchMedia(t.id, { custom: { 'Usage Rights': 'Web and print, 2 years', 'License Expiration Date': '2099-12-31' } });
      }
      [kept, expiring, restricted] = await Promise.all(candidates.slice(0, 3).map((t) => sim.control.media(t.id)));
      // an image whose id has a dot (WordPress turns it into a dash in a slug), as a pending JPEG within its licence
      const withDot = truths.find((t) => t.type === 'image' && t.id.includes('.') && t.file_size < 5_000_000 && !candidates.slice(0, 3).includes(t));
      assert.ok(withDot, 'the simulator has an image whose id contains a dot');
      dotted = await sim.control.patchMedia(withDot.id, {
        fileName: 'dotted id.jpg',
        iptc: { headline: 'Dotted headline', caption: 'Dotted caption' },
        custom: { 'Approval Status': 'Pending', 'Usage Rights': 'Web and print, 2 years', 'License Expiration Date': '2099-12-31' },
      });
    });
    after(async () => {
      tap?.close();
      await red?.stop();
      await sim?.close();
      await new Promise((r) => (notifier ? notifier.close(r) : r(undefined)));
    });

    it('the two flows start without an error', async () => {
      await sleep(1000);
      assert.doesNotMatch(red!.output(), /\[error\]/, log());
    });

    it('job 1: an approval publishes the original with title, caption, alt text and slug', async () => {
      for (const t of [kept, expiring, restricted]) await sim.control.patchMedia(t.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      await waitFor(async () => (await Promise.all([kept, expiring, restricted].map((t) => described(t)))).every(Boolean), 'the approvals in WordPress, described', 90_000).catch((e: Error) => {
        throw new Error(`${e.message} (runtime log:\n${log()})`);
      });

      for (const t of [kept, expiring, restricted]) {
        const slug = `ps-${t.id.toLowerCase()}`;
        const found = await rest.bySlug(slug);
        assert.equal(found.length, 1, `one media item with slug ${slug}`);
        const m = found[0];
        wordpressIds.set(t.id, m.id);
        assert.equal(m.slug, slug);
        assert.equal(m.title.raw, t.iptc.headline);
        assert.equal(m.caption.raw, t.iptc.caption);
        assert.equal(m.alt_text, t.iptc.caption);
        assert.equal(m.mime_type, 'image/jpeg');
        const stored = await rest.download(m.source_url);
        assert.equal(stored.length, t.file_size, 'the original, byte for byte');
        assert.equal(sha(stored), sha(await original(t.id)), 'the same bytes as the original in PhotoShelter');
      }
      assert.doesNotMatch(red!.output(), /WordPress refused|\[error\]/, log());
    });

    it('job 1: polling again, or approving the same asset again, creates no second media item and changes none', async () => {
      const before = await allMedia();
      const item = before.find((m) => m.id === wordpressIds.get(kept.id));
      assert.ok(item);
      await settleAndPoll();
      await sim.control.patchMedia(kept.id, { custom: { 'Approval Status': 'Pending' } });
      await settleAndPoll();
      await sim.control.patchMedia(kept.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      // the new approval reaches the flow, and the delivery ledger recognises the asset as delivered
      await waitFor(() => tap!.from('job1.already').includes(kept.file_name), `"already in WordPress" for ${kept.file_name} (runtime log:\n${log()})`, 30_000);
      const after = await allMedia();
      assert.deepEqual(after.map((m) => m.id).sort(), before.map((m) => m.id).sort(), 'the same media items');
      const again = after.find((m) => m.id === item.id) as Media;
      assert.equal(again.modified, item.modified, 'not uploaded or described again');
      assert.equal(after.filter((m) => m.slug.startsWith(slugOf(kept))).length, 1, 'no ps-…-2 duplicate either');
    });

    it('job 1: a media id with a dot gets the slug WordPress makes of ps-<id>, and can be found by it', async () => {
      await settleAndPoll(); // the trigger sees it pending first
      await sim.control.patchMedia(dotted.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      await waitFor(async () => (await described(dotted, 'Dotted headline')) !== undefined, `${dotted.id} in WordPress (runtime log:\n${log()})`, 60_000);
      const found = await rest.bySlug(`ps-${dotted.id.toLowerCase()}`);
      assert.equal(found.length, 1, 'found by the slug job 5 asks for');
      assert.equal(found[0].slug, `ps-${dotted.id.toLowerCase().replace(/\./g, '-')}`);
      assert.equal(found[0].title.raw, 'Dotted headline');
      wordpressIds.set(dotted.id, found[0].id);
    });

    it('job 1: a new version, approved again, replaces the media item: one item, the new bytes, the old item deleted', async () => {
      const oldId = wordpressIds.get(kept.id) as number;
      const newer = await sim.control.patchMedia(kept.id, { replaceFile: true, custom: { 'Approval Status': 'Pending' } });
      assert.notEqual(newer.version, kept.version);
      await settleAndPoll();
      await sim.control.patchMedia(kept.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      const want = sha(await original(kept.id));
      let item: Media | undefined;
      // WordPress may title a new upload from its embedded IPTC already: wait for the flow's own caption too
      await waitFor(async () => {
        item = await described(kept);
        return item !== undefined && item.id !== oldId && item.caption.raw === kept.iptc.caption;
      }, `the new version in WordPress (runtime log:\n${log()})`, 90_000);
      const m = item as Media;
      assert.equal(sha(await rest.download(m.source_url)), want, 'the new version\'s bytes');
      assert.equal(m.caption.raw, kept.iptc.caption);
      assert.equal(m.alt_text, kept.iptc.caption);
      assert.equal((await rest.get(oldId)).status, 404, 'the old item is gone');
      assert.deepEqual((await allMedia()).filter((x) => x.slug.startsWith(slugOf(kept))).map((x) => x.id), [m.id], 'one item for the asset');
      wordpressIds.set(kept.id, m.id);
      kept = newer;
    });

    it('job 1: a metadata edit of an asset that stays approved reaches the item\'s title, caption and alt text, with no new upload', async () => {
      const itemId = wordpressIds.get(kept.id) as number;
      const before = (await rest.get(itemId)).json;
      const media = (await allMedia()).map((m) => m.id).sort();
      const downloads = (await sim.control.requests()).filter((r) => r.path.startsWith(`/media/${kept.id}/download`)).length;
      // edited in PhotoShelter, still approved: no re-approval
      const edited = await sim.control.patchMedia(kept.id, { iptc: { headline: 'Quay in the fog', caption: 'Mooring lines at low tide, "wet" & cold' } });
      assert.equal(edited.custom['Approval Status'], 'Approved');
      assert.equal(edited.version, kept.version, 'the same file version');
      await settleAndPoll();
      let item: Media | undefined;
      await waitFor(async () => {
        item = await described(edited, 'Quay in the fog');
        return item !== undefined;
      }, `the new title in WordPress (runtime log:\n${log()})`, 90_000);
      const m = item as Media;
      assert.equal(m.id, itemId, 'the same media item');
      assert.equal(m.caption.raw, 'Mooring lines at low tide, "wet" & cold');
      assert.equal(m.alt_text, 'Mooring lines at low tide, "wet" & cold');
      assert.equal(m.source_url, before.source_url, 'the same file');
      assert.deepEqual((await allMedia()).map((x) => x.id).sort(), media, 'no media item added or removed: nothing uploaded');
      const after = (await sim.control.requests()).filter((r) => r.path.startsWith(`/media/${kept.id}/download`)).length;
      assert.equal(after, downloads, 'nothing downloaded from PhotoShelter');
      assert.equal(sha(await rest.download(m.source_url)), sha(await original(kept.id)), 'the bytes of the version delivered before');
      kept = edited;
    });

    it('job 1: a video and a PDF go to WordPress as they are (MP4, MOV, PDF), described like photos', async () => {
      const gallery = (await sim.control.state()).galleries[0].id;
      const files: Array<[string, 'video' | 'document', string]> = [
        ['Launch film.mp4', 'video', 'video/mp4'],
        ['Studio clip.mov', 'video', 'video/quicktime'],
        ['Press brochure.pdf', 'document', 'application/pdf'],
      ];
      const added: Array<[MediaTruth, string]> = [];
      for (const [fileName, kind, mime] of files) {
        const id = await sim.control.addMedia({
          galleryId: gallery,
          fileName,
          kind,
          size: 180_000,
          iptc: { headline: `Headline of ${fileName}`, caption: `Caption of ${fileName}` },
          custom: { 'Approval Status': 'Pending', 'Usage Rights': 'Web and print, 2 years', 'License Expiration Date': '2099-12-31' },
        });
        added.push([await sim.control.media(id), mime]);
      }
      await settleAndPoll();
      for (const [t] of added) await sim.control.patchMedia(t.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      await waitFor(async () => (await Promise.all(added.map(([t]) => described(t)))).every(Boolean), `the video, the clip and the PDF in WordPress (runtime log:\n${log()})`, 90_000);
      for (const [t, mime] of added) {
        const m = (await described(t)) as Media;
        assert.equal(m.mime_type, mime, t.file_name);
        const stored = await rest.download(m.source_url);
        assert.equal(sha(stored), sha(await original(t.id)), `${t.file_name}: the original, not a rendition`);
        assert.equal(m.caption.raw, `Caption of ${t.file_name}`);
      }
    });

    /** Adds pending images with these names, approves them, and returns what job 1 made of each in WordPress. */
    const publishNew = async (names: string[]) => {
      const gallery = (await sim.control.state()).galleries[0].id;
      const added: MediaTruth[] = [];
      for (const fileName of names) {
        const id = await sim.control.addMedia({
          galleryId: gallery,
          fileName,
          kind: 'image',
          size: 200_000,
          iptc: { headline: `Headline of ${fileName}`, caption: `Caption of ${fileName}` },
          custom: { 'Approval Status': 'Pending', 'Usage Rights': 'Web and print, 2 years', 'License Expiration Date': '2099-12-31' },
        });
        added.push(await sim.control.media(id));
      }
      await settleAndPoll();
      for (const t of added) await sim.control.patchMedia(t.id, { custom: { 'Approval Status': 'Approved' } });
      await settleAndPoll();
      // described in WordPress; what is not, after a while, is listed below with the runtime's log
      await waitFor(async () => (await Promise.all(added.map((t) => described(t)))).every(Boolean), 'the approvals in WordPress', 60_000).catch(() => undefined);
      const problems: string[] = [];
      for (const t of added) {
        const found = await rest.bySlug(`ps-${t.id.toLowerCase()}`);
        if (found.length !== 1) {
          const out = red!.output();
          const at = out.indexOf(t.id);
          problems.push(`${t.file_name}: ${found.length} media items; runtime log: ${out.slice(Math.max(0, at - 40), at + 300)}`);
          continue;
        }
        const m = found[0];
        if (m.title.raw !== t.iptc.headline) problems.push(`${t.file_name}: title "${m.title.raw}"`);
        if (m.caption.raw !== t.iptc.caption) problems.push(`${t.file_name}: caption "${m.caption.raw}"`);
        const stored = await rest.download(m.source_url);
        if (sha(stored) !== sha(await original(t.id))) problems.push(`${t.file_name}: the bytes differ from the original`);
        if (!/\.jpg$/.test(decodeURIComponent(m.source_url))) problems.push(`${t.file_name}: stored as ${m.source_url}`);
      }
      return problems;
    };

    it('job 1: file names with accents, spaces, apostrophes and double quotes', async () => {
      assert.deepEqual(await publishNew(['Zürich Hafen.jpg', `O'Brien's "quoted" name.jpg`]), []);
    });

    it('job 1: file names in other scripts (Greek, Arabic)', async () => {
      assert.deepEqual(await publishNew(['Ωμέγα-Αθήνα.jpg', 'قمر.jpg']), []);
    });

    /** A sweep has ended since `shown` sweeps had (the join of every checked asset has shown it). */
    const swept = (shown: number) => () => tap!.from('job5.swept').length > shown;

    it('job 5: the sweep removes assets whose licence expired or whose terms exclude the web, keeps the rest, and notifies', async () => {
      await sim.control.patchMedia(expiring.id, { custom: { 'License Expiration Date': '2020-01-31' } });
      await sim.control.patchMedia(restricted.id, { custom: { 'Usage Rights': 'Internal use only' } });
      await sim.control.patchMedia(dotted.id, { custom: { 'License Expiration Date': '2021-06-30' } });
      const inject = await red!.admin('POST', '/inject/job5.schedule');
      assert.equal(inject.status, 200, inject.text);
      await waitFor(() => notifications.length >= 1, `the sweep's notification (runtime log:\n${log()})`, 120_000);

      for (const t of [expiring, restricted, dotted]) {
        const gone = wordpressIds.get(t.id)!;
        assert.equal((await rest.get(gone)).status, 404, `${t.id} is gone from WordPress`);
        assert.deepEqual(await rest.bySlug(`ps-${t.id.toLowerCase()}`), []);
      }
      const stays = await rest.get(wordpressIds.get(kept.id)!);
      assert.equal(stays.status, 200, 'the asset within its licence stays');
      assert.equal(stays.json.slug, `ps-${kept.id.toLowerCase()}`);
      const file = await rest.download(stays.json.source_url);
      assert.equal(file.length, kept.file_size, 'and so does its file');

      assert.equal(notifications.length, 1, 'one notification per sweep');
      const [note] = notifications;
      assert.ok(!Number.isNaN(Date.parse(note.sweptAt)), `sweptAt: ${note.sweptAt}`);
      const named = (t: MediaTruth) => {
        const entry = note.removed.find((r) => r.id === t.id);
        assert.ok(entry, `the notification names ${t.id}: ${JSON.stringify(note).slice(0, 3000)}`);
        assert.equal(entry.fileName, t.file_name);
        assert.equal(entry.wordpress, `removed ${wordpressIds.get(t.id)}`);
        assert.ok('sftp' in entry, 'and says what happened at the agency');
        return entry;
      };
      assert.match(String(named(expiring).reason), /expired/i);
      assert.match(String(named(dotted).reason), /expired/i);
      assert.match(String(named(restricted).reason), /restricted.*web.*Internal use only/i);
      assert.ok(!note.removed.some((r) => r.id === kept.id), 'the asset within its licence is not in the notification');
    });

    it('job 5: a second sweep with nothing left to remove removes nothing and sends no notification', async () => {
      notifications.length = 0;
      const before = await allMedia();
      assert.ok(before.length > 0);
      const shown = tap!.from('job5.swept').length;
      const inject = await red!.admin('POST', '/inject/job5.schedule');
      assert.equal(inject.status, 200, inject.text);
      // the same expired and restricted assets are checked again; none of them is in WordPress any more
      await waitFor(swept(shown), `the second sweep (runtime log:\n${log()})`, 120_000);
      const after = await allMedia();
      assert.deepEqual(after.map((m) => `${m.id} ${m.modified}`).sort(), before.map((m) => `${m.id} ${m.modified}`).sort(), 'WordPress holds the same items, unchanged');
      assert.equal((await rest.get(wordpressIds.get(kept.id)!)).status, 200, 'the asset within its licence still stays');
      // the summary is sent when every asset is checked: an empty sweep sends nothing
      await sleep(1000);
      assert.equal(notifications.length, 0, `a notification although nothing was removed: ${JSON.stringify(notifications).slice(0, 1500)}`);
    });
  });
});

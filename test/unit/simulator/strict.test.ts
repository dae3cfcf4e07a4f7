// Strict mode refuses what the real API is not known to accept; lenient mode serves it (or ignores it).
import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { EVIDENCE, evidenceFor, isEvidenced } from '../../../src/simulator/evidence';
import { authRoutes } from '../../../src/simulator/routes-auth';
import { libraryRoutes } from '../../../src/simulator/routes-library';
import { mediaRoutes } from '../../../src/simulator/routes-media';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, login, repoRoot } from './util';

describe('simulator: strict and lenient modes', function () {
  this.timeout(30_000);
  let strict: SimHandle;
  let lenient: SimHandle;
  let st: string;
  let lt: string;
  let mediaId: string;
  let galleryId: string;
  let collectionId: string;

  before(async () => {
    [strict, lenient] = await Promise.all([startSim({ assets: 60, strict: true }), startSim({ assets: 60 })]);
    [st, lt] = await Promise.all([login(strict), login(lenient)]);
    mediaId = (await strict.control.mediaIds())[0];
    const state = await strict.control.state();
    const g = state.galleries.find((x) => x.parents.length > 0 && x.media > 0)!;
    galleryId = g.id;
    collectionId = g.parents[0];
  });
  after(() => Promise.all([strict.close(), lenient.close()]));

  const org = (): string => `org_id=${strict.orgId}`;

  it('every route the simulator serves has an entry in the evidence table, and every entry a route', () => {
    const routes = [...authRoutes, ...libraryRoutes, ...mediaRoutes];
    for (const r of routes) assert.ok(evidenceFor(r.method, r.path), `${r.method} ${r.path} has evidence`);
    for (const e of EVIDENCE) assert.ok(routes.some((r) => r.method === e.method && r.path === e.path), `${e.method} ${e.path} is served`);
  });

  /** [path, the parameter the detail must name, the value it must name] — refused by strict, served by lenient. */
  const REFUSED: [string, string, string][] = [
    ['/media?ORG&sort_by=modified_at', 'sort_by', 'modified_at'],
    ['/media?ORG&sort_by=created_at', 'sort_by', 'created_at'],
    ['/media?ORG&sort_by=file_name&sort_direction=ascending', 'sort_direction', ''],
    ['/media?ORG&include=iptc', 'include', 'iptc'],
    ['/media?owner_id=USER', 'owner_id', ''],
    ['/media?ORG&modify_start=2024-01-01T00:00:00', 'modify_start', '2024-01-01T00:00:00'],
    ['/media?ORG&modify_end=2024-01-01', 'modify_end', '2024-01-01'],
    ['/media?ORG&create_start=2024-01-01T00:00:00.000000Z', 'create_start', '2024-01-01T00:00:00.000000Z'],
    ['/media?ORG&media_type=document', 'media_type', 'document'],
    ['/media/MEDIA?include=custom_metadata', 'include', 'custom_metadata'],
    ['/media/MEDIA?include=galleries', 'include', 'galleries'],
    ['/media/MEDIA?include=iptc,galleries', 'include', 'galleries'],
    ['/galleries/GALLERY/children?include=iptc', 'include', 'iptc'],
    ['/galleries/GALLERY/children?sort_by=created_at', 'sort_by', 'created_at'],
    ['/collections?sort_by=modified_at', 'sort_by', 'modified_at'],
    ['/library?sort_by=created_at', 'sort_by', 'created_at'],
    ['/collections?include=child-count', 'include', 'child-count'],
    ['/search?ORG&mode=library&sort_by=modification_time', 'sort_by', 'modification_time'],
  ];

  const fill = (path: string, sim: SimHandle): string =>
    path.replace('ORG', `org_id=${sim.orgId}`).replace('USER', sim.userId).replace('MEDIA', mediaId).replace('GALLERY', galleryId);

  it('strict refuses each unevidenced parameter or value with 400 naming it; lenient serves it', async () => {
    for (const [path, name, value] of REFUSED) {
      const s = await call(strict, fill(path, strict), { token: st });
      assert.equal(s.status, 400, `strict ${path}: ${s.text}`);
      assert.equal(s.json.errors[0].id, 'BadRequestException');
      assert.match(s.json.errors[0].detail, new RegExp(`^${name}:`), path);
      if (value) assert.ok(s.json.errors[0].detail.includes(`'${value}'`), `${path}: ${s.json.errors[0].detail}`);
      const l = await call(lenient, fill(path, lenient), { token: lt });
      assert.equal(l.status, 200, `lenient ${path}: ${l.text}`);
    }
  });

  it('unknown parameters: strict 400 naming them, lenient ignores them — on every endpoint', async () => {
    for (const path of ['/library', `/collections/${collectionId}`, `/galleries/${galleryId}/children`, `/media/${mediaId}`, `/media/${mediaId}/iptc`, '/user/session', `/media?${org()}`]) {
      const sep = path.includes('?') ? '&' : '?';
      const s = await call(strict, `${path}${sep}colour=red`, { token: st });
      assert.equal(s.status, 400, `strict ${path}`);
      assert.match(s.json.errors[0].detail, /^colour: not a query parameter known to be accepted/);
      const l = await call(lenient, `${path}${sep}colour=red`, { token: lt });
      assert.equal(l.status, 200, `lenient ${path}: ${l.text}`);
    }
  });

  it('unknown include names: strict 400 naming them, lenient ignores them — on every endpoint', async () => {
    for (const path of ['/library', '/collections', '/galleries', `/galleries/${galleryId}/children`, `/media/${mediaId}`, `/media/${mediaId}/galleries`, '/user/session', `/media?${org()}`, `/collections/${collectionId}`]) {
      const sep = path.includes('?') ? '&' : '?';
      const s = await call(strict, `${path}${sep}include=exif`, { token: st });
      assert.equal(s.status, 400, `strict ${path}`);
      assert.match(s.json.errors[0].detail, /^include: 'exif' is not known to be accepted/);
      const l = await call(lenient, `${path}${sep}include=exif`, { token: lt });
      assert.equal(l.status, 200, `lenient ${path}: ${l.text}`);
      assert.equal(JSON.stringify(l.json.data).includes('"exif"'), false);
    }
  });

  it('form fields are checked too (strict): an unknown login field is refused', async () => {
    const s = await call(strict, '/authenticate', { form: { email: strict.email, password: strict.password, mode: 'token', remember: '1' } });
    assert.equal(s.status, 400);
    assert.match(s.json.errors[0].detail, /^remember: not a form field/);
    const l = await call(lenient, '/authenticate', { form: { email: lenient.email, password: lenient.password, mode: 'token', remember: '1' } });
    assert.equal(l.status, 200);
  });

  it('strict accepts what the draft lists for /media, with the draft’s date form and sort values', async () => {
    const gmt = '2019-10-15 12:00:00 GMT';
    const draft = [
      `user_id=${strict.userId}`, `photographer_id=${strict.userId}`, `media_id=${mediaId}`, 'virtual_agency_id=VA000____EXAMPLE',
      `galleries=${galleryId}`, `collections=${collectionId}`, 'custom_metadata={}', 'file_name=a', 'terms=berlin', 'model_release=true',
      'property_release=false', 'priced=true', 'searchble=false', 'print=true', 'personal_use=false', 'royalty_free=true', 'rights_managed=false',
      'media_type=image,audio', 'media_type=doc', 'city=x', 'state=x', 'country=x', 'country_iso=x', 'rating=1', 'rating_min=0', 'rating_max=5',
      `date_start=${gmt}`, `date_end=${gmt}`, `create_start=${gmt}`, `create_end=${gmt}`, `modify_start=${gmt}`, `modify_end=${gmt}`,
      'title=x', 'edit_status=x', 'urgency=1', 'category=x', 'keywords=x', 'instructions=x', 'author=x', 'position=x', 'location=x',
      'trans_ref=x', 'credit=x', 'source=x', 'copyright=x', 'caption=x', 'contact_info=city,NYC', 'genre=x', 'rights=x', 'scene=x',
      'subject_code=x', 'caption_writer=x', 'orientation=horizontal', 'orientation=panoramic', 'web_statement=x', 'is_empty=title',
      'not_empty=title', 'match_all_terms=false', 'per_page=50', 'page=2', 'sort_by=relevance', 'sort_by=date', 'sort_by=file_name',
      'sort_by=upload_time', 'sort_dir=asc', 'sort_dir=desc', 'date_format=unix',
    ];
    for (const q of draft) {
      const res = await call(strict, `/media?${org()}&${q.replace(/ /g, '%20')}`, { token: st });
      assert.equal(res.status, 200, `${q}: ${res.text}`);
    }
  });

  it('strict accepts the sort values of each endpoint (reference section 3)', async () => {
    const cases: [string, string[]][] = [
      ['/collections', ['creation_time', 'modification_time', 'name', 'display_order']],
      ['/galleries', ['creation_time', 'modification_time', 'name', 'display_order']],
      [`/galleries/${galleryId}/children`, ['creation_time', 'modification_time', 'added_at', 'file_name', 'date_taken', 'display_order']],
      [`/search?${org()}&mode=library`, ['creation_time']],
      [`/media?${org()}`, ['relevance', 'date', 'file_name', 'upload_time']],
    ];
    for (const [path, values] of cases) {
      for (const v of values) {
        const sep = path.includes('?') ? '&' : '?';
        const dir = path.startsWith('/media') ? 'sort_dir=desc' : 'sort_direction=descending';
        const res = await call(strict, `${path}${sep}sort_by=${v}&${dir}`, { token: st });
        assert.equal(res.status, 200, `${path} sort_by=${v}: ${res.text}`);
      }
    }
  });

  it('strict accepts the draft’s container and download parameters and the evidenced download_quality forms', async () => {
    for (const path of [
      `/collections?parent=${collectionId}&name=x&match=false&id=${collectionId}&per_page=50&page=1`,
      '/galleries?name=a&portfolio=true&recently_updated=false',
      `/galleries/${galleryId}/children?collection_id=${collectionId}&password=x&page=1&per_page=50`,
      `/galleries/${galleryId}/children/count?collection_id=${collectionId}`,
      `/galleries/${galleryId}/cover?collection_id=${collectionId}`,
      `/collections/${collectionId}/children?visibile=true&password=x&token=x&sort_by=name&sort_direction=ascending`,
      `/collections/${collectionId}/count?visibile=true`,
      '/library?is_listed=true&sort_by=name&sort_direction=ascending&page=1&per_page=50',
      `/media/${mediaId}?include=iptc`,
      '/user/session?include=organizations',
      `/media/${mediaId}/link?image_size=300x300&image_mode=fill`,
    ]) {
      const res = await call(strict, path, { token: st });
      assert.equal(res.status, 200, `${path}: ${res.text}`);
    }
    const image = (await strict.control.mediaIds()).find((id) => id.startsWith('I0000'))!;
    for (const q of ['download_filetype=original', 'download_filetype=jpeg&download_quality=original', 'download_filetype=jpeg&download_quality=1200',
      'download_filetype=jpeg&download_quality=640x480', `download_image_embed=true&gallery_id=${galleryId}&collection_id=${collectionId}&password=x`]) {
      const res = await call(strict, `/media/${image}/download?${q}`, { token: st });
      assert.equal(res.status, 200, `${q}: ${res.text.slice(0, 200)}`);
    }
    const bad = await call(strict, `/media/${image}/download?download_quality=huge`, { token: st });
    assert.equal(bad.status, 400);
    assert.match(bad.json.errors[0].detail, /^download_quality: the value 'huge'/);
  });

  it('a single number for download_quality fits the longest side; mp4 takes the video formats', async () => {
    const image = await lenient.control.addMedia({ galleryId: (await lenient.control.state()).galleries[0].id, size: 40_000, width: 3000, height: 1500 });
    const res = await fetch(`${lenient.baseUrl}/media/${image}/download?download_filetype=jpeg&download_quality=1200`, { headers: { 'X-PS-Api-Key': lenient.apiKey, 'X-PS-Auth-Token': lt } });
    const body = Buffer.from(await res.arrayBuffer());
    const sof = body.indexOf(Buffer.from([0xff, 0xc0]));
    assert.deepEqual([body.readUInt16BE(sof + 7), body.readUInt16BE(sof + 5)], [1200, 600]);
    const video = await lenient.control.addMedia({ galleryId: (await lenient.control.state()).galleries[0].id, kind: 'video', size: 40_000 });
    for (const q of ['hd720', 'hd1080', 'sd480']) {
      assert.equal((await call(lenient, `/media/${video}/download?download_filetype=mp4&download_quality=${q}`, { token: lt })).status, 200, q);
    }
    assert.equal((await call(lenient, `/media/${video}/download?download_filetype=mp4&download_quality=4k`, { token: lt })).status, 400);
  });

  it('the GMT date form filters like the ISO one', async () => {
    const iso = await call(lenient, `/media?${org()}&modify_start=2024-03-01T00:00:00&per_page=1000`, { token: lt });
    const gmt = await call(lenient, `/media?${org()}&modify_start=2024-03-01%2000:00:00%20GMT&per_page=1000`, { token: lt });
    assert.equal(gmt.status, 200);
    assert.ok(iso.json.data.length > 0);
    assert.deepEqual(gmt.json.data.map((m: { id: string }) => m.id), iso.json.data.map((m: { id: string }) => m.id));
  });

  it('the simulator README lists every endpoint of the evidence table', () => {
    const readme = readFileSync(join(repoRoot, 'src', 'simulator', 'README.md'), 'utf8');
    for (const e of EVIDENCE) assert.ok(readme.includes(`| \`${e.method} ${e.path}\` | ${e.level} |`), `${e.method} ${e.path} in the README`);
  });

  it('the evidence table keeps its levels honest: no [ours] or [weak] value is accepted by strict', () => {
    for (const e of EVIDENCE) {
      for (const [name, spec] of Object.entries({ ...e.query, ...(e.form ?? {}) })) {
        assert.ok(['prod', 'draft', 'weak', 'ours'].includes(spec.level), `${e.path} ${name}`);
        for (const [v, level] of Object.entries(spec.values ?? {})) {
          if (isEvidenced(level)) assert.ok(isEvidenced(spec.level), `${e.method} ${e.path} ${name}=${v}: an evidenced value of an unevidenced parameter`);
        }
      }
    }
  });
});

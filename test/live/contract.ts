/**
 * The contract suite: every read call the client makes, made by the client itself against one account,
 * each answer held against the project's schemas (test/schemas, the ones the simulator is tested with),
 * and the assumptions the client makes without evidence observed where a read can show them. Writes only
 * to an asset named for it, and puts back what it changed.
 *
 * Used by run.ts (`npm run test:live`), which picks the account: a real one from the environment, or the
 * bundled simulator.
 */
import { PassThrough, Readable } from 'node:stream';
import { apiDateMs, PhotoShelterClient, type MediaResource, type PhotoShelterClientOptions } from '../../src/photoshelter';
import { UndiciTransport, type Transport, type TransportRequest, type TransportResponse } from '../../src/photoshelter/transport';
import { readMedia } from '../../src/core/load';
import { schemaAjv, schemaValidator, type SchemaName } from '../schemas';

export interface ContractAccount {
  baseUrl: string;
  apiKey: string;
  auth: { mode: 'session'; email: string; password: string } | { mode: 'bearer'; token: string };
  orgId?: string;
  /** A media id the suite may write to (and restore). */
  writeAsset?: string;
}

export interface Row {
  n: number;
  call: string;
  status: number | string;
  schema: string;
  ms: number;
  ok: boolean;
}

export interface Observation {
  assumption: string;
  level: string;
  observed: string;
  verdict: 'holds' | 'differs' | 'not checked';
}

export interface ContractReport {
  rows: Row[];
  observations: Observation[];
  failures: string[];
}

// ---- recording every exchange of the client ----

interface Exchange {
  method: string;
  /** Path below the base URL, with the query (secrets removed). */
  call: string;
  path: string;
  status: number | string;
  ms: number;
  json?: unknown;
  head?: Buffer;
  contentType?: string;
}

const SECRET_QUERY = /^(api_key|token|auth_token|access_token|refresh_token|password|client_secret|code)$/i;

class RecordingTransport implements Transport {
  readonly log: Exchange[] = [];
  private readonly inner = new UndiciTransport({});
  constructor(private readonly base: string) {}

  async send(req: TransportRequest): Promise<TransportResponse> {
    const url = new URL(req.url);
    const path = url.pathname.startsWith(new URL(this.base).pathname) ? url.pathname.slice(new URL(this.base).pathname.length) : url.pathname;
    for (const k of [...url.searchParams.keys()]) if (SECRET_QUERY.test(k)) url.searchParams.set(k, '[redacted]');
    const query = url.searchParams.toString();
    const ex: Exchange = { method: req.method, path, call: `${req.method} ${path}${query ? `?${decodeURIComponent(query)}` : ''}`, status: '…', ms: 0 };
    this.log.push(ex);
    const started = performance.now();
    let res: TransportResponse;
    try {
      res = await this.inner.send(req);
    } catch (e) {
      ex.status = (e as { code?: string }).code ?? 'network error';
      ex.ms = performance.now() - started;
      throw e;
    }
    ex.status = res.status;
    const ct = String(res.headers['content-type'] ?? '');
    ex.contentType = ct;
    if (/json/i.test(ct) || res.status >= 400) {
      // JSON answers are small: read them whole, keep a copy, hand the same bytes on
      const chunks: Buffer[] = [];
      for await (const c of res.body) chunks.push(c as Buffer);
      const buf = Buffer.concat(chunks);
      ex.ms = performance.now() - started;
      try {
        ex.json = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
      } catch {
        ex.json = undefined;
      }
      return { ...res, body: Readable.from(buf.length ? [buf] : []) };
    }
    // a file: keep its first bytes; the time is to the headers
    ex.ms = performance.now() - started;
    const tee = new PassThrough();
    let head = Buffer.alloc(0);
    res.body.on('data', (c: Buffer) => {
      if (head.length < 64) head = Buffer.concat([head, c]).subarray(0, 64);
      ex.head = head;
    });
    res.body.on('error', (e) => tee.destroy(e));
    tee.on('close', () => res.body.destroy());
    res.body.pipe(tee);
    return { ...res, body: tee };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---- what each answer should look like ----

type Check = (ex: Exchange) => string[];

function schema(name: SchemaName, value: unknown, where: string): string[] {
  const v = schemaValidator(name);
  return v(value) ? [] : [`${where}: ${schemaAjv().errorsText(v.errors, { dataVar: name }).slice(0, 300)}`];
}

const data = (ex: Exchange): unknown => (ex.json as { data?: unknown } | undefined)?.data;
const list = (ex: Exchange): unknown[] => (Array.isArray(data(ex)) ? (data(ex) as unknown[]) : []);
const envelope: Check = (ex) => schema('envelope', ex.json, 'envelope');
/** A list answer: data an array of resources, meta with paging. */
const listBody: Check = (ex) => schema('list', ex.json, 'list');
const each = (name: SchemaName | ((x: { type?: string }) => SchemaName)): Check => (ex) =>
  list(ex).flatMap((x, i) => schema(typeof name === 'function' ? name(x as { type?: string }) : name, x, `item ${i}`));
const containerOf = (x: { type?: string }): SchemaName => (x.type === 'gallery' ? 'gallery' : 'collection');
const paging: Check = (ex) => {
  const p = (ex.json as { meta?: { paging?: unknown } } | undefined)?.meta?.paging;
  return p === undefined ? ['meta.paging is missing'] : schema('paging-meta', p, 'meta.paging');
};
const one = (name: SchemaName): Check => (ex) => schema(name, data(ex), 'data');
const both = (...checks: Check[]): Check => (ex) => checks.flatMap((c) => c(ex));

/** Which checks an answer of this call gets, by method and path. */
function checksFor(ex: Exchange): { label: string; check: Check } {
  const p = ex.path;
  const id = '[^/]+';
  const is = (method: string, re: string) => ex.method === method && new RegExp(`^${re}$`).test(p);
  if (is('POST', '/authenticate')) return { label: 'token', check: (x) => (typeof (x.json as { token?: unknown })?.token === 'string' ? [] : ['no token in the answer']) };
  if (is('POST', '/organization/authenticate')) return { label: 'meta.status', check: (x) => (String((x.json as { meta?: { status?: unknown } })?.meta?.status).toUpperCase() === 'OK' ? [] : ['meta.status is not OK']) };
  if (is('GET', '/user/session')) return { label: 'envelope, resource', check: both(envelope, one('resource')) };
  if (is('GET', '/library') || is('GET', `/collections/${id}/children`)) return { label: 'list, collection|gallery', check: both(listBody, each(containerOf)) };
  if (is('GET', '/collections')) return { label: 'list, collection', check: both(listBody, each('collection')) };
  if (is('GET', `/collections/${id}`)) return { label: 'envelope, collection', check: both(envelope, one('collection')) };
  if (is('GET', '/galleries')) return { label: 'list, gallery', check: both(listBody, each('gallery')) };
  if (is('GET', `/galleries/${id}`)) return { label: 'envelope, gallery', check: both(envelope, one('gallery')) };
  if (is('GET', `/galleries/${id}/children`)) return { label: 'list, media', check: both(listBody, each('media'), paging) };
  if (is('GET', `/(collections|galleries)/${id}/path`)) return { label: 'envelope, resource', check: both(envelope, each('resource')) };
  if (is('GET', `/(collections|galleries)/${id}/child-count`)) return { label: 'envelope, child-count', check: both(envelope, (x) => schema('child-count', x.json, 'counts')) };
  if (is('GET', '/media')) return { label: 'list, media', check: both(listBody, each('media'), paging) };
  if (is('GET', `/media/${id}`)) {
    return {
      label: 'envelope, media (+iptc)',
      check: both(envelope, one('media'), (x) => {
        const inc = (data(x) as { includes?: { iptc?: { data?: unknown } } } | undefined)?.includes?.iptc;
        if (!/include=iptc/.test(x.call)) return [];
        return inc ? schema('iptc', inc.data, 'includes.iptc') : ['include=iptc answered without includes.iptc (the client then reads GET /media/{id}/iptc)'];
      }),
    };
  }
  if (is('GET', `/media/${id}/metadata`)) {
    return {
      label: 'envelope, metadata, metadata-raw',
      check: both(envelope, one('metadata'), (x) => {
        const raw = (data(x) as { attributes?: { raw?: unknown } } | undefined)?.attributes?.raw;
        if (typeof raw !== 'string') return [];
        try {
          return schema('metadata-raw', JSON.parse(raw), 'raw');
        } catch {
          return ['attributes.raw is not JSON'];
        }
      }),
    };
  }
  if (is('GET', `/media/${id}/iptc`) || is('PATCH', `/media/${id}/iptc`)) return { label: 'envelope, iptc', check: both(envelope, one('iptc')) };
  if (is('GET', `/media/${id}/custom-metadata`) || is('PATCH', `/media/${id}/custom-metadata`)) return { label: 'envelope, custom-metadata', check: both(envelope, one('custom-metadata')) };
  if (is('GET', `/media/${id}/galleries`)) {
    return {
      label: 'list, gallery',
      check: both(listBody, (x) =>
        list(x).flatMap((g, i) => {
          const inc = (g as { includes?: { gallery?: { data?: unknown } } }).includes?.gallery?.data;
          return schema('gallery', inc ?? g, inc ? `item ${i} includes.gallery` : `item ${i}`);
        }),
      ),
    };
  }
  if (is('GET', `/media/${id}/link`)) return { label: 'envelope, link', check: both(envelope, one('resource'), (x) => (typeof (data(x) as { attributes?: { link?: unknown } })?.attributes?.link === 'string' ? [] : ['no attributes.link'])) };
  if (is('GET', `/media/${id}/download`)) {
    return {
      label: 'bytes',
      check: (x) => {
        if (/download_filetype=jpeg/.test(x.call)) return x.head && x.head[0] === 0xff && x.head[1] === 0xd8 ? [] : ['the answer does not start like a JPEG'];
        return x.head && x.head.length > 0 ? [] : ['no bytes'];
      },
    };
  }
  if (is('POST', '/authenticate/logout')) return { label: '–', check: () => [] };
  return { label: '–', check: () => [] };
}

// ---- the suite ----

const FIELD = 'instructions';
const MARK = 'node-red-photoshelter contract check';

export async function runContract(account: ContractAccount, log: (line: string) => void = () => undefined): Promise<ContractReport> {
  const transport = new RecordingTransport(account.baseUrl);
  const options: PhotoShelterClientOptions = {
    baseUrl: account.baseUrl,
    apiKey: account.apiKey,
    auth: { ...account.auth, orgId: account.orgId },
    transport,
    maxConcurrency: 2,
    maxRetries: 2,
    maxRetryTimeMs: 30_000,
  };
  const client = new PhotoShelterClient(options);
  const observations: Observation[] = [];
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    log(what);
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
    }
  };
  const observe = (assumption: string, level: string, holds: boolean | undefined, observed: string): void => {
    observations.push({ assumption, level, observed, verdict: holds === undefined ? 'not checked' : holds ? 'holds' : 'differs' });
  };

  let userId: string | undefined;
  let gallery: string | undefined;
  let collection: string | undefined;
  let medium: MediaResource | undefined;
  try {
    await step('sign in', async () => {
      const s = await client.session();
      userId = typeof s.id === 'string' ? s.id : undefined;
    });
    await step('organizations of the user', async () => void (await client.session({ includeOrganizations: true })));

    await step('library tree', async () => {
      // breadth first until a gallery with an image (or at least some medium) turns up
      const queue: Array<string | undefined> = [undefined];
      let visited = 0;
      let galleriesRead = 0;
      while (queue.length && visited < 40 && medium?.type !== 'image') {
        const parent = queue.shift();
        visited++;
        for await (const c of parent ? client.collectionChildren(parent, { perPage: 100, maxPages: 1 }) : client.library({ perPage: 100, maxPages: 1 })) {
          if (c.type === 'gallery' && medium?.type !== 'image' && galleriesRead < 10) {
            galleriesRead++;
            for await (const m of client.galleryChildren(c.id, { sortBy: 'added_at', sortDirection: 'ascending', perPage: 10, maxPages: 1 })) {
              if (!medium || (m.type === 'image' && medium.type !== 'image')) {
                medium = m;
                gallery = c.id;
              }
            }
          } else if (c.type !== 'gallery') {
            collection ??= c.id;
            queue.push(c.id);
          }
          if (medium?.type === 'image' && collection) break;
        }
      }
    });
    if (collection) {
      const c = collection;
      await step('a collection', async () => {
        await client.collection(c);
        for await (const _x of client.collections(undefined, { sortBy: 'name', perPage: 5, maxPages: 1 })) break;
        for await (const _x of client.collectionChildren(c, { perPage: 5, maxPages: 1 })) break;
        await client.path('collection', c);
        await client.childCount('collection', c);
      });
    }
    if (gallery) {
      const g = gallery;
      await step('a gallery', async () => {
        await client.gallery(g);
        for await (const _x of client.galleries(undefined, { sortBy: 'name', perPage: 5, maxPages: 1 })) break;
        await client.path('gallery', g);
        await client.childCount('gallery', g);
      });
    }
    const scope = account.orgId ? { orgId: account.orgId } : userId ? { userId } : undefined;
    if (!medium && scope) {
      await step('a medium from a search', async () => {
        for await (const m of client.searchMedia({ ...scope, sortBy: 'upload_time', sortDirection: 'ascending' }, { perPage: 5, maxPages: 1 })) {
          medium ??= m;
        }
      });
    }
    if (!medium) {
      failures.push('no medium found in the account: the media calls were not made');
    } else {
      const m = medium;
      let keywordsForm = 'not seen';
      await step('a medium with its parts', async () => {
        const read = await readMedia(client, m.id, { include: ['iptc', 'custom', 'galleries'] });
        const iptc = (read.media.includes?.iptc?.data as { attributes?: { keywords?: unknown } } | undefined)?.attributes;
        const kw = iptc?.keywords;
        keywordsForm = Array.isArray(kw) ? 'an array' : typeof kw === 'string' && kw.length ? (kw.includes(',') ? 'a comma-separated string' : 'a string (one keyword)') : 'empty';
        await client.getMedia(m.id);
        await client.getIptc(m.id);
        await client.getEmbeddedMetadata(m.id);
      });
      // only several keywords tell a comma-separated string from something else
      const told = keywordsForm === 'an array' || keywordsForm === 'a comma-separated string';
      observe('IPTC keywords are one comma-separated string', '[ours]', told ? keywordsForm !== 'an array' : undefined, `keywords came as ${keywordsForm}; the client reads a string or an array`);

      const modified = apiDateMs(m.attributes.modified_at);
      if (Number.isFinite(modified) && scope) {
        const second = Math.floor(modified / 1000) * 1000;
        let inOwnSecond = false;
        let beforeIt = false;
        await step('a changes window around the medium', async () => {
          const found: string[] = [];
          for await (const r of client.changes({ since: second - 60_000, until: second + 60_000 })) found.push(r.media.id);
          observe('a change window around modified_at finds the medium (dates read as UTC, sent in the draft form)', '[ours]/[draft]', found.includes(m.id), found.includes(m.id) ? `found among ${found.length}` : `not among the ${found.length} found`);
        });
        await step('the bounds of modify_start and modify_end', async () => {
          for await (const x of client.searchMedia({ ...scope, modifiedSince: second, modifiedBefore: second + 1000 }, { perPage: 100, maxPages: 1 })) if (x.id === m.id) inOwnSecond = true;
          for await (const x of client.searchMedia({ ...scope, modifiedSince: second - 60_000, modifiedBefore: second }, { perPage: 100, maxPages: 1 })) if (x.id === m.id) beforeIt = true;
        });
        observe('modify_start is inclusive (at second resolution)', '[ours]', inOwnSecond, inOwnSecond ? 'a window starting at its second found it' : 'a window of its own second did not find it; the feed reaches a second further');
        observe('modify_end is exclusive', '[ours]', !beforeIt, beforeIt ? 'a window ending at its second found it; the feed leaves such records to the next window' : 'a window ending at its second did not find it');
      } else {
        observe('modify_start / modify_end bounds', '[ours]', undefined, 'no medium with a readable modified_at, or no scope');
      }
      if (scope) {
        await step('the order of a search by upload time', async () => {
          const created: number[] = [];
          for await (const x of client.searchMedia({ ...scope, sortBy: 'upload_time', sortDirection: 'ascending' }, { perPage: 50, maxPages: 1 })) created.push(apiDateMs(x.attributes.created_at));
          const sorted = created.every((t, i) => i === 0 || !(t < created[i - 1]));
          observe('GET /media honours sort_by=upload_time&sort_dir=asc', '[draft]', created.length > 1 ? sorted : undefined, `${created.length} media by created_at: ${sorted ? 'ascending' : 'not ascending'}; the feed orders windows itself`);
        });
      }
      await step('renditions and downloads', async () => {
        await client.getLink(m.id, { imageSize: '640x640', imageMode: 'fit' });
        if (m.type === 'image') {
          for (const quality of ['original', '1200', '640x480']) {
            const s = await client.download(m.id, { fileType: 'jpeg', quality });
            await firstBytes(s);
          }
        }
        await firstBytes(await client.download(m.id, { fileType: 'original' }));
      });
    }

    if (account.writeAsset) await writeChecks(client, account.writeAsset, scope, step, observe);
    else observe('writes (PATCH iptc, PATCH custom-metadata, modified_at moving)', '[weak]/[ours]', undefined, 'set PHOTOSHELTER_LIVE_WRITE_ASSET=<media id> to check them (the suite restores what it changes)');
  } finally {
    await client.logout().catch(() => undefined);
    await client.close();
  }

  const rows: Row[] = transport.log.map((ex, i) => {
    const failed = typeof ex.status !== 'number' || ex.status >= 400;
    const { label, check } = failed ? { label: 'error body', check: (x: Exchange) => (typeof x.status === 'number' ? schema('error', x.json, 'error body') : []) } : checksFor(ex);
    const problems = check(ex);
    // a 429 is the API asking to wait (the client waits and asks again): not a failure when its body is right
    const ok = typeof ex.status === 'number' && (ex.status < 400 || ex.status === 429) && problems.length === 0;
    return { n: i + 1, call: ex.call, status: ex.status, schema: problems.length ? `FAIL ${label}: ${problems.join('; ')}` : `ok (${label})`, ms: Math.round(ex.ms), ok };
  });
  return { rows, observations, failures };
}

async function firstBytes(s: Readable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
    s.once('end', () => resolve());
  });
}

async function writeChecks(
  client: PhotoShelterClient,
  id: string,
  scope: { orgId: string } | { userId: string } | undefined,
  step: (what: string, fn: () => Promise<void>) => Promise<void>,
  observe: (assumption: string, level: string, holds: boolean | undefined, observed: string) => void,
): Promise<void> {
  await step(`writes to ${id}, restored`, async () => {
    const before = await client.getMedia(id);
    const iptc = await client.getIptc(id);
    const original = (iptc.attributes[FIELD] ?? null) as string | null;
    const marker = `${MARK} ${new Date().toISOString()}`;
    let restored = false;
    try {
      await client.updateIptc(id, { [FIELD]: marker });
      const back = await client.getIptc(id);
      observe(`PATCH /media/{id}/iptc with {"${FIELD}": …} writes the field`, '[weak]', back.attributes[FIELD] === marker, `read back ${JSON.stringify(back.attributes[FIELD]).slice(0, 60)}`);
      const after = await client.getMedia(id);
      const moved = String(after.attributes.modified_at) !== String(before.attributes.modified_at);
      observe('a metadata write moves modified_at', '[ours]', moved, `${String(before.attributes.modified_at)} → ${String(after.attributes.modified_at)}`);
      if (scope) {
        const since = Math.floor(apiDateMs(before.attributes.modified_at) / 1000) * 1000;
        const found: string[] = [];
        for await (const r of client.changes({ since: Number.isFinite(since) ? since : client.serverNow() - 3_600_000, until: client.serverNow() + 60_000 })) found.push(r.media.id);
        observe('the change feed sees a metadata write', '[ours]', found.includes(id), found.includes(id) ? 'found' : 'not found in the window from its previous modified_at to now');
      }
    } finally {
      await client.updateIptc(id, { [FIELD]: original });
      restored = ((await client.getIptc(id)).attributes[FIELD] ?? null) === original;
      observe(`the IPTC ${FIELD} of ${id} is back as it was`, '–', restored, restored ? 'restored' : `NOT restored: set it back to ${JSON.stringify(original)}`);
    }
    const custom = await client.getCustomMetadata(id);
    const field = custom.attributes.custom_metadata?.find((f) => f.type === 'text');
    if (!field) {
      observe('PATCH /media/{id}/custom-metadata [{field_id, value}]', '[ours]', undefined, 'the asset has no text custom field');
      return;
    }
    const was = field.value;
    try {
      await client.updateCustomMetadata(id, [{ field_id: field.field_id, value: `${MARK}` }]);
      const now = (await client.getCustomMetadata(id)).attributes.custom_metadata.find((f) => f.field_id === field.field_id);
      observe('PATCH /media/{id}/custom-metadata [{field_id, value}] writes the field', '[ours]', now?.value === MARK, `read back ${JSON.stringify(now?.value).slice(0, 60)}`);
    } finally {
      await client.updateCustomMetadata(id, [{ field_id: field.field_id, value: was }]);
      const back = (await client.getCustomMetadata(id)).attributes.custom_metadata.find((f) => f.field_id === field.field_id);
      observe(`the custom field ${field.name ?? field.field_id} of ${id} is back as it was`, '–', back?.value === was, back?.value === was ? 'restored' : `NOT restored: set it back to ${JSON.stringify(was)}`);
    }
  });
}

/** The two tables, as markdown a user can paste into a bug report (no secret is in them). */
export function formatReport(r: ContractReport, header: string[]): string {
  const cell = (s: unknown): string => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out: string[] = [...header, ''];
  out.push('| # | call | status | schema | ms |', '|---|---|---|---|---|');
  for (const row of r.rows) out.push(`| ${row.n} | \`${cell(row.call)}\` | ${cell(row.status)} | ${cell(row.schema)} | ${row.ms} |`);
  out.push('', '| assumption | evidence | observed | verdict |', '|---|---|---|---|');
  for (const o of r.observations) out.push(`| ${cell(o.assumption)} | ${cell(o.level)} | ${cell(o.observed)} | ${o.verdict === 'differs' ? '**DIFFERS**' : o.verdict} |`);
  const bad = r.rows.filter((x) => !x.ok).length;
  const differs = r.observations.filter((o) => o.verdict === 'differs').length;
  out.push('');
  out.push(`${r.rows.length} calls, ${bad} failed or off-schema; ${r.observations.length} assumptions observed, ${differs} differ.`);
  for (const f of r.failures) out.push(`- step failed: ${cell(f)}`);
  return out.join('\n');
}

// What the PhotoShelter API reference evidences ([prod] or [draft]) for each call the package makes, written
// from /work/shared/photoshelter-api/README.md and the 2019 draft, independently of the client's own
// endpoint map: tests hold the client's requests (the simulator's request log) against it.
import assert from 'node:assert/strict';

type Check = (value: string) => boolean;

const oneOf = (...values: string[]): Check => (v) => values.includes(v);
const matches = (re: RegExp): Check => (v) => re.test(v);
const id = (prefix: string): Check => matches(new RegExp(`^${prefix}[a-zA-Z0-9._]{11}$`));
const idList = (prefix: string): Check => (v) => v.split(',').every((x) => id(prefix)(x.trim()));
const positive = matches(/^[1-9]\d*$/);
const perPage: Check = (v) => positive(v) && Number(v) <= 1000;
/** The draft's date form: `2019-10-15 12:00:00 GMT`. */
const draftDate = matches(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/);
const paging = { page: positive, per_page: perPage };
const containerSort = { sort_by: oneOf('creation_time', 'modification_time', 'name', 'display_order'), sort_direction: oneOf('ascending', 'descending') };

interface Rule {
  method: string;
  path: RegExp;
  query: Record<string, Check>;
}

const MEDIA = '(?:I0|VD|AD|DO)000[a-zA-Z0-9._]{11}';
const GALLERY = 'G0000[a-zA-Z0-9._]{11}';
const COLLECTION = 'C0000[a-zA-Z0-9._]{11}';

export const EVIDENCED: Rule[] = [
  { method: 'POST', path: /^\/authenticate$/, query: {} },
  { method: 'POST', path: /^\/authenticate\/logout$/, query: {} },
  { method: 'GET', path: /^\/authenticate\/logout$/, query: {} },
  { method: 'POST', path: /^\/organization\/authenticate$/, query: {} },
  { method: 'POST', path: /^\/oauth\/token$/, query: {} },
  { method: 'GET', path: /^\/user\/session$/, query: { include: oneOf('organizations') } },
  { method: 'GET', path: /^\/library$/, query: { ...containerSort, ...paging } },
  { method: 'GET', path: /^\/collections$/, query: { parent: id('C0000'), ...containerSort, ...paging } },
  { method: 'GET', path: new RegExp(`^/collections/${COLLECTION}$`), query: {} },
  { method: 'GET', path: new RegExp(`^/collections/${COLLECTION}/children$`), query: { ...containerSort, ...paging } },
  { method: 'GET', path: new RegExp(`^/collections/${COLLECTION}/(path|child-count)$`), query: {} },
  { method: 'GET', path: /^\/galleries$/, query: { parent: id('C0000'), ...containerSort, ...paging } },
  { method: 'GET', path: new RegExp(`^/galleries/${GALLERY}$`), query: {} },
  {
    method: 'GET',
    path: new RegExp(`^/galleries/${GALLERY}/children$`),
    query: { sort_by: oneOf('creation_time', 'modification_time', 'added_at', 'file_name', 'date_taken', 'display_order'), sort_direction: oneOf('ascending', 'descending'), ...paging },
  },
  { method: 'GET', path: new RegExp(`^/galleries/${GALLERY}/(path|child-count)$`), query: {} },
  {
    method: 'GET',
    path: /^\/media$/,
    query: {
      org_id: id('O0000'),
      user_id: id('U0000'),
      galleries: idList('G0000'),
      collections: idList('C0000'),
      terms: () => true,
      modify_start: draftDate,
      modify_end: draftDate,
      create_start: draftDate,
      create_end: draftDate,
      sort_by: oneOf('relevance', 'date', 'file_name', 'upload_time'),
      sort_dir: oneOf('asc', 'desc'),
      ...paging,
    },
  },
  { method: 'GET', path: new RegExp(`^/media/${MEDIA}$`), query: { include: oneOf('iptc') } },
  { method: 'GET', path: new RegExp(`^/media/${MEDIA}/(iptc|custom-metadata|metadata)$`), query: {} },
  { method: 'PATCH', path: new RegExp(`^/media/${MEDIA}/(iptc|custom-metadata)$`), query: {} },
  { method: 'GET', path: new RegExp(`^/media/${MEDIA}/galleries$`), query: { include: oneOf('gallery'), ...paging } },
  {
    method: 'GET',
    path: new RegExp(`^/media/${MEDIA}/download$`),
    query: { download_filetype: oneOf('original', 'jpeg', 'mp4'), download_quality: matches(/^(original|[1-9]\d*|[1-9]\d*x[1-9]\d*|[a-z][a-z0-9_]*)$/) },
  },
  { method: 'GET', path: new RegExp(`^/media/${MEDIA}/link$`), query: { image_size: matches(/^[1-9]\d*x[1-9]\d*$/), image_mode: oneOf('fit', 'fill') } },
];

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

/** Why a request is not evidenced, or undefined when it is. */
export function unevidenced(r: LoggedRequest): string | undefined {
  const rule = EVIDENCED.find((x) => x.method === r.method && x.path.test(r.path));
  if (!rule) return `${r.method} ${r.path} is not an evidenced call`;
  for (const [k, v] of Object.entries(r.query)) {
    if (k === 'api_key') continue; // [prod] the key may go in the query; the client sends the header
    const check = rule.query[k];
    if (!check) return `${r.method} ${r.path}: the parameter ${k} is not evidenced there`;
    if (!check(v)) return `${r.method} ${r.path}: ${k}=${v} is not an evidenced value`;
  }
  if (rule.query.sort_direction && r.query.sort_by === undefined && r.query.sort_direction !== undefined) return `${r.path}: sort_direction without sort_by`;
  return undefined;
}

/** Fails with every request of the PhotoShelter API (not the simulator's own routes) that is not evidenced. */
export function assertEvidenced(log: readonly LoggedRequest[]): void {
  const bad = log
    .filter((r) => !r.path.startsWith('/__sim'))
    .map(unevidenced)
    .filter((x): x is string => x !== undefined);
  assert.deepEqual([...new Set(bad)], [], 'requests without evidence');
}

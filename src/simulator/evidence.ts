/**
 * What is known about each endpoint's query parameters and form fields, and how sure we are: the evidence
 * levels of the project's API reference (shared/photoshelter-api/README.md):
 *   prod  — seen in production code that talks to the live API;
 *   draft — only in PhotoShelter's 2019 OpenAPI draft;
 *   weak  — only in one unofficial client;
 *   ours  — the simulator serves it, nothing documents it.
 *
 * In strict mode (`--strict`) a parameter, form field, value or include name that has neither [prod] nor
 * [draft] evidence is answered 400 BadRequestException naming it, so that a client tested against the
 * simulator cannot come to depend on something the real API may refuse. In lenient mode (the default) this
 * table is not consulted: unknown parameters and include names are ignored.
 */
import { ApiError } from './http';

export type Level = 'prod' | 'draft' | 'weak' | 'ours';

/** A value form with its own evidence (a pattern rather than a list of values). */
export interface ValueForm {
  re: RegExp;
  level: Level;
  /** How the form reads in messages and docs, e.g. `2019-10-15 12:00:00 GMT`. */
  shape: string;
}

export interface ParamEvidence {
  level: Level;
  /** Accepted values, each with its evidence; absent (and no `forms`) = any value. */
  values?: Readonly<Record<string, Level>>;
  /** Accepted value forms; a value matching none of them is unevidenced. */
  forms?: readonly ValueForm[];
  /** The value is a comma-separated list; each item is checked. */
  list?: boolean;
  /** What the simulator does with it, when that is less than its name says. */
  note?: string;
}

export interface EndpointEvidence {
  method: string;
  /** The route's path below /psapi/v4.0, `{id}` for the path parameter. */
  path: string;
  /** Evidence for the endpoint itself. Strict mode refuses parameters and values, not endpoints. */
  level: Level;
  query: Readonly<Record<string, ParamEvidence>>;
  /** Form fields (application/x-www-form-urlencoded or JSON) of a POST. */
  form?: Readonly<Record<string, ParamEvidence>>;
  /** `include=` names with their evidence; names absent here are unevidenced on this endpoint. */
  includes?: Readonly<Record<string, Level>>;
}

const p = (level: Level, more: Omit<ParamEvidence, 'level'> = {}): ParamEvidence => ({ level, ...more });

/** The draft's example of a search date (`create_start`, `modify_end`, …): the only evidenced form. */
export const GMT_DATE: ValueForm = { re: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/, level: 'draft', shape: 'YYYY-MM-DD HH:MM:SS GMT' };
const ISO_DATE: ValueForm = { re: /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/, level: 'ours', shape: 'YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|±HH:MM]' };
const DATE = p('draft', { forms: [GMT_DATE, ISO_DATE] });

const DIRECTION = p('prod', { values: { ascending: 'prod', descending: 'prod' } });
const BOOL = { true: 'draft', false: 'draft' } as const;

/** Accepted on every endpoint. */
const GLOBAL: Record<string, ParamEvidence> = {
  api_key: p('prod'),
  date_format: p('draft', { values: { iso8601ps: 'draft', iso8601: 'draft', unix: 'draft' } }),
};
const PAGING = { page: p('draft'), per_page: p('draft') };
const CONTAINER_SORT = p('prod', {
  values: { creation_time: 'draft', modification_time: 'draft', name: 'draft', display_order: 'draft', created_at: 'ours', modified_at: 'ours' },
});
const GALLERY_CHILD_SORT = p('draft', {
  values: {
    creation_time: 'draft', modification_time: 'draft', added_at: 'draft', file_name: 'draft', date_taken: 'draft', display_order: 'draft',
    created_at: 'ours', modified_at: 'ours',
  },
});
/** The includes the simulator serves on media but that only exist in the simulator. */
const MEDIA_INCLUDES_OURS = { iptc: 'ours', custom_metadata: 'ours', galleries: 'ours' } as const;

const AUTH_FIELDS = {
  email: p('prod'),
  password: p('prod'),
  mode: p('prod', { values: { token: 'prod', cookie: 'draft' }, note: "only 'token' is served" }),
  org_id: p('prod'),
};

const STRING = (level: Level, note?: string): ParamEvidence => p(level, note ? { note } : {});

/** The draft's /media search parameters that the simulator accepts but does not apply. */
const MEDIA_UNAPPLIED = ['virtual_agency_id', 'custom_metadata', 'priced', 'searchble', 'print', 'personal_use', 'royalty_free',
  'rights_managed', 'contact_info', 'is_empty', 'not_empty'] as const;
/** IPTC fields the draft lets /media search on (substring match on the stored IPTC). */
export const MEDIA_IPTC_FILTERS = ['city', 'state', 'country', 'country_iso', 'title', 'edit_status', 'urgency', 'category', 'keywords',
  'instructions', 'author', 'position', 'location', 'trans_ref', 'credit', 'source', 'copyright', 'caption', 'genre', 'rights', 'scene',
  'subject_code', 'caption_writer', 'web_statement'] as const;

const MEDIA_SEARCH: Record<string, ParamEvidence> = {
  user_id: p('draft'),
  org_id: p('draft'),
  media_id: p('draft'),
  photographer_id: p('draft'),
  collections: p('draft'),
  galleries: p('draft'),
  file_name: p('draft'),
  terms: p('draft'),
  match_all_terms: p('draft', { values: BOOL }),
  model_release: p('draft', { values: BOOL }),
  property_release: p('draft', { values: BOOL }),
  media_type: p('draft', { list: true, values: { image: 'draft', video: 'draft', audio: 'draft', doc: 'draft', document: 'ours' } }),
  rating: p('draft'),
  rating_min: p('draft'),
  rating_max: p('draft'),
  orientation: p('draft', { values: { horizontal: 'draft', vertical: 'draft', panoramic: 'draft', square: 'draft' } }),
  date_start: DATE,
  date_end: DATE,
  create_start: DATE,
  create_end: DATE,
  modify_start: DATE,
  modify_end: DATE,
  ...Object.fromEntries(MEDIA_IPTC_FILTERS.map((f) => [f, p('draft')])),
  ...Object.fromEntries(MEDIA_UNAPPLIED.map((f) => [f, STRING('draft', 'accepted, not applied')])),
  ...PAGING,
  sort_by: p('draft', { values: { relevance: 'draft', date: 'draft', file_name: 'draft', upload_time: 'draft', created_at: 'ours', modified_at: 'ours' } }),
  sort_dir: p('draft', { values: { asc: 'draft', desc: 'draft' } }),
  sort_direction: p('ours', { values: { ascending: 'ours', descending: 'ours' } }),
  owner_id: p('ours'),
};

const TOKEN_QUERY = p('prod', { note: 'the session token, when no X-PS-Auth-Token header is sent' });

export const EVIDENCE: readonly EndpointEvidence[] = [
  // authentication
  { method: 'POST', path: '/authenticate', level: 'prod', query: { ...AUTH_FIELDS }, form: AUTH_FIELDS, includes: { options: 'prod' } },
  { method: 'GET', path: '/authenticate', level: 'prod', query: { ...AUTH_FIELDS }, includes: { options: 'prod' } },
  { method: 'GET', path: '/authenticate/logout', level: 'prod', query: {} },
  { method: 'POST', path: '/authenticate/logout', level: 'prod', query: {} },
  { method: 'POST', path: '/organization/authenticate', level: 'prod', query: { org_id: p('ours') }, form: { org_id: p('prod') } },
  { method: 'GET', path: '/organization/logout', level: 'draft', query: {} },
  { method: 'POST', path: '/organization/logout', level: 'prod', query: {} },
  { method: 'GET', path: '/user/session', level: 'prod', query: {}, includes: { organizations: 'prod' } },
  { method: 'GET', path: '/user/invites', level: 'prod', query: {} },
  {
    method: 'POST', path: '/oauth/register', level: 'prod', query: {},
    form: {
      ...Object.fromEntries(['name', 'description', 'callback_url', 'scopes', 'email', 'application_name', 'company_name', 'homepage_uri',
        'privacy_policy_uri', 'logo_uri'].map((f) => [f, p('draft')])),
      redirect_uri: p('ours', { note: 'the draft calls it callback_url' }),
    },
  },
  {
    method: 'GET', path: '/oauth/authorize', level: 'prod',
    query: { client_id: p('prod'), redirect_uri: p('prod'), response_type: p('prod', { values: { code: 'prod' } }), state: p('prod') },
  },
  {
    method: 'POST', path: '/oauth/token', level: 'prod', query: {},
    form: {
      grant_type: p('prod', { values: { authorization_code: 'prod', refresh_token: 'prod' } }),
      code: p('prod'), refresh_token: p('prod'), client_id: p('prod'), client_secret: p('prod'), redirect_uri: p('prod'), callback_url: p('draft'),
    },
  },
  // library
  {
    method: 'GET', path: '/library', level: 'prod',
    query: { is_listed: p('draft', { values: { true: 'prod', false: 'draft' } }), sort_by: CONTAINER_SORT, sort_direction: DIRECTION, ...PAGING },
  },
  {
    method: 'GET', path: '/collections', level: 'prod',
    query: {
      id: p('draft'), name: p('draft'), parent: p('prod'), match: p('draft', { values: BOOL }),
      sort_by: CONTAINER_SORT, sort_direction: DIRECTION, ...PAGING,
    },
    includes: { permissions: 'prod', parent: 'prod' },
  },
  { method: 'GET', path: '/collections/{id}', level: 'prod', query: {} },
  {
    method: 'GET', path: '/collections/{id}/children', level: 'prod',
    query: { password: STRING('draft', 'accepted, not applied'), token: STRING('draft', 'accepted, not applied'), visibile: STRING('draft', 'accepted, not applied'), sort_by: CONTAINER_SORT, sort_direction: DIRECTION, ...PAGING },
  },
  { method: 'GET', path: '/collections/{id}/child-count', level: 'prod', query: {} },
  { method: 'GET', path: '/collections/{id}/count', level: 'draft', query: { visibile: STRING('draft', 'accepted, not applied') } },
  { method: 'GET', path: '/collections/{id}/path', level: 'ours', query: {} },
  { method: 'GET', path: '/collections/{id}/link', level: 'draft', query: {} },
  { method: 'GET', path: '/collections/{id}/key-image', level: 'prod', query: {} },
  {
    method: 'GET', path: '/galleries', level: 'prod',
    query: {
      name: p('draft'), parent: p('prod'), portfolio: p('draft', { values: BOOL }), recently_updated: p('draft', { values: BOOL, note: 'accepted, not applied' }),
      sort_by: CONTAINER_SORT, sort_direction: DIRECTION, ...PAGING,
    },
    includes: { permissions: 'prod', parent: 'prod', 'child-count': 'prod' },
  },
  { method: 'GET', path: '/galleries/{id}', level: 'prod', query: {} },
  {
    method: 'GET', path: '/galleries/{id}/children', level: 'prod',
    query: { collection_id: STRING('draft', 'accepted, not applied'), password: STRING('draft', 'accepted, not applied'), sort_by: GALLERY_CHILD_SORT, sort_direction: DIRECTION, ...PAGING },
    includes: MEDIA_INCLUDES_OURS,
  },
  { method: 'GET', path: '/galleries/{id}/child-count', level: 'prod', query: {} },
  { method: 'GET', path: '/galleries/{id}/children/count', level: 'draft', query: { collection_id: STRING('draft', 'accepted, not applied') } },
  { method: 'GET', path: '/galleries/{id}/path', level: 'ours', query: {} },
  { method: 'GET', path: '/galleries/{id}/cover', level: 'prod', query: { collection_id: STRING('draft', 'accepted, not applied') } },
  { method: 'GET', path: '/galleries/{id}/key-image', level: 'draft', query: {} },
  { method: 'GET', path: '/galleries/{id}/permissions', level: 'draft', query: { collection_id: STRING('draft', 'accepted, not applied') } },
  // media
  { method: 'GET', path: '/media', level: 'draft', query: MEDIA_SEARCH, includes: MEDIA_INCLUDES_OURS },
  {
    method: 'GET', path: '/search', level: 'prod',
    query: {
      media_type: p('prod', { list: true, values: { image: 'prod', video: 'prod', audio: 'prod', doc: 'prod' } }),
      org_id: p('prod'),
      mode: p('prod', { values: { library: 'prod' } }),
      sort_by: p('prod', { values: { creation_time: 'prod', modification_time: 'ours', file_name: 'ours' } }),
      sort_direction: DIRECTION,
      page: p('prod'),
      per_page: p('prod'),
    },
  },
  { method: 'GET', path: '/media/{id}', level: 'prod', query: {}, includes: { ...MEDIA_INCLUDES_OURS, iptc: 'prod' } },
  { method: 'GET', path: '/media/{id}/iptc', level: 'prod', query: {} },
  { method: 'PATCH', path: '/media/{id}/iptc', level: 'weak', query: {} },
  { method: 'GET', path: '/media/{id}/custom-metadata', level: 'prod', query: { token: TOKEN_QUERY } },
  { method: 'PATCH', path: '/media/{id}/custom-metadata', level: 'ours', query: {} },
  { method: 'GET', path: '/media/{id}/metadata', level: 'prod', query: {} },
  { method: 'GET', path: '/media/{id}/galleries', level: 'prod', query: { ...PAGING }, includes: { gallery: 'prod' } },
  {
    method: 'GET', path: '/media/{id}/download', level: 'prod',
    query: {
      token: p('prod', { note: 'the session token, when no X-PS-Auth-Token header is sent ([draft] too)' }),
      download_filetype: p('prod', { values: { original: 'prod', jpeg: 'prod', mp4: 'prod' } }),
      download_quality: p('prod', {
        forms: [
          { re: /^original$/, level: 'prod', shape: 'original' },
          { re: /^\d{1,5}$/, level: 'prod', shape: '1200 (longest side)' },
          { re: /^\d{1,5}x\d{1,5}$/, level: 'draft', shape: 'WIDTHxHEIGHT' },
          { re: /^hd720$/, level: 'prod', shape: 'hd720' },
          { re: /^(?:hd1080|sd480)$/, level: 'draft', shape: 'hd1080|sd480' },
        ],
      }),
      download_image_embed: p('draft', { values: BOOL, note: 'accepted, not applied' }),
      gallery_id: STRING('draft', 'accepted, not applied'),
      collection_id: STRING('draft', 'accepted, not applied'),
      password: STRING('draft', 'accepted, not applied'),
    },
  },
  {
    method: 'GET', path: '/media/{id}/link', level: 'prod',
    query: { image_size: p('prod'), image_mode: p('prod', { values: { fit: 'prod', fill: 'prod' } }) },
  },
];

const BY_KEY = new Map(EVIDENCE.map((e) => [`${e.method} ${e.path}`, e]));

export function evidenceFor(method: string, path: string): EndpointEvidence | undefined {
  return BY_KEY.get(`${method === 'HEAD' ? 'GET' : method} ${path}`);
}

export const isEvidenced = (level: Level | undefined): boolean => level === 'prod' || level === 'draft';

function refuse(detail: string): never {
  throw new ApiError(400, 'BadRequestException', `${detail} (strict mode: only what PhotoShelter's API is known to accept).`);
}

function accepted(spec: ParamEvidence): string {
  const values = Object.entries(spec.values ?? {}).filter(([, l]) => isEvidenced(l)).map(([v]) => v);
  const forms = (spec.forms ?? []).filter((f) => isEvidenced(f.level)).map((f) => f.shape);
  return [...values, ...forms].join(', ');
}

function checkValue(where: string, name: string, spec: ParamEvidence, raw: string): void {
  if (!spec.values && !spec.forms) return;
  const items = spec.list ? raw.split(',').map((s) => s.trim()) : [raw];
  for (const v of items) {
    const level = spec.values?.[v] ?? spec.forms?.find((f) => f.re.test(v))?.level;
    if (!isEvidenced(level)) {
      refuse(`${name}: the value '${v}' is not known to be accepted by ${where} (evidence: ${level ?? 'none'}); known values: ${accepted(spec)}`);
    }
  }
}

function checkFields(where: string, kind: string, fields: Iterable<[string, string]>, table: Readonly<Record<string, ParamEvidence>>, ep: EndpointEvidence): void {
  for (const [name, value] of fields) {
    if (name === 'include') {
      for (const inc of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        const level = ep.includes?.[inc];
        if (!isEvidenced(level)) {
          const known = Object.entries(ep.includes ?? {}).filter(([, l]) => isEvidenced(l)).map(([n]) => n);
          refuse(`include: '${inc}' is not known to be accepted by ${where} (evidence: ${level ?? 'none'}); known: ${known.join(', ') || 'none'}`);
        }
      }
      continue;
    }
    const spec = table[name] ?? GLOBAL[name];
    if (!spec || !isEvidenced(spec.level)) {
      refuse(`${name}: not a ${kind} known to be accepted by ${where} (evidence: ${spec?.level ?? 'none'})`);
    }
    checkValue(where, name, spec, value);
  }
}

/** Strict mode: throws 400 for the first unevidenced query parameter, form field, value or include name. */
export function checkStrict(method: string, path: string, query: URLSearchParams, form: Record<string, string> | undefined): void {
  const ep = evidenceFor(method, path);
  const where = `${method} ${path}`;
  if (!ep) {
    // An endpoint with no table entry (none today): any parameter is unevidenced.
    for (const [name] of query) if (!GLOBAL[name]) refuse(`${name}: not a parameter known to be accepted by ${where} (evidence: none)`);
    return;
  }
  checkFields(where, 'query parameter', query, ep.query, ep);
  if (form) checkFields(where, 'form field', Object.entries(form), ep.form ?? {}, ep);
}

/**
 * The wire format in one place: every path, query parameter, form field, header and value the client
 * sends, each with its evidence level from the API reference (`/work/shared/photoshelter-api/README.md`,
 * mirrored in docs/api-decisions.md):
 *   [prod]  seen in production code that talks to the live API;
 *   [draft] PhotoShelter's own OpenAPI draft of 2019;
 *   [ours]  our guess. Only where nothing better exists, and each one is marked here.
 * A value that is not in this file is not sent.
 */
import { parseApiDate } from './dates';
import { ValidationError } from './errors';

/** [prod] */
export const DEFAULT_BASE_URL = 'https://www.photoshelter.com/psapi/v4.0';

export const HEADERS = {
  /** [prod] the API key on every request. */
  apiKey: 'x-ps-api-key',
  /** [prod] the session token. */
  sessionToken: 'x-ps-auth-token',
  /** [prod] `Bearer <access token>` for OAuth. */
  authorization: 'authorization',
  // read only
  retryAfter: 'retry-after',
  contentLength: 'content-length',
  contentType: 'content-type',
  contentDisposition: 'content-disposition',
  wwwAuthenticate: 'www-authenticate',
  date: 'date',
} as const;

export const bearer = (token: string): string => `Bearer ${token}`;

const seg = (id: string): string => encodeURIComponent(id);

export type ContainerKind = 'collections' | 'galleries';

export const PATHS = {
  /** [prod] POST, form email, password, mode=token. */
  authenticate: '/authenticate',
  /** [prod] POST. */
  logout: '/authenticate/logout',
  /** [prod] POST, form org_id. */
  organizationAuthenticate: '/organization/authenticate',
  /** [prod] POST, form grant_type, code | refresh_token, client_id, client_secret, redirect_uri. */
  oauthToken: '/oauth/token',
  /** [prod] include=organizations. */
  userSession: '/user/session',
  /** [prod] sort_by, sort_direction (values: SORTS.containers [draft]), page, per_page. */
  library: '/library',
  /** [draft] search: user_id | org_id | galleries | collections | terms, modify_*, create_*, sort_by, sort_dir, page, per_page. */
  media: '/media',
  /** [prod] include=iptc. */
  mediaItem: (id: string) => `/media/${seg(id)}`,
  /** GET [prod]; PATCH with a JSON object of the changed fields [weak]. */
  mediaIptc: (id: string) => `/media/${seg(id)}/iptc`,
  /** GET [prod]; PATCH with the body CUSTOM_METADATA_PATCH describes [ours]. */
  mediaCustomMetadata: (id: string) => `/media/${seg(id)}/custom-metadata`,
  /** [prod] include=gallery. */
  mediaGalleries: (id: string) => `/media/${seg(id)}/galleries`,
  /** [prod] the file's embedded metadata: `data.attributes.raw`, a JSON string (PhotoShelter's WordPress plugin). */
  mediaMetadata: (id: string) => `/media/${seg(id)}/metadata`,
  /** [prod] download_filetype, download_quality ([draft] for the WIDTHxHEIGHT form). */
  mediaDownload: (id: string) => `/media/${seg(id)}/download`,
  /** [prod] image_size, image_mode. */
  mediaLink: (id: string) => `/media/${seg(id)}/link`,
  /** [draft] parent, sort_by, sort_direction, page, per_page. */
  collections: '/collections',
  /** [draft] */
  collection: (id: string) => `/collections/${seg(id)}`,
  /** [prod/draft] sort_by, sort_direction (values: SORTS.containers [draft]), page, per_page. */
  collectionChildren: (id: string) => `/collections/${seg(id)}/children`,
  /** [draft] parent, sort_by, sort_direction, page, per_page. */
  galleries: '/galleries',
  /** [draft] */
  gallery: (id: string) => `/galleries/${seg(id)}`,
  /** [draft] sort_by, sort_direction, page, per_page. */
  galleryChildren: (id: string) => `/galleries/${seg(id)}/children`,
  /**
   * [ours in effect] Named in the reference's endpoint table (§5), but no source we hold shows it, nor its
   * answer (root-most collection first, the item last). Read only for the `path` part of an asset and a
   * walk's root; a 404 there is reported as an error, never taken for a deleted asset.
   */
  containerPath: (kind: ContainerKind, id: string) => `/${kind}/${seg(id)}/path`,
  /** [prod] answers `meta.children_count` (reference §8). */
  containerChildCount: (kind: ContainerKind, id: string) => `/${kind}/${seg(id)}/child-count`,
} as const;

/** Form fields of the authentication calls. All [prod]. */
export const FORM = {
  email: 'email',
  password: 'password',
  mode: 'mode',
  modeToken: 'token',
  orgId: 'org_id',
  grantType: 'grant_type',
  grantAuthorizationCode: 'authorization_code',
  grantRefreshToken: 'refresh_token',
  code: 'code',
  refreshToken: 'refresh_token',
  clientId: 'client_id',
  clientSecret: 'client_secret',
  redirectUri: 'redirect_uri',
} as const;

/** Query parameter names the client sends. */
export const QUERY = {
  /** [prod] 1-based, as production clients page. */
  page: 'page',
  /** [prod] up to 1000. */
  perPage: 'per_page',
  /** [prod] only with the values in INCLUDE below. */
  include: 'include',
  /** [draft] /collections and /galleries. */
  parent: 'parent',
  /** [draft] values per endpoint: SORTS below. */
  sortBy: 'sort_by',
  /** [prod] containers; [draft] ascending|descending. */
  sortDirection: 'sort_direction',
  /** [draft] /media only: asc|desc. */
  sortDir: 'sort_dir',
  /** [draft] /media; dates as formatApiDate() writes them. */
  modifyStart: 'modify_start',
  modifyEnd: 'modify_end',
  createStart: 'create_start',
  createEnd: 'create_end',
  /** [draft] /media scope filters. */
  orgId: 'org_id',
  userId: 'user_id',
  galleries: 'galleries',
  collections: 'collections',
  terms: 'terms',
  /** [prod] download_filetype original|jpeg|mp4. */
  downloadFileType: 'download_filetype',
  /** [prod] `original` or a number; [draft] WIDTHxHEIGHT. */
  downloadQuality: 'download_quality',
  /** [prod] WIDTHxHEIGHT and fit|fill. */
  imageSize: 'image_size',
  imageMode: 'image_mode',
} as const;

/**
 * `include` values, per call. Nothing else is evidenced: no include on the /media list or on gallery
 * children, and no `custom_metadata` or `galleries` include names anywhere; custom metadata and galleries
 * are read with their own calls (GET /media/{id}/custom-metadata, GET /media/{id}/galleries).
 */
export const INCLUDE = {
  /** [prod] GET /media/{id}?include=iptc */
  media: ['iptc'],
  /** [prod] GET /media/{id}/galleries?include=gallery (names of the galleries). */
  mediaGalleries: 'gallery',
  /** [prod] GET /user/session?include=organizations */
  session: 'organizations',
} as const;

/** Include names understood by GET /media/{id}. */
export const INCLUDES = INCLUDE.media;
export type IncludeName = (typeof INCLUDES)[number];

export type SortDirection = 'ascending' | 'descending';

export interface SortSpec {
  /** Values of sort_by this endpoint is evidenced to take. */
  by: readonly string[];
  /** Which direction parameter, and its two values. */
  dirParam: string;
  asc: string;
  desc: string;
}

/** Sort values per endpoint, as the draft lists them. Endpoints without an entry are never sorted. */
export const SORTS = {
  /** [draft] GET /media: sort_by relevance|date|file_name|upload_time, sort_dir asc|desc. */
  media: { by: ['relevance', 'date', 'file_name', 'upload_time'], dirParam: QUERY.sortDir, asc: 'asc', desc: 'desc' },
  /** [draft] GET /galleries/{G}/children (sort_direction also [prod] on containers). */
  galleryChildren: {
    by: ['creation_time', 'modification_time', 'added_at', 'file_name', 'date_taken', 'display_order'],
    dirParam: QUERY.sortDirection,
    asc: 'ascending',
    desc: 'descending',
  },
  /**
   * [draft] GET /collections and GET /galleries; the same values for GET /library and collection children,
   * where sort_by and sort_direction are [prod] (production sorts containers) and no list of values exists.
   */
  containers: { by: ['creation_time', 'modification_time', 'name', 'display_order'], dirParam: QUERY.sortDirection, asc: 'ascending', desc: 'descending' },
} as const satisfies Record<string, SortSpec>;

export type SortEndpoint = keyof typeof SORTS;

/**
 * The order the change feed asks GET /media for: by upload time, oldest first [draft]. It does not change
 * when an asset is edited, so pages stay put while a window is read; the feed orders each window itself
 * and does not rely on it.
 */
export const CHANGES_SORT = { sortBy: 'upload_time', sortDirection: 'ascending' as SortDirection };

/** `sort_by` plus the endpoint's direction parameter; a value the endpoint is not evidenced to take is refused. */
export function sortParams(endpoint: SortEndpoint, sortBy: string, direction: SortDirection = 'ascending'): Record<string, string> {
  const spec: SortSpec = SORTS[endpoint];
  if (!spec.by.includes(sortBy)) {
    throw new ValidationError(`Sorting by ${JSON.stringify(sortBy)} is not known to work here: use ${spec.by.join(', ')}`);
  }
  if (direction !== 'ascending' && direction !== 'descending') {
    throw new ValidationError(`The sort direction ${JSON.stringify(direction)} is not ascending or descending`);
  }
  return { [QUERY.sortBy]: sortBy, [spec.dirParam]: direction === 'ascending' ? spec.asc : spec.desc };
}

/**
 * [ours] IPTC keywords are written as one string, joined with this (as v3 did); reading takes a string or
 * an array. A wrong guess makes a keyword write fail with an error or store one keyword: no change is lost.
 */
export const KEYWORD_SEPARATOR = ',';

/**
 * [ours] PATCH /media/{id}/custom-metadata takes a JSON array of `{field_id, value}` (the shape GET answers
 * with, reduced to what a write needs). A wrong guess is a 400 that names the problem; nothing is written.
 */
export const CUSTOM_METADATA_PATCH = { fieldId: 'field_id', value: 'value' } as const;

/** [prod] production code pages with up to 1000 per page. */
export const MAX_PER_PAGE = 1000;

/**
 * [ours] How far a change window's query reaches past the window on each side. The bounds' inclusivity
 * (start inclusive, end exclusive) and the server's rounding of `modified_at` are not documented; with a
 * second more on each side the answer covers the window whatever they are, and the feed keeps only what
 * its own reading of `modified_at` puts inside.
 */
export const MODIFY_WINDOW_PAD_MS = 1000;

/** Error ids PhotoShelter answers with. */
export const ERROR_IDS = {
  apiKeyInvalid: 'ApiKeyInvalidException',
  acsPermission: 'AcsPermissionException',
  authenticationFailed: 'AuthenticationFailedException',
  oauthServer: 'OAuthServerException',
  notFound: 'ResourceNotFoundException',
  tooManyRequests: 'TooManyRequestsException',
  badRequest: 'BadRequestException',
} as const;

/**
 * Query parameters whose values come from the user (ids, search terms, sizes): when PhotoShelter refuses
 * one, the user should check the value; any other refusal is the package's to fix.
 */
export const USER_VALUED_PARAMS: ReadonlySet<string> = new Set([
  QUERY.orgId, QUERY.userId, QUERY.galleries, QUERY.collections, QUERY.terms, QUERY.parent,
  QUERY.downloadFileType, QUERY.downloadQuality, QUERY.imageSize, QUERY.imageMode,
]);

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * A date sent to the API, in the draft's form `2019-10-15 12:00:00 GMT` [draft]: whole seconds, UTC.
 * `round` says which way a time between two seconds goes (`floor` for a start, `ceil` for an end, so that
 * a query never covers less than asked).
 */
export function formatApiDate(ms: number, round: 'floor' | 'ceil' = 'floor'): string {
  if (!Number.isFinite(ms)) throw new ValidationError('A date to send is not a number');
  const s = round === 'ceil' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  const d = new Date(s * 1000);
  const date = `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  return `${date} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`;
}

/**
 * Dates read from the API as epoch ms (zone-less means UTC, offsets honoured, numbers are Unix seconds; see
 * dates.ts); other forms Date.parse reads are accepted too (the draft's `… GMT` examples among them). NaN
 * when the value cannot be read.
 */
export function apiDateMs(value: unknown): number {
  const parsed = parseApiDate(value);
  if (parsed) return parsed.epochMs;
  return typeof value === 'string' && value !== '' ? Date.parse(value) : NaN;
}

/** Hosts where plain http is allowed: this machine only (a simulator). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/**
 * Checks a base URL: https, or http to a loopback host (127.0.0.0/8, ::1, localhost). Returns it without
 * trailing slashes; throws a ValidationError that says what to change.
 */
export function checkBaseUrl(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`The PhotoShelter base URL ${JSON.stringify(text.slice(0, 200))} is not a URL (e.g. ${DEFAULT_BASE_URL})`);
  }
  if (url.username || url.password) throw new ValidationError('The PhotoShelter base URL must not carry a user name or password');
  if (url.protocol === 'https:') return text.replace(/\/+$/, '');
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return text.replace(/\/+$/, '');
  if (url.protocol === 'http:') {
    throw new ValidationError(
      `The PhotoShelter base URL must use https:// (plain http is allowed only for a simulator on this machine: localhost, 127.x.x.x or ::1); got host ${url.hostname}`,
    );
  }
  throw new ValidationError(`The PhotoShelter base URL must start with https:// (got ${url.protocol.replace(/:$/, '')})`);
}

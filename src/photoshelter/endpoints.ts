/**
 * The wire format in one place: every path, query parameter, form field and header spelling the
 * client sends. See docs/api-decisions.md for the evidence behind each entry.
 */
import { parseApiDate } from './dates';

export const DEFAULT_BASE_URL = 'https://www.photoshelter.com/psapi/v4.0';

export const HEADERS = {
  apiKey: 'x-ps-api-key',
  sessionToken: 'x-ps-auth-token',
  authorization: 'authorization',
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
  authenticate: '/authenticate',
  logout: '/authenticate/logout',
  organizationAuthenticate: '/organization/authenticate',
  oauthToken: '/oauth/token',
  userSession: '/user/session',
  library: '/library',
  media: '/media',
  mediaItem: (id: string) => `/media/${seg(id)}`,
  mediaIptc: (id: string) => `/media/${seg(id)}/iptc`,
  mediaCustomMetadata: (id: string) => `/media/${seg(id)}/custom-metadata`,
  mediaGalleries: (id: string) => `/media/${seg(id)}/galleries`,
  /** The file's embedded metadata: `data.attributes.raw`, a JSON string [prod: PhotoShelter's WordPress plugin]. */
  mediaMetadata: (id: string) => `/media/${seg(id)}/metadata`,
  mediaDownload: (id: string) => `/media/${seg(id)}/download`,
  mediaLink: (id: string) => `/media/${seg(id)}/link`,
  collections: '/collections',
  collection: (id: string) => `/collections/${seg(id)}`,
  collectionChildren: (id: string) => `/collections/${seg(id)}/children`,
  galleries: '/galleries',
  gallery: (id: string) => `/galleries/${seg(id)}`,
  galleryChildren: (id: string) => `/galleries/${seg(id)}/children`,
  containerPath: (kind: ContainerKind, id: string) => `/${kind}/${seg(id)}/path`,
  containerChildCount: (kind: ContainerKind, id: string) => `/${kind}/${seg(id)}/child-count`,
} as const;

/** Form fields of the authentication calls. */
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

/** Query parameter names. */
export const QUERY = {
  page: 'page',
  perPage: 'per_page',
  include: 'include',
  parent: 'parent',
  sortBy: 'sort_by',
  sortDirection: 'sort_direction',
  sortDir: 'sort_dir',
  modifyStart: 'modify_start',
  modifyEnd: 'modify_end',
  createStart: 'create_start',
  createEnd: 'create_end',
  orgId: 'org_id',
  ownerId: 'owner_id',
  galleries: 'galleries',
  collections: 'collections',
  terms: 'terms',
  dateFormat: 'date_format',
  downloadFileType: 'download_filetype',
  downloadQuality: 'download_quality',
  imageSize: 'image_size',
  imageMode: 'image_mode',
} as const;

/** Include names understood by GET /media/{id} and GET /media. */
export const INCLUDES = ['iptc', 'custom_metadata', 'galleries'] as const;
export type IncludeName = (typeof INCLUDES)[number];

export type SortDirection = 'ascending' | 'descending';
/**
 * Two spellings exist: `sort_direction=ascending|descending` (seen in production) and
 * `sort_dir=asc|desc` (2019 draft, /media only). The client sends one; `dir` switches to the other.
 */
export type SortStyle = 'direction' | 'dir';

export function sortParams(sortBy: string, direction: SortDirection, style: SortStyle = 'direction'): Record<string, string> {
  if (style === 'dir') return { [QUERY.sortBy]: sortBy, [QUERY.sortDir]: direction === 'ascending' ? 'asc' : 'desc' };
  return { [QUERY.sortBy]: sortBy, [QUERY.sortDirection]: direction };
}

export const SORT_FIELDS = { modifiedAt: 'modified_at', createdAt: 'created_at', fileName: 'file_name', addedAt: 'added_at' } as const;

/** The API's maximum page size. */
export const MAX_PER_PAGE = 1000;

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
 * Dates sent to the API: `YYYY-MM-DDTHH:MM:SS[.ffffff]` in UTC, start inclusive, end exclusive.
 */
export function formatApiDate(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  const millis = ms - Math.floor(ms / 1000) * 1000;
  return millis === 0 ? base : `${base}.${String(Math.round(millis)).padStart(3, '0')}000`;
}

/**
 * Dates read from the API as epoch ms (zone-less means UTC, offsets honoured, numbers are Unix seconds; see
 * dates.ts); other forms Date.parse reads are accepted too. NaN when the value cannot be read.
 */
export function apiDateMs(value: unknown): number {
  const parsed = parseApiDate(value);
  if (parsed) return parsed.epochMs;
  return typeof value === 'string' && value !== '' ? Date.parse(value) : NaN;
}

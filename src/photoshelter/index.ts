export { PhotoShelterClient } from './client';
export type {
  PhotoShelterClientOptions,
  CallOptions,
  ListOptions,
  SortOptions,
  MediaQuery,
  ChangesOptions,
  ContainerType,
} from './client';
export type { AuthOptions, SessionAuthOptions, OAuthOptions, BearerOptions, OAuthTokens } from './auth';
export { ChangeFeed, changeKey } from './changes';
export type { ChangeRecord, ChangeScope, TimeInput } from './changes';
export { DownloadStream, parseContentDisposition, checkDownloadQuality, JPEG_QUALITY } from './download';
export type { DownloadOptions, DownloadFileType } from './download';
export {
  PhotoShelterError,
  AuthError,
  PermissionError,
  NotFoundError,
  RateLimitError,
  ValidationError,
  RefusedError,
  NetworkError,
  TimeoutError,
  TruncatedError,
  ServerError,
  AbortError,
} from './errors';
export type { ErrorCode } from './errors';
export type { ClientEvents, ClientEventName, AuthMode, EventHub } from './events';
export type { LimiterState } from './limiter';
export type { Clock } from './clock';
export type { Page } from './paging';
export { ID_PATTERNS, isId, assertId } from './ids';
export type { IdKind } from './ids';
export { DEFAULT_BASE_URL, MAX_PER_PAGE, INCLUDES, SORTS, apiDateMs, formatApiDate, checkBaseUrl, isLoopbackHost } from './endpoints';
export { parseApiDate, compareDates, isValidTimeZone, zoneOffsetMs, wallTimeToEpoch } from './dates';
export type { ParsedDate } from './dates';
export type { IncludeName, SortDirection } from './endpoints';
export type * from './types';

import { createAuth, OAuthAuth, SessionAuth, type AnyAuth, type AuthOptions, type OAuthTokens } from './auth';
import { ChangeFeed, toEpochMs, type ChangeScope, type TimeInput } from './changes';
import { systemClock, type Clock } from './clock';
import { openDownload, type DownloadOptions, type DownloadStream } from './download';
import {
  CHANGES_SORT,
  checkBaseUrl,
  CUSTOM_METADATA_PATCH,
  KEYWORD_SEPARATOR,
  DEFAULT_BASE_URL,
  formatApiDate,
  INCLUDE,
  INCLUDES,
  PATHS,
  QUERY,
  sortParams,
  type ContainerKind,
  type IncludeName,
  type SortDirection,
  type SortEndpoint,
} from './endpoints';
import { ValidationError } from './errors';
import { EventHub, type ClientEventName, type ClientEvents } from './events';
import { assertId } from './ids';
import { AdaptiveLimiter, type LimiterState } from './limiter';
import { items, pages, type FetchedPage, type Page, type PagingMeta } from './paging';
import { Pipeline, type QueryParams } from './pipeline';
import { Redactor } from './redact';
import { DEFAULT_RETRY } from './retry';
import { UndiciTransport, type Transport } from './transport';
import type {
  ChildCounts,
  CollectionResource,
  ContainerResource,
  CustomFieldUpdate,
  CustomMetadataResource,
  Envelope,
  GalleryResource,
  IptcResource,
  IptcUpdate,
  LinkResource,
  MediaResource,
  PathElement,
  Resource,
  SessionResource,
} from './types';

export interface PhotoShelterClientOptions {
  /** Default https://www.photoshelter.com/psapi/v4.0 */
  baseUrl?: string;
  apiKey: string;
  auth: AuthOptions;
  /** Requests in flight at most (default 4); the adaptive limit moves between 1 and this. */
  maxConcurrency?: number;
  /** Optional cap on request starts per second. */
  requestsPerSecond?: number;
  /** Per attempt: until the answer is complete (JSON) or until headers and between chunks (downloads). Default 30 s. */
  timeoutMs?: number;
  /** Total time one request may spend retrying (default 120 s). */
  maxRetryTimeMs?: number;
  /** Retries per request at most (default 6). */
  maxRetries?: number;
  /** First backoff step (default 500 ms) and largest backoff step (default 30 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Consecutive successes before the concurrency limit grows by one (default 10). */
  recoverAfter?: number;
  /** Page size of listings (default and maximum 1000). */
  perPage?: number;
  userAgent?: string;
  /** Receives one redacted line per event. */
  logger?: (line: string) => void;
  /** Largest JSON answer accepted (default 64 MiB). */
  maxJsonBytes?: number;
  clock?: Clock;
  random?: () => number;
  transport?: Transport;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends CallOptions {
  perPage?: number;
  /** First page to read (1-based): resuming a listing at a known offset. */
  startPage?: number;
  /** Stop after this many pages. */
  maxPages?: number;
  /** Read the next page while the current one is consumed (default true). */
  prefetch?: boolean;
}

/** A sort the endpoint is evidenced to take (see SORTS in endpoints.ts); others are refused before sending. */
export interface SortOptions {
  sortBy?: string;
  sortDirection?: SortDirection;
}

export interface MediaQuery extends SortOptions {
  terms?: string;
  orgId?: string;
  /** Media of this user (sent as user_id). */
  userId?: string;
  /** Same as userId (kept for callers of earlier versions). */
  ownerId?: string;
  galleries?: string | string[];
  collections?: string | string[];
  modifiedSince?: TimeInput;
  modifiedBefore?: TimeInput;
  createdSince?: TimeInput;
  createdBefore?: TimeInput;
  /** Extra query parameters, sent as given: the caller vouches for them. */
  params?: QueryParams;
}

export interface ChangesOptions extends CallOptions {
  since: TimeInput;
  /** Exclusive end; default now, on a whole second. */
  until?: TimeInput;
  /** Default: the configured organization, else the user's own media. */
  scope?: ChangeScope;
  /** Deepest query in pages (default 20). */
  maxPages?: number;
  /** Smallest time slice (default and at least 1000 ms). */
  minSliceMs?: number;
  perPage?: number;
}

export type ContainerType = 'collection' | 'gallery';

const KIND: Record<ContainerType, ContainerKind> = { collection: 'collections', gallery: 'galleries' };

/** The PhotoShelter v4 API: one instance per account; all its callers share auth, limiter and sockets. */
export class PhotoShelterClient {
  readonly events: EventHub;
  private readonly redactor = new Redactor();
  private readonly pipeline: Pipeline;
  private readonly limiter: AdaptiveLimiter;
  private readonly transport: Transport;
  private readonly auth: AnyAuth;
  private readonly clock: Clock;
  private readonly perPage: number;
  private userId?: Promise<string>;
  private closed = false;

  constructor(opts: PhotoShelterClientOptions) {
    if (!opts || typeof opts !== 'object') throw new ValidationError('PhotoShelter client options are missing');
    this.redactor.add(opts.apiKey);
    const baseUrl = checkBaseUrl(opts.baseUrl ?? DEFAULT_BASE_URL);
    assertId('apiKey', opts.apiKey, 'API key');
    validateAuth(opts.auth);
    this.events = new EventHub(this.redactor, opts.logger);
    this.clock = opts.clock ?? systemClock;
    const maxConcurrency = positive(opts.maxConcurrency, 4, 'maxConcurrency');
    this.perPage = Math.min(1000, positive(opts.perPage, 1000, 'perPage'));
    this.limiter = new AdaptiveLimiter({
      maxConcurrency,
      requestsPerSecond: opts.requestsPerSecond,
      recoverAfter: opts.recoverAfter,
      clock: this.clock,
    });
    this.limiter.on('limit', (e) => this.events.fire('limit', e));
    this.limiter.on('backoff', (e) => this.events.fire('backoff', e));
    // No socket cap: JSON calls are bounded by the limiter, and downloads (which leave the limiter once
    // their headers arrive) are bounded by their callers; a capped pool would queue metadata calls
    // behind long downloads.
    this.transport = opts.transport ?? new UndiciTransport({});
    this.pipeline = new Pipeline({
      baseUrl,
      apiKey: opts.apiKey,
      userAgent: opts.userAgent ?? 'node-red-photoshelter/0.1',
      timeoutMs: positive(opts.timeoutMs, 30_000, 'timeoutMs'),
      retry: {
        maxRetries: opts.maxRetries ?? DEFAULT_RETRY.maxRetries,
        baseDelayMs: opts.retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
        maxDelayMs: opts.retryMaxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
        maxRetryTimeMs: opts.maxRetryTimeMs ?? DEFAULT_RETRY.maxRetryTimeMs,
      },
      maxJsonBytes: opts.maxJsonBytes ?? 64 * 1024 * 1024,
      transport: this.transport,
      limiter: this.limiter,
      clock: this.clock,
      random: opts.random ?? Math.random,
      redactor: this.redactor,
      events: this.events,
    });
    this.auth = createAuth(opts.auth, { pipeline: this.pipeline, redactor: this.redactor, events: this.events, clock: this.clock });
    this.pipeline.setAuth(this.auth);
  }

  on<K extends ClientEventName>(event: K, listener: (...args: ClientEvents[K]) => void): this {
    this.events.on(event, listener as never);
    return this;
  }

  off<K extends ClientEventName>(event: K, listener: (...args: ClientEvents[K]) => void): this {
    this.events.off(event, listener as never);
    return this;
  }

  /** Current limit, requests in flight and queued, and the backoff deadline when backing off. */
  limiterState(): LimiterState {
    return this.limiter.state();
  }

  get authMode(): AuthOptions['mode'] {
    return this.auth.mode;
  }

  get organizationId(): string | undefined {
    return this.auth.organizationId;
  }

  /** PhotoShelter's current time (epoch ms) as its last answer told it; the local time before any answer. */
  serverNow(): number {
    return this.pipeline.serverNow();
  }

  /** True once an answer has told PhotoShelter's time; until then serverNow() is the local time. */
  get serverTimeKnown(): boolean {
    return this.pipeline.serverTimeKnown;
  }

  // ---- auth ----

  /** Switches the organization context of the session (undefined leaves it). */
  async setOrganization(orgId: string | undefined, opts: CallOptions = {}): Promise<void> {
    if (orgId !== undefined) assertId('organization', orgId, 'Organization id');
    this.userId = undefined;
    await this.auth.setOrganization(orgId, opts.signal);
  }

  /** OAuth: trades an authorization code for tokens (also passed to onTokens). */
  async exchangeAuthorizationCode(code: string, redirectUri?: string, opts: CallOptions = {}): Promise<OAuthTokens> {
    if (!(this.auth instanceof OAuthAuth)) throw new ValidationError('exchangeAuthorizationCode needs auth mode oauth');
    if (typeof code !== 'string' || code.length === 0) throw new ValidationError('The authorization code is empty');
    return this.auth.exchangeAuthorizationCode(code, redirectUri, opts.signal);
  }

  /** GET /user/session: the signed-in user (data.id is the user id). */
  async session(opts: CallOptions & { includeOrganizations?: boolean } = {}): Promise<SessionResource> {
    return this.getData<SessionResource>(PATHS.userSession, opts.includeOrganizations ? { [QUERY.include]: INCLUDE.session } : {}, opts);
  }

  /** Ends the session token (session mode); other modes only forget their credentials locally. */
  async logout(opts: CallOptions = {}): Promise<void> {
    if (this.auth instanceof SessionAuth) await this.auth.logout(opts.signal);
    else this.auth.dropCredentials();
  }

  /** Aborts what is in flight and closes the connection pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pipeline.close();
    this.limiter.close();
    await this.transport.close();
  }

  // ---- media ----

  /** GET /media/{id}; `include: ['iptc']` adds the IPTC block (the only include evidenced here). */
  async getMedia(id: string, opts: CallOptions & { include?: IncludeName | IncludeName[] } = {}): Promise<MediaResource> {
    assertId('media', id, 'Media id');
    return this.getData<MediaResource>(PATHS.mediaItem(id), includeParam(opts.include), opts);
  }

  async getIptc(id: string, opts: CallOptions = {}): Promise<IptcResource> {
    assertId('media', id, 'Media id');
    return this.getData<IptcResource>(PATHS.mediaIptc(id), {}, opts);
  }

  async getCustomMetadata(id: string, opts: CallOptions = {}): Promise<CustomMetadataResource> {
    assertId('media', id, 'Media id');
    return this.getData<CustomMetadataResource>(PATHS.mediaCustomMetadata(id), {}, opts);
  }

  /**
   * GET /media/{id}/metadata: the metadata embedded in the file (EXIF, XMP, IPTC…), as
   * `attributes.raw`, a JSON string the caller parses [prod].
   */
  async getEmbeddedMetadata(id: string, opts: CallOptions = {}): Promise<Resource<string, { raw?: unknown; [extra: string]: unknown }>> {
    assertId('media', id, 'Media id');
    return this.getData<Resource<string, { raw?: unknown; [extra: string]: unknown }>>(PATHS.mediaMetadata(id), {}, opts);
  }

  /**
   * GET /media/{id}/galleries?include=gallery: the galleries a medium sits in, each as a gallery resource
   * (id and name read from the item or from its `gallery` include, whichever carries them).
   */
  async getMediaGalleries(id: string, opts: ListOptions = {}): Promise<GalleryResource[]> {
    assertId('media', id, 'Media id');
    const out: GalleryResource[] = [];
    for await (const g of this.list<GalleryResource>(PATHS.mediaGalleries(id), { [QUERY.include]: INCLUDE.mediaGalleries }, opts)) {
      out.push(asGallery(g));
    }
    return out;
  }

  /**
   * PATCH /media/{id}/iptc with the given fields. The values are absolute, so the write is repeated after
   * a lost answer unless `idempotent: false`.
   */
  async updateIptc(id: string, fields: IptcUpdate, opts: CallOptions & { idempotent?: boolean } = {}): Promise<IptcResource> {
    assertId('media', id, 'Media id');
    const body = iptcBody(fields);
    return this.writeData<IptcResource>(PATHS.mediaIptc(id), body, opts);
  }

  async updateCustomMetadata(
    id: string,
    fields: CustomFieldUpdate[],
    opts: CallOptions & { idempotent?: boolean } = {},
  ): Promise<CustomMetadataResource> {
    assertId('media', id, 'Media id');
    if (!Array.isArray(fields) || fields.length === 0) throw new ValidationError('updateCustomMetadata needs a non-empty array of {field_id, value}');
    const body = fields.map((f, i) => {
      if (!f || typeof f !== 'object') throw new ValidationError(`Custom field #${i + 1} is not an object`);
      assertId('customField', f.field_id, `Custom field #${i + 1} field_id`);
      if (f.value !== null && typeof f.value !== 'string') throw new ValidationError(`Custom field ${f.field_id}: the value must be a string or null`);
      return { [CUSTOM_METADATA_PATCH.fieldId]: f.field_id, [CUSTOM_METADATA_PATCH.value]: f.value };
    });
    return this.writeData<CustomMetadataResource>(PATHS.mediaCustomMetadata(id), body, opts);
  }

  async getLink(id: string, opts: CallOptions & { imageSize?: string; imageMode?: 'fit' | 'fill' } = {}): Promise<LinkResource> {
    assertId('media', id, 'Media id');
    if (opts.imageSize !== undefined && !/^\d{1,5}x\d{1,5}$/.test(opts.imageSize)) {
      throw new ValidationError(`Image size ${JSON.stringify(opts.imageSize)} is not WIDTHxHEIGHT`);
    }
    if (opts.imageMode !== undefined && opts.imageMode !== 'fit' && opts.imageMode !== 'fill') {
      throw new ValidationError(`Image mode ${JSON.stringify(opts.imageMode)} is not fit or fill`);
    }
    return this.getData<LinkResource>(PATHS.mediaLink(id), { [QUERY.imageSize]: opts.imageSize, [QUERY.imageMode]: opts.imageMode }, opts);
  }

  /** Streams a file; see download.ts for truncation and backpressure. */
  download(id: string, opts: DownloadOptions = {}): Promise<DownloadStream> {
    return openDownload(this.pipeline, id, opts);
  }

  /**
   * GET /media with filters; needs at least one scope filter (terms, orgId, userId, galleries, collections).
   * Sorts: relevance, date, file_name, upload_time.
   */
  searchMedia(query: MediaQuery, opts: ListOptions = {}): AsyncGenerator<MediaResource, void, undefined> {
    return this.list<MediaResource>(PATHS.media, mediaQueryParams(query), opts);
  }

  /** Pages of a media search, for callers that want page boundaries and totals. */
  searchMediaPages(query: MediaQuery, opts: ListOptions = {}): AsyncGenerator<Page<MediaResource>, void, undefined> {
    return pages(this.fetcher<MediaResource>(PATHS.media, mediaQueryParams(query)), this.pagingOptions(opts));
  }

  /**
   * Media changed in [since, until) (whole seconds), oldest first by (modified_at, id), in time slices no
   * deeper than maxPages pages; correct whatever order the server answers in (see changes.ts). Read
   * `feed.position` (or each record's `position`) to resume later.
   */
  changes(opts: ChangesOptions): ChangeFeed {
    if (!opts || typeof opts !== 'object') throw new ValidationError('changes needs options with at least `since`');
    refuseInclude(opts, 'GET /media');
    const since = Math.floor(toEpochMs(opts.since, 'since') / 1000) * 1000;
    const until = Math.floor((opts.until === undefined ? this.clock.now() : toEpochMs(opts.until, 'until')) / 1000) * 1000;
    if (opts.scope) validateScope(opts.scope);
    const perPage = Math.min(1000, positive(opts.perPage, this.perPage, 'perPage'));
    let scopeParams: Promise<QueryParams> | undefined;
    const fetchWindow = async (q: { start: number; end: number; page: number; perPage: number }, signal: AbortSignal): Promise<FetchedPage<MediaResource>> => {
      scopeParams ??= this.scopeParams(opts.scope, signal);
      const sp = await scopeParams.catch((e: unknown) => {
        scopeParams = undefined;
        throw e;
      });
      return this.fetchPage<MediaResource>(
        PATHS.media,
        {
          ...sp,
          [QUERY.modifyStart]: formatApiDate(q.start, 'floor'),
          [QUERY.modifyEnd]: formatApiDate(q.end, 'ceil'),
          ...sortParams('media', CHANGES_SORT.sortBy, CHANGES_SORT.sortDirection),
        },
        q.page,
        q.perPage,
        signal,
      );
    };
    return new ChangeFeed(
      fetchWindow,
      {
        since,
        until,
        perPage,
        maxPages: positive(opts.maxPages, 20, 'maxPages'),
        minSliceMs: positive(opts.minSliceMs, 1000, 'minSliceMs'),
        signal: opts.signal,
      },
      this.events,
    );
  }

  // ---- library tree ----

  /** The top of the library. Sorts (containers): creation_time, modification_time, name, display_order. */
  library(opts: ListOptions & SortOptions = {}): AsyncGenerator<ContainerResource, void, undefined> {
    return this.list<ContainerResource>(PATHS.library, sortOf('containers', opts), opts);
  }

  /** Sorts: creation_time, modification_time, name, display_order. */
  collections(parent?: string, opts: ListOptions & SortOptions = {}): AsyncGenerator<CollectionResource, void, undefined> {
    if (parent !== undefined) assertId('collection', parent, 'Parent collection id');
    return this.list<CollectionResource>(PATHS.collections, { [QUERY.parent]: parent, ...sortOf('containers', opts) }, opts);
  }

  async collection(id: string, opts: CallOptions = {}): Promise<CollectionResource> {
    assertId('collection', id, 'Collection id');
    return this.getData<CollectionResource>(PATHS.collection(id), {}, opts);
  }

  /** Collections and galleries in a collection. Sorts (containers): creation_time, modification_time, name, display_order. */
  collectionChildren(id: string, opts: ListOptions & SortOptions = {}): AsyncGenerator<ContainerResource, void, undefined> {
    assertId('collection', id, 'Collection id');
    return this.list<ContainerResource>(PATHS.collectionChildren(id), sortOf('containers', opts), opts);
  }

  /** Sorts: creation_time, modification_time, name, display_order. */
  galleries(parent?: string, opts: ListOptions & SortOptions = {}): AsyncGenerator<GalleryResource, void, undefined> {
    if (parent !== undefined) assertId('collection', parent, 'Parent collection id');
    return this.list<GalleryResource>(PATHS.galleries, { [QUERY.parent]: parent, ...sortOf('containers', opts) }, opts);
  }

  async gallery(id: string, opts: CallOptions = {}): Promise<GalleryResource> {
    assertId('gallery', id, 'Gallery id');
    return this.getData<GalleryResource>(PATHS.gallery(id), {}, opts);
  }

  /**
   * Media of a gallery, as listed (no include: parts are read per medium, see src/core/load.ts). Sorts:
   * creation_time, modification_time, added_at, file_name, date_taken, display_order.
   */
  galleryChildren(id: string, opts: ListOptions & SortOptions = {}): AsyncGenerator<MediaResource, void, undefined> {
    assertId('gallery', id, 'Gallery id');
    refuseInclude(opts, 'GET /galleries/{id}/children');
    return this.list<MediaResource>(PATHS.galleryChildren(id), sortOf('galleryChildren', opts), opts);
  }

  /** The same listing as `galleryChildren`, a page at a time (for a consumer that works through whole pages). */
  galleryChildPages(id: string, opts: ListOptions & SortOptions = {}): AsyncGenerator<Page<MediaResource>, void, undefined> {
    assertId('gallery', id, 'Gallery id');
    refuseInclude(opts, 'GET /galleries/{id}/children');
    return pages(this.fetcher<MediaResource>(PATHS.galleryChildren(id), sortOf('galleryChildren', opts)), this.pagingOptions(opts));
  }

  /** From the root-most collection down to the item itself. */
  async path(kind: ContainerType, id: string, opts: CallOptions = {}): Promise<PathElement[]> {
    assertId(kind, id, `${kind === 'gallery' ? 'Gallery' : 'Collection'} id`);
    const data = await this.getData<PathElement[] | PathElement>(PATHS.containerPath(KIND[kind], id), {}, opts);
    return Array.isArray(data) ? data : data ? [data] : [];
  }

  /**
   * GET /{collections|galleries}/{id}/child-count: the counts from `meta.children_count` [prod] and from
   * `data.attributes` (either may carry them), with `total` worked out from the parts when it is missing.
   */
  async childCount(kind: ContainerType, id: string, opts: CallOptions = {}): Promise<ChildCounts> {
    assertId(kind, id, `${kind === 'gallery' ? 'Gallery' : 'Collection'} id`);
    const res = await this.pipeline.json<Envelope<unknown>>({ method: 'GET', path: PATHS.containerChildCount(KIND[kind], id), signal: opts.signal });
    return readChildCounts(res.body);
  }

  // ---- plumbing ----

  private async scopeParams(scope: ChangeScope | undefined, signal: AbortSignal): Promise<QueryParams> {
    if (scope) {
      switch (scope.kind) {
        case 'org':
          return { [QUERY.orgId]: scope.id };
        case 'owner':
          return { [QUERY.userId]: scope.id };
        case 'gallery':
          return { ...(await this.accountScope(signal)), [QUERY.galleries]: scope.id };
        case 'collection':
          return { ...(await this.accountScope(signal)), [QUERY.collections]: scope.id };
      }
    }
    return this.accountScope(signal);
  }

  /**
   * The organization, else the signed-in user: the draft requires one of its listed filters (org_id,
   * user_id, terms, …) for a search to run, and galleries/collections are not among them.
   */
  private async accountScope(signal: AbortSignal): Promise<QueryParams> {
    const org = this.auth.organizationId;
    if (org) return { [QUERY.orgId]: org };
    this.userId ??= this.session({ signal }).then((s) => {
      if (typeof s?.id !== 'string') throw new ValidationError('GET /user/session answered without a user id');
      return s.id;
    });
    const user = await this.userId.catch((e: unknown) => {
      this.userId = undefined;
      throw e;
    });
    return { [QUERY.userId]: user };
  }

  private async getData<T>(path: string, query: QueryParams, opts: CallOptions): Promise<T> {
    const res = await this.pipeline.json<Envelope<T>>({ method: 'GET', path, query, signal: opts.signal });
    return unwrap<T>(res.body);
  }

  private async writeData<T>(path: string, body: unknown, opts: CallOptions & { idempotent?: boolean }): Promise<T> {
    const res = await this.pipeline.json<Envelope<T>>({ method: 'PATCH', path, json: body, idempotent: opts.idempotent ?? true, signal: opts.signal });
    return unwrap<T>(res.body);
  }

  private async fetchPage<T>(path: string, query: QueryParams, page: number, perPage: number, signal: AbortSignal): Promise<FetchedPage<T>> {
    const res = await this.pipeline.json<Envelope<T[] | T>>({
      method: 'GET',
      path,
      query: { ...query, [QUERY.page]: page, [QUERY.perPage]: perPage },
      signal,
    });
    const body = res.body;
    const data = body && typeof body === 'object' ? (body as Envelope<T[] | T>).data : undefined;
    const list = Array.isArray(data) ? data : data === undefined || data === null ? [] : [data];
    return { items: list, paging: readPaging(body) };
  }

  private fetcher<T>(path: string, query: QueryParams) {
    return (page: number, perPage: number, signal: AbortSignal): Promise<FetchedPage<T>> => this.fetchPage<T>(path, query, page, perPage, signal);
  }

  private pagingOptions(opts: ListOptions) {
    return { perPage: opts.perPage ?? this.perPage, startPage: opts.startPage, maxPages: opts.maxPages, signal: opts.signal, prefetch: opts.prefetch };
  }

  private list<T>(path: string, query: QueryParams, opts: ListOptions): AsyncGenerator<T, void, undefined> {
    return items(this.fetcher<T>(path, query), this.pagingOptions(opts));
  }
}

function unwrap<T>(body: unknown): T {
  if (body && typeof body === 'object' && 'data' in body) return (body as { data: T }).data;
  return body as T;
}

function readPaging(body: unknown): PagingMeta | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const meta = (body as { meta?: unknown }).meta;
  if (!meta || typeof meta !== 'object') return undefined;
  const p = (meta as { paging?: unknown }).paging;
  if (!p || typeof p !== 'object') return undefined;
  const raw = p as Record<string, unknown>;
  const num = (v: unknown): number | undefined => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    return Number.isFinite(n) ? n : undefined;
  };
  const out: PagingMeta = { total: num(raw.total), page: num(raw.page) };
  if ('next' in raw) out.next = typeof raw.next === 'string' && raw.next !== '' ? raw.next : null;
  else out.next = undefined;
  return out;
}

function includeParam(includeIn?: IncludeName | IncludeName[]): QueryParams {
  const include = typeof includeIn === 'string' ? (includeIn.split(',').map((s) => s.trim()).filter(Boolean) as IncludeName[]) : includeIn;
  if (!include || include.length === 0) return {};
  for (const name of include) {
    if (!(INCLUDES as readonly string[]).includes(name)) {
      throw new ValidationError(
        `The include ${JSON.stringify(name)} is not known to work on GET /media/{id} (only ${INCLUDES.join(', ')}): read custom metadata and galleries with getCustomMetadata and getMediaGalleries`,
      );
    }
  }
  return { [QUERY.include]: [...new Set(include)].join(',') };
}

/** Listings take no include: nothing evidences one there, and a silently ignored one would lose data. */
function refuseInclude(opts: object, call: string): void {
  if ((opts as { include?: unknown }).include !== undefined) {
    throw new ValidationError(`${call} takes no include: read the parts of each medium with getIptc, getCustomMetadata and getMediaGalleries (src/core/load.ts does)`);
  }
}

function sortOf(endpoint: SortEndpoint, o: SortOptions): QueryParams {
  return o.sortBy ? sortParams(endpoint, o.sortBy, o.sortDirection ?? 'ascending') : {};
}

/** A gallery of GET /media/{id}/galleries: the item itself, or what its `gallery` include says. */
function asGallery(item: GalleryResource): GalleryResource {
  const inc = item?.includes?.gallery?.data as { id?: unknown; attributes?: Record<string, unknown> } | undefined;
  const id = typeof inc?.id === 'string' && inc.id ? inc.id : item.id;
  const name = item?.attributes?.name ?? inc?.attributes?.name;
  return { ...item, id, type: 'gallery', attributes: { ...(inc?.attributes ?? {}), ...(item.attributes ?? {}), ...(name !== undefined ? { name } : {}) } as GalleryResource['attributes'] };
}

function readChildCounts(body: unknown): ChildCounts {
  const out: ChildCounts = {};
  const take = (src: unknown): void => {
    if (!src || typeof src !== 'object') return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isFinite(n) && !(k in out)) out[k] = n;
    }
  };
  const b = body && typeof body === 'object' ? (body as { data?: unknown; meta?: Record<string, unknown> }) : {};
  take(b.meta?.children_count);
  const data = Array.isArray(b.data) ? undefined : (b.data as { attributes?: unknown } | undefined);
  take(data?.attributes);
  if (out.total === undefined) {
    const parts = ['images', 'videos', 'audio', 'documents', 'collections', 'galleries'].map((k) => out[k]).filter((n): n is number => n !== undefined);
    if (parts.length) out.total = parts.reduce((a, n) => a + n, 0);
  }
  return out;
}

function iptcBody(fields: IptcUpdate): Record<string, string | null> {
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) throw new ValidationError('updateIptc needs an object of IPTC fields');
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (!/^[a-z][a-z0-9_]*$/.test(k)) throw new ValidationError(`${JSON.stringify(k)} is not an IPTC field name`);
    if (k === 'keywords' && Array.isArray(v)) {
      const words = v.map((w) => {
        if (typeof w !== 'string') throw new ValidationError('IPTC keywords must be strings');
        return w.trim();
      });
      out[k] = words.filter((w) => w.length > 0).join(KEYWORD_SEPARATOR);
    } else if (v === null || typeof v === 'string') {
      out[k] = v;
    } else {
      throw new ValidationError(`IPTC field ${k} must be a string or null`);
    }
  }
  if (Object.keys(out).length === 0) throw new ValidationError('updateIptc was given no fields to write');
  return out;
}

function mediaQueryParams(q: MediaQuery): QueryParams {
  if (!q || typeof q !== 'object') throw new ValidationError('searchMedia needs a query object');
  refuseInclude(q, 'GET /media');
  const list = (v: string | string[] | undefined, kind: 'gallery' | 'collection'): string | undefined => {
    if (v === undefined) return undefined;
    const ids = Array.isArray(v) ? v : [v];
    for (const id of ids) assertId(kind, id, `${kind === 'gallery' ? 'Gallery' : 'Collection'} id`);
    return ids.join(',');
  };
  if (q.orgId !== undefined) assertId('organization', q.orgId, 'Organization id');
  if (q.userId !== undefined && q.ownerId !== undefined && q.userId !== q.ownerId) throw new ValidationError('searchMedia was given two different users (userId and ownerId)');
  const userId = q.userId ?? q.ownerId;
  if (userId !== undefined) assertId('user', userId, 'User id');
  // dates go out in whole seconds, rounded outwards so that the answer covers the range asked for
  const date = (v: TimeInput | undefined, what: string, round: 'floor' | 'ceil'): string | undefined =>
    v === undefined ? undefined : formatApiDate(toEpochMs(v, what), round);
  const params: QueryParams = {
    ...(q.params ?? {}),
    [QUERY.terms]: q.terms,
    [QUERY.orgId]: q.orgId,
    [QUERY.userId]: userId,
    [QUERY.galleries]: list(q.galleries, 'gallery'),
    [QUERY.collections]: list(q.collections, 'collection'),
    [QUERY.modifyStart]: date(q.modifiedSince, 'modifiedSince', 'floor'),
    [QUERY.modifyEnd]: date(q.modifiedBefore, 'modifiedBefore', 'ceil'),
    [QUERY.createStart]: date(q.createdSince, 'createdSince', 'floor'),
    [QUERY.createEnd]: date(q.createdBefore, 'createdBefore', 'ceil'),
    ...sortOf('media', q),
  };
  const scoped = [QUERY.terms, QUERY.orgId, QUERY.userId, QUERY.galleries, QUERY.collections].some((k) => params[k] !== undefined && params[k] !== '');
  if (!scoped) throw new ValidationError('searchMedia needs at least one of terms, orgId, userId, galleries or collections');
  return params;
}

function validateScope(scope: ChangeScope): void {
  const kinds = { org: 'organization', owner: 'user', gallery: 'gallery', collection: 'collection' } as const;
  const idKind = kinds[scope?.kind];
  if (!idKind) throw new ValidationError('The change scope must be one of org, owner, gallery, collection');
  assertId(idKind, scope.id, `Scope ${scope.kind} id`);
}

function validateAuth(auth: AuthOptions): void {
  if (!auth || typeof auth !== 'object') throw new ValidationError('auth is missing: use mode session, oauth or bearer');
  const need = (v: unknown, what: string): void => {
    if (typeof v !== 'string' || v.length === 0) throw new ValidationError(`auth.${what} is missing`);
  };
  switch (auth.mode) {
    case 'session':
      need(auth.email, 'email');
      need(auth.password, 'password');
      break;
    case 'oauth':
      need(auth.clientId, 'clientId');
      need(auth.clientSecret, 'clientSecret');
      break;
    case 'bearer':
      need(auth.token, 'token');
      break;
    default:
      throw new ValidationError(`Unknown auth mode ${JSON.stringify((auth as { mode?: unknown }).mode)}: use session, oauth or bearer`);
  }
  if ('orgId' in auth && auth.orgId !== undefined) assertId('organization', auth.orgId, 'auth.orgId');
}

function positive(v: number | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValidationError(`${what} must be a positive number`);
  return v;
}


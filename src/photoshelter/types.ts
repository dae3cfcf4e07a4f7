/** Raw API resources as PhotoShelter sends them (the asset model in src/core normalizes them). */

export interface Links {
  self?: string;
  [name: string]: string | undefined;
}

export interface Resource<TType extends string = string, TAttrs = Record<string, unknown>> {
  id: string;
  type: TType;
  attributes: TAttrs;
  links?: Links;
  includes?: Record<string, { data: unknown } | undefined>;
  [extra: string]: unknown;
}

export interface RateLimitMeta {
  limit?: number;
  current?: number;
  expires?: number | string;
}

export interface PagingMetaRaw {
  total?: number | string;
  page?: number | string;
  first?: string | null;
  last?: string | null;
  next?: string | null;
  prev?: string | null;
}

export interface Meta {
  status?: string;
  rate_limit?: RateLimitMeta;
  paging?: PagingMetaRaw;
  [extra: string]: unknown;
}

export interface Envelope<TData> {
  data: TData;
  meta?: Meta;
}

export type MediaType = 'image' | 'video' | 'audio' | 'document';

export interface MediaAttributes {
  file_name?: string;
  file_size?: number;
  width?: number;
  height?: number;
  rating?: number;
  model_released?: boolean;
  property_released?: boolean;
  flagged?: boolean;
  searchable?: boolean;
  created_at?: string | number;
  modified_at?: string | number;
  owner_id?: string;
  organization_id?: string | null;
  photographer_id?: string | null;
  [extra: string]: unknown;
}

export type MediaResource = Resource<MediaType, MediaAttributes>;

/** IPTC fields; `keywords` is a comma-separated string, or an array on some answers. */
export interface IptcAttributes {
  title?: string | null;
  headline?: string | null;
  caption?: string | null;
  caption_writer?: string | null;
  keywords?: string | string[] | null;
  category?: string | null;
  author?: string | null;
  position?: string | null;
  credit?: string | null;
  source?: string | null;
  copyright?: string | null;
  rights?: string | null;
  web_statement?: string | null;
  instructions?: string | null;
  edit_status?: string | null;
  city?: string | null;
  state?: string | null;
  country?: string | null;
  country_iso?: string | null;
  [field: string]: unknown;
}

export type IptcResource = Resource<'iptc', IptcAttributes>;

/** Fields accepted by updateIptc; keywords may be given as an array (sent as a comma-separated string). */
export type IptcUpdate = { [K in keyof IptcAttributes]?: K extends 'keywords' ? string | string[] | null : IptcAttributes[K] };

export interface CustomField {
  field_id: string;
  name?: string;
  type?: 'text' | 'date' | 'select' | string;
  value: string | null;
  [extra: string]: unknown;
}

export type CustomMetadataResource = Resource<'custom_metadata', { custom_metadata: CustomField[] }>;

export interface CustomFieldUpdate {
  field_id: string;
  value: string | null;
}

export interface GalleryAttributes {
  name?: string;
  description?: string | null;
  created_at?: string | number;
  modified_at?: string | number;
  [extra: string]: unknown;
}

export type GalleryResource = Resource<'gallery', GalleryAttributes>;

export interface CollectionAttributes {
  name?: string;
  description?: string | null;
  created_at?: string | number;
  modified_at?: string | number;
  [extra: string]: unknown;
}

export type CollectionResource = Resource<'collection', CollectionAttributes>;

/** An entry of a container listing (library, collection children). */
export type ContainerResource = GalleryResource | CollectionResource;

export type PathElement = Resource<'collection' | 'gallery', { name?: string; [extra: string]: unknown }>;

export type LinkResource = Resource<string, { link: string; [extra: string]: unknown }>;

export interface SessionAttributes {
  email?: string;
  first_name?: string;
  last_name?: string;
  [extra: string]: unknown;
}

export type SessionResource = Resource<string, SessionAttributes>;

/** Counts of a container: images, videos, audio, documents (galleries) or collections, galleries (collections), and total. */
export interface ChildCounts {
  total?: number;
  [kind: string]: number | undefined;
}

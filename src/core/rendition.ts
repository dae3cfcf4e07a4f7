/**
 * Which file of an asset a node downloads: the original, or a JPEG rendition at the original size, a long
 * side in pixels (PhotoShelter's production form) or WIDTHxHEIGHT (its draft's). The fetch and deliver
 * nodes store it as `rendition`, `size` and `sizeType`.
 */
import type { DownloadFileType } from '../photoshelter';
import { InputError } from './errors';

/** The file type and size of a download, as the fetch and deliver nodes store them. */
export interface RenditionConfig {
  /** `original` or `jpeg`. */
  rendition?: unknown;
  /** For jpeg: `original` (or empty), one number, the long side (`1200`), or `WIDTHxHEIGHT`. */
  size?: unknown;
  /** The editor's choice of size form (`original`, `long`, `box`); `original` makes `size` irrelevant. */
  sizeType?: unknown;
}

export interface Rendition {
  fileType: DownloadFileType;
  /** For JPEG renditions: `original`, the long side (`1200`) or `WIDTHxHEIGHT`; sent as download_quality. */
  quality?: string;
}

const SIZE = /^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$/;
const LONG_SIDE = /^\s*(\d{1,5})\s*(?:px)?\s*$/i;

/** The rendition a node asks for. Throws an InputError (`badRendition`, `badSize`) naming the problem. */
export function renditionSettings(config: RenditionConfig): Rendition {
  const rendition = config.rendition === undefined || config.rendition === '' ? 'original' : config.rendition;
  if (rendition !== 'original' && rendition !== 'jpeg') throw new InputError('badRendition', { value: String(rendition).slice(0, 20) });
  if (rendition === 'original') return { fileType: 'original' };
  const text = config.size === undefined || config.size === null || config.sizeType === 'original' ? '' : String(config.size).trim();
  if (text === '' || text.toLowerCase() === 'original') return { fileType: 'jpeg', quality: 'original' };
  const box = SIZE.exec(text);
  if (box && Number(box[1]) > 0 && Number(box[2]) > 0) return { fileType: 'jpeg', quality: `${Number(box[1])}x${Number(box[2])}` };
  const long = LONG_SIDE.exec(text);
  if (long && Number(long[1]) > 0) return { fileType: 'jpeg', quality: String(Number(long[1])) };
  throw new InputError('badSize', { value: text.slice(0, 20) });
}

/** The image_size of a link for a rendition (links take WIDTHxHEIGHT only): a long side is a square box. */
export function linkSize(r: Rendition): string | undefined {
  if (r.fileType !== 'jpeg' || !r.quality || r.quality === 'original') return undefined;
  return /^\d+$/.test(r.quality) ? `${r.quality}x${r.quality}` : r.quality;
}

/** `original`, `jpeg`, `jpeg 1200` or `jpeg 1920x1080`: the rendition as the status and the label show it. */
export function renditionText(s: Rendition): string {
  return s.quality && s.quality !== 'original' ? `${s.fileType} ${s.quality}` : s.fileType;
}

/** What is known of a download before it is opened. */
export interface ExpectedFile {
  fileName?: string;
  contentType: string;
  /** The original's size, as the asset says it; a rendition's is known only once it is downloaded. */
  contentLength?: number;
}

/**
 * What a download of `r` will be, from the asset alone: the original keeps its name and size, and its
 * type is not known (the API answers originals as `application/octet-stream`); a JPEG rendition is a JPEG
 * named after the original with `.jpg` [ours: the API reference does not say how renditions are named;
 * the download's own name is on the stream once it is open].
 */
export function expectedFile(asset: { fileName?: unknown; fileSize?: unknown }, r: Rendition): ExpectedFile {
  const name = typeof asset.fileName === 'string' && asset.fileName ? asset.fileName : undefined;
  if (r.fileType === 'original') {
    const size = typeof asset.fileSize === 'number' && Number.isFinite(asset.fileSize) && asset.fileSize >= 0 ? asset.fileSize : undefined;
    return { fileName: name, contentType: 'application/octet-stream', contentLength: size };
  }
  const [ext, type] = r.fileType === 'jpeg' ? ['.jpg', 'image/jpeg'] : ['.mp4', 'video/mp4'];
  return { fileName: name ? name.replace(/\.[^./\\]*$/, '') + ext : undefined, contentType: type };
}

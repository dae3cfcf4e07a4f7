// Generated file bytes, stable per (media id, file version).
//
// Image originals are valid JPEGs of exactly `file_size` bytes: SOI + APP0, an APP1 XMP packet naming the file
// version (see filemeta.ts), then APP15 filler segments of deterministic bytes, then a small encoded picture
// (DQT … EOI). The filler repeats with a 1 MiB period, so
// any size streams from one precomputed block with no copying. Other media are a format magic followed by
// the same filler.
import { encodeJpeg, patternFor } from './jpeg';
import { hash32 } from './prng';
import { xmpSegment } from './filemeta';
import type { ByteSource } from './http';
import type { MediaRec } from './model';

const BLOCK = 1 << 20;
const SEG = 65536;
const JFIF_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);

class Lru<V> {
  private map = new Map<string, V>();
  constructor(private max: number) {}
  get(key: string, make: () => V): V {
    let v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
    } else {
      v = make();
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    }
    this.map.set(key, v);
    return v;
  }
}

const blocks = new Lru<Buffer>(8);
const pictures = new Lru<Buffer>(64);

/** 1 MiB of xorshift bytes laid out as sixteen 64 KiB APP15 segments. */
function fillerBlock(seed: number, id: string, version: number, tag: string): Buffer {
  return blocks.get(`${seed}/${id}/${version}/${tag}`, () => {
    const buf = Buffer.allocUnsafe(BLOCK);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, BLOCK / 4);
    let x = hash32(seed, id, version, tag) || 1;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    for (let off = 0; off < BLOCK; off += SEG) {
      buf[off] = 0xff;
      buf[off + 1] = 0xef;
      buf[off + 2] = (SEG - 2) >> 8;
      buf[off + 3] = (SEG - 2) & 0xff;
    }
    return buf;
  });
}

function appSegment(block: Buffer, total: number): Buffer {
  const seg = Buffer.from(block.subarray(0, total));
  seg[0] = 0xff;
  seg[1] = 0xef;
  seg[2] = (total - 2) >> 8;
  seg[3] = (total - 2) & 0xff;
  return seg;
}

/** Regions laid end to end; the `repeat` region is `length` bytes of the block, repeated. */
type Region = { kind: 'buf'; buf: Buffer } | { kind: 'repeat'; block: Buffer; length: number };

function regionSource(regions: Region[]): ByteSource {
  const starts: number[] = [];
  let total = 0;
  for (const r of regions) {
    starts.push(total);
    total += r.kind === 'buf' ? r.buf.length : r.length;
  }
  return {
    length: total,
    read(offset, max) {
      for (let i = regions.length - 1; i >= 0; i--) {
        if (offset < starts[i]) continue;
        const r = regions[i];
        const rel = offset - starts[i];
        if (r.kind === 'buf') {
          if (rel >= r.buf.length) return Buffer.alloc(0);
          return r.buf.subarray(rel, rel + max);
        }
        if (rel >= r.length) return Buffer.alloc(0);
        const q = rel % BLOCK;
        return r.block.subarray(q, q + Math.min(max, BLOCK - q, r.length - rel));
      }
      return Buffer.alloc(0);
    },
  };
}

function pictureSize(m: MediaRec, maxSide: number): [number, number] {
  const w = m.width || 1600;
  const h = m.height || 1200;
  const s = Math.min(1, maxSide / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

function picture(seed: number, m: MediaRec, w: number, h: number, bodyOnly: boolean): Buffer {
  return pictures.get(`${seed}/${m.id}/${m.version}/${w}x${h}/${bodyOnly}`, () =>
    encodeJpeg(w, h, patternFor(hash32(seed, m.id, m.version), w, h), { bodyOnly, quality: 80 }));
}

const MAGIC: Record<string, Buffer> = {
  video: Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32, 0, 0, 0, 0, 0x69, 0x73, 0x6f, 0x6d, 0x6d, 0x70, 0x34, 0x32]),
  audio: Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'),
  document: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'),
};

function fillerSource(prefix: Buffer, block: Buffer, size: number): ByteSource {
  const head = prefix.subarray(0, Math.min(prefix.length, size));
  return regionSource([{ kind: 'buf', buf: head }, { kind: 'repeat', block, length: size - head.length }]);
}

export function originalSource(seed: number, m: MediaRec): ByteSource {
  const size = m.fileSize;
  const block = fillerBlock(seed, m.id, m.version, 'original');
  if (m.kind !== 'image') return fillerSource(MAGIC[m.kind], block, size);
  // SOI + APP0, then the version's XMP packet (APP1), then filler, then the small picture.
  const xmp = xmpSegment(seed, m);
  let head = Buffer.concat([JFIF_HEAD, xmp]);
  let body = picture(seed, m, ...pictureSize(m, 160), true);
  if (head.length + body.length > size) body = picture(seed, m, ...pictureSize(m, 16), true);
  if (head.length + body.length > size) {
    if (head.length > size) head = JFIF_HEAD;
    return fillerSource(head, block, size);
  }
  const filler = size - head.length - body.length;
  // Filler = optional short segment(s) + whole 64 KiB segments; fewer than 4 spare bytes go after EOI.
  let full = Math.floor(filler / SEG);
  let rest = filler - full * SEG;
  const regions: Region[] = [{ kind: 'buf', buf: head }];
  let trailing = 0;
  if (rest > 0 && rest < 4) {
    if (full > 0) {
      full--;
      rest += SEG;
      regions.push({ kind: 'buf', buf: appSegment(block, SEG / 2) });
      rest -= SEG / 2;
    } else {
      trailing = rest;
      rest = 0;
    }
  }
  if (rest > 0) regions.push({ kind: 'buf', buf: appSegment(block, rest) });
  if (full > 0) regions.push({ kind: 'repeat', block, length: full * SEG });
  regions.push({ kind: 'buf', buf: body });
  if (trailing > 0) regions.push({ kind: 'buf', buf: Buffer.alloc(trailing) });
  return regionSource(regions);
}

export function mp4Source(seed: number, m: MediaRec): ByteSource {
  return fillerSource(MAGIC.video, fillerBlock(seed, m.id, m.version, 'mp4'), Math.max(64, Math.floor(m.fileSize / 2)));
}

/** Renditions are at most this many pixels on either side (encoding is synchronous). */
export const MAX_RENDITION_SIDE = 4096;

/** The rendition size for a box: `fit` keeps the aspect ratio inside the box; `fill` is the box. Never upscales. */
export function fitSize(m: MediaRec, boxW: number, boxH: number, mode: 'fit' | 'fill'): [number, number] {
  const w = m.width || 1600;
  const h = m.height || 1200;
  boxW = Math.min(boxW, MAX_RENDITION_SIDE);
  boxH = Math.min(boxH, MAX_RENDITION_SIDE);
  if (mode === 'fill') return [Math.min(boxW, w), Math.min(boxH, h)];
  const s = Math.min(1, boxW / w, boxH / h);
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

export function jpegRendition(seed: number, m: MediaRec, boxW: number, boxH: number, mode: 'fit' | 'fill'): Buffer {
  const [w, h] = fitSize(m, boxW, boxH, mode);
  return picture(seed, m, w, h, false);
}

/** `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/gu, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

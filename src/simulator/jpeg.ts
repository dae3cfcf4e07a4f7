// A minimal baseline JPEG encoder: YCbCr 4:4:4, standard (Annex K) quantization and Huffman tables.

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array<number>(32).fill(99),
];

const DC_LUMA_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];
const AC_CHROMA_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
  0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
  0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
  0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
  0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
  0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
  0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];

interface HuffTable {
  code: Uint16Array;
  size: Uint8Array;
}

/** Canonical codes from the BITS/HUFFVAL lists (ITU T.81 Annex C). */
function buildHuffman(bits: readonly number[], values: readonly number[]): HuffTable {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) {
      code[values[k]] = c;
      size[values[k]] = len;
      c++;
      k++;
    }
    c <<= 1;
  }
  return { code, size };
}

const DC_LUMA = buildHuffman(DC_LUMA_BITS, DC_VALUES);
const DC_CHROMA = buildHuffman(DC_CHROMA_BITS, DC_VALUES);
const AC_LUMA = buildHuffman(AC_LUMA_BITS, AC_LUMA_VALUES);
const AC_CHROMA = buildHuffman(AC_CHROMA_BITS, AC_CHROMA_VALUES);

function scaledQuant(base: readonly number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, quality));
  const scale = q < 50 ? 5000 / q : 200 - q * 2;
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++) out[i] = Math.min(255, Math.max(1, Math.floor((base[i] * scale + 50) / 100)));
  return out;
}

class BitWriter {
  private buf: Buffer;
  private pos = 0;
  private acc = 0;
  private n = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private byte(b: number): void {
    if (this.pos + 2 > this.buf.length) {
      const next = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.buf[this.pos++] = b;
    if (b === 0xff) this.buf[this.pos++] = 0; // byte stuffing
  }

  bits(value: number, count: number): void {
    // At most 7 pending bits plus 16 new ones: fits in 32 bits.
    this.acc = (this.acc << count) | (value & ((1 << count) - 1));
    this.n += count;
    while (this.n >= 8) {
      this.n -= 8;
      this.byte((this.acc >>> this.n) & 0xff);
    }
    this.acc &= (1 << this.n) - 1;
  }

  /** Pads the last byte with 1-bits and returns the entropy-coded segment. */
  finish(): Buffer {
    if (this.n > 0) this.bits((1 << (8 - this.n)) - 1, 8 - this.n);
    return this.buf.subarray(0, this.pos);
  }
}

function category(v: number): number {
  let a = v < 0 ? -v : v;
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

const COEF = new Int32Array(64);
const AAN = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.5411961, 0.275899379];

/** Reciprocal divisors that fold the AAN output scaling into quantization (as libjpeg's float DCT). */
function aanDivisors(q: Uint8Array): Float64Array {
  const out = new Float64Array(64);
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) out[r * 8 + c] = 1 / (q[r * 8 + c] * AAN[r] * AAN[c] * 8);
  return out;
}

/** In-place 8-point AAN forward DCT over `d` at `o`, stride `s` (libjpeg jfdctflt). */
function fdct8(d: Float64Array, o: number, s: number): void {
  const d0 = d[o], d1 = d[o + s], d2 = d[o + 2 * s], d3 = d[o + 3 * s];
  const d4 = d[o + 4 * s], d5 = d[o + 5 * s], d6 = d[o + 6 * s], d7 = d[o + 7 * s];
  const t0 = d0 + d7, t7 = d0 - d7, t1 = d1 + d6, t6 = d1 - d6;
  const t2 = d2 + d5, t5 = d2 - d5, t3 = d3 + d4, t4 = d3 - d4;
  const e10 = t0 + t3, e13 = t0 - t3, e11 = t1 + t2, e12 = t1 - t2;
  d[o] = e10 + e11;
  d[o + 4 * s] = e10 - e11;
  const z1 = (e12 + e13) * 0.707106781;
  d[o + 2 * s] = e13 + z1;
  d[o + 6 * s] = e13 - z1;
  const o10 = t4 + t5, o11 = t5 + t6, o12 = t6 + t7;
  const z5 = (o10 - o12) * 0.382683433;
  const z2 = 0.5411961 * o10 + z5;
  const z4 = 1.306562965 * o12 + z5;
  const z3 = o11 * 0.707106781;
  const z11 = t7 + z3, z13 = t7 - z3;
  d[o + 5 * s] = z13 + z2;
  d[o + 3 * s] = z13 - z2;
  d[o + s] = z11 + z4;
  d[o + 7 * s] = z11 - z4;
}

function encodeBlock(w: BitWriter, block: Float64Array, qinv: Float64Array, prevDc: number, dc: HuffTable, ac: HuffTable): number {
  for (let r = 0; r < 64; r += 8) fdct8(block, r, 1);
  for (let c = 0; c < 8; c++) fdct8(block, c, 8);
  for (let i = 0; i < 64; i++) COEF[i] = Math.round(block[i] * qinv[i]);
  const diff = COEF[0] - prevDc;
  const dcCat = category(diff);
  w.bits(dc.code[dcCat], dc.size[dcCat]);
  if (dcCat > 0) w.bits(diff < 0 ? diff - 1 + (1 << dcCat) : diff, dcCat);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = COEF[ZIGZAG[k]];
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      w.bits(ac.code[0xf0], ac.size[0xf0]);
      run -= 16;
    }
    const cat = category(v);
    const sym = (run << 4) | cat;
    w.bits(ac.code[sym], ac.size[sym]);
    w.bits(v < 0 ? v - 1 + (1 << cat) : v, cat);
    run = 0;
  }
  if (run > 0) w.bits(ac.code[0], ac.size[0]);
  return COEF[0];
}

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

/** `pixel(x, y)` returns 0xRRGGBB. */
export type PixelFn = (x: number, y: number) => number;

export interface JpegOptions {
  quality?: number;
  /** Leave out SOI and APP0 (for callers that write their own header). */
  bodyOnly?: boolean;
}

export function encodeJpeg(width: number, height: number, pixel: PixelFn, opts: JpegOptions = {}): Buffer {
  if (width < 1 || height < 1 || width > 65535 || height > 65535) throw new RangeError(`JPEG size ${width}x${height} out of range`);
  const lq = scaledQuant(LUMA_Q, opts.quality ?? 80);
  const cq = scaledQuant(CHROMA_Q, opts.quality ?? 80);
  // Quant tables indexed in natural order for division; written in zigzag order.
  const head: number[] = [];
  if (!opts.bodyOnly) {
    head.push(0xff, 0xd8);
    head.push(...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  }
  head.push(...segment(0xdb, [0, ...ZIGZAG.map((i) => lq[i]), 1, ...ZIGZAG.map((i) => cq[i])]));
  head.push(...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]));
  head.push(...segment(0xc4, [
    0x00, ...DC_LUMA_BITS, ...DC_VALUES, 0x10, ...AC_LUMA_BITS, ...AC_LUMA_VALUES,
    0x01, ...DC_CHROMA_BITS, ...DC_VALUES, 0x11, ...AC_CHROMA_BITS, ...AC_CHROMA_VALUES,
  ]));
  head.push(...segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]));

  const lqi = aanDivisors(lq);
  const cqi = aanDivisors(cq);
  const w = new BitWriter(Math.max(4096, Math.floor(width * height / 4)));
  const yb = new Float64Array(64);
  const cbb = new Float64Array(64);
  const crb = new Float64Array(64);
  let dcY = 0;
  let dcCb = 0;
  let dcCr = 0;
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let j = 0; j < 8; j++) {
        const y = Math.min(by + j, height - 1);
        for (let i = 0; i < 8; i++) {
          const rgb = pixel(Math.min(bx + i, width - 1), y);
          const r = (rgb >> 16) & 255;
          const g = (rgb >> 8) & 255;
          const b = rgb & 255;
          const k = j * 8 + i;
          yb[k] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
          cbb[k] = -0.168736 * r - 0.331264 * g + 0.5 * b;
          crb[k] = 0.5 * r - 0.418688 * g - 0.081312 * b;
        }
      }
      dcY = encodeBlock(w, yb, lqi, dcY, DC_LUMA, AC_LUMA);
      dcCb = encodeBlock(w, cbb, cqi, dcCb, DC_CHROMA, AC_CHROMA);
      dcCr = encodeBlock(w, crb, cqi, dcCr, DC_CHROMA, AC_CHROMA);
    }
  }
  return Buffer.concat([Buffer.from(head), w.finish(), Buffer.from([0xff, 0xd9])]);
}

/** A gradient with soft diagonal waves, tinted per seed: cheap to compute and to encode, distinct per image. */
export function patternFor(seed: number, width: number, height: number): PixelFn {
  const tint = 64 + (seed & 0x7f);
  const period = 48 + ((seed >>> 8) % 64);
  const sx = 255 / Math.max(1, width - 1);
  const sy = 255 / Math.max(1, height - 1);
  return (x, y) => {
    const phase = (x + y) % period;
    const tri = phase < period / 2 ? phase : period - phase;
    const b = tint + Math.floor((tri * 120) / period) - 30;
    return (Math.floor(x * sx) << 16) | (Math.floor(y * sy) << 8) | b;
  };
}

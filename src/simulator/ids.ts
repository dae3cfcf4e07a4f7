// PhotoShelter-shaped ids: a 5-char prefix plus 11 chars of [a-zA-Z0-9._], 16 in all.
import { hash32 } from './prng';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type IdPrefix = 'I0000' | 'VD000' | 'AD000' | 'DO000' | 'C0000' | 'G0000' | 'F0000' | 'U0000' | 'O0000' | 'A0000';

/** Unique per (prefix, index): 5 seeded chars, then the index in base 62 over 6 chars. */
export function makeId(prefix: IdPrefix, seed: number, index: number): string {
  let h = hash32(seed, prefix, index);
  let head = '';
  for (let i = 0; i < 5; i++) {
    head += ALPHABET[h & 63];
    h = (h >>> 6) | 0;
  }
  let tail = '';
  let n = index;
  for (let i = 0; i < 6; i++) {
    tail = BASE62[n % 62] + tail;
    n = Math.floor(n / 62);
  }
  return prefix + head + tail;
}

export const MEDIA_ID_RE = /^(I0|VD|AD|DO)000[a-zA-Z0-9._]{11}$/;
export const COLLECTION_ID_RE = /^C0000[a-zA-Z0-9._]{11}$/;
export const GALLERY_ID_RE = /^G0000[a-zA-Z0-9._]{11}$/;
export const ORG_ID_RE = /^O0000[a-zA-Z0-9._]{11}$/;
export const API_KEY_RE = /^[a-zA-Z0-9._]{11}$/;

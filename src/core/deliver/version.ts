/**
 * Is the file at a destination still the asset's current version? The version key (size, pixel size, name
 * and, for media that have one, the API's file hash) answers most cases for free. What it cannot see is a
 * file replaced by one of the same size, pixel size and name without a hash (a retouched TIFF, a
 * re-export). For that, a record keeps the asset's `modified_at` and the evidence from the file's embedded
 * metadata it was made with, and the deliverer looks further only when the asset was modified since:
 *
 * 1. the version keys differ → deliver (no request);
 * 2. the keys match and `modified_at` is the record's (or, for records made before it was kept, not later
 *    than the delivery) → skip (no request);
 * 3. modified since, and the node is set to deliver again on any modification → deliver;
 * 4. modified since, both keys carry the API's file hash (equal, or 1. had decided) → skip;
 * 5. modified since, the bytes are at hand (a buffer or a temporary file) and the record has their sha256
 *    → compare the sha256 (no request);
 * 6. modified since, an account is set → read the embedded metadata (`GET /media/{id}/metadata`, one
 *    request) and compare XMP `InstanceID` (else the file's `ModifyDate`) with the record's;
 * 7. nothing can tell (no evidence on one side) → skip, as before, and keep the evidence read now so that
 *    the next replacement is seen.
 *
 * After 4–7 the record gets the new `modified_at` (and evidence): the next message for the same asset is a
 * request-free skip again.
 *
 * A delivery records the evidence read before the file (6), or, when the bytes are a JPEG with an XMP
 * packet, the InstanceID of the bytes themselves, read as they pass.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileEvidence, LedgerRecord } from './ledger';

/** Reads the evidence for an asset's current file (embedded metadata); undefined: none to be had. */
export type EvidenceReader = (assetId: string, signal: AbortSignal) => Promise<FileEvidence | undefined>;

/** The tag name of an ExifTool-style key (`XMP-xmpMM:InstanceID` → `InstanceID`). */
function tagOf(key: string): string {
  const i = Math.max(key.lastIndexOf(':'), key.lastIndexOf('/'), key.lastIndexOf('.'));
  return i >= 0 ? key.slice(i + 1) : key;
}

/** Key/value pairs of a parsed metadata object; nested groups (`{"XMP": {"InstanceID": …}}`) become `XMP:InstanceID`. */
function flatten(value: unknown, prefix = '', depth = 0, out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (!value || typeof value !== 'object' || depth > 4) return out;
  if (Array.isArray(value)) {
    // ExifTool's JSON is an array with one object per file
    for (const item of value) if (item && typeof item === 'object' && !Array.isArray(item)) flatten(item, prefix, depth + 1, out);
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix ? `${prefix}:${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, depth + 1, out);
    else out.push([key, v]);
  }
  return out;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * The version evidence in a `GET /media/{id}/metadata` resource: `attributes.raw` is a JSON string
 * (or, read liberally, already an object) of ExifTool-style `Group:Tag` keys. A tag `InstanceID` of any
 * group (the `xmpMM` one preferred), else any tag ending in `InstanceID` but the history's; for the date, a tag `ModifyDate` of any group (XMP
 * preferred), else any tag ending in `ModifyDate`. Undefined when neither is there or `raw` is unreadable.
 */
export function evidenceFromEmbedded(resource: unknown): FileEvidence | undefined {
  const attrs = (resource as { attributes?: { raw?: unknown } } | null | undefined)?.attributes;
  let raw: unknown = attrs?.raw;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const pairs = flatten(raw);
  const pick = (test: (key: string, tag: string) => boolean, prefer: RegExp): string | undefined => {
    const found = pairs.filter(([k, v]) => test(k, tagOf(k)) && scalar(v) !== undefined);
    const best = found.find(([k]) => prefer.test(k)) ?? found[0];
    return best ? scalar(best[1]) : undefined;
  };
  const instance =
    pick((_k, tag) => /^InstanceID$/i.test(tag), /xmpMM/i) ??
    pick((_k, tag) => /InstanceID$/i.test(tag) && !/(History|DerivedFrom|Original)/i.test(tag), /xmpMM/i);
  const modify =
    pick((_k, tag) => /^ModifyDate$/i.test(tag), /^XMP/i) ??
    pick((_k, tag) => /ModifyDate$/i.test(tag) && !/(Access|InodeChange)/i.test(tag), /^XMP/i);
  if (!instance && !modify) return undefined;
  const out: FileEvidence = {};
  if (instance) out.instance = instance;
  if (modify) out.modify = modify;
  return out;
}

/** Whether two pieces of evidence name the same file version; `unknown` when they have nothing in common. */
export function compareEvidence(a: FileEvidence | undefined, b: FileEvidence | undefined): 'same' | 'changed' | 'unknown' {
  if (a?.instance && b?.instance) return a.instance === b.instance ? 'same' : 'changed';
  if (a?.modify && b?.modify) return a.modify === b.modify ? 'same' : 'changed';
  return 'unknown';
}

const epoch = (v: string | null | undefined): number => (v ? Date.parse(v) : NaN);

/**
 * Whether the asset was modified after the record was made: its `modified_at` differs from the one the
 * record kept; for a record without one (written before it was kept), its `modified_at` is later than the
 * record's time. False when the asset's `modified_at` is unknown.
 */
export function modifiedSince(modifiedAt: string | null | undefined, record: Pick<LedgerRecord, 'm' | 'at'>): boolean {
  if (!modifiedAt) return false;
  const now = epoch(modifiedAt);
  if (record.m) {
    const then = epoch(record.m);
    return Number.isFinite(now) && Number.isFinite(then) ? now !== then : modifiedAt !== record.m;
  }
  const at = epoch(record.at);
  return Number.isFinite(now) && Number.isFinite(at) ? now > at : true;
}

/** sha256 of a buffer or a file's bytes. */
export async function sha256Of(source: { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string }, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  if (source.kind === 'buffer') return hash.update(source.data).digest('hex');
  for await (const chunk of createReadStream(source.path, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Errors of an evidence read that mean "no evidence to be had" rather than "try again later": the API
 * has no such resource or refuses it for this medium, or its answer is not what was expected.
 */
export function isNoEvidence(e: unknown): boolean {
  const { code, status } = (e ?? {}) as { code?: string; status?: number };
  if (code === 'ENOTFOUND' || code === 'EPERM' || code === 'EVALIDATION' || code === 'EBADRESPONSE') return true;
  return code === 'EHTTP' && typeof status === 'number' && status >= 400 && status < 500 && status !== 429;
}

const XMP_NAMESPACE = 'http://ns.adobe.com/xap/1.0/\0';

/**
 * The XMP `InstanceID` of a JPEG, from its first bytes: the APP1 segment that carries the XMP packet, found
 * by walking the segments from the start of the file up to the image data. Undefined for other formats
 * (their packets can belong to embedded resources), when there is none, or when the head is too short.
 */
export function jpegXmpInstance(head: Buffer): string | undefined {
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= head.length) {
    if (head[i] !== 0xff) return undefined;
    const marker = head[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // start of scan or end of image: the metadata segments are behind
    if (marker === 0xda || marker === 0xd9) return undefined;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const length = head.readUInt16BE(i + 2);
    if (length < 2) return undefined;
    const start = i + 4;
    const end = i + 2 + length;
    if (marker === 0xe1 && end <= head.length && head.toString('latin1', start, start + XMP_NAMESPACE.length) === XMP_NAMESPACE) {
      const xml = head.toString('utf8', start + XMP_NAMESPACE.length, end);
      const m = /xmpMM:InstanceID\s*=\s*["']([^"']+)["']/.exec(xml) ?? /<xmpMM:InstanceID>\s*([^<]+?)\s*<\/xmpMM:InstanceID>/.exec(xml);
      return m?.[1].trim() || undefined;
    }
    i = end;
  }
  return undefined;
}

/**
 * Keeps the first bytes of a file as they pass (at most `limit`), to read the evidence the bytes carry
 * themselves: the InstanceID of a JPEG's XMP packet describes exactly the version that was sent.
 */
export class HeadSniffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = 256 * 1024) {}

  push(chunk: Buffer): void {
    if (this.size >= this.limit) return;
    const part = chunk.length > this.limit - this.size ? chunk.subarray(0, this.limit - this.size) : chunk;
    this.chunks.push(Buffer.from(part));
    this.size += part.length;
  }

  evidence(): FileEvidence | undefined {
    const instance = jpegXmpInstance(Buffer.concat(this.chunks));
    return instance ? { instance } : undefined;
  }
}

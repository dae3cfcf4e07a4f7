/**
 * AWS Signature Version 4 for request headers (the `Authorization` header form), as S3 and
 * S3-compatible stores expect it. Pure functions over strings and buffers; no I/O.
 *
 * S3 specifics: the canonical URI is the path exactly as sent (encoded once, `/` kept, no dot-segment
 * normalization), and the payload hash travels in `x-amz-content-sha256` (`UNSIGNED-PAYLOAD` for
 * streamed bodies, the real SHA-256 for small bodies such as XML).
 */
import { createHash, createHmac } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: sent (and signed) as `x-amz-security-token`. */
  sessionToken?: string;
}

export interface RequestToSign {
  method: string;
  /** The URI path exactly as it goes on the wire (already encoded, e.g. with `uriEncode(key, true)`). */
  path: string;
  /** Query parameters, unencoded; order does not matter. A valueless parameter (`?uploads`) has value ''. */
  query?: Record<string, string> | Array<[string, string]>;
  /** Headers to send and sign. Must include `host`. Names in any case. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  payloadHash: string;
}

export interface SignOptions {
  region: string;
  service: string;
  /** Signing time (defaults to now). */
  date?: Date;
  /** Add `x-amz-content-sha256` (S3 requires it). Defaults to true when service is `s3`. */
  contentSha256Header?: boolean;
}

export interface SignedRequest {
  /** The request's headers plus x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization; names lowercased. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * URI-encode per the SigV4 rules: every byte except the unreserved characters `A-Z a-z 0-9 - . _ ~`
 * becomes `%XX` (uppercase hex, UTF-8); `/` is kept when `keepSlash` (object keys in paths).
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch) || (keepSlash && ch === '/')) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

/** The canonical query string: names and values encoded, sorted by name then value, joined by `&`. */
export function canonicalQuery(query: RequestToSign['query']): string {
  if (!query) return '';
  const pairs = (Array.isArray(query) ? query : Object.entries(query)).map(
    ([k, v]) => [uriEncode(k), uriEncode(v)] as const,
  );
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** Lowercased names, sorted; the canonical header block and the `SignedHeaders` list. */
export function canonicalHeaders(headers: Record<string, string>): { block: string; signed: string } {
  const entries = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), canonicalHeaderValue(v)] as const);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    block: entries.map(([k, v]) => `${k}:${v}\n`).join(''),
    signed: entries.map(([k]) => k).join(';'),
  };
}

export function canonicalRequest(req: RequestToSign): { text: string; signedHeaders: string } {
  const { block, signed } = canonicalHeaders(req.headers);
  const text = [req.method.toUpperCase(), req.path || '/', canonicalQuery(req.query), block, signed, req.payloadHash].join('\n');
  return { text, signedHeaders: signed };
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20150830T123600Z` */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request") */
export function signingKey(secretAccessKey: string, dateStamp: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secretAccessKey, dateStamp);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function stringToSign(timestamp: string, scope: string, canonicalRequestText: string): string {
  return [ALGORITHM, timestamp, scope, sha256Hex(canonicalRequestText)].join('\n');
}

/**
 * Signs a request: returns the headers to send (lowercased names). The caller's headers are signed
 * as given, so pass only headers that will be sent unchanged (leave out content-length, connection…).
 */
export function signRequest(req: RequestToSign, creds: SigningCredentials, opts: SignOptions): SignedRequest {
  const timestamp = amzDate(opts.date ?? new Date());
  const dateStamp = timestamp.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  if (!headers.host) throw new Error('SigV4: the host header is required');
  headers['x-amz-date'] = timestamp;
  if (opts.contentSha256Header ?? opts.service === 's3') headers['x-amz-content-sha256'] = req.payloadHash;
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;

  const canonical = canonicalRequest({ ...req, headers });
  const scope = `${dateStamp}/${opts.region}/${opts.service}/aws4_request`;
  const toSign = stringToSign(timestamp, scope, canonical.text);
  const signature = createHmac('sha256', signingKey(creds.secretAccessKey, dateStamp, opts.region, opts.service))
    .update(toSign, 'utf8')
    .digest('hex');
  headers.authorization =
    `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, ` +
    `SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`;
  return {
    headers,
    canonicalRequest: canonical.text,
    stringToSign: toSign,
    signedHeaders: canonical.signedHeaders,
    signature,
  };
}

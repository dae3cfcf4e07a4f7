/**
 * The HTTP(S) destination: sends the file as the raw request body or as multipart/form-data (built on a
 * stream: fields, then the file part piped through, never buffered), with authentication and TLS options.
 * The location is the URL. Headers and form fields arrive rendered, in `PutRequest.metadata`:
 * `header:<Name>` and `field:<name>`; `file:name` is the file name of the multipart file part.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { RETRYABLE_NETWORK_CODES } from '../../../net';
import { scrubberOf, scrubDeep } from '../../../net/scrub';
import { DeliverError, type Destination, type LocationSource, type PutRequest, type PutResult } from '../types';

export type HttpAuth = 'none' | 'basic' | 'bearer' | 'header';

export interface HttpOptions {
  method?: string;
  body?: 'raw' | 'multipart';
  /** Name of the file part of a multipart body (default `file`). */
  fileField?: string;
  auth?: HttpAuth;
  user?: string;
  password?: string;
  token?: string;
  /** The header that carries `headerValue` for `auth: 'header'`. */
  headerName?: string;
  headerValue?: string;
  /** Default true: refuse servers whose certificate does not verify. */
  rejectUnauthorized?: boolean;
  /** Extra trusted CA certificates (PEM). */
  ca?: string;
  /** Per request: until headers, and between body chunks (default 60 s). */
  timeoutMs?: number;
  /** Largest response body kept (default 1 MiB); longer answers are cut. */
  maxResponseBytes?: number;
  /**
   * The destination's own origins (`https://host:port`, from its URL templates). A location given by a
   * message (`msg.location` of a remove) must be on one of them; none: such locations are refused.
   */
  origins?: string[];
  /** Further secrets (besides password, token and header value) that must never reach a message. */
  secrets?: string[];
}

export interface HttpResponseSummary {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}


const quote = (s: string): string => s.replace(/[\r\n]+/g, ' ').replace(/"/g, '%22');

/** A multipart/form-data body on a stream: the fields first, then the file part, streamed. */
export function multipartBody(
  boundary: string,
  fields: Array<[string, string]>,
  file: { field: string; name: string; contentType: string; body: Readable; size?: number },
): { stream: Readable; length?: number } {
  const head = Buffer.from(
    fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.name)}"\r\n` +
      `Content-Type: ${file.contentType.replace(/[\r\n]+/g, '')}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* parts(): AsyncGenerator<Buffer> {
    yield head;
    for await (const chunk of file.body) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    yield tail;
  }
  const stream = Readable.from(parts(), { objectMode: false });
  // an error of the file stream ends the generator with that error; a destroyed body stops the file
  stream.once('close', () => {
    if (!file.body.destroyed && !file.body.readableEnded) file.body.destroy();
  });
  return { stream, length: file.size === undefined ? undefined : head.length + file.size + tail.length };
}

/** The percent-encoding of RFC 8187 (`attr-char` kept, everything else as UTF-8 `%XX`). */
function extValue(v: string): string {
  return Array.from(Buffer.from(v, 'utf8'))
    .map((b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** The parameters of a header value such as `attachment; filename="a;b.jpg"`, quoted-string aware. */
function parameters(value: string): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    out.push({ name: m[1].toLowerCase(), value: m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim() });
  }
  return out;
}

/**
 * A Content-Disposition rebuilt from its parts: the file name always as a quoted-string, other parameters
 * as tokens or quoted-strings, and a file name beyond ASCII also as RFC 6266 `filename*=UTF-8''…` (which
 * recipients prefer); `filename` stays for those that read only it (e.g. WordPress).
 */
export function contentDisposition(value: string): string {
  const params = parameters(value);
  const name = params.find((p) => p.name === 'filename')?.value;
  if (name === undefined) return value;
  const cut = value.indexOf(';');
  const parts = [(cut < 0 ? value : value.slice(0, cut)).trim()];
  const given = params.some((p) => p.name === 'filename*');
  for (const p of params) {
    if (p.name === 'filename') parts.push(`filename="${p.value.replace(/[\\"]/g, '\\$&')}"`);
    else if (p.name.endsWith('*') || /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p.value)) parts.push(`${p.name}=${p.value}`);
    else parts.push(`${p.name}="${p.value.replace(/[\\"]/g, '\\$&')}"`);
  }
  if (!given && /[^\x20-\x7e]/.test(name)) parts.push(`filename*=UTF-8''${extValue(name)}`);
  return parts.join('; ');
}

/**
 * A header value as HTTP carries it: one line, and text beyond ASCII as its UTF-8 bytes (what servers
 * expect, e.g. for a file name in Content-Disposition; the HTTP client takes only one byte per character).
 */
export function headerValue(v: string): string {
  const line = v.replace(/[\r\n]+/g, ' ');
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(line) ? Buffer.from(line, 'utf8').toString('latin1') : line;
}

async function readResponse(body: Dispatcher.ResponseData['body'], contentType: string, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  let cut = false;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (total + b.length > max) {
      chunks.push(b.subarray(0, max - total));
      total = max;
      cut = true;
      body.destroy();
      break;
    }
    chunks.push(b);
    total += b.length;
  }
  const text = Buffer.concat(chunks, total).toString('utf8');
  if (!cut && /[/+]json\b/i.test(contentType) && text.trim() !== '') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function headersOf(h: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

/** The URL without its query and credentials, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.slice(0, 80);
  }
}

/**
 * A rendered URL template checked as a location: http or https, no credentials in it, and, when a message
 * gave it (`msg.location`), on one of the destination's own `origins` (a message could otherwise send the
 * destination's credentials anywhere).
 */
export function resolveUrl(rendered: string, source: LocationSource, origins: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(rendered.trim());
  } catch {
    throw new DeliverError('EBADPATH', `"${rendered.slice(0, 80)}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DeliverError('EBADPATH', `"${u.protocol}" URLs are not supported: use http or https`);
  if (u.username || u.password) throw new DeliverError('EBADPATH', 'Put credentials in the destination\'s authentication, not in the URL');
  if (source === 'message' && !origins.includes(u.origin)) {
    const own = origins.join(', ') || 'none (its URL starts with a template)';
    throw new DeliverError('EBADPATH', `msg.location ${shown(u.toString())} is not on the destination's own origin (${own}); nothing was sent`);
  }
  return u.toString();
}

export class HttpDestination implements Destination {
  readonly kind = 'http' as const;
  private readonly agent: Agent;
  /** Masks every secret of this destination in text bound for a message. */
  private readonly scrub: (text: string) => string;

  constructor(private readonly opts: HttpOptions = {}) {
    const timeout = opts.timeoutMs ?? 60_000;
    this.agent = new Agent({
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { rejectUnauthorized: opts.rejectUnauthorized !== false, ...(opts.ca ? { ca: opts.ca } : {}) },
    });
    const auth = opts.auth ?? 'none';
    if (auth === 'basic' && !opts.user) throw new DeliverError('ECONFIG', 'Basic authentication needs a user name');
    if (auth === 'bearer' && !opts.token) throw new DeliverError('ECONFIG', 'Bearer authentication needs a token');
    if (auth === 'header' && !opts.headerName) throw new DeliverError('ECONFIG', 'Header authentication needs a header name');
    const basic = opts.user !== undefined || opts.password !== undefined ? Buffer.from(`${opts.user ?? ''}:${opts.password ?? ''}`).toString('base64') : undefined;
    this.scrub = scrubberOf([opts.password, opts.token, opts.headerValue, basic, ...(opts.secrets ?? [])]);
  }

  /** An answer with every secret of this destination masked (a server may echo what it was sent). */
  private scrubbed(r: HttpResponseSummary): HttpResponseSummary {
    return { status: r.status, headers: scrubDeep(r.headers, this.scrub) as Record<string, string>, body: scrubDeep(r.body, this.scrub) };
  }

  resolve(rendered: string, source: LocationSource = 'template'): string {
    return resolveUrl(rendered, source, this.opts.origins ?? []);
  }

  check(location: string): void {
    this.resolve(location);
  }

  private authHeaders(): Record<string, string> {
    const o = this.opts;
    switch (o.auth ?? 'none') {
      case 'basic':
        return { authorization: `Basic ${Buffer.from(`${o.user ?? ''}:${o.password ?? ''}`).toString('base64')}` };
      case 'bearer':
        return { authorization: `Bearer ${o.token ?? ''}` };
      case 'header':
        return { [String(o.headerName).toLowerCase()]: o.headerValue ?? '' };
    }
    return {};
  }

  private async send(method: string, url: string, signal: AbortSignal, headers: Record<string, string>, body?: Readable): Promise<HttpResponseSummary> {
    try {
      const res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: { ...headers, ...this.authHeaders() },
        body,
        signal,
        dispatcher: this.agent,
      });
      const h = headersOf(res.headers);
      const parsed = await readResponse(res.body, h['content-type'] ?? '', this.opts.maxResponseBytes ?? 1024 * 1024);
      return this.scrubbed({ status: res.statusCode, headers: h, body: parsed });
    } catch (e) {
      body?.destroy();
      if (e instanceof DeliverError) throw e;
      const code = (e as { code?: string })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
      if (signal.aborted || (e as Error)?.name === 'AbortError') throw new DeliverError('EABORTED', `The request to ${shown(url)} was aborted`, false, { cause: e });
      if (code && RETRYABLE_NETWORK_CODES.has(code)) {
        throw new DeliverError('ENETWORK', `The connection to ${shown(url)} failed (${code})`, true, { cause: e });
      }
      const cert = /certificate|self[- ]signed|CERT_|UNABLE_TO/i.test(`${code ?? ''} ${(e as Error)?.message ?? ''}`);
      if (cert) throw new DeliverError('ETLS', this.scrub(`The certificate of ${shown(url)} was not accepted (${code ?? (e as Error).message}); add its CA or turn verification off`), false, { cause: e });
      throw new DeliverError(code ?? 'EHTTP', this.scrub(`The request to ${shown(url)} failed: ${(e as Error)?.message ?? String(e)}`), false, { cause: e });
    }
  }

  private statusError(method: string, url: string, r: HttpResponseSummary): DeliverError {
    const retryable = r.status === 429 || r.status === 408 || r.status >= 500;
    // the answer was scrubbed when it was read; cut after that, so that no part of a secret survives
    const detail = typeof r.body === 'string' ? r.body.slice(0, 200) : JSON.stringify(r.body)?.slice(0, 200);
    const code = r.status === 401 || r.status === 403 ? 'EAUTH' : 'EHTTP';
    const err = new DeliverError(code, `${method} ${shown(url)} answered ${r.status}${detail ? `: ${detail}` : ''}`, retryable);
    return Object.assign(err, { status: r.status, response: r });
  }

  async put(req: PutRequest): Promise<PutResult> {
    const method = (this.opts.method || 'POST').toUpperCase();
    const meta = req.metadata ?? {};
    const headers: Record<string, string> = {};
    const fields: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(meta)) {
      if (k.startsWith('header:') && k.length > 7) {
        const name = k.slice(7).toLowerCase();
        headers[name] = headerValue(name === 'content-disposition' ? contentDisposition(v) : v);
      }
      else if (k.startsWith('field:') && k.length > 6) fields.push([k.slice(6), v]);
    }
    const contentType = req.contentType || 'application/octet-stream';
    let body: Readable;
    let length: number | undefined;
    let bytes = 0;
    // counted on the way through (a 'data' listener would start the flow before the request reads)
    const counted = (s: Readable): Readable => {
      const t = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          cb(null, chunk);
        },
      });
      s.on('error', (e) => t.destroy(e));
      t.once('close', () => {
        if (!s.destroyed && !s.readableEnded) s.destroy();
      });
      return s.pipe(t);
    };
    if (this.opts.body === 'multipart') {
      const boundary = `----shelterflow${randomBytes(12).toString('hex')}`;
      const fileName = meta['file:name'] || 'file';
      const mp = multipartBody(boundary, fields, { field: this.opts.fileField || 'file', name: fileName, contentType, body: counted(req.body), size: req.size });
      body = mp.stream;
      length = mp.length;
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    } else {
      body = counted(req.body);
      length = req.size;
      headers['content-type'] ??= contentType;
    }
    if (length !== undefined) headers['content-length'] = String(length);
    const r = await this.send(method, req.location, req.signal, headers, body);
    if (r.status >= 400) throw this.statusError(method, req.location, r);
    return { location: req.location, bytes, response: r };
  }

  /**
   * HEAD `url` with the destination's authentication and TLS settings: reaches the host (DNS, TCP, TLS)
   * and reports what it answered. Refused credentials (401, 403) are an error; other statuses are not.
   */
  async head(url: string, signal: AbortSignal): Promise<{ url: string; status: number }> {
    const r = await this.send('HEAD', this.resolve(url), signal, {});
    if (r.status === 401 || r.status === 403) {
      throw new DeliverError('EAUTH', `HEAD ${shown(url)} answered ${r.status}: the server refused the destination's authentication`);
    }
    return { url: shown(url), status: r.status };
  }

  async remove(location: string, signal: AbortSignal): Promise<{ removed: boolean }> {
    const r = await this.send('DELETE', location, signal, {});
    if (r.status === 404 || r.status === 410) return { removed: false };
    if (r.status >= 400) throw this.statusError('DELETE', location, r);
    return { removed: true };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

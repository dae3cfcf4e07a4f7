/**
 * The destinations of the fault suite, each on loopback with a switch for its faults and a way to read back
 * what it holds: an HTTP server (PUT to a file's own URL, POST to a collection URL), S3 (s3rver behind a
 * small proxy that injects faults and keeps count of multipart uploads), and helpers for folders on a small
 * tmpfs (disk full, permission denied).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A fault of an HTTP-speaking destination, for the next `count` requests that match. */
export interface SinkFault {
  kind: 'status' | 'reset';
  /** HTTP status for `status` (default 503). */
  status?: number;
  count: number;
  /** Only requests whose method and URL (path and query) match. */
  match?: RegExp;
}

/** A listener that can be taken down (connection refused) and brought back on the same port. */
abstract class Switchable {
  protected server!: Server;
  port = 0;
  private readonly sockets = new Set<Socket>();
  faults: SinkFault[] = [];
  /** Faults that fired. */
  hits = 0;

  protected abstract handle(req: IncomingMessage, res: ServerResponse, fault: SinkFault | undefined): void;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const line = `${req.method} ${req.url}`;
      const fault = this.faults.find((f) => f.count > 0 && (!f.match || f.match.test(line)));
      if (fault) {
        fault.count--;
        this.hits++;
      }
      this.handle(req, res, fault);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connection refused from now on; open connections are cut. */
  async down(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  async up(): Promise<void> {
    await this.start();
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }
}

/** Reads a request body; on a `reset` fault, cuts the connection after about half of it. */
function receive(req: IncomingMessage, res: ServerResponse, fault: SinkFault | undefined, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const expected = Number(req.headers['content-length'] ?? NaN);
  req.on('data', (c: Buffer) => {
    chunks.push(c);
    bytes += c.length;
    if (fault?.kind === 'reset' && (bytes >= expected / 2 || !Number.isFinite(expected))) {
      req.socket.destroy();
    }
  });
  req.on('end', () => {
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status ?? 503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'injected fault' }));
      return;
    }
    done(Buffer.concat(chunks, bytes));
  });
  req.on('error', () => undefined);
}

export interface PostedItem {
  id: number;
  asset: string;
  sha256: string;
  bytes: number;
}

/**
 * The HTTP destination's server: `PUT /put/<path>` stores the body at that path (a repeat overwrites);
 * `POST /post/<scenario>?asset=<id>` stores a new item per request, as a collection URL does (a repeat is a
 * second item). Only whole bodies are stored.
 */
export class HttpSink extends Switchable {
  readonly files = new Map<string, { sha256: string; bytes: number; puts: number }>();
  readonly items: PostedItem[] = [];

  protected handle(req: IncomingMessage, res: ServerResponse, fault: SinkFault | undefined): void {
    const url = new URL(req.url ?? '/', 'http://x');
    receive(req, res, fault, (body) => {
      if (req.method === 'PUT' && url.pathname.startsWith('/put/')) {
        const path = decodeURIComponent(url.pathname.slice(5));
        const had = this.files.get(path);
        this.files.set(path, { sha256: sha256(body), bytes: body.length, puts: (had?.puts ?? 0) + 1 });
        res.writeHead(had ? 200 : 201, { 'content-type': 'application/json' }).end(JSON.stringify({ stored: path }));
        return;
      }
      if (req.method === 'POST' && url.pathname.startsWith('/post/')) {
        const item = { id: this.items.length + 1, scenario: url.pathname.slice(6), asset: url.searchParams.get('asset') ?? '', sha256: sha256(body), bytes: body.length };
        this.items.push(item);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: item.id }));
        return;
      }
      res.writeHead(404).end();
    });
  }

  /** Files PUT under `/put/<prefix>/`, by their path below it. */
  filesUnder(prefix: string): Map<string, { sha256: string; bytes: number; puts: number }> {
    const out = new Map<string, { sha256: string; bytes: number; puts: number }>();
    for (const [p, f] of this.files) if (p.startsWith(`${prefix}/`)) out.set(p.slice(prefix.length + 1), f);
    return out;
  }

  itemsOf(scenario: string): PostedItem[] {
    return this.items.filter((i) => (i as PostedItem & { scenario: string }).scenario === scenario);
  }
}

/**
 * s3rver (a third-party S3 implementation) behind a proxy that injects faults and keeps count of multipart
 * uploads: started, completed, aborted. s3rver implements neither AbortMultipartUpload nor
 * ListMultipartUploads; the proxy answers both from what it saw (as S3 does), so that an upload the
 * destination gave up on is not taken for one it left behind, and the destination can find what a killed
 * process left.
 */
export class S3Sink extends Switchable {
  private s3rver: { close(): Promise<void> } | undefined;
  private backend = 0;
  readonly bucket = 'faults';
  readonly accessKeyId = 'S3RVER';
  readonly secretAccessKey = 'S3RVER';
  readonly uploads = new Map<string, { key: string; initiated: number; state: 'open' | 'completed' | 'aborted' }>();

  constructor(readonly directory: string) {
    super();
  }

  override async start(): Promise<void> {
    if (!this.s3rver) {
      mkdirSync(this.directory, { recursive: true });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };
      const s = new S3rver({ port: 0, address: '127.0.0.1', directory: this.directory, silent: true, configureBuckets: [{ name: this.bucket }] });
      this.backend = (await s.run()).port;
      this.s3rver = s;
    }
    await super.start();
  }

  protected handle(req: IncomingMessage, res: ServerResponse, fault: SinkFault | undefined): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (fault) {
      if (fault.kind === 'reset') {
        receive(req, res, fault, () => undefined);
        return;
      }
      receive(req, res, undefined, () => {
        res.writeHead(fault.status ?? 503, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${(fault.status ?? 503) === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected fault</Message></Error>`);
      });
      return;
    }
    const uploadId = url.searchParams.get('uploadId');
    if (req.method === 'GET' && url.searchParams.has('uploads') && url.pathname.replace(/\/$/, '') === `/${this.bucket}`) {
      // ListMultipartUploads (not implemented by s3rver): the open uploads the proxy saw, as S3 lists them
      req.resume();
      const prefix = url.searchParams.get('prefix') ?? '';
      const open = [...this.uploads].filter(([, u]) => u.state === 'open' && u.key.startsWith(prefix));
      const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      const xml = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${this.bucket}</Bucket><Prefix>${esc(prefix)}</Prefix><IsTruncated>false</IsTruncated>` +
        open.map(([id, u]) => `<Upload><Key>${esc(u.key)}</Key><UploadId>${esc(id)}</UploadId><Initiated>${new Date(u.initiated).toISOString()}</Initiated></Upload>`).join('') +
        '</ListMultipartUploadsResult>';
      res.writeHead(200, { 'content-type': 'application/xml', date: new Date().toUTCString() }).end(xml);
      return;
    }
    if (req.method === 'DELETE' && uploadId) {
      req.resume();
      const u = this.uploads.get(uploadId);
      if (u && u.state === 'open') u.state = 'aborted';
      res.writeHead(u ? 204 : 404).end();
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port: this.backend, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
        if (req.method === 'POST' && url.searchParams.has('uploads') && answer.statusCode === 200) {
          const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1];
          if (id) this.uploads.set(id, { key, initiated: Date.now(), state: 'open' });
        }
        if (req.method === 'POST' && uploadId && answer.statusCode === 200 && !/<Error>/.test(body.toString())) {
          const u = this.uploads.get(uploadId);
          if (u) u.state = 'completed';
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers).end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  /** Objects under `<bucket>/<prefix>/`, by key below it, with their sha256. */
  objectsUnder(prefix: string): Map<string, string> {
    const out = new Map<string, string>();
    const root = join(this.directory, this.bucket, prefix);
    for (const f of walkFiles(root)) {
      const m = /^(.*)\._S3rver_object$/.exec(f);
      if (m) out.set(m[1], sha256(readFileSync(join(root, f))));
    }
    return out;
  }

  /** Multipart uploads under `prefix/` that were neither completed nor aborted. */
  openUploads(prefix: string): string[] {
    return [...this.uploads.values()].filter((u) => u.state === 'open' && u.key.startsWith(`${prefix}/`)).map((u) => u.key);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.s3rver?.close();
  }
}

/** Relative paths of the files under `root` (none when it does not exist). */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) out.push(relative(root, p));
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** A small tmpfs mounted at `dir` (root only): a disk that fills up, a folder that refuses writes. */
export async function mountTmpfs(dir: string, size = '4m'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
}

export async function unmount(dir: string): Promise<void> {
  await run('umount', ['-l', dir]).catch(() => undefined);
}

/** The immutable attribute: even root gets "Operation not permitted" (EPERM) creating files in `dir`. */
export async function immutable(dir: string, on: boolean): Promise<void> {
  await run('chattr', [on ? '+i' : '-i', dir]);
}

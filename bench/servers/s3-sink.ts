// S3-compatible sink: PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, HeadObject and DeleteObject on path-style URLs (/bucket/key). No signature check
// (the benchmark measures transport, not SigV4 verification). Bodies are hashed and counted, never kept:
// a PutObject is hashed as it streams; parts are hashed in part order, each part hashed as it streams when
// it is the next in order, else held until its turn (at most the parts in flight: bounded, never a
// whole object).
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverMain, type Received } from './process';

export interface S3SinkInfo {
  endpoint: string;
  bucket: string;
}

interface Upload {
  key: string;
  hash: Hash;
  bytes: number;
  /** The next part number to hash. */
  next: number;
  /** Parts that arrived ahead of their turn, complete. */
  held: Map<number, Buffer[]>;
  /** The part being streamed straight into the hash, if any. */
  streaming?: number;
}

const BUCKET = 'bench';

function xml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/xml', ...headers }).end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
}

serverMain<Record<string, never>, S3SinkInfo>(async () => {
  const received = new Map<string, Received>();
  const uploads = new Map<string, Upload>();

  const drain = (u: Upload): void => {
    while (u.streaming === undefined && u.held.has(u.next)) {
      for (const c of u.held.get(u.next) as Buffer[]) {
        u.hash.update(c);
        u.bytes += c.length;
      }
      u.held.delete(u.next);
      u.next++;
    }
  };

  const part = (req: IncomingMessage, res: ServerResponse, u: Upload, n: number): void => {
    const inTurn = n === u.next && u.streaming === undefined;
    const chunks: Buffer[] = [];
    if (inTurn) u.streaming = n;
    req.on('data', (c: Buffer) => {
      if (inTurn) {
        u.hash.update(c);
        u.bytes += c.length;
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (inTurn) {
        u.streaming = undefined;
        u.next++;
      } else u.held.set(n, chunks);
      drain(u);
      res.writeHead(200, { etag: `"${n}-${randomBytes(4).toString('hex')}"` }).end();
    });
    req.on('error', () => {
      if (inTurn) u.streaming = undefined;
      res.destroy();
    });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink');
    const q = url.searchParams;
    const path = decodeURIComponent(url.pathname);
    const bucket = path.split('/')[1];
    const key = path.slice(bucket.length + 2);
    if (bucket !== BUCKET || !key) return xml(res, 404, '<Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>');
    const method = req.method ?? 'GET';
    const uploadId = q.get('uploadId');
    if (method === 'POST' && q.has('uploads')) {
      const id = randomBytes(12).toString('hex');
      uploads.set(id, { key, hash: createHash('sha256'), bytes: 0, next: 1, held: new Map() });
      req.resume();
      return xml(res, 200, `<InitiateMultipartUploadResult><Bucket>${BUCKET}</Bucket><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (method === 'PUT' && uploadId) {
      const u = uploads.get(uploadId);
      if (!u) {
        req.resume();
        return xml(res, 404, '<Error><Code>NoSuchUpload</Code><Message>no such upload</Message></Error>');
      }
      return part(req, res, u, Number(q.get('partNumber')));
    }
    if (method === 'POST' && uploadId) {
      const u = uploads.get(uploadId);
      req.resume();
      req.on('end', () => {
        if (!u) return xml(res, 404, '<Error><Code>NoSuchUpload</Code><Message>no such upload</Message></Error>');
        uploads.delete(uploadId);
        if (u.held.size > 0 || u.streaming !== undefined) return xml(res, 400, '<Error><Code>InvalidPart</Code><Message>parts missing</Message></Error>');
        received.set(key, { bytes: u.bytes, sha256: u.hash.digest('hex') });
        xml(res, 200, `<CompleteMultipartUploadResult><Key>${key}</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>`);
      });
      return;
    }
    if (method === 'DELETE' && uploadId) {
      uploads.delete(uploadId);
      req.resume();
      return void res.writeHead(204).end();
    }
    if (method === 'PUT') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => {
        received.set(key, { bytes, sha256: hash.digest('hex') });
        res.writeHead(200, { etag: '"single"' }).end();
      });
      req.on('error', () => res.destroy());
      return;
    }
    req.resume();
    if (method === 'HEAD') return void res.writeHead(received.has(key) ? 200 : 404).end();
    if (method === 'DELETE') {
      received.delete(key);
      return void res.writeHead(204).end();
    }
    xml(res, 405, '<Error><Code>MethodNotAllowed</Code><Message>not here</Message></Error>');
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    info: { endpoint: `http://127.0.0.1:${port}`, bucket: BUCKET },
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
});

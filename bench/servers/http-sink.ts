// HTTP sink: takes PUT/POST bodies, counts and hashes them on the fly (sha256), keeps none of the bytes,
// answers 201 with {bytes, sha256}. The key of an object is the URL path.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverMain, type Received } from './process';

export interface HttpSinkInfo {
  url: string;
}

serverMain<Record<string, never>, HttpSinkInfo>(async () => {
  const received = new Map<string, Received>();
  const server = createServer((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://sink').pathname);
    if (req.method !== 'PUT' && req.method !== 'POST') {
      res.writeHead(req.method === 'DELETE' ? 204 : 405).end();
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => {
      const r = { bytes, sha256: hash.digest('hex') };
      received.set(key, r);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(r));
    });
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    info: { url: `http://127.0.0.1:${port}` },
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
});

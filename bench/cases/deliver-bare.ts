// The bare pipelines the delivery is compared with: a plain undici request for the original piped
// straight into fs.createWriteStream (folder), into a second undici request as its body (HTTP, and a
// single PutObject for S3), or into ssh2's sftp.createWriteStream (SFTP). No hashing, no ledger, no temp
// file and rename. With `hash: true` (the "bare + sha256" side) the bytes also pass through a sha256
// Transform on the way, the same work the Deliverer does for msg.delivery.sha256, so that the table can
// tell the cost of hashing from the cost of the rest of the delivery path.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Client } from 'ssh2';
import { request } from 'undici';
import { byteCounter, caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

export type BareTarget =
  | { kind: 'folder'; path: string }
  | { kind: 'http'; url: string }
  | { kind: 'sftp'; host: string; port: number; user: string; password: string; path: string };

interface Arg {
  baseUrl: string;
  credentials: Record<string, string>;
  mediaId: string;
  target: BareTarget;
  /** Hash the bytes with sha256 on the way (bare + sha256). */
  hash?: boolean;
}

function sftpSession(t: Extract<BareTarget, { kind: 'sftp' }>): Promise<{ client: Client; sftp: import('ssh2').SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: t.host, port: t.port, username: t.user, password: t.password });
  });
}

caseMain<Arg>(async ({ baseUrl, credentials, mediaId, target, hash }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    const res = await request(`${baseUrl}/media/${mediaId}/download?download_filetype=original`, { headers });
    if (res.statusCode !== 200) throw new Error(`download: ${res.statusCode} ${await res.body.text()}`);
    const count = byteCounter(hash ? createHash('sha256') : undefined);
    switch (target.kind) {
      case 'folder':
        await pipeline(res.body, count, createWriteStream(target.path));
        break;
      case 'http': {
        const up = await request(target.url, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(res.headers['content-length']) },
          body: res.body.pipe(count),
        });
        const text = await up.body.text();
        if (up.statusCode >= 300) throw new Error(`upload: ${up.statusCode} ${text}`);
        break;
      }
      case 'sftp': {
        const { client, sftp } = await sftpSession(target);
        try {
          // 1 MiB of buffer: ssh2's WriteStream sends what is buffered as concurrent writes (_writev), up to
          // 16 × 64 KiB in flight, like the destination; with the default 16 KiB it waits for each write's
          // acknowledgement, and runs at a fraction of the speed (see bench/README.md)
          await pipeline(res.body, count, sftp.createWriteStream(target.path, { highWaterMark: 1024 * 1024 }));
        } finally {
          client.end();
        }
        break;
      }
    }
    return Object.assign({ bytes: count.bytes, requests: 2 }, count.sha256 ? { sha256: count.sha256() } : {});
  });
});

// Stream one original to /dev/null with a plain undici request: the baseline for the client's download.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { byteCounter, caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

interface Arg { baseUrl: string; credentials: Record<string, string>; mediaId: string }

caseMain<Arg>(async ({ baseUrl, credentials, mediaId }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    const res = await request(`${baseUrl}/media/${mediaId}/download?download_filetype=original`, { headers });
    if (res.statusCode !== 200) throw new Error(`download: ${res.statusCode} ${await res.body.text()}`);
    const count = byteCounter();
    await pipeline(res.body, count, createWriteStream('/dev/null'));
    return { bytes: count.bytes, requests: 1, extra: { chunks: count.chunks } };
  });
});

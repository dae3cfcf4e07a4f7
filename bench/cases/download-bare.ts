// Stream one original to /dev/null with a plain undici request: the baseline for the client's download.
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

interface Arg { baseUrl: string; credentials: Record<string, string>; mediaId: string }

caseMain<Arg>(async ({ baseUrl, credentials, mediaId }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    const res = await request(`${baseUrl}/media/${mediaId}/download?download_filetype=original`, { headers });
    let bytes = 0;
    const count = new Transform({ transform(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(null, chunk); } });
    await pipeline(res.body, count, createWriteStream('/dev/null'));
    return { bytes };
  });
});

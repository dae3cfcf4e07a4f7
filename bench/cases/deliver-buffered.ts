// What Node-RED's core nodes do today with a file: the http request node reads the whole response into
// one Buffer (msg.payload), and a file node writes that Buffer out. The baseline for memory.
import { writeFile } from 'node:fs/promises';
import { caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

interface Arg {
  baseUrl: string;
  credentials: Record<string, string>;
  mediaId: string;
  path: string;
}

caseMain<Arg>(async ({ baseUrl, credentials, mediaId, path }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    const res = await fetch(`${baseUrl}/media/${mediaId}/download?download_filetype=original`, { headers });
    if (res.status !== 200) throw new Error(`download: ${res.status} ${await res.text()}`);
    const payload = Buffer.from(await res.arrayBuffer());
    await writeFile(path, payload);
    return { bytes: payload.length, requests: 1 };
  });
});

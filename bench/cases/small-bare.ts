// The bare script the node path is compared with: plain undici, the same API calls (the library's
// collections and galleries, each gallery's media a page of 100 at a time, then per asset its embedded
// metadata and its original) and the same number of assets in flight; each original piped straight into
// a file (folder) or into a PUT (HTTP). No hashing, no ledger, no temporary file and rename.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { caseMain, measure, type SimInfo } from '../lib';
import { bareLogin } from './bare-session';

interface Arg extends SimInfo {
  target: { kind: 'folder'; path: string } | { kind: 'http'; url: string };
  concurrency: number;
  assets: number;
}

interface ListAnswer {
  data: Array<{ id: string; type?: string; attributes?: { file_name?: string } }>;
  meta?: { paging?: { next?: string } };
}

caseMain<Arg>(async (a) => {
  const { headers } = await bareLogin(a.baseUrl, a.credentials);
  let requests = 0;
  const get = async (path: string): Promise<ListAnswer> => {
    requests++;
    const res = await request(`${a.baseUrl}${path}`, { headers });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${await res.body.text()}`);
    return (await res.body.json()) as ListAnswer;
  };
  async function* pages(path: string): AsyncGenerator<ListAnswer['data'][number]> {
    for (let page = 1; ; page++) {
      const body = await get(`${path}${path.includes('?') ? '&' : '?'}page=${page}&per_page=100`);
      yield* body.data;
      if (body.data.length < 100 || !body.meta?.paging?.next) return;
    }
  }
  return measure(async () => {
    // the galleries, found as the walk finds them: the library, then collections breadth first
    const galleries: string[] = [];
    const seen = new Set<string>();
    const queue: Array<string | undefined> = [undefined];
    while (queue.length) {
      const parent = queue.shift();
      for await (const c of pages(parent ? `/collections/${parent}/children` : '/library')) {
        if (c.type === 'gallery') {
          if (!seen.has(c.id)) galleries.push(c.id);
          seen.add(c.id);
        } else queue.push(c.id);
      }
    }
    let items = 0;
    let bytes = 0;
    // when each fifth of the assets was through (ms from the start), as the node side reports it
    const t0 = performance.now();
    const step = Math.max(1, Math.floor(a.assets / 5));
    const marks: number[] = [];
    const work: Array<{ id: string; name: string }> = [];
    let listed = false;
    const lister = (async () => {
      for (const g of galleries) for await (const m of pages(`/galleries/${g}/children?sort_by=added_at&sort_direction=ascending`)) work.push({ id: m.id, name: m.attributes?.file_name ?? m.id });
      listed = true;
    })();
    const lane = async (): Promise<void> => {
      for (;;) {
        const next = work.shift();
        if (!next) {
          if (listed) return;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        requests++;
        const meta = await request(`${a.baseUrl}/media/${next.id}/metadata`, { headers });
        await meta.body.text();
        requests++;
        const res = await request(`${a.baseUrl}/media/${next.id}/download?download_filetype=original`, { headers });
        if (res.statusCode !== 200) throw new Error(`download: ${res.statusCode}`);
        const length = Number(res.headers['content-length']);
        if (a.target.kind === 'folder') {
          await pipeline(res.body, createWriteStream(join(a.target.path, next.name)));
        } else {
          const up = await request(`${a.target.url}/${next.id}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) }, body: res.body });
          await up.body.text();
          if (up.statusCode >= 300) throw new Error(`upload: ${up.statusCode}`);
        }
        bytes += length;
        if (++items % step === 0) marks.push(Math.round(performance.now() - t0));
      }
    };
    await Promise.all([lister, ...Array.from({ length: a.concurrency }, lane)]);
    return { items, bytes, requests, extra: Object.fromEntries(marks.map((m, i) => [`fifth${i + 1}Ms`, m - (marks[i - 1] ?? 0)])) };
  });
});

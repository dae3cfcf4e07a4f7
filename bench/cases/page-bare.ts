// Page every medium of the library with a plain undici loop: the baseline for the client's paging.
// It sends the query the client sends (org_id, page, per_page) and stops where the paging block says
// nothing follows: a loop that stopped only on a short page would ask for one page past a full last
// page, which the API answers with 400 when the library is exactly 100,000 deep.
import { request } from 'undici';
import { caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

interface Arg { baseUrl: string; credentials: Record<string, string>; perPage: number }

interface ListAnswer {
  data: Array<{ id: string }>;
  meta?: { paging?: { total?: number; next?: string } };
}

caseMain<Arg>(async ({ baseUrl, credentials, perPage }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    let items = 0;
    let requests = 0;
    for (let page = 1; ; page++) {
      const q = new URLSearchParams({ org_id: credentials.orgId, page: String(page), per_page: String(perPage) });
      const res = await request(`${baseUrl}/media?${q}`, { headers });
      requests++;
      if (res.statusCode !== 200) throw new Error(`GET /media page ${page}: ${res.statusCode} ${await res.body.text()}`);
      const body = (await res.body.json()) as ListAnswer;
      items += body.data.length;
      if (body.data.length < perPage || !body.meta?.paging?.next) break;
    }
    return { items, requests };
  });
});

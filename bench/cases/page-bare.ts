// Page every medium of the library with a plain undici loop: the baseline for the client's paging.
import { request } from 'undici';
import { caseMain, measure } from '../lib';
import { bareLogin } from './bare-session';

interface Arg { baseUrl: string; credentials: Record<string, string>; perPage: number }

caseMain<Arg>(async ({ baseUrl, credentials, perPage }) => {
  const { headers } = await bareLogin(baseUrl, credentials);
  return measure(async () => {
    let items = 0;
    let requests = 0;
    for (let page = 1; ; page++) {
      const q = new URLSearchParams({ org_id: credentials.orgId, page: String(page), per_page: String(perPage), sort_by: 'modified_at', sort_direction: 'ascending' });
      const res = await request(`${baseUrl}/media?${q}`, { headers });
      requests++;
      const body = (await res.body.json()) as { data: Array<{ id: string }> };
      items += body.data.length;
      if (body.data.length < perPage) break;
    }
    return { items, requests };
  });
});

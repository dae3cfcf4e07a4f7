// Shared by the bare (undici only) cases: log in the way the API documents, with no client code.
import { request } from 'undici';

export interface BareAuth {
  headers: Record<string, string>;
}

async function form(url: string, headers: Record<string, string>, fields: Record<string, string>): Promise<string> {
  const res = await request(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`POST ${url}: ${res.statusCode} ${text}`);
  return text;
}

export async function bareLogin(baseUrl: string, creds: Record<string, string>): Promise<BareAuth> {
  const headers: Record<string, string> = { 'x-ps-api-key': creds.apiKey };
  const { token } = JSON.parse(await form(`${baseUrl}/authenticate`, headers, { email: creds.email, password: creds.password, mode: 'token' })) as { token: string };
  headers['x-ps-auth-token'] = token;
  await form(`${baseUrl}/organization/authenticate`, headers, { org_id: creds.orgId });
  return { headers };
}

// Shared by the bare (undici only) cases: log in the way the API documents, with no client code.
import { request } from 'undici';

export interface BareAuth {
  headers: Record<string, string>;
}

export async function bareLogin(baseUrl: string, creds: Record<string, string>): Promise<BareAuth> {
  const headers: Record<string, string> = { 'x-ps-api-key': creds.apiKey };
  const form = new URLSearchParams({ email: creds.email, password: creds.password, mode: 'token' });
  const res = await request(`${baseUrl}/authenticate`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const { token } = (await res.body.json()) as { token: string };
  headers['x-ps-auth-token'] = token;
  const org = await request(`${baseUrl}/organization/authenticate`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ org_id: creds.orgId }).toString(),
  });
  await org.body.dump();
  return { headers };
}

// An OAuth grant from the simulator, as a user gets one once (authorize, then exchange the code): the
// refresh token an account is configured with, and an access token for the "access token" sign-in.
import type { SimHandle } from './sim';

export const REDIRECT_URI = 'https://nodered.example.com/oauth/callback';

export interface Grant {
  accessToken: string;
  refreshToken: string;
}

async function tokenCall(sim: SimHandle, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'x-ps-api-key': sim.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: sim.oauthClientId, client_secret: sim.oauthClientSecret, redirect_uri: REDIRECT_URI, ...form }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function oauthGrant(sim: SimHandle): Promise<Grant> {
  const authorize = new URL(`${sim.baseUrl}/oauth/authorize`);
  authorize.search = new URLSearchParams({ api_key: sim.apiKey, client_id: sim.oauthClientId, redirect_uri: REDIRECT_URI, response_type: 'code', state: 'test' }).toString();
  const res = await fetch(authorize, { redirect: 'manual' });
  const code = new URL(res.headers.get('location') ?? 'about:blank').searchParams.get('code');
  if (!code) throw new Error(`no authorization code (${res.status})`);
  const t = await tokenCall(sim, { grant_type: 'authorization_code', code });
  if (t.status !== 200) throw new Error(`code exchange: ${t.status} ${JSON.stringify(t.body)}`);
  return { accessToken: String(t.body.access_token), refreshToken: String(t.body.refresh_token) };
}

/** Whether the simulator still takes this refresh token (a refresh with it; on success the pair is spent). */
export async function refreshTokenWorks(sim: SimHandle, refreshToken: string): Promise<boolean> {
  return (await tokenCall(sim, { grant_type: 'refresh_token', refresh_token: refreshToken })).status === 200;
}

/**
 * `npm run test:live`: the contract suite against a PhotoShelter account given by the environment, or,
 * without one, against the bundled simulator (and it says so). Prints two markdown tables to stdout
 * (calls, assumptions) and exits 1 when a call failed or an answer is off-schema, 2 when the environment
 * is incomplete.
 *
 *   PHOTOSHELTER_API_KEY                       the API key
 *   PHOTOSHELTER_EMAIL, PHOTOSHELTER_PASSWORD  sign in with a session, or
 *   PHOTOSHELTER_TOKEN                         an access token (bearer)
 *   PHOTOSHELTER_ORG_ID                        optional: the organization
 *   PHOTOSHELTER_BASE_URL                      optional: default https://www.photoshelter.com/psapi/v4.0
 *   PHOTOSHELTER_LIVE_WRITE_ASSET              optional: a media id the suite may write to (and restores)
 */
import { DEFAULT_BASE_URL } from '../../src/photoshelter';
import { startSimulator } from '../../src/simulator';
import { formatReport, runContract, type ContractAccount } from './contract';

const env = (name: string): string | undefined => {
  const v = process.env[name]?.trim();
  return v ? v : undefined;
};

/** The account the environment names, undefined when it names none, or a text saying what is missing. */
export function accountFromEnv(): ContractAccount | undefined | string {
  const apiKey = env('PHOTOSHELTER_API_KEY');
  const email = env('PHOTOSHELTER_EMAIL');
  const password = env('PHOTOSHELTER_PASSWORD');
  const token = env('PHOTOSHELTER_TOKEN');
  const any = apiKey || email || password || token || env('PHOTOSHELTER_ORG_ID') || env('PHOTOSHELTER_BASE_URL');
  if (!any) return undefined;
  if (!apiKey) return 'PHOTOSHELTER_API_KEY is not set';
  let auth: ContractAccount['auth'];
  if (token) auth = { mode: 'bearer', token };
  else if (email && password) auth = { mode: 'session', email, password };
  else return 'set PHOTOSHELTER_EMAIL and PHOTOSHELTER_PASSWORD (session), or PHOTOSHELTER_TOKEN (an access token)';
  return { baseUrl: env('PHOTOSHELTER_BASE_URL') ?? DEFAULT_BASE_URL, apiKey, auth, orgId: env('PHOTOSHELTER_ORG_ID'), writeAsset: env('PHOTOSHELTER_LIVE_WRITE_ASSET') };
}

/** True when the simulator refuses a parameter nothing evidences (its strict mode is on). */
async function simulatorIsStrict(baseUrl: string, apiKey: string, email: string, password: string, orgId: string): Promise<boolean> {
  const login = await fetch(`${baseUrl}/authenticate`, {
    method: 'POST',
    headers: { 'x-ps-api-key': apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password, mode: 'token', org_id: orgId }).toString(),
  });
  const { token } = (await login.json()) as { token?: string };
  const res = await fetch(`${baseUrl}/media?org_id=${orgId}&sort_by=modified_at`, { headers: { 'x-ps-api-key': apiKey, 'x-ps-auth-token': String(token) } });
  await res.arrayBuffer();
  await fetch(`${baseUrl}/authenticate/logout`, { method: 'POST', headers: { 'x-ps-api-key': apiKey, 'x-ps-auth-token': String(token) } });
  return res.status === 400;
}

async function main(): Promise<number> {
  const found = accountFromEnv();
  if (typeof found === 'string') {
    process.stderr.write(`test:live: the environment names an account but ${found}. Nothing was run.\n`);
    return 2;
  }
  const progress = (line: string): void => void process.stderr.write(`test:live: ${line}\n`);
  let account = found;
  let header: string[];
  let close = async (): Promise<void> => undefined;
  if (account) {
    header = [
      `## PhotoShelter contract check: live account`,
      '',
      `Host ${new URL(account.baseUrl).host}, sign-in ${account.auth.mode}, organization ${account.orgId ?? '(none)'}, writes ${account.writeAsset ? `to ${account.writeAsset} (restored)` : 'none'}; ${new Date().toISOString()}, node ${process.version}.`,
    ];
  } else {
    // strict: a simulator that refuses what nothing evidences, where that mode exists
    const sim = await startSimulator({ port: 0, host: '127.0.0.1', seed: 1, assets: 40, strict: true });
    close = () => sim.close();
    const c = sim.credentials;
    const strict = await simulatorIsStrict(sim.baseUrl, c.apiKey, c.email, c.password, c.orgId).catch(() => false);
    account = { baseUrl: sim.baseUrl, apiKey: c.apiKey, auth: { mode: 'session', email: c.email, password: c.password }, orgId: c.orgId, writeAsset: (await firstMedia(sim.url)) };
    header = [
      `## PhotoShelter contract check: NO LIVE ACCOUNT WAS USED`,
      '',
      `No PHOTOSHELTER_* account in the environment: the suite ran against the bundled simulator${strict ? ' in strict mode (it refuses parameters without evidence)' : ' (this version has no strict mode: it accepts more than the real API is known to)'}, writes included. This says nothing about the real API; set PHOTOSHELTER_API_KEY and PHOTOSHELTER_EMAIL/PHOTOSHELTER_PASSWORD or PHOTOSHELTER_TOKEN to check an account.`,
    ];
  }
  try {
    const report = await runContract(account, progress);
    process.stdout.write(`${formatReport(report, header)}\n`);
    return report.rows.every((r) => r.ok) && report.failures.length === 0 ? 0 : 1;
  } finally {
    await close();
  }
}

async function firstMedia(simUrl: string): Promise<string | undefined> {
  const res = await fetch(`${simUrl}/__sim/media`);
  const { ids } = (await res.json()) as { ids?: string[] };
  return ids?.[0];
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`test:live: ${(e as Error)?.message ?? String(e)}\n`);
      process.exit(1);
    },
  );
}

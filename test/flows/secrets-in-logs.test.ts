/**
 * No secret in Node-RED's log at its most talkative (trace, which includes debug), nor in the flow files:
 * the account's API key, password and OAuth client secret, every session token, OAuth access and refresh
 * token PhotoShelter issued while the flows ran (read off the wire by a recording proxy in front of the
 * simulator), and the destinations' secrets (an HTTP bearer token and basic password, an SFTP password, an
 * S3 secret key), through polls, downloads, deliveries, a failed delivery, expired tokens and re-sign-ins,
 * and the editor's Test connection and Test destination.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSftpTarget, type SftpTarget } from '../../src/simulator/sftp';
import { oauthGrant, REDIRECT_URI } from '../helpers/oauth';
import { startSim, type SimHandle } from '../helpers/sim';
import { debugTap, type DebugTap } from '../helpers/debug-tap';
import { waitFor } from '../helpers/wait';
import { pollAfterChange, startRuntime, type Runtime } from './runtime';

const SECRETS = {
  httpToken: 'http-bearer-secret-7c1e55aa',
  httpPassword: 'http-basic-secret-91b2',
  refusedToken: 'refused-bearer-secret-3f3f',
  sftpPassword: 'sftp-secret-pw-5d6e',
  s3Secret: 's3/secret+key-0a9b8c7d6e5f',
  s3Session: 's3-session+token/9e8d7c6b',
};

const body = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((ok) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks)));
  });

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('secrets stay out of the log at trace level, and out of the flow files', function () {
  this.timeout(180_000);
  let sim: SimHandle;
  let red: Runtime;
  let tap: DebugTap;
  let sftp: SftpTarget;
  let work: string;
  const servers: Server[] = [];
  /** Every token PhotoShelter issued through the proxy. */
  const issued = new Set<string>();
  let proxyBase = '';

  before(async () => {
    sim = await startSim({ seed: 51, assets: 20 });
    work = mkdtempSync(join(tmpdir(), 'ps-secrets-'));
    // a proxy in front of the simulator that keeps the tokens it sees being issued
    const proxy = await listen(async (req, res) => {
      const data = await body(req);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k))) as Record<string, string>;
      const up = await fetch(`${sim.url}${req.url}`, { method: req.method, headers, body: data.length ? new Uint8Array(data) : undefined, redirect: 'manual' });
      const out = Buffer.from(await up.arrayBuffer());
      if (/\/(authenticate|oauth\/token)(\?|$)/.test(req.url ?? '')) {
        try {
          const j = JSON.parse(out.toString()) as Record<string, unknown>;
          for (const k of ['token', 'access_token', 'refresh_token']) if (typeof j[k] === 'string') issued.add(j[k] as string);
        } catch {
          // not JSON
        }
      }
      const back: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!['content-encoding', 'transfer-encoding', 'connection', 'content-length'].includes(k)) back[k] = v;
      });
      res.writeHead(up.status, back).end(out);
    });
    servers.push(proxy.server);
    proxyBase = `${proxy.url}/psapi/v4.0`;
    // an HTTP destination (bearer or basic, as configured; a refused token answers 401) and an S3 stand-in
    const sink = await listen(async (req, res) => {
      await body(req);
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.headers.authorization === `Bearer ${SECRETS.refusedToken}`) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      // S3 multipart, as far as an upload needs it
      if (req.method === 'POST' && url.searchParams.has('uploads')) return void res.writeHead(200, { 'content-type': 'application/xml' }).end('<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>');
      if (req.method === 'POST' && url.searchParams.has('uploadId')) return void res.writeHead(200, { 'content-type': 'application/xml' }).end('<CompleteMultipartUploadResult><ETag>"x"</ETag></CompleteMultipartUploadResult>');
      res.writeHead(req.method === 'DELETE' ? 204 : 200, { etag: '"0"', 'content-type': 'application/json' }).end(req.method === 'DELETE' ? undefined : '{}');
    });
    servers.push(sink.server);
    sftp = await startSftpTarget({ root: join(work, 'sftp'), user: 'agency', password: SECRETS.sftpPassword });
    const grant = await oauthGrant(sim);
    issued.add(grant.accessToken);
    issued.add(grant.refreshToken);

    red = await startRuntime({ logLevel: 'trace' });
    const account = (id: string, authMode: string, credentials: Record<string, string>) => ({
      id, type: 'photoshelter-account', name: `${authMode} account`, baseUrl: proxyBase, authMode, orgId: sim.orgId, timeZone: 'UTC', redirectUri: REDIRECT_URI, credentials: { apiKey: sim.apiKey, ...credentials },
    });
    const dest = (id: string, config: Record<string, unknown>, credentials: Record<string, string>) => ({ id, type: 'photoshelter-destination', name: `${String(config.kind)} ${id.length}`, ...config, credentials });
    const deliver = (id: string, acc: string, destination: string, y: number) => ({
      id, z: 'tab1', type: 'photoshelter-deliver', name: `to ${destination.slice(5)}`, destination, account: acc, action: 'put', actionType: 'str', sidecar: 'json', overwrite: 'overwrite', concurrency: 2, retries: 1, x: 400, y, wires: [['done']],
    });
    await red.deploy([
      { id: 'tab1', type: 'tab', label: 'secrets' },
      account('acc.session', 'session', { email: sim.email, password: sim.password }),
      account('acc.oauth', 'oauth', { clientId: sim.oauthClientId, clientSecret: sim.oauthClientSecret, refreshToken: grant.refreshToken }),
      dest('dest.bearer', { kind: 'http', url: `${sink.url}/bearer/{{asset.id}}`, method: 'PUT', bodyMode: 'raw', auth: 'bearer' }, { token: SECRETS.httpToken }),
      dest('dest.basic', { kind: 'http', url: `${sink.url}/basic/{{asset.id}}`, method: 'PUT', bodyMode: 'raw', auth: 'basic', httpUser: 'uploader' }, { httpPassword: SECRETS.httpPassword }),
      dest('dest.refused', { kind: 'http', url: `${sink.url}/refused/{{asset.id}}`, method: 'PUT', bodyMode: 'raw', auth: 'bearer' }, { token: SECRETS.refusedToken }),
      dest('dest.sftp', { kind: 'sftp', host: '127.0.0.1', port: sftp.port, user: 'agency', hostKey: sftp.hostKeyFingerprint, template: '{{asset.fileName}}' }, { password: SECRETS.sftpPassword }),
      dest('dest.s3', { kind: 's3', endpoint: sink.url, region: 'us-east-1', bucket: 'photos', forcePathStyle: true, template: '{{asset.id}}/{{asset.fileName}}' }, { accessKeyId: 'AKIDSECRETSTEST', secretAccessKey: SECRETS.s3Secret, sessionToken: SECRETS.s3Session }),
      { id: 'trg', z: 'tab1', type: 'photoshelter-trigger', account: 'acc.session', mode: 'changed', interval: 3600, start: 'now', maxEvents: 10, includeIptc: true, x: 100, y: 100, wires: [['fetch']] },
      { id: 'fetch', z: 'tab1', type: 'photoshelter-fetch', account: 'acc.oauth', mode: 'buffer', rendition: 'original', x: 250, y: 100, wires: [['d.bearer', 'd.basic', 'd.sftp', 'd.s3', 'd.refused']] },
      deliver('d.bearer', 'acc.oauth', 'dest.bearer', 60),
      deliver('d.basic', 'acc.session', 'dest.basic', 120),
      deliver('d.sftp', 'acc.oauth', 'dest.sftp', 180),
      deliver('d.s3', 'acc.session', 'dest.s3', 240),
      deliver('d.refused', 'acc.oauth', 'dest.refused', 300),
      { id: 'done', z: 'tab1', type: 'debug', name: 'done', active: true, tosidebar: true, console: true, complete: 'true', targetType: 'full', x: 600, y: 100, wires: [] },
      { id: 'c1', z: 'tab1', type: 'catch', scope: null, uncaught: false, x: 400, y: 400, wires: [['failed']] },
      { id: 'failed', z: 'tab1', type: 'debug', name: 'failed', active: true, tosidebar: true, console: true, complete: 'error', targetType: 'msg', x: 600, y: 400, wires: [] },
    ]);
    tap = await debugTap(red.url);
  });
  after(async () => {
    tap?.close();
    await red?.stop();
    await sftp?.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs polls, downloads, deliveries (one refused), re-sign-ins and the editor\'s tests at trace level', async () => {
    const ids = (await sim.control.mediaIds()).slice(0, 4);
    const round = async (id: string) => {
      const before = tap.from('done').length;
      const failedBefore = tap.from('failed').length;
      await sim.control.patchMedia(id, { iptc: { caption: `round for ${id}` } });
      await pollAfterChange(sim, red, ['trg']);
      await waitFor(() => tap.from('done').length >= before + 4 && tap.from('failed').length >= failedBefore + 1, `the deliveries of ${id}`, 60_000);
    };
    await round(ids[0]);
    // every token expires: the session account signs in again, the OAuth account refreshes (a new refresh token)
    await sim.control.expireTokens('all');
    await round(ids[1]);
    await sim.control.expireTokens('all');
    await round(ids[2]);
    const failures = tap.json<{ code?: string; message?: string }>('failed');
    assert.ok(failures.length >= 3 && failures.every((f) => f.code === 'EAUTH'), JSON.stringify(failures));
    // the editor's tests, with the secrets typed in the dialog and with the stored ones
    const test = await red.admin<{ ok: boolean }>('POST', '/photoshelter/account/test', { id: 'x', config: { baseUrl: proxyBase, authMode: 'session', orgId: sim.orgId }, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });
    assert.equal(test.status, 200, test.text);
    assert.equal((await red.admin('POST', '/photoshelter/account/test', { id: 'acc.oauth', config: { baseUrl: proxyBase, authMode: 'oauth', orgId: sim.orgId, redirectUri: REDIRECT_URI }, credentials: { apiKey: '__PWRD__', clientId: sim.oauthClientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' } })).status, 200);
    assert.equal((await red.admin('POST', '/photoshelter/destination/test', { id: 'dest.sftp', config: { kind: 'sftp', host: '127.0.0.1', port: sftp.port, user: 'agency', hostKey: sftp.hostKeyFingerprint }, credentials: { password: '__PWRD__' } })).status, 200);
    assert.equal((await red.admin('POST', '/photoshelter/destination/test', { id: 'y', config: { kind: 'sftp', host: '127.0.0.1', port: sftp.port, user: 'agency', hostKey: sftp.hostKeyFingerprint }, credentials: { password: 'wrong-sftp-password-1' } })).status, 502);
    // the log is at trace level and says something about every part
    const out = red.output();
    assert.match(out, /\[trace\]/);
    assert.match(out, /\[debug\]/);
    assert.ok(issued.size >= 6, `tokens issued through the proxy: ${issued.size}`);
  });

  it('none of them is in the log, the flow files, the context files or the ledgers; the latest refresh token only in its 0600 file', () => {
    const kept = join(red.userDir, 'photoshelter', 'tokens', 'acc_oauth.json');
    assert.ok(existsSync(kept), 'the OAuth account keeps its latest refresh token');
    assert.equal(statSync(kept).mode & 0o777, 0o600);
    const latest = (JSON.parse(readFileSync(kept, 'utf8')) as { refreshToken: string }).refreshToken;
    assert.ok(issued.has(latest), 'the kept token is one PhotoShelter issued');
    const secrets = new Map<string, string>([
      ['the API key', sim.apiKey],
      ['the password', sim.password],
      ['the OAuth client secret', sim.oauthClientSecret],
      ...Object.entries(SECRETS).map(([k, v]) => [`destination secret ${k}`, v] as [string, string]),
      ['a refused SFTP password', 'wrong-sftp-password-1'],
      ['the basic credentials', `uploader:${SECRETS.httpPassword}`],
      ...[...issued].map((t, i) => [`issued token ${i} (${t.slice(0, 4)}…)`, t] as [string, string]),
    ]);
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)])) : []);
    const places: Array<[string, string]> = [
      ['the log', red.output()],
      ['flows.json', readFileSync(join(red.userDir, 'flows.json'), 'utf8')],
      ['flows_cred.json', readFileSync(join(red.userDir, 'flows_cred.json'), 'utf8')],
      ...files(join(red.userDir, 'context')).map((f) => [f, readFileSync(f, 'utf8')] as [string, string]),
      ...files(join(red.userDir, 'photoshelter', 'deliveries')).map((f) => [f, readFileSync(f, 'utf8')] as [string, string]),
    ];
    const leaks: string[] = [];
    for (const [what, value] of secrets) {
      const forms = [value, encodeURIComponent(value), Buffer.from(value).toString('base64'), createHash('sha256').update(value).digest('hex')];
      for (const [where, text] of places) if (forms.some((f) => text.includes(f))) leaks.push(`${what} in ${where}`);
    }
    assert.deepEqual(leaks, []);
  });
});

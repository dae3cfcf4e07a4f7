import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { PhotoShelterClient, type ClientEventName, type PhotoShelterClientOptions } from '../../../src/photoshelter';
import { apiError, InstantClock, json, MEDIA, ORG, rejects, SECRETS, startServer, type Handler, type TestServer } from './helpers';

const EVENTS: ClientEventName[] = ['request', 'retry', 'ratelimited', 'limit', 'backoff', 'auth', 'warning', 'window'];

/** Every form in which a secret could leak out of an error. */
function errorForms(e: unknown): string[] {
  const err = e as Error;
  return [String(err.message), String(err.stack), JSON.stringify(err), inspect(err, { depth: 8, showHidden: true }), String(err)];
}

describe('client/secrets never leak', () => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  // a hostile server that echoes every credential it receives in its error details
  const echo: Handler = (req, res) => {
    const f = new URLSearchParams(req.body);
    const all = [req.headers['x-ps-api-key'], req.headers['x-ps-auth-token'], req.headers.authorization, f.get('password'), f.get('refresh_token'), f.get('client_secret'), f.get('code'), req.url].join(' | ');
    if (req.path === '/authenticate') {
      if (f.get('password') === SECRETS.password) return json(res, 200, { token: SECRETS.sessionToken });
      return apiError(res, 401, 'AuthenticationFailedException', `bad login ${all}`);
    }
    if (req.path === '/oauth/token') {
      if (f.get('grant_type') === 'authorization_code') return json(res, 400, { error: 'invalid_grant', error_description: `code ${all}` });
      return json(res, 401, { error: 'invalid_grant', error_description: `refresh ${all}` });
    }
    if (req.path === '/organization/authenticate') return apiError(res, 403, 'AcsPermissionException', `org ${all}`);
    if (req.path.endsWith('/iptc')) return apiError(res, 429, 'TooManyRequestsException', `slow ${all}`, { 'retry-after': '9999' });
    if (req.path.endsWith('/custom-metadata')) return void req.url; // never answers → timeout
    if (req.path.endsWith('/galleries')) return apiError(res, 503, 'Unavailable', `down ${all}`);
    if (req.path.endsWith('/link')) {
      res.writeHead(200, { 'content-length': '999' });
      res.write(`{"data": "${all}`);
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    }
    if (req.path.endsWith('/download')) {
      res.writeHead(200, { 'content-length': '999' });
      res.write(all);
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    }
    if (req.path === '/user/session') return void res.socket?.destroy();
    return apiError(res, 401, 'AcsPermissionException', `denied ${all}`);
  };

  it('keeps keys, passwords, tokens and client secrets out of errors, events and logs', async () => {
    srv = await startServer(echo);
    const lines: string[] = [];
    const eventDump: string[] = [];
    const errors: unknown[] = [];
    const base: Omit<PhotoShelterClientOptions, 'auth'> = {
      baseUrl: srv.baseUrl,
      apiKey: SECRETS.apiKey,
      clock: new InstantClock(),
      timeoutMs: 150,
      maxRetries: 1,
      logger: (l) => lines.push(l),
    };
    const clients = [
      new PhotoShelterClient({ ...base, auth: { mode: 'session', email: 'a@b.c', password: SECRETS.password } }),
      new PhotoShelterClient({ ...base, auth: { mode: 'session', email: 'a@b.c', password: `${SECRETS.password}-wrong` } }),
      new PhotoShelterClient({ ...base, auth: { mode: 'session', email: 'a@b.c', password: SECRETS.password, orgId: ORG } }),
      new PhotoShelterClient({ ...base, auth: { mode: 'oauth', clientId: 'cid', clientSecret: SECRETS.clientSecret, accessToken: SECRETS.accessToken, refreshToken: SECRETS.refreshToken } }),
      new PhotoShelterClient({ ...base, auth: { mode: 'bearer', token: SECRETS.bearer } }),
    ];
    for (const c of clients) {
      for (const ev of EVENTS) c.on(ev, (p: unknown) => eventDump.push(JSON.stringify(p)));
      const attempts: Array<() => Promise<unknown>> = [
        () => c.getMedia(MEDIA),
        () => c.getCustomMetadata(MEDIA),
        () => c.getMediaGalleries(MEDIA),
        () => c.getLink(MEDIA),
        () => c.session(),
        async () => {
          for await (const _chunk of await c.download(MEDIA)) void _chunk;
        },
      ];
      if (c.authMode === 'oauth') attempts.push(() => c.exchangeAuthorizationCode(SECRETS.code));
      // last: its long Retry-After makes the client refuse further calls
      attempts.push(() => c.updateIptc(MEDIA, { title: 'x' }), () => c.getMedia(MEDIA));
      for (const attempt of attempts) errors.push(await rejects(attempt()));
      await c.close();
    }
    // invalid ids and options too
    errors.push(await rejects(clients[0].getMedia('I0000bad')));
    try {
      new PhotoShelterClient({ apiKey: `${SECRETS.apiKey}xx`, auth: { mode: 'bearer', token: SECRETS.bearer } });
    } catch (e) {
      errors.push(e);
    }

    const codes = new Set(errors.map((e) => (e as { code?: string }).code));
    for (const code of ['EAUTH', 'EPERM', 'ERATELIMIT', 'ETIMEDOUT', 'ESERVER', 'ETRUNCATED', 'ENETWORK', 'EVALIDATION']) {
      assert.ok(codes.has(code as never), `scenario ${code} was exercised (got ${[...codes].join(',')})`);
    }
    assert.ok(lines.length > 20, 'the logger received lines');
    assert.ok(eventDump.length > 20, 'events were emitted');
    const texts = [...errors.flatMap(errorForms), ...lines, ...eventDump];
    const secrets = Object.values(SECRETS).flatMap((s) => [s, encodeURIComponent(s)]);
    for (const t of texts) {
      for (const s of secrets) assert.ok(!t.includes(s), `secret ${s.slice(0, 6)}… leaked in: ${t.slice(0, 300)}`);
    }
  });
});

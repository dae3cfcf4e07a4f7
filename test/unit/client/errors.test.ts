import assert from 'node:assert/strict';
import {
  AuthError,
  errorFromResponse,
  NotFoundError,
  PermissionError,
  PhotoShelterError,
  RateLimitError,
  readErrorBody,
  ServerError,
  TimeoutError,
  ValidationError,
} from '../../../src/photoshelter/errors';
import { assertId, isId } from '../../../src/photoshelter/ids';
import { apiDateMs, formatApiDate } from '../../../src/photoshelter/endpoints';
import { Redactor } from '../../../src/photoshelter/redact';

const map = (status: number, body: unknown, retryAfterMs?: number): PhotoShelterError =>
  errorFromResponse({ status, method: 'GET', path: '/media/I0000AAAAAAAAAAA?api_key=KEYsecret.1', body, retryAfterMs, redact: (s) => s });

const err = (id: string, status: number) => ({ errors: [{ id, status: String(status), title: 'T', detail: 'D' }] });

describe('client/errors', () => {
  it('maps each status and error id to a typed error', () => {
    const cases: Array<[number, unknown, new (...a: never[]) => PhotoShelterError, string]> = [
      [400, err('BadRequestException', 400), ValidationError, 'EVALIDATION'],
      [422, {}, ValidationError, 'EVALIDATION'],
      [401, err('AcsPermissionException', 401), AuthError, 'EAUTH'],
      [401, err('OAuthServerException', 401), AuthError, 'EAUTH'],
      [403, err('ApiKeyInvalidException', 403), AuthError, 'EAUTH'],
      [403, err('AcsPermissionException', 403), PermissionError, 'EPERM'],
      [404, err('ResourceNotFoundException', 404), NotFoundError, 'ENOTFOUND'],
      [429, err('TooManyRequestsException', 429), RateLimitError, 'ERATELIMIT'],
      [408, undefined, TimeoutError, 'ETIMEDOUT'],
      [500, undefined, ServerError, 'ESERVER'],
      [503, undefined, ServerError, 'ESERVER'],
    ];
    for (const [status, body, cls, code] of cases) {
      const e = map(status, body);
      assert.ok(e instanceof cls, `${status} → ${e.name}`);
      assert.ok(e instanceof PhotoShelterError);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.method, 'GET');
      assert.equal(e.path, '/media/I0000AAAAAAAAAAA', 'path without query');
      assert.ok(!e.message.includes('api_key'));
    }
    assert.equal(map(403, err('ApiKeyInvalidException', 403)).errorId, 'ApiKeyInvalidException');
    assert.match(map(403, err('ApiKeyInvalidException', 403)).message, /check the API key/);
    assert.equal(map(503, undefined).retryable, true);
    assert.equal(map(500, undefined).retryable, false);
    assert.equal(map(404, undefined).retryable, false);
    assert.equal((map(429, undefined, 3000) as RateLimitError).retryAfterMs, 3000);
    assert.equal(map(418, undefined).code, 'EHTTP');
  });

  it('reads errors[], error{} and OAuth error strings', () => {
    assert.deepEqual(readErrorBody(err('X', 400)), { id: 'X', status: '400', title: 'T', detail: 'D' });
    assert.equal(readErrorBody({ error: { id: 'Y', status: 404, title: 'nf' } })?.id, 'Y');
    assert.equal(readErrorBody({ error: { id: 'Y', status: 404 } })?.status, '404');
    assert.deepEqual(readErrorBody({ error: 'invalid_grant', error_description: 'revoked' }), { id: 'invalid_grant', detail: 'revoked' });
    assert.equal(readErrorBody('nope'), undefined);
    assert.equal(readErrorBody({ data: [] }), undefined);
    const e = map(404, { error: { id: 'ResourceNotFoundException', detail: 'no such medium' } });
    assert.ok(e instanceof NotFoundError);
    assert.match(e.message, /no such medium/);
  });

  it('serializes to JSON with its fields', () => {
    const e = map(429, err('TooManyRequestsException', 429), 5000);
    const j = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    assert.equal(j.code, 'ERATELIMIT');
    assert.equal(j.retryAfterMs, 5000);
    assert.equal(j.errorId, 'TooManyRequestsException');
    assert.equal(j.name, 'RateLimitError');
  });
});

describe('client/ids', () => {
  it('validates the 16-character id formats', () => {
    assert.ok(isId('media', 'I0000abc.def_123'));
    assert.ok(isId('media', 'VD000abcdefghijk'));
    assert.ok(isId('media', 'AD000abcdefghijk'));
    assert.ok(isId('media', 'DO000abcdefghijk'));
    assert.ok(!isId('media', 'I0000abc'));
    assert.ok(!isId('media', 'X0000abcdefghijk'));
    assert.ok(!isId('media', 'I0000abcdefghij/'));
    assert.ok(isId('gallery', 'G0000abcdefghijk'));
    assert.ok(!isId('gallery', 'C0000abcdefghijk'));
    assert.ok(isId('collection', 'C0000abcdefghijk'));
    assert.ok(isId('organization', 'O0000abcdefghijk'));
    assert.ok(isId('apiKey', 'abc.DEF_123'));
    assert.ok(!isId('apiKey', 'abc-DEF_123'));
    assert.throws(() => assertId('media', '../etc/passwd'), ValidationError);
  });

  it('never echoes an invalid API key', () => {
    try {
      assertId('apiKey', 'secret-key-value!!');
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      assert.ok(!e.message.includes('secret-key-value'));
    }
  });
});

describe('client/dates and redaction', () => {
  it('formats and parses API dates as UTC', () => {
    assert.equal(formatApiDate(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02T03:04:05');
    assert.equal(formatApiDate(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), '2024-01-02T03:04:05.120000');
    assert.equal(apiDateMs('2019-04-25T14:54:12.136828'), Date.UTC(2019, 3, 25, 14, 54, 12, 136));
    assert.equal(apiDateMs('2019-04-25T14:54:12+02:00'), Date.UTC(2019, 3, 25, 12, 54, 12));
    assert.equal(apiDateMs(1556204052), 1556204052000);
    assert.ok(Number.isNaN(apiDateMs('not a date')));
  });

  it('removes secrets and credential query parameters', () => {
    const r = new Redactor();
    r.add('s3cr3t+value', undefined, 'abc');
    const out = r.redact('x s3cr3t+value y s3cr3t%2Bvalue z ?api_key=K1&page=2 &token=zzz abc');
    assert.ok(!out.includes('s3cr3t'));
    assert.ok(out.includes('api_key=[redacted]'));
    assert.ok(out.includes('page=2'));
    assert.ok(out.includes('token=[redacted]'));
    assert.ok(out.includes('abc'), 'values under 4 characters are not treated as secrets');
  });
});

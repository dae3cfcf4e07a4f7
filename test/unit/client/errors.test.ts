import assert from 'node:assert/strict';
import {
  AuthError,
  errorFromResponse,
  NotFoundError,
  PermissionError,
  PhotoShelterError,
  RateLimitError,
  readErrorBody,
  RefusedError,
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

  it('turns a 400 that names a parameter sent into a RefusedError naming it, its value and what to do', () => {
    const refuse = (detail: string, query: Record<string, string>, title = 'Bad Request') =>
      errorFromResponse({ status: 400, method: 'GET', path: '/media?x=1', body: { errors: [{ id: 'BadRequestException', status: '400', title, detail }] }, query, redact: (t) => t.replace(/KEYsecret\.1/g, '[redacted]') });
    const sent = { org_id: 'O0000abcdefghijk', sort_by: 'modified_at', sort_direction: 'ascending', page: '3', per_page: '1000' };
    const e = refuse("sort_by must be one of relevance, date, file_name, upload_time; got 'modified_at'.", sent) as RefusedError;
    assert.ok(e instanceof RefusedError);
    assert.equal(e.code, 'EREFUSED');
    assert.equal(e.parameter, 'sort_by');
    assert.equal(e.value, 'modified_at');
    assert.equal(e.retryable, false);
    assert.equal(
      e.message,
      "PhotoShelter refused the parameter sort_by=modified_at on GET /media: Bad Request: sort_by must be one of relevance, date, file_name, upload_time; got 'modified_at'. " +
        'This version of the package sends it from its best knowledge of the API; please report it with the table `npm run test:live` prints for your account.',
    );
    assert.deepEqual(e.toJSON().parameter, 'sort_by');
    // the first parameter the text mentions, as a whole word (page is not per_page)
    assert.equal((refuse('page: results beyond 100000 (page * per_page) cannot be paged', sent) as RefusedError).parameter, 'page');
    assert.match(refuse('page: results beyond 100000 (page * per_page) cannot be paged', sent).message, /narrow it \(a smaller scope or time range\)/);
    assert.equal((refuse("Unknown or unsupported query parameter 'sort_direction'.", sent) as RefusedError).parameter, 'sort_direction');
    assert.equal((refuse('x', { download_quality: '99999x1' }, "download_quality: '99999x1' is too large") as RefusedError).parameter, 'download_quality');
    assert.match(refuse("download_quality: '99999x1' is too large", { download_quality: '99999x1' }).message, /Check the value given/);
    // a value is shortened, and redacted
    const long = refuse('galleries: unknown gallery', { galleries: 'G0000abcdefghijk,'.repeat(10) + 'KEYsecret.1' }) as RefusedError;
    assert.ok(long.value.length <= 80 && !long.message.includes('KEYsecret.1'));
    // a 400 that names nothing sent stays a ValidationError
    const other = refuse('A scope filter is required: one of org_id, user_id', { page: '1' });
    assert.ok(!(other instanceof RefusedError) && other instanceof ValidationError);
    assert.ok(!(errorFromResponse({ status: 400, method: 'GET', path: '/media', body: undefined, redact: (t) => t }) instanceof RefusedError));
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
    // sent in the draft's form, whole seconds
    assert.equal(formatApiDate(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02 03:04:05 GMT');
    assert.equal(formatApiDate(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), '2024-01-02 03:04:05 GMT');
    assert.equal(formatApiDate(Date.UTC(2024, 0, 2, 3, 4, 5, 120), 'ceil'), '2024-01-02 03:04:06 GMT');
    assert.equal(apiDateMs('2019-10-15 12:00:00 GMT'), Date.UTC(2019, 9, 15, 12));
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

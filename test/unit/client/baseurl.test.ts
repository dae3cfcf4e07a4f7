import assert from 'node:assert/strict';
import { checkBaseUrl, isLoopbackHost, PhotoShelterClient } from '../../../src/photoshelter';
import { resolveAccount } from '../../../src/core/account';
import { SECRETS } from './helpers';

describe('client/base URL: https, or http to this machine only', () => {
  const make = (baseUrl: string) => new PhotoShelterClient({ baseUrl, apiKey: SECRETS.apiKey, auth: { mode: 'bearer', token: SECRETS.bearer } });

  it('accepts https anywhere and http to loopback hosts', async () => {
    for (const url of [
      'https://www.photoshelter.com/psapi/v4.0',
      'https://proxy.example.org:8443/psapi/v4.0/',
      'http://127.0.0.1:8765/psapi/v4.0',
      'http://127.9.8.7/psapi/v4.0',
      'http://localhost:1234/psapi/v4.0',
      'http://[::1]:9000/psapi/v4.0',
    ]) {
      await make(url).close();
      assert.equal(checkBaseUrl(url), url.replace(/\/+$/, ''));
    }
    assert.equal(isLoopbackHost('LOCALHOST'), true);
    assert.equal(isLoopbackHost('127.0.0.256'), false);
  });

  it('refuses anything else at construction with a clear validation error', () => {
    const cases: Array<[string, RegExp]> = [
      ['http://www.photoshelter.com/psapi/v4.0', /must use https:\/\/ .*got host www\.photoshelter\.com/],
      ['http://10.0.0.5/psapi/v4.0', /must use https/],
      ['http://127.0.0.1.example.com/psapi/v4.0', /must use https/],
      ['http://localhost.example.com/psapi/v4.0', /must use https/],
      ['ftp://127.0.0.1/psapi/v4.0', /must start with https:\/\/ \(got ftp\)/],
      ['https://user:secret@www.photoshelter.com/psapi/v4.0', /user name or password/],
      ['www.photoshelter.com/psapi/v4.0', /is not a URL/],
    ];
    for (const [url, re] of cases) {
      assert.throws(() => make(url), (e: Error & { code?: string }) => e.code === 'EVALIDATION' && re.test(e.message) && !e.message.includes('secret'), url);
    }
  });

  it('the account configuration refuses the same URLs, naming the field', () => {
    assert.throws(
      () => resolveAccount({ baseUrl: 'http://photoshelter.example/psapi/v4.0' }, { apiKey: SECRETS.apiKey, email: 'a@b.c', password: 'x' }),
      (e: Error & { field?: string; key?: string }) => e.field === 'baseUrl' && e.key === 'badUrl' && /https/.test(e.message),
    );
    assert.equal(resolveAccount({ baseUrl: 'http://127.0.0.1:1/psapi/v4.0/' }, { apiKey: SECRETS.apiKey, email: 'a@b.c', password: 'x' }).options.baseUrl, 'http://127.0.0.1:1/psapi/v4.0');
  });
});

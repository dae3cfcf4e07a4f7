// The account's share of the request rate: several Node-RED workers on one account split its limit.
import assert from 'node:assert/strict';
import { AccountConfigError, resolveAccount } from '../../../src/core/account';

const creds = { apiKey: 'SIMKEY00001', email: 'a@b.c', password: 'p' };
const base = { baseUrl: 'http://127.0.0.1:1/psapi/v4.0', authMode: 'session' };

describe('core/account: a share of the request rate', () => {
  it('takes the share of Requests/s; 100% (the default) takes it all', () => {
    assert.equal(resolveAccount({ ...base, requestsPerSecond: '12', share: '25' }, creds).options.requestsPerSecond, 3);
    assert.equal(resolveAccount({ ...base, requestsPerSecond: 12 }, creds).options.requestsPerSecond, 12);
    assert.equal(resolveAccount({ ...base }, creds).options.requestsPerSecond, undefined);
  });
  it('a share without the account\'s rate, or out of range, is a clear configuration error', () => {
    assert.throws(() => resolveAccount({ ...base, share: 50 }, creds), (e: unknown) => e instanceof AccountConfigError && e.field === 'share' && /requests per second/.test(e.message));
    assert.throws(() => resolveAccount({ ...base, requestsPerSecond: 10, share: 0 }, creds), (e: unknown) => e instanceof AccountConfigError && e.field === 'share');
    assert.throws(() => resolveAccount({ ...base, requestsPerSecond: 10, share: 150 }, creds), /share must be a number from 0.1 to 100/);
  });
});

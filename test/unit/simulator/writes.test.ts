import assert from 'node:assert/strict';
import { startSim, type SimHandle } from '../../helpers/sim';
import { assertValid, call, login } from './util';

describe('simulator: metadata writes', () => {
  let sim: SimHandle;
  let token: string;
  let id: string;
  before(async () => {
    sim = await startSim({ assets: 40 });
    token = await login(sim);
    [id] = await sim.control.mediaIds();
  });
  after(() => sim.close());

  const modifiedAt = async (): Promise<string> => (await call(sim, `/media/${id}`, { token })).json.data.attributes.modified_at;

  it('PATCH iptc: 200 with the updated resource; modified_at moves forward with microseconds', async () => {
    const before = await modifiedAt();
    const res = await call(sim, `/media/${id}/iptc`, { token, method: 'PATCH', body: { title: 'New title', keywords: ['a', 'b c'], city: null } });
    assert.equal(res.status, 200);
    assertValid('iptc', res.json.data);
    assert.equal(res.json.data.attributes.title, 'New title');
    assert.equal(res.json.data.attributes.keywords, 'a, b c');
    assert.equal(res.json.data.attributes.city, null);
    const after = await modifiedAt();
    assert.match(after, /\.\d{6}$/);
    assert.ok(after > before);
    const read = await call(sim, `/media/${id}/iptc`, { token });
    assert.equal(read.json.data.attributes.title, 'New title');
    assert.equal((await sim.control.media(id)).iptc.title, 'New title');
  });

  it('a write that changes nothing does not bump modified_at', async () => {
    const before = await modifiedAt();
    const res = await call(sim, `/media/${id}/iptc`, { token, method: 'PATCH', body: { title: 'New title' } });
    assert.equal(res.status, 200);
    assert.equal(await modifiedAt(), before);
  });

  it('PATCH iptc rejects unknown fields and wrong types with 400 naming the field, and changes nothing', async () => {
    const before = await modifiedAt();
    for (const [body, field] of [[{ colour: 'red' }, 'colour'], [{ title: 5 }, 'title'], [{ urgency: 12 }, 'urgency'], [{ caption: { x: 1 } }, 'caption'], [[1, 2], 'body']] as const) {
      const res = await call(sim, `/media/${id}/iptc`, { token, method: 'PATCH', body });
      assert.equal(res.status, 400);
      assert.equal(res.json.errors[0].id, 'BadRequestException');
      assert.match(res.json.errors[0].detail, new RegExp(field));
    }
    const mixed = await call(sim, `/media/${id}/iptc`, { token, method: 'PATCH', body: { headline: 'x', colour: 'red' } });
    assert.equal(mixed.status, 400);
    assert.notEqual((await sim.control.media(id)).iptc.headline, 'x');
    assert.equal(await modifiedAt(), before);
  });

  it('PATCH custom-metadata with [{field_id, value}] or {custom_metadata: [...]}', async () => {
    const fields = (await call(sim, `/media/${id}/custom-metadata`, { token })).json.data.attributes.custom_metadata as { field_id: string; name: string }[];
    const fid = (name: string): string => fields.find((f) => f.name === name)!.field_id;
    const before = await modifiedAt();
    const res = await call(sim, `/media/${id}/custom-metadata`, {
      token, method: 'PATCH',
      body: [{ field_id: fid('Approval Status'), value: 'Rejected' }, { field_id: fid('License Expiration Date'), value: '2030-02-28' }],
    });
    assert.equal(res.status, 200);
    assertValid('custom-metadata', res.json.data);
    const byName = Object.fromEntries(res.json.data.attributes.custom_metadata.map((f: { name: string; value: string }) => [f.name, f.value]));
    assert.equal(byName['Approval Status'], 'Rejected');
    assert.equal(byName['License Expiration Date'], '2030-02-28');
    assert.ok((await modifiedAt()) > before);
    const wrapped = await call(sim, `/media/${id}/custom-metadata`, { token, method: 'PATCH', body: { custom_metadata: [{ field_id: fid('Usage Rights'), value: 'Web only' }] } });
    assert.equal(wrapped.status, 200);
    assert.equal((await sim.control.media(id)).custom['Usage Rights'], 'Web only');
  });

  it('PATCH custom-metadata validates: unknown field, bad date, bad select option, wrong type', async () => {
    const fields = (await call(sim, `/media/${id}/custom-metadata`, { token })).json.data.attributes.custom_metadata as { field_id: string; name: string }[];
    const fid = (name: string): string => fields.find((f) => f.name === name)!.field_id;
    const cases: [unknown, string][] = [
      [[{ field_id: 'F0000NOSUCHFIELD', value: 'x' }], 'F0000NOSUCHFIELD'],
      [[{ field_id: fid('License Expiration Date'), value: '2030-02-30' }], fid('License Expiration Date')],
      [[{ field_id: fid('License Expiration Date'), value: '31/12/2030' }], 'License Expiration Date'],
      [[{ field_id: fid('Approval Status'), value: 'Maybe' }], 'Approval Status'],
      [[{ field_id: fid('Campaign'), value: 42 }], 'Campaign'],
      [{ field_id: fid('Campaign'), value: 'x' }, 'body'],
    ];
    for (const [body, needle] of cases) {
      const res = await call(sim, `/media/${id}/custom-metadata`, { token, method: 'PATCH', body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(res.json.errors[0].detail.includes(needle), res.json.errors[0].detail);
    }
  });

  it('writes need the organization and a JSON body', async () => {
    const noOrg = await login(sim, false);
    assert.equal((await call(sim, `/media/${id}/iptc`, { token: noOrg, method: 'PATCH', body: { title: 'x' } })).status, 403);
    const res = await call(sim, `/media/${id}/iptc`, { token, method: 'PATCH', headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 400);
  });
});

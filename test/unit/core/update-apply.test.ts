import assert from 'node:assert/strict';
import { sameStamp, updateAsset, type UpdateClient } from '../../../src/core/update/apply';
import { runRequest, requestOf } from '../../../src/core/update/batch';
import { UpdateError } from '../../../src/core/update/errors';

const ID = 'I0000AAAAAAAAAAA';

/** An in-memory medium behind the three client calls the update uses, with a log of calls. */
function fakeClient(opts: { onStampRead?: (n: number) => void; options?: string[] } = {}) {
  const state = {
    modified: 1,
    iptc: { title: 'Old', caption: null as string | null, keywords: 'a, b' } as Record<string, string | null>,
    custom: { F0000CAMPAIGN000: null as string | null, F0000APPROVALSTS: 'Pending' as string | null },
  };
  const calls: string[] = [];
  let stampReads = 0;
  const stamp = () => `2025-01-01T00:00:00.${String(state.modified).padStart(6, '0')}`;
  const customResource = (id: string) => ({
    id,
    type: 'custom_metadata',
    attributes: {
      custom_metadata: [
        { field_id: 'F0000CAMPAIGN000', name: 'Campaign', type: 'text', value: state.custom.F0000CAMPAIGN000 },
        { field_id: 'F0000APPROVALSTS', name: 'Approval Status', type: 'select', value: state.custom.F0000APPROVALSTS, ...(opts.options ? { options: opts.options } : {}) },
      ],
    },
  });
  const client = {
    // the asset is read with GET /media/{id}?include=iptc (logged as 'read') and GET /media/{id}/custom-metadata
    getMedia: async (id: string, o: { include?: string[] } = {}) => {
      const include = o.include ?? [];
      assert.ok(include.every((n) => n === 'iptc'), `only include=iptc is evidenced, got ${include.join(',')}`);
      calls.push(include.length ? 'read' : 'stamp');
      if (!include.length) opts.onStampRead?.(++stampReads);
      const media = { id, type: 'image', attributes: { modified_at: stamp() }, includes: {} as Record<string, unknown> };
      if (include.length) media.includes.iptc = { data: { id, type: 'iptc', attributes: { ...state.iptc } } };
      return media;
    },
    getCustomMetadata: async (id: string) => customResource(id),
    getIptc: async () => assert.fail('IPTC comes with the media read'),
    getMediaGalleries: async () => assert.fail('no galleries are needed'),
    path: async () => assert.fail('no paths are needed'),
    updateIptc: async (_id: string, fields: Record<string, string | null>) => {
      calls.push(`iptc ${JSON.stringify(fields)}`);
      Object.assign(state.iptc, fields);
      state.modified++;
      return {};
    },
    updateCustomMetadata: async (_id: string, fields: Array<{ field_id: string; value: string | null }>) => {
      calls.push(`custom ${JSON.stringify(fields)}`);
      for (const f of fields) (state.custom as Record<string, string | null>)[f.field_id] = f.value;
      state.modified++;
      return {};
    },
  };
  const edit = () => {
    state.iptc.caption = `edited ${state.modified}`;
    state.modified++;
  };
  return { client: client as unknown as UpdateClient, calls, state, edit };
}

describe('update: one asset against a client', () => {
  it('reads, checks the stamp, writes custom fields then IPTC, and reports before/after', async () => {
    const f = fakeClient();
    const out = await updateAsset(f.client, ID, [
      { target: 'title', op: 'set', value: 'New' },
      { target: 'keywords', op: 'append', value: 'c' },
      { target: 'Campaign', op: 'set', value: 'Winter' },
    ]);
    assert.equal(out.ok, true, String(out.error));
    assert.equal(out.changed, true);
    assert.deepEqual(out.fields, { title: { before: 'Old', after: 'New' }, keywords: { before: ['a', 'b'], after: ['a', 'b', 'c'] }, Campaign: { before: null, after: 'Winter' } });
    assert.deepEqual(f.calls, ['read', 'stamp', 'custom [{"field_id":"F0000CAMPAIGN000","value":"Winter"}]', 'iptc {"title":"New","keywords":"a, b, c"}']);
  });

  it('makes no write and no stamp read when nothing changes', async () => {
    const f = fakeClient();
    const out = await updateAsset(f.client, ID, [{ target: 'title', op: 'set', value: ' Old ' }, { target: 'keywords', op: 'append', value: 'B' }]);
    assert.deepEqual({ ok: out.ok, changed: out.changed, fields: out.fields }, { ok: true, changed: false, fields: {} });
    assert.deepEqual(f.calls, ['read']);
  });

  it('dry run reports the diff and writes nothing', async () => {
    const f = fakeClient();
    const out = await updateAsset(f.client, ID, [{ target: 'title', op: 'set', value: 'New' }], { dryRun: true });
    assert.deepEqual(out.fields, { title: { before: 'Old', after: 'New' } });
    assert.equal(out.changed, true);
    assert.deepEqual(f.calls, ['read']);
  });

  it('fails a bad id before any request, and a bad value after the read without writing', async () => {
    const f = fakeClient();
    const bad = await updateAsset(f.client, 'I0000short', [{ target: 'title', op: 'set', value: 'x' }]);
    assert.equal((bad.error as UpdateError).key, 'badId');
    assert.deepEqual(f.calls, []);
    const unknown = await updateAsset(f.client, ID, [{ target: 'title', op: 'set', value: 'x' }, { target: 'Campain', op: 'set', value: 'x' }]);
    assert.equal((unknown.error as UpdateError).key, 'unknownField');
    const select = await updateAsset(fakeClient({ options: ['Pending', 'Approved'] }).client, ID, [{ target: 'Approval Status', op: 'set', value: 'Maybe' }]);
    assert.equal((select.error as UpdateError).key, 'badSelect');
    assert.deepEqual(f.calls, ['read']);
  });

  it('re-reads and re-applies once when the asset changed before the write', async () => {
    const f = fakeClient({ onStampRead: (n) => n === 1 && f.edit() });
    const out = await updateAsset(f.client, ID, [{ target: 'caption', op: 'append', value: '© Acme' }]);
    assert.equal(out.ok, true, String(out.error));
    assert.equal(out.reapplied, true);
    assert.deepEqual(out.fields, { caption: { before: 'edited 1', after: 'edited 1 © Acme' } });
    assert.deepEqual(f.calls, ['read', 'stamp', 'read', 'stamp', 'iptc {"caption":"edited 1 © Acme"}']);
  });

  it('reports a conflict, writing nothing, when the asset changes again', async () => {
    const f = fakeClient({ onStampRead: () => f.edit() });
    const out = await updateAsset(f.client, ID, [{ target: 'title', op: 'set', value: 'Mine' }]);
    assert.equal(out.ok, false);
    assert.equal((out.error as UpdateError).code, 'ECONFLICT');
    assert.equal(f.state.iptc.title, 'Old');
    assert.ok(!f.calls.some((c) => c.startsWith('iptc') || c.startsWith('custom')));
  });

  it('reports what was written when the second write fails', async () => {
    const f = fakeClient();
    (f.client as { updateIptc: unknown }).updateIptc = async () => {
      throw Object.assign(new Error('boom'), { code: 'ESERVER' });
    };
    const out = await updateAsset(f.client, ID, [{ target: 'Campaign', op: 'set', value: 'W' }, { target: 'title', op: 'set', value: 'T' }]);
    assert.equal(out.ok, false);
    assert.equal(out.changed, true);
    assert.deepEqual(Object.keys(out.fields), ['Campaign']);
  });

  it('compares stamps at microsecond precision', () => {
    assert.ok(sameStamp('2025-01-01T00:00:00.000001', '2025-01-01T00:00:00.000001Z'));
    assert.ok(!sameStamp('2025-01-01T00:00:00.000001', '2025-01-01T00:00:00.000002'));
    assert.ok(sameStamp(undefined, undefined));
  });

  it('runs a batch: bad items fail alone', async () => {
    const f = fakeClient();
    const req = requestOf({ payload: [{ id: ID, fields: { title: 'B' } }, { id: 'nope' }, { id: ID, fields: { Nope: 1 } }] }, []);
    const out = await runRequest(f.client, req, 2, {});
    assert.deepEqual(out.map((o) => o.ok), [true, false, false]);
    assert.equal((out[1].error as UpdateError).key, 'badId');
    assert.equal((out[2].error as UpdateError).key, 'unknownField');
    assert.equal(f.state.iptc.title, 'B');
  });
});

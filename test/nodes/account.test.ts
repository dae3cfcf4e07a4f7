import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import accountNode from '../../src/nodes/photoshelter-account';
import type { AccountNode } from '../../src/nodes/shared/types';
import { startSim, type SimHandle } from '../helpers/sim';

helper.init(require.resolve('node-red'));

describe('photoshelter-account node', function () {
  let sim: SimHandle;
  const flow = (extra: Record<string, unknown> = {}) => [
    { id: 'acc', type: 'photoshelter-account', name: 'sim', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC', ...extra },
  ];
  const creds = () => ({ acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password } });

  before(async () => {
    sim = await startSim({ strict: true, seed: 3, assets: 40 });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
  });

  it('builds one shared client from config and credentials', async () => {
    await helper.load(accountNode, flow(), creds());
    const acc = helper.getNode('acc') as AccountNode;
    const client = acc.getClient();
    assert.equal(acc.getClient(), client, 'the same client for every caller');
    const session = await client.session();
    assert.equal(session.id, sim.userId);
  });

  it('reads credentials given as ${ENV} references', async () => {
    process.env.PS_TEST_KEY = sim.apiKey;
    process.env.PS_TEST_PASSWORD = sim.password;
    try {
      await helper.load(accountNode, flow(), { acc: { apiKey: '${PS_TEST_KEY}', email: sim.email, password: '${PS_TEST_PASSWORD}' } });
      const acc = helper.getNode('acc') as AccountNode;
      await sim.control.clearRequests();
      const session = await acc.getClient().session();
      // signed in as the simulated user: the key and the password were the environment's values
      assert.equal(session.id, sim.userId);
      const log = await sim.control.requests();
      assert.deepEqual(log.filter((e) => e.method === 'POST' && /\/authenticate$/.test(e.path)).map((e) => [e.path.replace(/^.*\/v4\.0/, ''), e.status]), [['/authenticate', 200], ['/organization/authenticate', 200]]);
      assert.ok(log.every((e) => e.status < 400), 'no call was refused');
    } finally {
      delete process.env.PS_TEST_KEY;
      delete process.env.PS_TEST_PASSWORD;
    }
  });

  it('reports a bad configuration clearly and refuses to build a client', async () => {
    await helper.load(accountNode, flow({ orgId: 'O123' }), creds());
    const acc = helper.getNode('acc') as AccountNode;
    assert.throws(() => acc.getClient(), /organization id "O123"/);
    const logged = helper.log().args.filter((a: unknown[]) => (a[0] as { level?: number }).level === 20 /* error */);
    assert.ok(logged.length >= 1, 'the error is logged');
  });

  it('refuses a base URL that is not https (plain http only to this machine), saying so', async () => {
    await helper.load(accountNode, flow({ baseUrl: 'http://photoshelter.example/psapi/v4.0' }), creds());
    const acc = helper.getNode('acc') as AccountNode;
    assert.throws(() => acc.getClient(), /must use https:\/\/ .*simulator on this machine.*photoshelter\.example/);
    const logged = helper.log().args.filter((a: unknown[]) => (a[0] as { level?: number }).level === 20 /* error */);
    assert.ok(logged.some((a: unknown[]) => /errors\.config|https/.test(String((a[0] as { msg?: unknown }).msg))), 'the account logs why');
    const res = await helper
      .request()
      .post('/photoshelter/account/test')
      .send({ id: 'new', config: { baseUrl: 'http://10.1.2.3/psapi/v4.0', authMode: 'session' }, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } })
      .expect(400);
    assert.equal(res.body.field, 'baseUrl');
    assert.match(res.body.error, /https/);
  });

  it('closes its client when the flow stops', async () => {
    await helper.load(accountNode, flow(), creds());
    const client = (helper.getNode('acc') as AccountNode).getClient();
    await helper.unload();
    await assert.rejects(client.session(), { code: 'ECLOSED' });
    await helper.load(accountNode, flow(), creds());
  });

  describe('admin endpoints', () => {
    it('tests a connection with unsaved form values', async () => {
      await helper.load(accountNode, flow(), creds());
      const res = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'new', config: { baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId }, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } })
        .expect(200);
      assert.equal(res.body.ok, true);
      assert.ok(res.body.topLevel > 0);
      assert.ok(!JSON.stringify(res.body).includes(sim.password));
    });

    it('lists the organizations of the user, and says when none is chosen although the user has some', async () => {
      await helper.load(accountNode, flow(), creds());
      const test = (orgId?: string) =>
        helper.request().post('/photoshelter/account/test')
          .send({ id: 'new', config: { baseUrl: sim.baseUrl, authMode: 'session', orgId }, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } })
          .expect(200);
      const without = (await test()).body as { organizations: Array<{ id: string; name: string }>; noOrganization: boolean; topLevel: number };
      assert.deepEqual(without.organizations, [{ id: sim.orgId, name: 'Example Corp' }]);
      assert.equal(without.noOrganization, true);
      const withOrg = (await test(sim.orgId)).body as { organizations: unknown[]; noOrganization: boolean; topLevel: number };
      assert.equal(withOrg.noOrganization, false);
      assert.equal(withOrg.organizations.length, 1);
      assert.ok(withOrg.topLevel > without.topLevel, `the organization's library shows with it (${withOrg.topLevel} > ${without.topLevel})`);
    });

    it('falls back to stored credentials for unchanged secret fields (__PWRD__)', async () => {
      await helper.load(accountNode, flow(), creds());
      const res = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'acc', config: { baseUrl: sim.baseUrl, authMode: 'session' }, credentials: { apiKey: '__PWRD__', email: sim.email, password: '__PWRD__' } })
        .expect(200);
      assert.equal(res.body.ok, true);
    });

    it('fails a wrong key or password clearly, without echoing a secret', async () => {
      await helper.load(accountNode, flow(), creds());
      const wrongKey = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'x', config: { baseUrl: sim.baseUrl, authMode: 'session' }, credentials: { apiKey: 'WRONGKEY123', email: sim.email, password: sim.password } })
        .expect(502);
      assert.match(wrongKey.body.error, /API key/i);
      assert.ok(!JSON.stringify(wrongKey.body).includes('WRONGKEY123'));
      const wrongPassword = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'x', config: { baseUrl: sim.baseUrl, authMode: 'session' }, credentials: { apiKey: sim.apiKey, email: sim.email, password: 'not-the-password' } })
        .expect(502);
      assert.match(wrongPassword.body.error, /email|password/i);
      assert.ok(!JSON.stringify(wrongPassword.body).includes('not-the-password'));
      const missing = await helper
        .request()
        .post('/photoshelter/account/test')
        .send({ id: 'x', config: { baseUrl: sim.baseUrl, authMode: 'session' }, credentials: {} })
        .expect(400);
      assert.equal(missing.body.field, 'apiKey');
    });

    it('browses the library tree level by level, with counts', async () => {
      await helper.load(accountNode, flow(), creds());
      const root = await helper.request().get('/photoshelter/account/acc/tree').expect(200);
      const state = await sim.control.state();
      const top = state.collections.filter((c) => c.parent === null).map((c) => c.id);
      for (const id of top) assert.ok(root.body.items.some((i: { id: string }) => i.id === id), `root lists ${id}`);
      const first = root.body.items.find((i: { kind: string }) => i.kind === 'collection');
      assert.equal(typeof first.count, 'number');
      const level = await helper.request().get(`/photoshelter/account/acc/tree?parent=${first.id}`).expect(200);
      const expected = [
        ...state.collections.filter((c) => c.parent === first.id).map((c) => c.id),
        ...state.galleries.filter((g) => g.parents.includes(first.id)).map((g) => g.id),
      ].sort();
      assert.deepEqual(level.body.items.map((i: { id: string }) => i.id).sort(), expected);
    });

    it('lists the custom field names of the library', async () => {
      await helper.load(accountNode, flow(), creds());
      const res = await helper.request().get('/photoshelter/account/acc/fields').expect(200);
      const names = res.body.fields.map((f: { name: string }) => f.name);
      for (const n of ['Approval Status', 'License Expiration Date', 'Usage Rights', 'Campaign', 'Project Code', 'Department', 'Region']) {
        assert.ok(names.includes(n), n);
      }
    });

    it('puts every endpoint behind the account permissions', async () => {
      const asked: string[] = [];
      type Handler = (req: { headers: Record<string, string | undefined> }, res: { status(n: number): { end(): void } }, next: () => void) => void;
      const guarded = (RED: Parameters<typeof accountNode>[0]) =>
        accountNode(
          new Proxy(RED, {
            get(target, prop, receiver) {
              if (prop !== 'auth') return Reflect.get(target, prop, receiver);
              return {
                needsPermission(permission: string): Handler {
                  asked.push(permission);
                  return (req, res, next) => (req.headers['x-grant'] === permission ? next() : res.status(401).end());
                },
              };
            },
          }),
        );
      await helper.load(guarded, flow(), creds());
      // the pickers use the account's stored credentials: they need write permission too
      // Test connection, and tree, fields and names each from the deployed account (GET) and from the dialog (POST)
      assert.deepEqual(asked, Array(7).fill('photoshelter-account.write'));
      await sim.control.clearRequests();
      const body = { id: 'acc', config: { baseUrl: sim.baseUrl }, credentials: { apiKey: '__PWRD__', email: sim.email, password: '__PWRD__' } };
      await helper.request().post('/photoshelter/account/test').send(body).expect(401);
      await helper.request().post('/photoshelter/account/test').set('x-grant', 'photoshelter-account.read').send(body).expect(401);
      await helper.request().get('/photoshelter/account/acc/tree').expect(401);
      await helper.request().get('/photoshelter/account/acc/fields').expect(401);
      assert.equal((await sim.control.requests()).length, 0, 'nothing reached PhotoShelter');
      await helper.request().post('/photoshelter/account/test').set('x-grant', 'photoshelter-account.write').send(body).expect(200);
      await helper.request().get('/photoshelter/account/acc/tree').set('x-grant', 'photoshelter-account.read').expect(401);
      await helper.request().get('/photoshelter/account/acc/tree').set('x-grant', 'photoshelter-account.write').expect(200);
    });

    it('the pickers work before deploy, from the settings as the dialog holds them', async () => {
      await helper.load(accountNode, flow(), creds());
      const unsaved = { id: 'new-account', config: { baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId }, credentials: { apiKey: sim.apiKey, email: sim.email, password: sim.password } };
      const state = await sim.control.state();
      const root = await helper.request().post('/photoshelter/account/tree').send(unsaved).expect(200);
      for (const c of state.collections.filter((x) => x.parent === null)) assert.ok(root.body.items.some((i: { id: string }) => i.id === c.id), `root lists ${c.id}`);
      const collection = root.body.items.find((i: { kind: string }) => i.kind === 'collection');
      const level = await helper.request().post('/photoshelter/account/tree').send({ ...unsaved, parent: collection.id }).expect(200);
      assert.equal(level.body.parent, collection.id);
      assert.deepEqual(
        level.body.items.map((i: { id: string }) => i.id).sort(),
        [...state.collections.filter((c) => c.parent === collection.id).map((c) => c.id), ...state.galleries.filter((g) => g.parents.includes(collection.id)).map((g) => g.id)].sort(),
      );
      const fields = await helper.request().post('/photoshelter/account/fields').send(unsaved).expect(200);
      assert.ok(fields.body.fields.some((f: { name: string }) => f.name === 'Approval Status'));
      const bad = await helper.request().post('/photoshelter/account/tree').send({ ...unsaved, parent: 'G0000nope' }).expect(400);
      assert.equal(bad.body.field, 'parent');
      // a wrong password typed in the dialog is the dialog's error, not the deployed account's success
      const wrong = await helper.request().post('/photoshelter/account/tree').send({ ...unsaved, credentials: { ...unsaved.credentials, password: 'not-the-password' } }).expect(502);
      assert.match(wrong.body.error, /email|password/i);
      assert.ok(!JSON.stringify(wrong.body).includes('not-the-password'));
    });

    it('names the ids of a scope, and says which ones the account cannot see', async () => {
      await helper.load(accountNode, flow(), creds());
      const state = await sim.control.state();
      const [g] = state.galleries;
      const [c] = state.collections;
      const ids = [g.id, c.id, 'G0000zzzzzzzzzzz', 'Summer'];
      const deployed = await helper.request().get(`/photoshelter/account/acc/names?ids=${encodeURIComponent(ids.join(','))}`).expect(200);
      assert.deepEqual(deployed.body.names, [
        { id: g.id, kind: 'gallery', name: g.name },
        { id: c.id, kind: 'collection', name: c.name },
        { id: 'G0000zzzzzzzzzzz', missing: 'notFound' },
        { id: 'Summer', missing: 'notAnId' },
      ]);
      // the same from the dialog's stored secrets, unchanged and for the deployed place
      const stored = { id: 'acc', config: { baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId }, credentials: { apiKey: '__PWRD__', email: sim.email, password: '__PWRD__' } };
      const fromDialog = await helper.request().post('/photoshelter/account/names').send({ ...stored, ids }).expect(200);
      assert.deepEqual(fromDialog.body.names, deployed.body.names);
      // stored secrets for a base URL the dialog changed: refused before anything is sent
      await sim.control.clearRequests();
      const moved = await helper.request().post('/photoshelter/account/names').send({ ...stored, config: { ...stored.config, baseUrl: 'https://elsewhere.example/psapi/v4.0' }, ids }).expect(400);
      assert.match(moved.body.error, /retype|again/);
      assert.equal((await sim.control.requests()).length, 0);
    });

    it('answers 404 with advice for an account that is not deployed', async () => {
      await helper.load(accountNode, flow(), creds());
      const res = await helper.request().get('/photoshelter/account/nope/tree').expect(404);
      assert.match(res.body.error, /notDeployed|Deploy/);
    });
  });
});

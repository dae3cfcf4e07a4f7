/**
 * The location preview of the deliver and destination dialogs: JSON only, behind the node type's write
 * permission, rendering the templates as a delivery would for an asset of the deployed account (or a
 * built-in example), and saying what is wrong with a template. It takes no credentials and writes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import accountNode from '../../src/nodes/photoshelter-account';
import deliverNode from '../../src/nodes/photoshelter-deliver';
import destinationNode from '../../src/nodes/photoshelter-destination';
import { startSim, type SimHandle } from '../helpers/sim';

helper.init(require.resolve('node-red'));

interface Answer {
  ok: boolean;
  location?: string;
  where?: string;
  error?: string;
  code?: string;
  sample?: { id: string; fileName: string; note: string };
}

describe('the location preview (admin endpoint)', function () {
  this.timeout(30_000);
  let sim: SimHandle;
  let tmp: string;
  before(async () => {
    sim = await startSim({ seed: 3, assets: 10 });
    tmp = mkdtempSync(join(tmpdir(), 'ps-preview-'));
  });
  after(async () => {
    await helper.unload();
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
  });

  const load = (register: Array<(RED: NodeAPI) => void> = [accountNode, deliverNode, destinationNode]) =>
    helper.load(register, [{ id: 'acc', type: 'photoshelter-account', baseUrl: sim.baseUrl, authMode: 'session', orgId: sim.orgId, timeZone: 'UTC' }] as never, {
      acc: { apiKey: sim.apiKey, email: sim.email, password: sim.password },
    });
  const ask = async (path: string, body: unknown): Promise<Answer> => {
    const res = await helper.request().post(path).set('content-type', 'application/json').send(JSON.stringify(body));
    assert.equal(res.status, 200, res.text);
    return res.body as Answer;
  };

  it('renders the node\'s template (else the destination\'s) for the built-in example asset without an account', async () => {
    await load();
    const folder = join(tmp, 'out');
    const r = await ask('/photoshelter/deliver/preview', { destination: { kind: 'folder', folder, template: '{{asset.id}}/{{asset.fileName}}' }, template: '{{{asset.path}}}/{{asset.fileName}}' });
    assert.equal(r.ok, true, r.error);
    assert.equal(r.location, 'Spring Launch/Marathon/Finish line.jpg');
    assert.equal(r.where, join(folder, 'Spring Launch', 'Marathon', 'Finish line.jpg'));
    assert.equal(r.sample?.id, 'I0000SampleAsset');
    const own = await ask('/photoshelter/destination/preview', { destination: { kind: 'folder', folder, template: '{{asset.id}}/{{asset.fileName}}' } });
    assert.equal(own.location, 'I0000SampleAsset/Finish line.jpg');
    assert.equal(existsSync(folder), false, 'nothing was created');
  });

  it('uses an asset of the deployed account named in the request', async () => {
    await load();
    const r = await ask('/photoshelter/deliver/preview', { destination: { kind: 'folder', folder: tmp }, template: '{{{asset.path}}}/{{asset.fileName}}', account: 'acc' });
    assert.equal(r.ok, true, r.error);
    const truth = await sim.control.media(r.sample?.id as string);
    assert.equal(r.sample?.fileName, truth.file_name);
    assert.ok(r.location?.endsWith(`/${truth.file_name}`), r.location);
    assert.equal(r.sample?.note, 'photoshelter-deliver.preview.fromAccount');
  });

  it('says what is wrong: a name the sample does not have, a malformed template, a path that leaves the folder', async () => {
    await load();
    const dest = { kind: 'folder', folder: tmp };
    const missing = await ask('/photoshelter/deliver/preview', { destination: dest, template: '{{asset.iptc.titel}}/{{asset.fileName}}' });
    assert.equal(missing.ok, false);
    assert.equal(missing.code, 'ETEMPLATE');
    assert.match(missing.error ?? '', /\{\{asset\.iptc\.titel\}\}/);
    const broken = await ask('/photoshelter/deliver/preview', { destination: dest, template: '{{#asset.path}}x' });
    assert.match(broken.error ?? '', /Unclosed section "asset\.path" at character/);
    const escape = await ask('/photoshelter/deliver/preview', { destination: dest, template: '{{{msg.topic}}}/../../etc/passwd' });
    assert.equal(escape.code, 'EBADPATH');
    const noFolder = await ask('/photoshelter/destination/preview', { destination: { kind: 'folder', folder: '' } });
    assert.equal(noFolder.code, 'ECONFIG', 'no base folder: not the working directory');
  });

  it('an HTTP, SFTP or S3 destination shows where: the URL, the server path, the bucket key', async () => {
    await load();
    const http = await ask('/photoshelter/destination/preview', { destination: { kind: 'http', url: 'https://cms.example.com/media/{{asset.id}}' } });
    assert.equal(http.where, 'https://cms.example.com/media/I0000SampleAsset');
    const sftp = await ask('/photoshelter/destination/preview', { destination: { kind: 'sftp', host: 'files.example.com', port: '2222', basePath: '/upload', template: '{{asset.fileName}}' } });
    assert.equal(sftp.where, 'sftp://files.example.com:2222/upload/Finish line.jpg');
    const s3 = await ask('/photoshelter/destination/preview', { destination: { kind: 's3', bucket: 'assets', keyPrefix: 'ps/', template: '{{asset.id}}.jpg' } });
    assert.equal(s3.where, 's3://assets/ps/I0000SampleAsset.jpg');
  });

  it('takes JSON only, and only the non-secret settings', async () => {
    await load();
    const form = await helper.request().post('/photoshelter/deliver/preview').type('form').send({ template: 'x' });
    assert.equal(form.status, 415);
    // a secret sent along is neither used nor echoed
    const r = await ask('/photoshelter/destination/preview', { destination: { kind: 'http', url: 'https://cms.example.com/up/{{asset.id}}', token: 'secret-token-xyz', password: 'secret-pass' }, credentials: { token: 'secret-token-xyz' } });
    assert.ok(!JSON.stringify(r).includes('secret'), JSON.stringify(r));
  });

  it('is behind each node type\'s write permission', async () => {
    const asked: string[] = [];
    type Handler = (req: { headers: Record<string, string | undefined> }, res: { status(n: number): { end(): void } }, next: () => void) => void;
    const guarded = (register: (RED: NodeAPI) => void) => (RED: NodeAPI) =>
      register(new Proxy(RED, {
        get(target, prop, receiver) {
          if (prop !== 'auth') return Reflect.get(target, prop, receiver);
          return {
            needsPermission(permission: string): Handler {
              asked.push(permission);
              return (req, res, next) => (req.headers['x-grant'] === permission ? next() : res.status(401).end());
            },
          };
        },
      }));
    await load([accountNode, guarded(deliverNode), guarded(destinationNode)]);
    assert.ok(asked.includes('photoshelter-deliver.write') && asked.includes('photoshelter-destination.write'), JSON.stringify(asked));
    const body = JSON.stringify({ destination: { kind: 'folder', folder: tmp } });
    for (const [path, permission] of [['/photoshelter/deliver/preview', 'photoshelter-deliver.write'], ['/photoshelter/destination/preview', 'photoshelter-destination.write']]) {
      await helper.request().post(path).set('content-type', 'application/json').send(body).expect(401);
      await helper.request().post(path).set('content-type', 'application/json').set('x-grant', permission.replace('.write', '.read')).send(body).expect(401);
      await helper.request().post(path).set('content-type', 'application/json').set('x-grant', permission).send(body).expect(200);
    }
  });
});

/**
 * One scenario's world: a simulator (restartable, its library kept in a state file), a real Node-RED
 * (killable, restartable on the same user directory) running a trigger that feeds five deliver nodes (a
 * folder, HTTP PUT, HTTP POST to a collection URL, SFTP on the real OpenSSH server, S3 on s3rver), and a
 * flow around them as a user would build it: failed deliveries are caught and sent again after a pause
 * (except an asset that is gone), walk items are acknowledged once every destination has them.
 *
 * At the end, `reconcile` compares what should be delivered (asset, current version, location) with what
 * each destination holds (by sha256) and what its ledger says.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { startSim, type SimHandle } from '../helpers/sim';
import { startRuntime, type Runtime } from '../flows/runtime';
import type { OpenSshServer } from '../e2e/openssh';
import { HttpSink, S3Sink, sha256, walkFiles } from './sinks';

export const COLUMNS = ['folder', 'http-put', 'http-post', 'sftp', 's3'] as const;
export type Column = (typeof COLUMNS)[number];
export type Mode = 'changed' | 'approved' | 'added' | 'walk';

/** Services shared by all scenarios of a run (each scenario has its own folders, paths and key prefix). */
export interface Services {
  root: string;
  http: HttpSink;
  s3: S3Sink;
  ssh: OpenSshServer;
  collector: Collector;
}

/** What the flows report: deliveries, and errors that reached a Catch node. */
export class Collector {
  private server!: Server;
  url = '';
  readonly events: Array<{ scenario: string; kind: 'delivered' | 'error' | 'trigger'; node?: string; asset?: string; code?: string; message?: string; skipped?: boolean; recovered?: boolean; at: number }> = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          this.events.push({ ...(JSON.parse(body) as Collector['events'][number]), at: Date.now() });
        } catch {
          // not ours
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/report`;
  }

  of(scenario: string): Collector['events'] {
    return this.events.filter((e) => e.scenario === scenario);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }
}

export interface CellResult {
  expected: number;
  lost: number;
  doubled: number;
  orphans: number;
  /** POST to a collection URL: second items of a version that the destination cannot tell from new ones. */
  allowedDuplicates: number;
  details: string[];
}

export interface WorldOptions {
  name: string;
  mode: Mode;
  seed: number;
  auth?: 'session' | 'oauth';
  /** The folder destination's base on a small tmpfs (disk full, permission denied). */
  folderBase?: string;
  /** The account's request timeout (s). */
  timeout?: number;
  /** S3 part size (MiB, at least 5). */
  s3PartMb?: number;
  /** Deliveries per destination at once. */
  concurrency?: number;
  assets?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for `check` to hold, asking again every `everyMs`, until `ms` have passed (then throws with `what`). */
export async function until(what: string, ms: number, check: () => Promise<boolean> | boolean, everyMs = 200): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The pid of the Node-RED process started with `tag` in its environment (Node-RED renames its process). */
function runtimePid(tag: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`PS_FAULTS_TAG=${tag}`)) return Number(entry);
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return undefined;
}

/** This run's folder in the SFTP login's home (removed at the end of the run). */
export function sftpRoot(s: Services): string {
  return join(s.ssh.home, 'faults', basename(s.root));
}

const ID = (c: Column): string => `f.${c.replace('-', '')}`;

export class World {
  sim!: SimHandle;
  red: Runtime | undefined;
  userDir = '';
  private simPort = 0;
  private readonly stateFile: string;
  readonly dir: string;
  /** Asset ids that must end up delivered, in their current version, at every destination. */
  readonly expected = new Set<string>();
  /** Asset ids deleted in PhotoShelter: must be nowhere. */
  readonly gone = new Set<string>();
  /** Kills (crash points reached, or kill -9 from outside). */
  kills = 0;
  private tag = '';
  private readonly shaCache = new Map<string, string>();
  private token = '';
  galleryId = '';
  oauthRefresh = '';
  /** Faults made otherwise (tokens expired, a server restarted, a disk filled, a folder locked). */
  made = 0;
  /** Faults of the shared destinations that had fired before this scenario. */
  private readonly sinkHitsBefore: number;

  constructor(
    readonly services: Services,
    readonly o: WorldOptions,
  ) {
    this.dir = join(services.root, o.name);
    this.stateFile = join(this.dir, 'sim-state.json');
    this.sinkHitsBefore = services.http.hits + services.s3.hits;
    mkdirSync(this.dir, { recursive: true });
  }

  get folderBase(): string {
    return this.o.folderBase ?? join(this.dir, 'folder');
  }

  get sftpBase(): string {
    return join(sftpRoot(this.services), this.o.name);
  }

  async startSim(): Promise<void> {
    this.sim = await startSim({ seed: this.o.seed, assets: this.o.assets ?? 60, stateFile: this.stateFile, port: this.simPort || 0 });
    this.simPort = Number(new URL(this.sim.url).port);
    this.token = '';
  }

  /** The simulator stops and starts again on the same port, its library kept (`--state`). */
  async restartSim(): Promise<void> {
    this.made++;
    await this.sim.close();
    await this.startSim();
    // this process's connections to the old simulator were closed under it: the pool lets go of them on first use
    await until('the restarted simulator', 10_000, () => this.sim.control.state().then(() => true, () => false), 50);
  }

  /** A gallery with a few media: the scope of `added` and `walk`. */
  async pickGallery(min = 4, max = 12): Promise<string> {
    const st = await this.sim.control.state();
    const g = st.galleries.find((x) => x.media >= min && x.media <= max) ?? st.galleries.find((x) => x.media >= 1);
    if (!g) throw new Error('the simulated library has no gallery with media');
    this.galleryId = g.id;
    return g.id;
  }

  private async oauthToken(): Promise<string> {
    const api = this.sim.baseUrl;
    const q = new URLSearchParams({ api_key: this.sim.apiKey, client_id: this.sim.oauthClientId, redirect_uri: 'http://127.0.0.1:9/cb', response_type: 'code', state: 's' });
    const res = await fetch(`${api}/oauth/authorize?${q}`, { redirect: 'manual' });
    const code = new URL(res.headers.get('location') as string).searchParams.get('code') as string;
    const tok = await fetch(`${api}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-PS-Api-Key': this.sim.apiKey },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: this.sim.oauthClientId, client_secret: this.sim.oauthClientSecret, redirect_uri: 'http://127.0.0.1:9/cb' }),
    });
    const json = (await tok.json()) as { refresh_token: string };
    return json.refresh_token;
  }

  /** The flows: account, trigger, five destinations and deliver nodes, the retry loop and the reports. */
  async flows(): Promise<unknown[]> {
    const s = this.services;
    const name = this.o.name;
    const mode = this.o.mode;
    const account: Record<string, unknown> = {
      id: 'f.acc', type: 'photoshelter-account', name: 'sim', baseUrl: this.sim.baseUrl, orgId: this.sim.orgId, timeZone: 'UTC', maxConcurrency: 4, timeout: this.o.timeout ?? 30,
    };
    if (this.o.auth === 'oauth') {
      this.oauthRefresh ||= await this.oauthToken();
      Object.assign(account, { authMode: 'oauth', credentials: { apiKey: this.sim.apiKey, clientId: this.sim.oauthClientId, clientSecret: this.sim.oauthClientSecret, refreshToken: this.oauthRefresh } });
    } else {
      Object.assign(account, { authMode: 'session', credentials: { apiKey: this.sim.apiKey, email: this.sim.email, password: this.sim.password } });
    }
    const scope = mode === 'added' || mode === 'walk' ? this.galleryId : '';
    const trigger = {
      id: 'f.trig', z: 'f.tab', type: 'photoshelter-trigger', account: 'f.acc', mode, scope, interval: 5, start: 'now', maxEvents: 100, window: 5, acknowledge: true,
      ruleSource: 'custom', ruleField: 'Approval Status', ruleOp: 'eq', ruleValue: 'Approved', includeCustom: mode === 'approved',
      x: 200, y: 100, wires: [COLUMNS.map(ID)],
    };
    const dests: Record<Column, Record<string, unknown>> = {
      folder: { kind: 'folder', folder: this.folderBase, template: '{{asset.id}}/{{asset.fileName}}', fsync: true },
      'http-put': { kind: 'http', method: 'PUT', bodyMode: 'raw', url: `${s.http.origin}/put/${name}/{{asset.id}}/{{asset.fileName}}`, auth: 'none', timeout: 20 },
      'http-post': { kind: 'http', method: 'POST', bodyMode: 'raw', url: `${s.http.origin}/post/${name}?asset={{asset.id}}`, auth: 'none', timeout: 20 },
      sftp: {
        kind: 'sftp', host: s.ssh.host, port: s.ssh.port, user: s.ssh.user, hostKey: s.ssh.fingerprint, basePath: this.sftpBase, template: '{{asset.id}}/{{asset.fileName}}',
        // a key: the login's password changes whenever another OpenSSH test server starts on this machine
        credentials: { privateKey: s.ssh.privateKey },
      },
      s3: {
        kind: 's3', endpoint: s.s3.origin, region: 'us-east-1', bucket: s.s3.bucket, forcePathStyle: true, keyPrefix: `${name}/`, partSizeMb: this.o.s3PartMb ?? 5,
        template: '{{asset.id}}/{{asset.fileName}}', credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
      },
    };
    const nodes: Array<Record<string, unknown>> = [{ id: 'f.tab', type: 'tab', label: name }, account, trigger];
    const report = (kind: string) => `const report = { payload: { scenario: ${JSON.stringify(name)}, kind: '${kind}', node: msg.error ? msg.error.source && msg.error.source.id : undefined, asset: msg.asset && msg.asset.id, code: msg.error && msg.error.code, message: msg.error && msg.error.message } };`;
    COLUMNS.forEach((c, i) => {
      const { credentials, ...settings } = dests[c] as { credentials?: Record<string, string> };
      nodes.push({ id: `${ID(c)}.dest`, type: 'photoshelter-destination', name: c, ...settings, credentials: credentials ?? {} });
      nodes.push({
        id: ID(c), z: 'f.tab', type: 'photoshelter-deliver', name: c, destination: `${ID(c)}.dest`, account: 'f.acc', action: 'put', actionType: 'str',
        template: '', sidecar: 'none', overwrite: 'overwrite', concurrency: this.o.concurrency ?? 2, retries: 3, dryRun: false, x: 450, y: 60 + i * 50,
        wires: [['f.done']],
      });
    });
    nodes.push(
      // every delivery is reported; a walk item is acknowledged once all destinations have it
      {
        id: 'f.done', z: 'f.tab', type: 'function', name: 'delivered', outputs: 2, x: 650, y: 100, wires: [['f.post'], mode === 'walk' ? ['f.trig'] : []],
        func: `const d = msg.delivery || {};
let ack = null;
if (msg.event && msg.event.walkId !== undefined) {
  const k = msg.event.walkId + ':' + msg.event.index;
  const seen = context.get('acks') || {};
  seen[k] = (seen[k] || 0) + 1;
  if (seen[k] === ${COLUMNS.length}) { delete seen[k]; ack = { event: msg.event }; }
  context.set('acks', seen);
}
const r = { payload: { scenario: ${JSON.stringify(name)}, kind: 'delivered', asset: msg.asset && msg.asset.id, skipped: d.skipped, recovered: d.recovered } };
return [r, ack];`,
      },
      // failed deliveries: reported, and sent again after a pause, except an asset that is gone
      { id: 'f.catch', z: 'f.tab', type: 'catch', scope: COLUMNS.map(ID), uncaught: false, x: 200, y: 400, wires: [['f.retry']] },
      {
        id: 'f.retry', z: 'f.tab', type: 'function', name: 'retry', outputs: 2, x: 400, y: 400, wires: [['f.wait'], ['f.post']],
        func: `${report('error')}
const gone = msg.error && (msg.error.code === 'ENOASSET' || /not found|deleted/i.test(String(msg.error.message)));
msg._tries = (msg._tries || 0) + 1;
if (gone || msg._tries > 60) return [null, report];
return [msg, report];`,
      },
      { id: 'f.wait', z: 'f.tab', type: 'delay', pauseType: 'delay', timeout: '1', timeoutUnits: 'seconds', x: 600, y: 400, wires: [['f.again']] },
      {
        id: 'f.again', z: 'f.tab', type: 'function', name: 'to its deliver node', outputs: COLUMNS.length, x: 800, y: 400, wires: COLUMNS.map((c) => [ID(c)]),
        func: `const ids = ${JSON.stringify(COLUMNS.map(ID))};
const i = ids.indexOf(msg.error && msg.error.source && msg.error.source.id);
if (i < 0) return null;
delete msg.error;
const out = ids.map(() => null);
out[i] = msg;
return out;`,
      },
      { id: 'f.tcatch', z: 'f.tab', type: 'catch', scope: ['f.trig'], uncaught: false, x: 200, y: 500, wires: [['f.terr']] },
      { id: 'f.terr', z: 'f.tab', type: 'function', name: 'trigger error', x: 400, y: 500, wires: [['f.post']], func: report('trigger') + '\nreturn report;' },
      { id: 'f.post', z: 'f.tab', type: 'http request', method: 'POST', ret: 'txt', url: s.collector.url, x: 1000, y: 300, wires: [] },
      { id: 'f.walk', z: 'f.tab', type: 'inject', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, x: 100, y: 100, wires: [['f.trig']] },
    );
    return nodes;
  }

  /** Starts Node-RED (deploying the flows the first time); `crashAt` arms a crash point for this run of it. */
  async startRed(crashAt?: string): Promise<void> {
    this.tag = `${process.pid}-${this.o.name}-${Date.now()}`;
    const env: Record<string, string> = { PS_FAULTS_TAG: this.tag };
    if (crashAt) env.PHOTOSHELTER_TEST_CRASH_AT = crashAt;
    if (this.userDir) {
      this.red = await startRuntime({ userDir: this.userDir, env });
      return;
    }
    this.red = await startRuntime({ env });
    this.userDir = this.red.userDir;
    await this.red.deploy(await this.flows());
  }

  /** True once the runtime has died (a crash point, or a kill from outside). */
  private async dead(): Promise<boolean> {
    if (!this.red) return true;
    try {
      await fetch(`${this.red.url}/settings`, { signal: AbortSignal.timeout(2000) });
      return false;
    } catch {
      return runtimePid(this.tag) === undefined;
    }
  }

  /** A walk was killed before the context store had written it to disk (a known defect: it is not resumed). */
  walkUnsaved = false;

  private noteKill(): void {
    if (this.o.mode === 'walk' && !this.triggerState().includes('"walk"')) this.walkUnsaved = true;
  }

  /** Waits until the armed crash point has killed Node-RED. */
  async crashed(ms = 90_000): Promise<void> {
    await until('the crash point', ms, async () => /crash point \w+ reached/.test(this.red?.output() ?? '') && (await this.dead()), 100);
    this.kills++;
    this.noteKill();
    await this.red?.halt();
    this.red = undefined;
  }

  /** After a crash point fired unseen (the soak): Node-RED is started again, unarmed. */
  async reviveIfCrashed(): Promise<void> {
    if (!this.red || !/crash point \w+ reached/.test(this.red.output()) || !(await this.dead())) return;
    await this.crashed(5000);
    await this.startRed();
  }

  /** kill -9 from outside, now. */
  async kill(): Promise<void> {
    const pid = runtimePid(this.tag);
    if (pid === undefined) throw new Error('the Node-RED process is not found');
    process.kill(pid, 'SIGKILL');
    this.kills++;
    this.noteKill();
    await until('Node-RED to die', 20_000, () => this.dead());
    await this.red?.halt();
    this.red = undefined;
  }

  async restartRed(crashAt?: string): Promise<void> {
    if (this.red) await this.red.halt();
    this.red = undefined;
    await this.startRed(crashAt);
  }

  /** Injected faults that fired: requests the simulator answered with one, and those of the destinations. */
  async faultsHit(): Promise<number> {
    const sim = (await this.sim.control.requests().catch(() => [])).filter((r) => r.faults.length > 0).length;
    return sim + this.services.http.hits + this.services.s3.hits - this.sinkHitsBefore + this.made;
  }

  /** Every injected fault that has a count has fired that often (the simulator's and the destinations'). */
  async faultsSpent(): Promise<boolean> {
    const res = await fetch(`${this.sim.url}/__sim/faults`).catch(() => undefined);
    const rules = res?.ok ? ((await res.json()) as { faults: Array<{ count?: number; hits: number }> }).faults : [];
    const sinks = [...this.services.http.faults, ...this.services.s3.faults];
    return rules.every((r) => r.count === undefined || r.hits >= r.count) && sinks.every((f) => f.count <= 0);
  }

  /** The trigger's state as Node-RED's context store has written it to disk ('' before it has). */
  triggerState(): string {
    try {
      return readFileSync(join(this.userDir, 'context', 'f.tab', 'f.trig.json'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Asks the trigger to poll now (after moving the simulator's clock past the settling time). */
  async poll(): Promise<void> {
    if (!this.red || this.o.mode === 'walk') return;
    await this.sim.control.clock(3);
    await sleep(1100);
    for (let i = 0; i < 2; i++) {
      const res = await this.red.admin('POST', '/photoshelter/trigger/f.trig/poll');
      if (res.status !== 200) return; // a fault of the moment: the next poll tries again
    }
  }

  /** Starts the walk (walk mode). */
  async startWalk(): Promise<void> {
    const res = await this.red?.admin('POST', '/inject/f.walk');
    if (res?.status !== 200) throw new Error(`starting the walk answered ${res?.status}: ${res?.text}`);
  }

  // ---- changes in PhotoShelter, each recorded in what must be delivered ----

  /** A new file version of `id` (new bytes, same name). */
  async replace(id: string): Promise<void> {
    await this.sim.control.patchMedia(id, { replaceFile: true });
    this.expected.add(id);
  }

  async approve(id: string): Promise<void> {
    await this.sim.control.patchMedia(id, { custom: { 'Approval Status': 'Approved' } });
    this.expected.add(id);
  }

  async add(size?: number): Promise<string> {
    const id = await this.sim.control.addMedia({ galleryId: this.galleryId || (await this.pickGallery()), ...(size ? { size } : {}) });
    this.expected.add(id);
    return id;
  }

  async remove(id: string): Promise<void> {
    await this.sim.control.deleteMedia(id);
    this.expected.delete(id);
    this.gone.add(id);
  }

  /** Ids of media that are not approved now (candidates for `approve`). */
  async unapproved(n: number): Promise<string[]> {
    const out: string[] = [];
    for (const id of await this.sim.control.mediaIds()) {
      if (out.length >= n) break;
      const t = await this.sim.control.media(id);
      if (t.custom['Approval Status'] !== 'Approved' && t.type === 'image') out.push(id);
    }
    return out;
  }

  /** One change of the kind the mode reacts to; returns the asset id. */
  async change(pick: number): Promise<string> {
    switch (this.o.mode) {
      case 'changed': {
        const ids = await this.sim.control.mediaIds();
        const id = ids[pick % ids.length];
        await this.replace(id);
        return id;
      }
      case 'approved': {
        const [id] = await this.unapproved(1);
        await this.approve(id);
        return id;
      }
      case 'added':
        return this.add();
      case 'walk':
        throw new Error('a walk takes what is there');
    }
  }

  // ---- the truth ----

  private async simToken(): Promise<string> {
    if (this.token) return this.token;
    const res = await fetch(`${this.sim.baseUrl}/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-PS-Api-Key': this.sim.apiKey },
      body: new URLSearchParams({ email: this.sim.email, password: this.sim.password, mode: 'token', org_id: this.sim.orgId }),
    });
    const json = (await res.json()) as { token?: string; data?: { token?: string } };
    this.token = json.token ?? json.data?.token ?? '';
    return this.token;
  }

  /** The sha256 of an asset's current file, as PhotoShelter serves it. */
  async currentSha(id: string): Promise<{ sha: string; fileName: string }> {
    const t = await this.sim.control.media(id);
    const k = `${id}:${t.file.version}`;
    let sha = this.shaCache.get(k);
    if (!sha) {
      const res = await fetch(`${this.sim.baseUrl}/media/${id}/download?download_filetype=original`, {
        headers: { 'X-PS-Api-Key': this.sim.apiKey, 'X-PS-Auth-Token': await this.simToken() },
      });
      if (res.status !== 200) throw new Error(`downloading ${id} for the reconciliation answered ${res.status}`);
      sha = sha256(Buffer.from(await res.arrayBuffer()));
      this.shaCache.set(k, sha);
    }
    return { sha, fileName: t.file_name };
  }

  /** The walk's expected set: every medium of the gallery. */
  async expectGallery(): Promise<void> {
    for (const id of await this.sim.control.mediaIds(this.galleryId)) this.expected.add(id);
  }

  /** What each column holds, by location, with sha256; and its leftovers. */
  holdings(c: Column): { files: Map<string, string>; temp: string[]; openUploads: string[] } {
    const s = this.services;
    const name = this.o.name;
    const files = new Map<string, string>();
    const temp: string[] = [];
    const fromDisk = (root: string): void => {
      for (const f of walkFiles(root)) {
        if (/(^|\/)\.[^/]+\.part$/.test(f)) temp.push(f);
        else files.set(f, sha256(readFileSync(join(root, f))));
      }
    };
    switch (c) {
      case 'folder':
        fromDisk(this.folderBase);
        break;
      case 'sftp':
        fromDisk(this.sftpBase);
        break;
      case 'http-put':
        for (const [p, f] of s.http.filesUnder(name)) files.set(p, f.sha256);
        break;
      case 'http-post':
        for (const item of s.http.itemsOf(name)) files.set(`${item.asset}#${item.id}`, item.sha256);
        break;
      case 's3':
        for (const [k, sha] of s.s3.objectsUnder(name)) files.set(k, sha);
        return { files, temp, openUploads: s.s3.openUploads(name) };
    }
    return { files, temp, openUploads: [] };
  }

  /** The live ledger records of a column's destination: the last per target, asset and location. */
  ledger(c: Column): Array<{ t: string; a: string; l: string; h?: string }> {
    const file = join(this.userDir, 'photoshelter', 'deliveries', `${ID(c).replace('.', '_')}_dest.jsonl`);
    if (!existsSync(file)) return [];
    const last = new Map<string, { t: string; a: string; l: string; h?: string; d: string }>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      try {
        const r = JSON.parse(line) as { t: string; a: string; l: string; h?: string; d: string };
        if (r && typeof r.a === 'string') last.set(`${r.d}\0${r.a}\0${r.l}`, r);
      } catch {
        // a torn line
      }
    }
    return [...last.values()];
  }

  /** Every destination's ledger records every expected asset as done (no request: faults may still slow downloads). */
  recorded(): boolean {
    return COLUMNS.every((c) => {
      const done = new Set(this.ledger(c).filter((r) => r.t === 'done').map((r) => r.a));
      return [...this.expected].every((id) => done.has(id));
    });
  }

  /** Everything expected is at every destination in its current version (the decisive event of a run). */
  async complete(): Promise<boolean> {
    const want = await Promise.all([...this.expected].map(async (id) => ({ id, ...(await this.currentSha(id)) })));
    for (const c of COLUMNS) {
      const { files } = this.holdings(c);
      for (const w of want) {
        const held = c === 'http-post' ? [...files].some(([k, sha]) => k.startsWith(`${w.id}#`) && sha === w.sha) : files.get(`${w.id}/${w.fileName}`) === w.sha;
        if (!held) return false;
      }
      const done = new Set(this.ledger(c).filter((r) => r.t === 'done').map((r) => `${r.a}:${r.h}`));
      if (!want.every((w) => done.has(`${w.id}:${w.sha}`))) return false;
    }
    return true;
  }

  /** Reconciliation of one column: expected (asset, version, location) against the destination and the ledger. */
  async reconcile(c: Column, allowPostDuplicates: boolean): Promise<CellResult> {
    const out: CellResult = { expected: this.expected.size, lost: 0, doubled: 0, orphans: 0, allowedDuplicates: 0, details: [] };
    const { files, temp, openUploads } = this.holdings(c);
    const ledger = this.ledger(c);
    const accounted = new Set<string>();
    for (const id of this.expected) {
      const { sha, fileName } = await this.currentSha(id);
      const loc = `${id}/${fileName}`;
      if (c === 'http-post') {
        const copies = [...files].filter(([k, s]) => k.startsWith(`${id}#`) && s === sha);
        for (const [k] of [...files].filter(([k]) => k.startsWith(`${id}#`))) accounted.add(k);
        if (copies.length === 0) {
          out.lost++;
          out.details.push(`lost ${id}: no item holds its current version`);
        } else if (copies.length > 1) {
          if (allowPostDuplicates) out.allowedDuplicates += copies.length - 1;
          else {
            out.doubled += copies.length - 1;
            out.details.push(`doubled ${id}: ${copies.length} items`);
          }
        }
      } else {
        accounted.add(loc);
        if (files.get(loc) !== sha) {
          out.lost++;
          out.details.push(`lost ${id}: ${files.has(loc) ? 'other bytes' : 'nothing'} at ${loc}`);
        }
        const elsewhere = [...files].filter(([k, s]) => k !== loc && s === sha);
        if (elsewhere.length) {
          out.doubled += elsewhere.length;
          out.details.push(`doubled ${id}: also at ${elsewhere.map(([k]) => k).join(', ')}`);
        }
      }
      if (!ledger.some((r) => r.a === id && r.t === 'done' && r.h === sha)) {
        out.lost++;
        out.details.push(`lost ${id}: the ledger does not record its current version as done`);
      }
    }
    for (const id of this.gone) {
      for (const k of files.keys()) {
        if (k.startsWith(`${id}/`) || k.startsWith(`${id}#`)) {
          accounted.add(k);
          out.orphans++;
          out.details.push(`orphan ${k}: the asset was deleted before its delivery`);
        }
      }
    }
    for (const k of files.keys()) {
      if (!accounted.has(k) && !this.tolerated(k)) {
        out.orphans++;
        out.details.push(`orphan ${k}: nothing expected there`);
      }
    }
    for (const t of temp) {
      out.orphans++;
      out.details.push(`orphan ${t}: a temporary file`);
    }
    for (const u of openUploads) {
      out.orphans++;
      out.details.push(`orphan ${u}: a multipart upload neither completed nor aborted`);
    }
    return out;
  }

  /** Files of earlier versions of expected assets at their old name do not occur (names stay); nothing else is tolerated. */
  private tolerated(_key: string): boolean {
    return false;
  }

  async close(): Promise<void> {
    if (process.env.PS_FAULTS_KEEP) {
      // for a closer look: the user directory (flows, context, ledgers) stays
      console.log(`  kept ${this.userDir}`);
      if (this.red) writeFileSync(join(this.userDir, 'node-red.log'), this.red.output());
      await this.red?.halt().catch(() => undefined);
      this.red = undefined;
      await this.sim?.close().catch(() => undefined);
      return;
    }
    await this.red?.stop().catch(() => undefined);
    if (!this.red && this.userDir) rmSync(this.userDir, { recursive: true, force: true });
    this.red = undefined;
    await this.sim?.close().catch(() => undefined);
  }
}

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * photoshelter-deliver: puts an asset's file at a destination (or removes it), exactly once per version
 * and location. The orchestration (ledger, hashing, retries, sidecars, dry-run) lives in
 * src/core/deliver/deliver.ts; this file reads the settings and the message, and reports.
 */
import { Readable } from 'node:stream';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { BooleanSettingError, msgBool, strictBool } from '../core/bool';
import { loadAsset } from '../core/load';
import { FetchInputError, pickMediaId, renditionSettings, type Rendition, type RenditionConfig } from '../core/fetch';
import { Deliverer, type BodySource, type DeliverAsset, type OverwritePolicy, type Progress, type Semaphore } from '../core/deliver/deliver';
import type { DeliveryLedger } from '../core/deliver/ledger';
import { evidenceFromEmbedded } from '../core/deliver/version';
import type { DestinationTemplates } from '../core/deliver/registry';
import { SIDECAR_KINDS, type SidecarKind } from '../core/deliver/sidecar';
import { viewOf } from '../core/deliver/template';
import { DeliverError, type Destination } from '../core/deliver/types';
import { accountOf } from './shared/account';
import { clientProblem, describeError, logErrorsAsLines, shortError } from './shared/errors';
import { registerPreview } from './shared/preview';
import { status } from './shared/status';

type DeliverDef = NodeDef & RenditionConfig & {
  destination?: string; account?: string; action?: string; actionType?: string; template?: string;
  sidecar?: string; overwrite?: string; concurrency?: number | string; dryRun?: boolean; retries?: number | string; redeliverOnModify?: boolean | string;
  /** Seconds to wait when another worker sharing the ledger delivers the same file (then skipped as "in-progress"). */
  claimWait?: number | string;
};
type Msg = NodeMessageInFlow & { asset?: { id?: unknown; versionKey?: unknown }; file?: { path?: string; contentLength?: number; contentType?: string }; action?: unknown; location?: unknown; delivery?: unknown };
type DestinationNode = Node & { open(): Promise<{ destination: Destination; templates: DestinationTemplates; ledger: DeliveryLedger; target: string }>; semaphore(cap: number): Semaphore };
type CodedError = Error & { code?: string; status?: number };

export = function register(RED: NodeAPI): void {
  function DeliverNode(this: Node, def: DeliverDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: DeliverDef): void {
    const controllers = new Set<AbortController>();
    const running = new Set<Promise<void>>();
    let busy = 0;
    let closing = false;
    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    logErrorsAsLines(node);
    const sidecar = (SIDECAR_KINDS.includes(def.sidecar as SidecarKind) ? def.sidecar : 'none') as SidecarKind;
    const overwrite = (['overwrite', 'skip', 'fail'].includes(String(def.overwrite)) ? def.overwrite : 'overwrite') as OverwritePolicy;
    const redeliverOnModify = def.redeliverOnModify === true || def.redeliverOnModify === 'true';
    const wait = def.claimWait === undefined || def.claimWait === '' ? 60 : Number(def.claimWait);
    const claimWaitMs = Number.isFinite(wait) && wait >= 0 ? Math.min(wait, 3600) * 1000 : 60_000;
    const fail = (key: string, values: Record<string, string | number> = {}, code?: string): CodedError =>
      Object.assign(new Error(RED._(`photoshelter-deliver.errors.${key}`, values)), { code });
    // what to download when a message carries only an id: the original, or the JPEG rendition chosen
    let rendition: Rendition | Error;
    try {
      rendition = renditionSettings(def);
    } catch (e) {
      node.status(status.error(shortError(localize((rendition = e as Error)))));
    }

    let deliverer: Promise<Deliverer> | undefined;
    function getDeliverer(): Promise<Deliverer> {
      deliverer ??= (async () => {
        const dest = def.destination ? (RED.nodes.getNode(def.destination) as DestinationNode | null) : null;
        if (!dest || typeof dest.open !== 'function') throw fail('noDestination');
        const { destination, templates, ledger, target } = await dest.open();
        const retries = def.retries === undefined || def.retries === '' ? 3 : Math.max(0, Number(def.retries) || 0);
        // with an account, the file's embedded metadata tells a replaced file from the delivered one
        const evidence = def.account
          ? async (id: string, signal: AbortSignal) => evidenceFromEmbedded(await accountOf(RED, def.account, 'photoshelter-deliver').getClient().getEmbeddedMetadata(id, { signal }))
          : undefined;
        return new Deliverer({ destination, templates, ledger, target, evidence, name: dest.name || dest.id, semaphore: dest.semaphore(Number(def.concurrency) || 2), retries });
      })();
      deliverer.catch(() => (deliverer = undefined));
      return deliverer;
    }

    function actionOf(msg: Msg): Promise<string> {
      if (typeof msg.action === 'string' && msg.action) return Promise.resolve(msg.action);
      return new Promise((resolve, reject) =>
        RED.util.evaluateNodeProperty(def.action || 'put', def.actionType || 'str', node, msg, (err, v) => (err ? reject(err) : resolve(String(v ?? 'put')))),
      );
    }

    async function assetOf(msg: Msg, signal: AbortSignal): Promise<DeliverAsset> {
      const a = msg.asset;
      if (a && typeof a.id === 'string' && typeof a.versionKey === 'string') return a as DeliverAsset;
      const id = pickMediaId([a?.id, typeof msg.payload === 'string' || (msg.payload && typeof msg.payload === 'object' && !Buffer.isBuffer(msg.payload) && !(msg.payload instanceof Readable)) ? msg.payload : undefined]);
      const account = accountOf(RED, def.account, 'photoshelter-deliver', msg);
      const asset = await loadAsset(account.getClient(), id, { include: ['iptc'], timeZone: account.timeZone, signal });
      msg.asset = asset as unknown as Msg['asset'];
      return asset as unknown as DeliverAsset;
    }

    function sourceOf(msg: Msg, asset: DeliverAsset): BodySource {
      const p = msg.payload;
      const type = msg.file?.contentType;
      if (p instanceof Readable) return { kind: 'stream', stream: p, size: msg.file?.contentLength, contentType: type };
      if (Buffer.isBuffer(p)) return { kind: 'buffer', data: p, contentType: type };
      if (typeof p === 'string' && msg.file?.path === p) return { kind: 'file', path: p, contentType: type };
      // only an id: download the file (the original, or the rendition chosen in the node)
      const account = accountOf(RED, def.account, 'photoshelter-deliver', msg);
      const { fileType, quality } = rendition as Rendition;
      return { kind: 'fetch', open: (signal) => account.getClient().download(asset.id, { fileType, quality, signal }) };
    }

    function showProgress(p: Progress): void {
      if (busy !== 1 || closing) return;
      const speed = p.mbps.toFixed(1);
      node.status(status.working(p.percent === undefined
        ? RED._('photoshelter-deliver.status.progressBytes', { mb: (p.bytes / 1e6).toFixed(0), speed })
        : RED._('photoshelter-deliver.status.progress', { percent: p.percent, speed })));
    }

    async function handle(msg: Msg, signal: AbortSignal): Promise<void> {
      if (rendition instanceof Error) throw rendition;
      const action = await actionOf(msg);
      if (action !== 'put' && action !== 'remove') throw fail('badAction', { value: action.slice(0, 20) });
      const d = await getDeliverer();
      const asset = await assetOf(msg, signal);
      const view = viewOf(msg as unknown as Record<string, unknown>, { asset: msg.asset, file: msg.file });
      const dryRun = msgBool((msg as { dryRun?: unknown }).dryRun, 'msg.dryRun') ?? strictBool(def.dryRun, 'dryRun', false);
      const base = { asset, template: def.template, view, sidecar, dryRun, signal };
      // msg.redeliver: send it again although the ledger has it as delivered (true or false, nothing else)
      const redeliver = msgBool((msg as { redeliver?: unknown }).redeliver, 'msg.redeliver') ?? false;
      msg.delivery = action === 'put'
        ? await d.put({ ...base, source: sourceOf(msg, asset), overwrite, redeliverOnModify, redeliver, claimWaitMs, onProgress: showProgress })
        : await d.remove({ ...base, location: typeof msg.location === 'string' && msg.location ? msg.location : undefined });
    }

    function localize(e: unknown): CodedError {
      if (closing) return fail('aborted', {}, 'EABORTED');
      if (e instanceof FetchInputError) return fail(e.key, e.values, e.code);
      if (e instanceof BooleanSettingError) return fail('badBoolean', { setting: e.setting, value: e.value }, e.code);
      if (e instanceof DeliverError) {
        // destination errors say their cause first and name the folder, file or server
        const err = e.code === 'EBADPATH' ? fail('badPath', { detail: e.message }, e.code) : Object.assign(new Error(e.message), { code: e.code });
        return Object.assign(err, { retryable: e.retryable });
      }
      const { code } = (e ?? {}) as CodedError;
      if (code === undefined && e instanceof Error) return e; // already from the catalogue
      return clientProblem(RED, 'photoshelter-deliver', e) ?? fail('failed', { detail: describeError(e) }, code);
    }

    node.on('input', (msg: Msg, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      const ac = new AbortController();
      controllers.add(ac);
      busy++;
      node.status(status.working(RED._('photoshelter-deliver.status.working')));
      const task = handle(msg, ac.signal)
        .then(
          () => {
            busy--;
            const dl = msg.delivery as { skipped?: boolean | string; dryRun?: boolean; action?: string };
            const key = dl.dryRun ? 'dryRun' : dl.skipped === 'in-progress' ? 'inProgress' : dl.skipped ? 'skipped' : dl.action === 'remove' ? 'removed' : 'delivered';
            if (busy === 0) node.status(status.ok(RED._(`photoshelter-deliver.status.${key}`)));
            send(msg);
            done();
          },
          (e: unknown) => {
            busy--;
            // a stream that was never read would hold its download open
            if (msg.payload instanceof Readable && !msg.payload.readableEnded) msg.payload.destroy();
            const err = localize(e);
            if (!closing) node.status(status.error(shortError(err)));
            done(err);
          },
        )
        .finally(() => {
          controllers.delete(ac);
          running.delete(task);
        });
      running.add(task);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      // aborted uploads remove their temporary files before the promise settles
      for (const ac of controllers) ac.abort(fail('aborted', {}, 'EABORTED'));
      Promise.allSettled([...running]).then(() => done(), () => done());
    });
  }

  RED.nodes.registerType('photoshelter-deliver', DeliverNode);
  registerPreview(RED, 'photoshelter-deliver');
};

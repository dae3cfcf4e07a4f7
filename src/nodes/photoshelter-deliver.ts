/**
 * photoshelter-deliver: puts an asset's file at a destination (or removes it), exactly once per version
 * and location. The orchestration (ledger, hashing, retries, sidecars, dry-run) lives in
 * src/core/deliver/deliver.ts, the body of a message in body.ts; this file reads the message, and reports.
 */
import { Readable } from 'node:stream';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { msgBool } from '../core/bool';
import { loadAsset } from '../core/load';
import { assetOf } from '../core/message';
import { bodyOf, type Progress } from '../core/deliver/body';
import { Deliverer, type DeliverAsset, type Delivery } from '../core/deliver/deliver';
import { deliveredSequence } from '../core/deliver/delivered';
import type { DeliveryLedger } from '../core/deliver/ledger';
import type { Semaphore } from '../core/limit';
import { evidenceFromEmbedded } from '../core/deliver/version';
import type { DestinationTemplates } from '../core/deliver/registry';
import { deliverSettings, dryRunSetting, type DeliverConfig, type DeliverSettings } from '../core/deliver/settings';
import { viewOf } from '../core/deliver/template';
import type { Destination } from '../core/deliver/types';
import { isLazyBody } from '../core/fetch/lazy';
import { accountOf } from './shared/account';
import { inputNode, type InputNode } from './shared/lifecycle';
import { registerPreview } from './shared/preview';
import { status } from './shared/status';

const NS = 'photoshelter-deliver';
type Msg = NodeMessageInFlow & { asset?: unknown; file?: { path?: string; contentLength?: number; contentType?: string }; action?: unknown; location?: unknown; delivery?: unknown };
type DestinationNode = Node & { open(): Promise<{ destination: Destination; templates: DestinationTemplates; ledger: DeliveryLedger; target: string }>; ledger(): Promise<DeliveryLedger>; semaphore(cap: number): Semaphore };

export = function register(RED: NodeAPI): void {
  function DeliverNode(this: Node, def: NodeDef & DeliverConfig) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & DeliverConfig): void {
    let settings: DeliverSettings | undefined;
    let configError: unknown;
    try {
      settings = deliverSettings(def);
    } catch (e) {
      configError = e;
    }
    const client = (msg?: Msg) => accountOf(RED, def.account, NS, msg);

    function destinationNode(): DestinationNode {
      const dest = def.destination ? (RED.nodes.getNode(def.destination) as DestinationNode | null) : null;
      if (!dest || typeof dest.open !== 'function') throw life.fail('noDestination');
      return dest;
    }

    let deliverer: Promise<Deliverer> | undefined;
    function getDeliverer(s: DeliverSettings): Promise<Deliverer> {
      deliverer ??= (async () => {
        const dest = destinationNode();
        const { destination, templates, ledger, target } = await dest.open();
        // with an account, the file's embedded metadata tells a replaced file from the delivered one
        const evidence = def.account ? async (id: string, signal: AbortSignal) => evidenceFromEmbedded(await client().getClient().getEmbeddedMetadata(id, { signal })) : undefined;
        return new Deliverer({ destination, templates, ledger, target, evidence, name: dest.name || dest.id, semaphore: dest.semaphore(s.concurrency), retries: s.retries });
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

    function showProgress(p: Progress): void {
      if (life.busy() !== 1 || life.lifetime.aborted) return;
      const speed = p.mbps.toFixed(1);
      const text = p.percent === undefined ? RED._('photoshelter-deliver.status.progressBytes', { mb: (p.bytes / 1e6).toFixed(0), speed }) : RED._('photoshelter-deliver.status.progress', { percent: p.percent, speed });
      node.status(status.working(text));
    }

    async function handle(msg: Msg, s: DeliverSettings, signal: AbortSignal): Promise<Delivery> {
      const action = await actionOf(msg);
      if (action !== 'put' && action !== 'remove' && action !== 'removeCopies' && action !== 'forget' && action !== 'list') throw life.fail('badAction', { value: action.slice(0, 20) });
      const d = await getDeliverer(s);
      // the message's asset when it is a complete one, else read by id (with IPTC, for sidecars and templates)
      const load = async (id: string) => (await loadAsset(client(msg).getClient(), id, { include: ['iptc'], timeZone: client(msg).timeZone, signal })) as unknown as DeliverAsset;
      const asset = await assetOf<DeliverAsset>(msg, { complete: true }, load);
      const view = viewOf(msg as unknown as Record<string, unknown>, { asset: msg.asset, file: msg.file });
      const dryRun = msgBool((msg as { dryRun?: unknown }).dryRun, 'msg.dryRun') ?? dryRunSetting(def);
      const base = { asset, template: def.template, view, sidecar: s.sidecar, dryRun, signal };
      if (action === 'remove') return d.remove({ ...base, location: typeof msg.location === 'string' && msg.location ? msg.location : undefined });
      if (action === 'removeCopies' || action === 'forget') return d.removeAll(base, action === 'removeCopies');
      // msg.redeliver: send it again although the ledger has it as delivered (true or false, nothing else)
      const redeliver = msgBool((msg as { redeliver?: unknown }).redeliver, 'msg.redeliver') ?? false;
      // only an id: the deliverer downloads the file (the original, or the rendition chosen) once its ledger says so
      const { fileType, quality } = s.rendition;
      const source = bodyOf(msg, (sig) => client(msg).getClient().download(asset.id, { fileType, quality, signal: sig }), fileType === 'original');
      return d.put({ ...base, source, overwrite: s.overwrite, redeliverOnModify: s.redeliverOnModify, removeEarlier: s.removeEarlier, redeliver, claimWaitMs: s.claimWaitMs, onProgress: showProgress });
    }

    const life: InputNode = inputNode<Msg>(RED, node, {
      ns: NS,
      configError,
      busy: 'working',
      translate: (e) => ((e as { code?: unknown })?.code === 'EBADPATH' ? Object.assign(life.fail('badPath', { detail: (e as Error).message }, 'EBADPATH'), { retryable: false }) : undefined),
      handle: async (msg, signal) => {
        // list delivered: one message per asset the destination's ledger has delivered somewhere, as a sequence
        if ((await actionOf(msg)) === 'list') {
          const items = await deliveredSequence(await destinationNode().ledger(), RED.util.generateId(), { outer: msg.parts });
          if (signal.aborted) throw life.fail('aborted', {}, 'EABORTED');
          const out = items.map((item) => Object.assign(RED.util.cloneMessage(msg), item));
          return { send: [out] as unknown as NodeMessage[], status: status.ok(RED._(`${NS}.status.listed`, { count: out.length })) };
        }
        try {
          const dl = (msg.delivery = await handle(msg, settings as DeliverSettings, signal));
          const key = dl.dryRun ? 'dryRun' : dl.skipped === 'in-progress' ? 'inProgress' : dl.skipped ? 'skipped' : dl.action === 'remove' ? 'removed' : 'delivered';
          return { send: msg, status: status.ok(life.text(`status.${key}`)) };
        } catch (e) {
          // a stream that was never read would hold its download open (a body that downloads when read holds nothing)
          if (msg.payload instanceof Readable && !isLazyBody(msg.payload) && !msg.payload.readableEnded) msg.payload.destroy();
          throw e;
        }
      },
    });
  }

  RED.nodes.registerType(NS, DeliverNode);
  registerPreview(RED, NS);
};

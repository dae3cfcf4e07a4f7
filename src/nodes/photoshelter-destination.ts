/**
 * photoshelter-destination: where deliveries go (a folder, an HTTP API, an SFTP server, an S3 bucket: the
 * kinds of src/core/deliver/kinds.ts), with its secrets in credentials. It owns what every deliver node
 * using it shares: the destination (connections), the delivery ledger and the concurrency cap.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { DeliveryLedger } from '../core/deliver/ledger';
import { ledgerName, namedLedgerFile } from '../core/deliver/ledger-named';
import { openDestination, openLedger, type OpenedDestination } from '../core/deliver/open';
import { probeDestination } from '../core/deliver/probe';
import { destinationSecrets, type DestinationConfig } from '../core/deliver/registry';
import { DeliverError } from '../core/deliver/types';
import { Semaphore } from '../core/limit';
import { scrubberOf } from '../net/scrub';
import { describeError } from './shared/errors';
import { AdminError, adminGuards, answerError, dialogValues, type DialogSpec } from './shared/form';
import { destinationPlace } from './shared/places';
import { registerPreview } from './shared/preview';

type DestinationDef = NodeDef & DestinationConfig & { ledger?: string; ledgerName?: string };
/** A photoshelter-ledger config node (a ledger shared by several Node-RED workers). */
type SharedLedgerNode = Node & { open(target: string): Promise<DeliveryLedger> };
type Credentials = Record<string, string | undefined>;
const NS = 'photoshelter-destination';

/** What deliver nodes see of a photoshelter-destination config node. */
interface DestinationNode extends Node<Credentials> {
  kind: string;
  /** Destination, templates and ledger, made on first use; rejects with the configuration error. */
  open(): Promise<OpenedDestination>;
  /** Its ledger alone (read by listings of what was delivered), without connecting to the destination. */
  ledger(): Promise<DeliveryLedger>;
  /** The shared concurrency cap (the smallest any deliver node asked for). */
  semaphore(cap: number): Semaphore;
}

const PROBE_TIMEOUT_MS = 20_000;

/** Every kind's credentials (see each kind's `secrets`). */
const CREDENTIALS = Object.fromEntries(Object.entries(destinationSecrets()).map(([k, type]) => [k, { type }]));

export = function register(RED: NodeAPI): void {
  function DestinationNodeCtor(this: DestinationNode, def: DestinationDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: DestinationNode, def: DestinationDef): void {
    node.kind = def.kind || 'folder';
    let opened: Promise<OpenedDestination> | undefined;
    let shared: Semaphore | undefined;
    const userDir = (RED.settings as { userDir?: string }).userDir || join(homedir(), '.node-red');
    const ledgerFile = join(userDir, 'photoshelter', 'deliveries', `${node.id.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);

    let ledger: Promise<DeliveryLedger> | undefined;
    node.ledger = () => {
      ledger ??= (async () => {
        // a shared ledger (several Node-RED workers), a named file shared in this Node-RED, or its own file
        const store = def.ledger ? (RED.nodes.getNode(def.ledger) as SharedLedgerNode | null) : undefined;
        if (store !== undefined && (!store || typeof store.open !== 'function')) throw new Error(RED._('photoshelter-destination.errors.noLedger'));
        let name: string | undefined;
        try {
          name = store ? undefined : ledgerName(def.ledgerName);
        } catch {
          throw new Error(RED._('photoshelter-destination.errors.ledgerName', { name: String(def.ledgerName).slice(0, 70) }));
        }
        const namedFile = name ? namedLedgerFile(join(userDir, 'photoshelter', 'deliveries'), name) : undefined;
        return openLedger({ ...(def as unknown as DestinationConfig) }, { shared: store ? (target) => store.open(target) : undefined, ledgerFile, namedFile });
      })();
      ledger.catch(() => (ledger = undefined));
      return ledger;
    };

    node.open = () => {
      // settings and credentials, as one flat object, to the destination of the kind
      opened ??= openDestination({ ...(def as unknown as DestinationConfig) }, { ...(node.credentials ?? {}) }, {
        ledger: node.ledger,
        ledgerFile,
        cleaned: (count) => node.log(RED._('photoshelter-destination.log.cleaned', { count })),
        cleanupFailed: (e) => node.warn(RED._('photoshelter-destination.log.cleanupFailed', { detail: describeError(e) })),
      });
      opened.catch(() => (opened = undefined));
      return opened;
    };

    node.semaphore = (cap: number) => {
      const n = Math.max(1, Math.floor(cap) || 1);
      if (!shared) shared = new Semaphore(n);
      else if (n < shared.limit) shared.limit = n;
      return shared;
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      const o = opened;
      const l = ledger;
      opened = ledger = undefined;
      Promise.allSettled([o?.then((d) => d.destination.close()), l?.then((x) => x.close())]).then(() => done());
    });
  }

  RED.nodes.registerType<DestinationNode, DestinationDef, object, Credentials>(NS, DestinationNodeCtor, { credentials: CREDENTIALS });
  registerPreview(RED, NS);

  /** Where a destination's secrets go (host, port, path, user, bucket, identity checks): see each kind's `place`. */
  const SPEC: DialogSpec = {
    type: NS,
    credentialKeys: Object.keys(CREDENTIALS),
    label: (key) => RED._(`${NS}.label.${key === 'httpPassword' ? 'password' : key === 'httpUser' ? 'user' : key}`),
    identity: destinationPlace,
  };

  // Test destination: checks the settings of the edit dialog (not yet deployed) without delivering anything
  RED.httpAdmin.post('/photoshelter/destination/test', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    // the probe ends at its deadline, or as soon as the editor goes away
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const signal = AbortSignal.any([AbortSignal.timeout(PROBE_TIMEOUT_MS), gone.signal]);
    let scrub = (t: string) => t;
    try {
      const dialog = dialogValues<DestinationConfig, Credentials>(RED, SPEC, body);
      scrub = dialog.scrub;
      const report = await probeDestination(dialog.config, { ...dialog.credentials }, signal);
      const secrets = scrubberOf(Object.entries(dialog.credentials).filter(([k]) => CREDENTIALS[k]?.type === 'password').map(([, v]) => v));
      res.json({ ok: true, warning: report.warning === true, key: report.key, message: secrets(RED._(`${NS}.test.${report.key}`, report.values)) });
    } catch (e) {
      if (e instanceof AdminError) return answerError(RED, NS, res, e, scrub, describeError);
      const code = e instanceof DeliverError ? e.code : ((e as { code?: string })?.code ?? 'ERROR');
      const detail = signal.aborted ? RED._(`${NS}.test.timeout`, { seconds: PROBE_TIMEOUT_MS / 1000 }) : describeError(e);
      res.status(code === 'ECONFIG' ? 400 : 502).json({ ok: false, code, error: scrub(RED._(`${NS}.test.failed`, { detail })) });
    }
  });
};

/**
 * photoshelter-destination: where deliveries go (a folder, an HTTP API, an SFTP server, an S3 bucket),
 * with its secrets in credentials. It owns what every deliver node using it shares: the destination
 * (connections), the delivery ledger (a file under the user directory) and the concurrency cap.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Semaphore } from '../core/limit';
import { describeError } from './shared/errors';
import { DEFAULT_REMOVED_RETENTION_DAYS, FileLedger, type DeliveryLedger } from '../core/deliver/ledger';
import { probeDestination } from '../core/deliver/probe';
import { scrubberOf } from '../core/scrub';
import { createDestination, destinationTarget, destinationTemplates, type DestinationConfig, type DestinationTemplates } from '../core/deliver/registry';
import { DeliverError, type Destination } from '../core/deliver/types';
import { AdminError, adminGuards, answerError, dialogValues, type DialogSpec } from './shared/form';
import { destinationPlace } from './shared/places';
import { registerPreview } from './shared/preview';

type DestinationDef = NodeDef & DestinationConfig & { ledger?: string };
/** A photoshelter-ledger config node (a ledger shared by several Node-RED workers). */
type SharedLedgerNode = Node & { open(target: string): Promise<DeliveryLedger> };
const NS = 'photoshelter-destination';

interface DestinationCredentials {
  password?: string;
  privateKey?: string;
  passphrase?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  httpPassword?: string;
  token?: string;
  authValue?: string;
}

interface OpenedDestination {
  destination: Destination;
  templates: DestinationTemplates;
  ledger: DeliveryLedger;
  /** Where the bytes really go (kind and resolved base): part of every ledger key. */
  target: string;
}

/** What deliver nodes see of a photoshelter-destination config node. */
interface DestinationNode extends Node<DestinationCredentials> {
  kind: string;
  /** Destination, templates and ledger, made on first use; rejects with the configuration error. */
  open(): Promise<OpenedDestination>;
  /** The shared concurrency cap (the smallest any deliver node asked for). */
  semaphore(cap: number): Semaphore;
}

const PROBE_TIMEOUT_MS = 20_000;

/** Days `removed` records stay in the ledger: a number ≥ 0, else the default. */
function retentionDays(v: unknown): number {
  const n = v === undefined || v === null || v === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_REMOVED_RETENTION_DAYS;
}

const CREDENTIALS: Record<keyof DestinationCredentials, { type: 'text' | 'password' }> = {
  password: { type: 'password' },
  privateKey: { type: 'password' },
  passphrase: { type: 'password' },
  accessKeyId: { type: 'text' },
  secretAccessKey: { type: 'password' },
  httpPassword: { type: 'password' },
  token: { type: 'password' },
  authValue: { type: 'password' },
};

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

    node.open = () => {
      opened ??= (async () => {
        // settings and credentials, as one flat object, to the destination of the kind
        const { ...config } = def as unknown as DestinationConfig;
        const destination = createDestination(config, { ...(node.credentials ?? {}) });
        const templates = destinationTemplates(config);
        // what a crash left behind (temporary files of interrupted writes) goes, in the background
        destination.cleanup?.().then(
          (n) => n > 0 && node.log(RED._('photoshelter-destination.log.cleaned', { count: n })),
          (e: unknown) => node.warn(RED._('photoshelter-destination.log.cleanupFailed', { detail: describeError(e) })),
        );
        const target = destinationTarget(config);
        try {
          // a shared ledger (several Node-RED workers), or this Node-RED's own file
          const shared = def.ledger ? (RED.nodes.getNode(def.ledger) as SharedLedgerNode | null) : undefined;
          if (shared !== undefined && (!shared || typeof shared.open !== 'function')) throw new Error(RED._('photoshelter-destination.errors.noLedger'));
          // records from before targets were kept are this destination's as it is configured now
          const ledger = shared
            ? await shared.open(target)
            : await FileLedger.open(ledgerFile, { target, removedRetentionMs: retentionDays(def.retentionDays) * 86_400_000 });
          return { destination, templates, ledger, target };
        } catch (e) {
          await destination.close().catch(() => undefined);
          throw e;
        }
      })();
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
      opened = undefined;
      if (!o) return done();
      o.then((d) => Promise.allSettled([d.destination.close(), d.ledger.close()]))
        .catch(() => undefined)
        .then(() => done());
    });
  }

  RED.nodes.registerType<DestinationNode, DestinationDef, object, DestinationCredentials>('photoshelter-destination', DestinationNodeCtor, {
    credentials: CREDENTIALS,
  });
  registerPreview(RED, 'photoshelter-destination');

  /** Where a destination's secrets go (host, port, path, user, bucket, identity checks): see shared/places.ts. */
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
      const dialog = dialogValues<DestinationConfig, DestinationCredentials>(RED, SPEC, body);
      scrub = dialog.scrub;
      const report = await probeDestination(dialog.config, { ...dialog.credentials }, signal);
      const secrets = scrubberOf(Object.entries(dialog.credentials).filter(([k]) => CREDENTIALS[k as keyof DestinationCredentials]?.type === 'password').map(([, v]) => v));
      res.json({ ok: true, warning: report.warning === true, key: report.key, message: secrets(RED._(`${NS}.test.${report.key}`, report.values)) });
    } catch (e) {
      if (e instanceof AdminError) return answerError(RED, NS, res, e, scrub, describeError);
      const code = e instanceof DeliverError ? e.code : ((e as { code?: string })?.code ?? 'ERROR');
      const detail = signal.aborted ? RED._(`${NS}.test.timeout`, { seconds: PROBE_TIMEOUT_MS / 1000 }) : describeError(e);
      res.status(code === 'ECONFIG' ? 400 : 502).json({ ok: false, code, error: scrub(RED._(`${NS}.test.failed`, { detail })) });
    }
  });
};

/**
 * photoshelter-destination: where deliveries go (a folder, an HTTP API, an SFTP server, an S3 bucket),
 * with its secrets in credentials. It owns what every deliver node using it shares: the destination
 * (connections), the delivery ledger (a file under the user directory) and the concurrency cap.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Semaphore } from '../core/deliver/deliver';
import { describeError } from './shared/errors';
import { Ledger } from '../core/deliver/ledger';
import { probeDestination } from '../core/deliver/probe';
import { createDestination, destinationTemplates, type DestinationConfig, type DestinationTemplates } from '../core/deliver/registry';
import { DeliverError, type Destination } from '../core/deliver/types';
import { formConfig, formCredentials } from './shared/form';
import { registerPreview } from './shared/preview';

type DestinationDef = NodeDef & DestinationConfig;

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
  ledger: Ledger;
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
        try {
          const ledger = await Ledger.open(ledgerFile);
          return { destination, templates, ledger };
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

  /** Removes every secret from a text that is going back to the editor. */
  function scrub(text: string, secrets: DestinationCredentials): string {
    let out = text;
    for (const [key, s] of Object.entries(secrets)) {
      if (CREDENTIALS[key as keyof DestinationCredentials]?.type === 'password' && typeof s === 'string' && s.length >= 3) out = out.split(s).join('***');
    }
    return out;
  }

  // Test destination: checks the settings of the edit dialog (not yet deployed) without delivering anything
  RED.httpAdmin.post(
    '/photoshelter/destination/test',
    RED.auth.needsPermission('photoshelter-destination.write'),
    async (req: Request, res: Response) => {
      const body = (req.body ?? {}) as { id?: unknown; config?: Record<string, unknown>; credentials?: Record<string, unknown> };
      const credentials = formCredentials<DestinationCredentials>(RED, body.id, body.credentials, Object.keys(CREDENTIALS));
      // the probe ends at its deadline, or as soon as the editor goes away
      const gone = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) gone.abort();
      });
      const signal = AbortSignal.any([AbortSignal.timeout(PROBE_TIMEOUT_MS), gone.signal]);
      try {
        const config = formConfig<DestinationConfig>(body.config);
        const report = await probeDestination(config, { ...credentials }, signal);
        res.json({ ok: true, warning: report.warning === true, key: report.key, message: scrub(RED._(`photoshelter-destination.test.${report.key}`, report.values), credentials) });
      } catch (e) {
        const code = e instanceof DeliverError ? e.code : ((e as { code?: string })?.code ?? 'ERROR');
        const detail = signal.aborted ? RED._('photoshelter-destination.test.timeout', { seconds: PROBE_TIMEOUT_MS / 1000 }) : describeError(e);
        res.status(code === 'ECONFIG' ? 400 : 502).json({ ok: false, code, error: scrub(RED._('photoshelter-destination.test.failed', { detail }), credentials) });
      }
    },
  );
};

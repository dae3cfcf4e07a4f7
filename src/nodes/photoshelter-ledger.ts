/**
 * photoshelter-ledger: a delivery ledger shared by several Node-RED processes (workers), in PostgreSQL.
 * Destinations that name it keep their records there instead of in a file of this Node-RED; the store
 * (src/core/deliver/ledger-postgres.ts) does the work. Connection settings here, the password in
 * credentials; the `pg` driver is loaded only when the ledger is first used.
 */
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { LedgerConfigError, PostgresStore, postgresSettings, type LedgerConfig, type UpdateEvent } from '../core/deliver/ledger-postgres';
import type { DeliveryLedger } from '../core/deliver/ledger';
import { describeError } from './shared/errors';
import { AdminError, adminGuards, answerError, dialogValues, type DialogSpec } from './shared/form';
import { ledgerPlace } from './shared/places';

const NS = 'photoshelter-ledger';
const PROBE_TIMEOUT_MS = 15_000;

interface LedgerCredentials {
  password?: string;
}

/** What destinations see of a photoshelter-ledger config node. */
interface LedgerNode extends Node<LedgerCredentials> {
  /** The ledger of one target (a destination's real place); the connection is made on first use. */
  open(target: string): Promise<DeliveryLedger>;
  /** Audited metadata updates (update nodes): rows of update_event; resolves with how many. */
  recordUpdates(events: UpdateEvent[]): Promise<number>;
}

export = function register(RED: NodeAPI): void {
  function LedgerNodeCtor(this: LedgerNode, def: NodeDef & LedgerConfig) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: LedgerNode, def: NodeDef & LedgerConfig): void {
    let store: Promise<PostgresStore> | undefined;
    const opened = (): Promise<PostgresStore> => {
      store ??= (async () => {
        try {
          return await PostgresStore.open(postgresSettings(def, node.credentials ?? {}));
        } catch (e) {
          throw new Error(RED._(`${NS}.errors.open`, { detail: describeError(e) }), { cause: e });
        }
      })();
      store.catch(() => (store = undefined));
      return store;
    };
    node.open = async (target: string) => (await opened()).ledger(target);
    node.recordUpdates = async (events: UpdateEvent[]) => (await opened()).recordUpdates(events);
    node.on('close', (_removed: boolean, done: () => void) => {
      const s = store;
      store = undefined;
      if (!s) return done();
      s.then((x) => x.close()).catch(() => undefined).then(() => done());
    });
  }

  RED.nodes.registerType<LedgerNode, NodeDef & LedgerConfig, object, LedgerCredentials>(NS, LedgerNodeCtor, {
    credentials: { password: { type: 'password' } },
  });

  /** A stored password goes only to the host, port, database and user it was stored with (see shared/places.ts). */
  const SPEC: DialogSpec = { type: NS, credentialKeys: ['password'], label: (key) => RED._(`${NS}.label.${key}`), identity: ledgerPlace };

  // Test connection: the dialog's settings, connected for real; changes nothing in the database
  RED.httpAdmin.post('/photoshelter/ledger/test', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    let scrub = (t: string) => t;
    try {
      const dialog = dialogValues<LedgerConfig, LedgerCredentials>(RED, SPEC, body);
      scrub = dialog.scrub;
      const settings = { ...postgresSettings(dialog.config, dialog.credentials), connectTimeoutMs: PROBE_TIMEOUT_MS };
      const report = await PostgresStore.probe(settings);
      const key = report.schemaVersion === 0 ? 'okEmpty' : report.schemaVersion < report.latest ? 'okOlder' : 'ok';
      res.json({ ok: true, ...report, message: scrub(RED._(`${NS}.test.${key}`, { server: report.server, version: report.schemaVersion, schema: settings.schema })) });
    } catch (e) {
      if (e instanceof AdminError) return answerError(RED, NS, res, e, scrub, describeError);
      const config = e instanceof LedgerConfigError;
      res.status(config ? 400 : 502).json({ ok: false, code: config ? 'ECONFIG' : ((e as { code?: string })?.code ?? 'ERROR'), error: scrub(RED._(`${NS}.test.failed`, { detail: describeError(e) })) });
    }
  });
};

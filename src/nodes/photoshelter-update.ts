/**
 * photoshelter-update: writes metadata (IPTC, keywords, custom fields) to one asset or a batch, changing
 * only what differs. The mapping, the diff, conflict handling and batching live in src/core/update.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { msgBool } from '../core/bool';
import type { UpdateEvent } from '../core/deliver/ledger-postgres';
import type { UpdateOutcome } from '../core/update/apply';
import { requestOf, runRequest } from '../core/update/batch';
import { renderTemplate, updateSettings, type Change, type Row, type UpdateConfig, type UpdateSettings } from '../core/update/mapping';
import { accountOf } from './shared/account';
import { describeError, shortError } from './shared/errors';
import { inputNode, type Outcome } from './shared/lifecycle';
import { status } from './shared/status';

const NS = 'photoshelter-update';

type UpdateDef = NodeDef & UpdateConfig & { account?: string; ledger?: string };
/** A photoshelter-ledger config node: the shared store that keeps audited updates. */
type LedgerNode = Node & { recordUpdates(events: UpdateEvent[]): Promise<number> };
type Msg = NodeMessageInFlow & { asset?: unknown; dryRun?: unknown; update?: unknown };

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  function UpdateNode(this: Node, def: UpdateDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: UpdateDef): void {
    let settings: UpdateSettings | undefined;
    let configError: unknown;
    try {
      settings = updateSettings(def);
    } catch (e) {
      configError = e;
    }

    function valueOf(row: Row, msg: Msg): Promise<unknown> {
      if (row.op === 'clear') return Promise.resolve(undefined);
      if (row.valueType === 'str') return Promise.resolve(renderTemplate(row.value, msg, row.target));
      // JSONata and the others may throw, or call back with a plain object: either way one readable sentence
      const failed = (err: unknown): Error => life.worded(t('errors.value', { target: row.target, type: row.valueType, detail: describeError(err) }), 'EVALUE');
      return new Promise((resolve, reject) => {
        try {
          RED.util.evaluateNodeProperty(row.value, row.valueType, node, msg, (err: unknown, v: unknown) => (err ? reject(failed(err)) : resolve(v)));
        } catch (e) {
          reject(failed(e));
        }
      });
    }

    async function rowChanges(s: UpdateSettings, msg: Msg): Promise<Change[]> {
      return Promise.all(s.rows.map(async (r) => ({ target: r.target, op: r.op, value: await valueOf(r, msg) })));
    }

    const itemReport = (o: UpdateOutcome) => {
      const out: Record<string, unknown> = { id: o.id, ok: o.ok, changed: o.changed, fields: o.fields };
      if (o.reapplied) out.reapplied = true;
      if (!o.ok) {
        const err = life.translate(o.error);
        out.error = { message: err.message, code: err.code };
      }
      return out;
    };

    function finish(msg: Msg, batch: boolean, dryRun: boolean, outcomes: UpdateOutcome[]): Outcome {
      const failed = outcomes.filter((o) => !o.ok);
      const changed = outcomes.filter((o) => o.changed);
      if (batch) {
        msg.update = { changed: changed.length > 0, items: outcomes.map(itemReport), dryRun };
      } else {
        msg.update = { ...itemReport(outcomes[0]), dryRun };
        delete (msg.update as Record<string, unknown>).ok;
      }
      if (failed.length > 0) {
        const first = life.translate(failed[0].error);
        if (!batch) return { error: first, status: status.error(shortError(first)) };
        const error = life.worded(t('errors.batch', { failed: failed.length, total: outcomes.length, first: first.message }), first.code);
        return { send: msg, error, status: status.error(t('status.failed', { failed: failed.length, total: outcomes.length })) };
      }
      const fields = outcomes.reduce((n, o) => n + Object.keys(o.fields).length, 0);
      const shown = dryRun
        ? status.idle(t('status.dryRun', { count: fields }))
        : changed.length === 0
          ? status.idle(t('status.noChange'))
          : batch
            ? status.ok(t('status.updatedAssets', { count: changed.length, total: outcomes.length }))
            : status.ok(t('status.updatedFields', { count: fields }));
      return { send: msg, status: shown };
    }

    /** The changes written, into the shared ledger's update_event (written already: an error says so). */
    async function audit(written: UpdateOutcome[]): Promise<void> {
      if (written.length === 0) return;
      const store = RED.nodes.getNode(def.ledger as string) as LedgerNode | null;
      try {
        if (!store || typeof store.recordUpdates !== 'function') throw new Error(t('errors.noLedger'));
        await store.recordUpdates(written.map((o) => ({ asset: o.id, fields: o.fields, reapplied: o.reapplied, source: node.name || undefined })));
      } catch (e) {
        throw life.worded(t('errors.audit', { count: written.length, detail: describeError(e) }), 'ELEDGER');
      }
    }

    const life = inputNode<Msg>(RED, node, {
      ns: NS,
      configError,
      configNote: true,
      busy: 'working',
      handle: async (msg, signal) => {
        const s = settings as UpdateSettings;
        const dryRun = msgBool(msg.dryRun, 'msg.dryRun') ?? s.dryRun;
        const req = requestOf(msg, await rowChanges(s, msg));
        const account = accountOf(RED, def.account, NS, msg);
        const outcomes = await runRequest(account.getClient(), req, s.concurrency, { timeZone: account.timeZone, dryRun, signal });
        if (def.ledger && !dryRun) await audit(outcomes.filter((o) => o.ok && o.changed));
        return finish(msg, req.batch, dryRun, outcomes);
      },
    });
  }

  RED.nodes.registerType(NS, UpdateNode);
};

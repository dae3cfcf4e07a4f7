/**
 * photoshelter-update: writes metadata (IPTC, keywords, custom fields) to one asset or a batch, changing
 * only what differs. The mapping, the diff, conflict handling and batching live in src/core/update.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { BooleanSettingError, msgBool } from '../core/bool';
import type { UpdateOutcome } from '../core/update/apply';
import { requestOf, runRequest } from '../core/update/batch';
import { UpdateError } from '../core/update/errors';
import { renderTemplate, updateSettings, type Change, type Row, type UpdateConfig, type UpdateSettings } from '../core/update/mapping';
import { accountOf } from './shared/account';
import { clientProblem, describeError, logErrorsAsLines, shortError } from './shared/errors';
import { status } from './shared/status';

const NS = 'photoshelter-update';

type UpdateDef = NodeDef & UpdateConfig & { account?: string };
type Msg = NodeMessageInFlow & { asset?: unknown; dryRun?: unknown; update?: unknown };
type CodedError = Error & { code?: string; status?: number };

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  /** Any failure as an Error with catalogue text and the code of its cause. */
  function localize(e: unknown, closing = false): CodedError {
    if (e instanceof UpdateError) return Object.assign(new Error(RED._(`${NS}.errors.${e.key}`, e.values)), { code: e.code });
    if (e instanceof BooleanSettingError) return Object.assign(new Error(t('errors.badBoolean', { setting: e.setting, value: e.value })), { code: e.code });
    const { code, status: s } = (e ?? {}) as CodedError;
    if (closing || code === 'EABORTED') return Object.assign(new Error(t('errors.aborted')), { code: 'EABORTED' });
    if ((code === undefined || code === 'EVALUE') && e instanceof Error) return e; // already a catalogue text
    return clientProblem(RED, NS, e) ?? Object.assign(new Error(t('errors.failed', { detail: describeError(e) })), { code, status: s });
  }

  function UpdateNode(this: Node, def: UpdateDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: UpdateDef): void {
    let settings: UpdateSettings | undefined;
    let configError: CodedError | undefined;
    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    logErrorsAsLines(node);
    try {
      settings = updateSettings(def);
    } catch (e) {
      configError = localize(e);
      node.error(t('errors.config', { detail: configError.message }));
      node.status(status.error(shortError(configError)));
    }
    const controllers = new Set<AbortController>();
    let busy = 0;
    let closing = false;

    function valueOf(row: Row, msg: Msg): Promise<unknown> {
      if (row.op === 'clear') return Promise.resolve(undefined);
      if (row.valueType === 'str') return Promise.resolve(renderTemplate(row.value, msg, row.target));
      // JSONata and the others may throw, or call back with a plain object: either way one readable sentence
      const failed = (err: unknown): Error =>
        Object.assign(new Error(t('errors.value', { target: row.target, type: row.valueType, detail: describeError(err) })), { code: 'EVALUE' });
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
        const err = localize(o.error, closing);
        out.error = { message: err.message, code: err.code };
      }
      return out;
    };

    function finish(msg: Msg, batch: boolean, dryRun: boolean, outcomes: UpdateOutcome[]): CodedError | undefined {
      const failed = outcomes.filter((o) => !o.ok);
      const changed = outcomes.filter((o) => o.changed);
      if (batch) {
        msg.update = { changed: changed.length > 0, items: outcomes.map(itemReport), dryRun };
      } else {
        msg.update = { ...itemReport(outcomes[0]), dryRun };
        delete (msg.update as Record<string, unknown>).ok;
      }
      if (failed.length > 0) {
        const first = localize(failed[0].error, closing);
        const err = batch ? Object.assign(new Error(t('errors.batch', { failed: failed.length, total: outcomes.length, first: first.message })), { code: first.code }) : first;
        if (!closing) node.status(status.error(batch ? t('status.failed', { failed: failed.length, total: outcomes.length }) : shortError(err)));
        return err;
      }
      if (busy > 1) return undefined; // others in flight report last
      const fields = outcomes.reduce((n, o) => n + Object.keys(o.fields).length, 0);
      if (dryRun) node.status(status.idle(t('status.dryRun', { count: fields })));
      else if (changed.length === 0) node.status(status.idle(t('status.noChange')));
      else if (batch) node.status(status.ok(t('status.updatedAssets', { count: changed.length, total: outcomes.length })));
      else node.status(status.ok(t('status.updatedFields', { count: fields })));
      return undefined;
    }

    async function handle(msg: Msg, s: UpdateSettings, signal: AbortSignal): Promise<{ err?: CodedError; send: boolean }> {
      const dryRun = msgBool(msg.dryRun, 'msg.dryRun') ?? s.dryRun;
      const req = requestOf(msg, await rowChanges(s, msg));
      const account = accountOf(RED, def.account, NS, msg);
      const client = account.getClient();
      const outcomes = await runRequest(client, req, s.concurrency, { timeZone: account.timeZone, dryRun, signal });
      const err = finish(msg, req.batch, dryRun, outcomes);
      return { err, send: req.batch || !err };
    }

    node.on('input', (msg: Msg, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!settings) return done(configError);
      const ac = new AbortController();
      controllers.add(ac);
      busy++;
      node.status(status.working(t('status.working')));
      handle(msg, settings, ac.signal)
        .then(({ err, send: sendIt }) => {
          if (sendIt) send(msg);
          done(err);
        })
        .catch((e: unknown) => {
          const err = localize(e, closing);
          if (!closing) node.status(status.error(shortError(err)));
          done(err);
        })
        .finally(() => {
          controllers.delete(ac);
          busy--;
        });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const ac of controllers) ac.abort(Object.assign(new Error(t('errors.aborted')), { code: 'EABORTED' }));
      controllers.clear();
      done();
    });
  }

  RED.nodes.registerType(NS, UpdateNode);
};

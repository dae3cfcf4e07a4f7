/**
 * photoshelter-trigger: polling turned into events (changed, approved, added) and resumable walks. The
 * modes and their runner live in src/core/trigger (modes/, runner.ts); this file wires them to Node-RED:
 * config, context store, the words of statuses and logs, and the input and close of the node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Request, Response } from 'express';
import { CoreError } from '../core/errors';
import { resolveTrigger, type TriggerSettings } from '../core/trigger/config';
import { createTrigger, type TriggerInput, type TriggerMessage, type TriggerReport, type TriggerRunner } from '../core/trigger/runner';
import type { SavedWindow, WindowStore } from '../core/trigger/reissue';
import type { StateStore, TriggerState } from '../core/trigger/state';
import { accountOf } from './shared/account';
import { adminGuards } from './shared/form';
import { describeError, shortError } from './shared/errors';
import { clockTime, status } from './shared/status';

const NS = 'photoshelter-trigger';
const KEY = 'photoshelter-trigger';
/** The context key of the window of unacknowledged events (poll modes with an acknowledgement timeout). */
const WINDOW_KEY = 'photoshelter-trigger-window';

type TriggerDef = NodeDef & TriggerSettings & { account?: string; store?: string };
interface TriggerNode extends Node {
  pollNow?: () => Promise<void>;
}

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);
  /** An error in the user's words: a core error with a key from the catalogue, others as they read. */
  const word = (e: unknown): string => (e instanceof CoreError && e.key ? t(`errors.${e.key}`, e.values) : describeError(e));

  function contextStore<T = TriggerState>(node: Node, name: string | undefined, key = KEY): { load(): Promise<T | undefined>; save(s: T): Promise<void> } {
    const ctx = node.context();
    const store = name || undefined;
    return {
      load: () => new Promise((ok, fail) => ctx.get(key, store as string, (err: Error | null, v: unknown) => (err ? fail(err) : ok(v as T)))),
      save: (s) => new Promise((ok, fail) => ctx.set(key, s, store as string, (err?: Error | null) => (err ? fail(err) : ok()))),
    };
  }

  /** True when the chosen context store keeps nothing across restarts. */
  function isMemoryStore(name: string | undefined): boolean {
    const all = (RED.settings as unknown as { contextStorage?: Record<string, unknown> }).contextStorage;
    if (!all) return true;
    let cfg = all[name || 'default'];
    if (typeof cfg === 'string') cfg = all[cfg];
    const mod = (cfg as { module?: unknown } | undefined)?.module;
    return !cfg || mod === undefined || mod === 'memory';
  }

  /** What the runner reports, in the node's words: its status, its log, and Catch nodes for a failed poll. */
  function reportTo(node: TriggerNode): TriggerReport {
    return {
      send: (msg) => node.send(msg as unknown as NodeMessage),
      backoff: (ms) => node.status(status.waiting(t('status.backoff', { seconds: Math.ceil(ms / 1000) }))),
      polling: (baseline) => node.status(status.working(t(baseline ? 'status.baseline' : 'status.polling'))),
      polled: (r, at, { sent, pending, blind }) => {
        if (blind) return node.status(status.waiting(t('status.nothingVisible')));
        const key = pending === undefined ? 'status.polled' : 'status.polledAwaiting';
        node.status((sent ? status.ok : status.idle)(t(key, { time: clockTime(at), count: sent, latest: r.events.length, pending: pending ?? 0 })));
      },
      nothingVisible: (why, scopes) => {
        const where = scopes.length ? t('warnings.scope', { scope: scopes.join(', ') }) : t('warnings.library');
        const organizations = why.organizations.map((o) => `${o.name} (${o.id})`).join(', ');
        node.warn(t(why.orgId || !organizations ? 'warnings.nothingVisible' : 'warnings.nothingVisibleNoOrg', { where, organizations }));
        node.status(status.waiting(t('status.nothingVisible')));
      },
      pollFailed: (e, retryMs) => {
        const text = word(e);
        const seconds = Math.ceil(retryMs / 1000);
        node.status(status.error(t('status.failed', { error: shortError(text, 44), seconds })));
        // the msg a Catch node gets: the error code lets a flow branch on it
        node.error(t('errors.poll', { detail: text, seconds }), { payload: { code: (e as { code?: string }).code ?? 'ERROR', message: text } });
      },
      startFailed: (e) => node.error(t('errors.poll', { detail: describeError(e) })),
      walkIdle: () => node.status(status.idle(t('status.walkIdle'))),
      walkProgress: (p) => node.status(p.done ? status.ok(t('status.walkDone', { count: p.emitted })) : status.working(t('status.walking', { emitted: p.emitted, acked: p.acked, inFlight: p.inFlight }))),
      walkResumed: () => node.log(t('log.walkResumed')),
      walkFailed: (e) => {
        node.status(status.error(shortError(e)));
        node.error(t('errors.walk', { detail: describeError(e) }));
      },
      windowFailed: (e) => node.warn(describeError(e)),
    };
  }

  function TriggerNodeCtor(this: TriggerNode, def: TriggerDef) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  function setUp(node: TriggerNode, def: TriggerDef): void {
    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    let runner: TriggerRunner;
    let stopBackoff: () => void;
    try {
      const cfg = resolveTrigger(def);
      const account = accountOf(RED, def.account, NS);
      const client = account.getClient();
      const report = reportTo(node);
      const store: StateStore = contextStore(node, def.store);
      if (isMemoryStore(def.store)) node.warn(t('warnings.memoryStore'));
      const windowStore = contextStore<SavedWindow<TriggerMessage>>(node, def.store, WINDOW_KEY) as WindowStore<TriggerMessage>;
      runner = createTrigger(cfg, { client, timeZone: account.timeZone, accountId: account.id, store, windowStore, report });
      const onBackoff = ({ ms }: { ms: number }) => report.backoff(ms);
      client.events.on('backoff', onBackoff);
      stopBackoff = () => client.events.off('backoff', onBackoff);
    } catch (e) {
      const text = describeError(e);
      node.status(status.error(shortError(text)));
      node.error(t('errors.config', { detail: text }));
      node.on('input', (_msg, _send, done) => done(new Error(t('errors.config', { detail: text }))));
      return;
    }
    if (runner.pollNow) node.pollNow = runner.pollNow;
    runner.start();
    node.on('input', (msg: NodeMessageInFlow & TriggerInput, _send, done) => {
      runner.input(msg).then(
        () => done(),
        // a setting of the message is worded from the catalogue (msg.restart that is not true or false)
        (e: unknown) => done(e instanceof CoreError && e.key ? new Error(t(`errors.${e.key}`, e.values)) : e instanceof Error ? e : new Error(String(e))),
      );
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      stopBackoff();
      runner.stop().then(done, done);
    });
  }

  RED.nodes.registerType(NS, TriggerNodeCtor);

  // poll now (the node's button): only a deployed trigger, only from the editor's own page
  RED.httpAdmin.post(`/photoshelter/trigger/:id/poll`, ...adminGuards(RED, NS), (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id)) as TriggerNode | null;
    if (!node || node.type !== NS || typeof node.pollNow !== 'function') {
      res.status(404).json({ error: t('errors.notPolling') });
      return;
    }
    node.pollNow().then(
      () => res.json({ ok: true }),
      (e: unknown) => res.status(502).json({ error: describeError(e) }),
    );
  });
};

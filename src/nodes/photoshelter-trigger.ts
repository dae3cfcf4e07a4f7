/**
 * photoshelter-trigger: polling turned into events (changed, approved, added) and resumable walks. The
 * modes and their runner live in src/core/trigger (modes/, runner.ts); this file wires them to Node-RED:
 * config, the state file, when the flow finished a msg, the words of statuses and logs, and the input and
 * close of the node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Request, Response } from 'express';
import { CoreError } from '../core/errors';
import { resolveTrigger, type TriggerSettings } from '../core/trigger/config';
import { createTrigger, type TriggerInput, type TriggerMessage, type TriggerReport, type TriggerRunner } from '../core/trigger/runner';
import { accountOf } from './shared/account';
import { completionWatch } from './shared/completion';
import { adminGuards } from './shared/form';
import { describeError, shortError } from './shared/errors';
import { clockTime, status } from './shared/status';
import { triggerStateFile, triggerStatePath } from './shared/trigger-state';

const NS = 'photoshelter-trigger';

type TriggerDef = NodeDef & TriggerSettings & { account?: string; store?: string };
interface TriggerNode extends Node {
  pollNow?: () => Promise<void>;
}

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  /** An error in the user's words: one of this node's catalogue when it has a key. */
  function word(node: Node, e: unknown): string {
    if (!(e instanceof CoreError && e.key)) return describeError(e);
    return t(`errors.${e.key}`, { ...e.values, ...(e.key === 'stateDamaged' && !e.values.file ? { file: triggerStatePath(RED, node.id) } : {}) });
  }

  /** What the runner reports, in the node's words: its status, its log, and Catch nodes for a failed poll. */
  function reportTo(node: TriggerNode, leader: boolean, whenStarted: (send: () => void) => void): TriggerReport {
    const watch = completionWatch(RED);
    const failed = (key: string, e: unknown, seconds?: number) => {
      const text = word(node, e);
      node.status(status.error(t(seconds === undefined ? 'status.stopped' : 'status.failed', { error: shortError(text, 44), seconds: seconds ?? 0 })));
      // the msg a Catch node gets: the error code lets a flow branch on it
      node.error(t(key, { detail: text, seconds: seconds ?? 0 }), { payload: { code: (e as { code?: string }).code ?? 'ERROR', message: text } });
    };
    return {
      send: (msg, finished) =>
        whenStarted(() =>
          watch && finished ? watch.send(node.id, msg as unknown as Record<string, unknown>, (m) => node.send(m as NodeMessage), finished) : node.send(msg as unknown as NodeMessage),
        ),
      backoff: (ms) => node.status(status.waiting(t('status.backoff', { seconds: Math.ceil(ms / 1000) }))),
      polling: (baseline) => node.status(status.working(t(baseline ? 'status.baseline' : 'status.polling'))),
      polled: (r, at, { sent, pending, blind }) => {
        if (blind) return node.status(status.waiting(t('status.nothingVisible')));
        // a leader's items wait for acknowledgements; events the flow works on are said only when polls wait (held)
        const key = leader ? 'status.polledAwaiting' : 'status.polled';
        node.status((sent ? status.ok : status.idle)(t(key, { time: clockTime(at), count: sent, latest: r.events.length, pending: pending ?? 0 })));
      },
      held: (pending) => node.status(status.waiting(t('status.held', { pending }))),
      nothingVisible: (why, scopes) => {
        const where = scopes.length ? t('warnings.scope', { scope: scopes.join(', ') }) : t('warnings.library');
        const organizations = why.organizations.map((o) => `${o.name} (${o.id})`).join(', ');
        node.warn(t(why.orgId || !organizations ? 'warnings.nothingVisible' : 'warnings.nothingVisibleNoOrg', { where, organizations }));
        node.status(status.waiting(t('status.nothingVisible')));
      },
      pollFailed: (e, retryMs) => failed('errors.poll', e, Math.ceil(retryMs / 1000)),
      startFailed: (e) => failed('errors.start', e),
      walkIdle: () => node.status(status.idle(t('status.walkIdle'))),
      walkProgress: (p) => node.status(p.done ? status.ok(t('status.walkDone', { count: p.emitted })) : status.working(t('status.walking', { emitted: p.emitted, acked: p.acked, inFlight: p.inFlight }))),
      walkResumed: () => node.log(t('log.walkResumed')),
      walkFailed: (e) => {
        const text = word(node, e);
        node.status(status.error(shortError(text)));
        node.error(t('errors.walk', { detail: text }));
      },
      windowFailed: (e) => node.warn(word(node, e)),
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
    const watch = completionWatch(RED);
    // what the trigger sends before every node of the flows runs (what a previous run left unfinished,
    // sent again at the start) waits for them
    const events = (RED as unknown as { events?: NodeJS.EventEmitter }).events;
    let waiting: Array<() => void> | undefined = events ? [] : undefined;
    const started = () => {
      const sends = waiting ?? [];
      waiting = undefined;
      for (const send of sends) send();
    };
    const whenStarted = (send: () => void) => (waiting ? void waiting.push(send) : send());
    try {
      const cfg = resolveTrigger(def);
      const account = accountOf(RED, def.account, NS);
      const client = account.getClient();
      const report = reportTo(node, cfg.ackTimeoutMs > 0, whenStarted);
      const file = triggerStateFile<TriggerMessage>(RED, node, def.store);
      // without messaging hooks nothing tells when the flow finished a msg: the poll modes say so
      if (!watch && cfg.mode !== 'walk' && !(cfg.ackTimeoutMs > 0)) node.warn(t('warnings.noHooks'));
      runner = createTrigger(cfg, { client, timeZone: account.timeZone, accountId: account.id, store: file.state, windowStore: file.window, completion: Boolean(watch), report });
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
    events?.once('flows:started', started);
    runner.start();
    node.on('input', (msg: NodeMessageInFlow & TriggerInput, _send, done) => {
      runner.input(msg).then(
        () => done(),
        // a setting of the message is worded from the catalogue (msg.restart that is not true or false)
        (e: unknown) => done(e instanceof CoreError && e.key ? new Error(t(`errors.${e.key}`, e.values)) : e instanceof Error ? e : new Error(String(e))),
      );
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      events?.off('flows:started', started);
      stopBackoff();
      runner.stop().finally(() => watch?.leave(node.id)).then(done, done);
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

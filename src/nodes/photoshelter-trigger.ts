/**
 * photoshelter-trigger: polling turned into events (changed, approved, added) and resumable walks.
 * The work is in src/core/trigger; this file wires it to Node-RED: config, context store, status, msgs.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { Request, Response } from 'express';
import { nothingVisible } from '../core/account';
import { summarize } from '../core/asset';
import { resolveTrigger, type TriggerSettings } from '../core/trigger/config';
import { PollLoop } from '../core/trigger/loop';
import { configKeyOf, TriggerPoller, type TriggerEvent } from '../core/trigger/poller';
import { ReissueWindow, type SavedWindow, type WindowStore } from '../core/trigger/reissue';
import type { StateStore, TriggerState } from '../core/trigger/state';
import { Walker, type WalkEmit, type WalkScope } from '../core/trigger/walker';
import { msgBool } from '../core/bool';
import { accountOf } from './shared/account';
import { adminGuards } from './shared/form';
import { describeError, shortError } from './shared/errors';
import { clockTime, status } from './shared/status';

const NS = 'photoshelter-trigger';
const KEY = 'photoshelter-trigger';
/** The context key of the window of unacknowledged events (poll modes with an acknowledgement timeout). */
const WINDOW_KEY = 'photoshelter-trigger-window';
type Out = { topic: string; asset: unknown; payload: unknown; event: Record<string, unknown>; parts?: unknown };

type TriggerDef = NodeDef & TriggerSettings & { account?: string; store?: string };
interface TriggerNode extends Node {
  pollNow?: () => Promise<void>;
}

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

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

  function TriggerNodeCtor(this: TriggerNode, def: TriggerDef) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  function setUp(node: TriggerNode, def: TriggerDef): void {
    // a status left from before a restart or redeploy goes: its cause may be fixed
    node.status(status.clear());
    let setup;
    try {
      const cfg = resolveTrigger(def);
      const account = accountOf(RED, def.account, NS);
      setup = { cfg, account, client: account.getClient() };
    } catch (e) {
      const text = describeError(e);
      node.status(status.error(shortError(text)));
      node.error(t('errors.config', { detail: text }));
      node.on('input', (_msg, _send, done) => done(new Error(t('errors.config', { detail: text }))));
      return;
    }
    const { cfg, account, client } = setup;
    const store: StateStore = contextStore(node, def.store);
    if (isMemoryStore(def.store)) node.warn(t('warnings.memoryStore'));
    // handed-out items not yet acknowledged, issued again when late (a leader of workers); walks keep their own position
    const win = cfg.ackTimeoutMs > 0 && (cfg.mode !== 'walk' || cfg.acknowledge)
      ? new ReissueWindow<Out>({
        timeoutMs: cfg.ackTimeoutMs,
        capacity: cfg.window,
        send: (m, { issues }) => node.send(RED.util.cloneMessage({ ...m, event: { ...m.event, issue: issues } }) as never),
        store: cfg.mode === 'walk' ? undefined : (contextStore<SavedWindow<Out>>(node, def.store, WINDOW_KEY) as WindowStore<Out>),
        configKey: configKeyOf({ mode: cfg.mode === 'walk' ? 'changed' : cfg.mode, scopes: cfg.scopes, rule: cfg.rule }),
        onError: (e) => node.warn(describeError(e)),
      })
      : undefined;
    let emitted = 0;
    const onBackoff = ({ ms }: { ms: number }) => node.status(status.waiting(t('status.backoff', { seconds: Math.ceil(ms / 1000) })));
    client.events.on('backoff', onBackoff);

    // event.account: the nodes that follow and have no account of their own use this one
    const toMsg = (e: TriggerEvent | WalkEmit, topic: string, event: Record<string, unknown>) => ({
      topic,
      asset: e.asset,
      payload: summarize(e.asset),
      event: { ...event, account: account.id },
    });

    if (cfg.mode === 'walk') {
      const walker = new Walker(
        client,
        store,
        configKeyOf({ mode: 'changed', scopes: cfg.scopes }) + ':walk',
        { window: cfg.window, acknowledge: cfg.acknowledge, include: cfg.include, timeZone: account.timeZone },
        (item) => {
          const ackId = `${item.walkId}:${item.index}`;
          const msg = toMsg(item, 'walk', { type: 'walk', walkId: item.walkId, index: item.index, galleryId: item.galleryId, path: item.asset.path, ackId });
          const out = { ...msg, parts: { id: item.walkId, index: item.index, ...(item.count !== undefined ? { count: item.count } : {}) } };
          if (win) void win.issue([{ key: ackId, item: out }]);
          else node.send(out);
        },
        (p) => node.status(p.done ? status.ok(t('status.walkDone', { count: p.emitted })) : status.working(t('status.walking', { emitted: p.emitted, acked: p.acked, inFlight: p.inFlight }))),
        (e) => {
          node.status(status.error(shortError(e)));
          node.error(t('errors.walk', { detail: describeError(e) }));
        },
      );
      node.status(status.idle(t('status.walkIdle')));
      walker.resume().then(
        (resumed) => resumed && node.log(t('log.walkResumed')),
        (e) => node.error(t('errors.walk', { detail: describeError(e) })),
      );
      node.on('input', (msg: NodeMessageInFlow & { event?: { walkId?: unknown; index?: unknown }; restart?: unknown; scope?: unknown }, _send, done) => {
        const ev = msg.event;
        if (ev && typeof ev.walkId === 'string' && typeof ev.index === 'number') {
          walker.ack(ev.walkId, ev.index);
          win?.ack(`${ev.walkId}:${ev.index}`);
          return done();
        }
        const target = typeof msg.scope === 'string' && msg.scope ? msg.scope : cfg.scopes[0]?.id;
        const scope: WalkScope = !target ? { kind: 'library' } : { kind: target.startsWith('G') ? 'gallery' : 'collection', id: target };
        let restart: boolean;
        try {
          restart = msgBool(msg.restart, 'msg.restart') ?? false;
        } catch (e) {
          return done(new Error(t('errors.badBoolean', { setting: 'msg.restart', value: String((e as { value?: string }).value) })));
        }
        walker.start(scope, restart).then(
          () => done(),
          (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
        );
      });
      node.on('close', (_removed: boolean, done: () => void) => {
        client.events.off('backoff', onBackoff);
        walker.stop().then(() => win?.stop()).then(done, done);
      });
      return;
    }

    const poller = new TriggerPoller(
      client,
      { mode: cfg.mode, scopes: cfg.scopes, rule: cfg.rule, start: cfg.start, maxEvents: cfg.maxEvents, include: cfg.include, timeZone: account.timeZone,
        now: () => client.serverNow(),
        syncClock: async () => {
          if (!client.serverTimeKnown) await client.session();
        },
      },
      store,
    );
    // a trigger that sees nothing at all says why that may be (once per start, after its first poll)
    let blind: 'unknown' | 'checking' | 'no' | 'yes' = 'unknown';
    const lookWhetherBlind = (): void => {
      if (blind !== 'unknown' || emitted > 0) return;
      blind = 'checking';
      nothingVisible(client, cfg.scopes, AbortSignal.timeout(30_000)).then((why) => {
        blind = why && emitted === 0 ? 'yes' : 'no';
        if (!why || blind === 'no') return;
        const where = cfg.scopes.length ? t('warnings.scope', { scope: cfg.scopes.map((s) => s.id).join(', ') }) : t('warnings.library');
        const organizations = why.organizations.map((o) => `${o.name} (${o.id})`).join(', ');
        node.warn(t(why.orgId || !organizations ? 'warnings.nothingVisible' : 'warnings.nothingVisibleNoOrg', { where, organizations }));
        node.status(status.waiting(t('status.nothingVisible')));
      }, () => (blind = 'unknown'));
    };
    const loop = new PollLoop(poller, cfg.intervalMs, {
      polling: (baseline) => node.status(status.working(t(baseline ? 'status.baseline' : 'status.polling'))),
      emit: async (r) => {
        emitted += r.events.length;
        if (!win) for (const e of r.events) node.send(toMsg(e, e.topic, e.event));
        // saved in the window before the position moves on: after a crash they are issued again
        else await win.issue(r.events.map((e) => ({ key: `${e.topic}:${e.asset.id}@${e.event.at ?? ''}`, item: toMsg(e, e.topic, { ...e.event, ackId: `${e.topic}:${e.asset.id}@${e.event.at ?? ''}` }) })));
      },
      room: win && (() => win.free),
      polled: (r, at) => {
        if (blind === 'yes' && emitted === 0) return node.status(status.waiting(t('status.nothingVisible')));
        node.status((emitted ? status.ok : status.idle)(t(win ? 'status.polledAwaiting' : 'status.polled', { time: clockTime(at), count: emitted, latest: r.events.length, pending: win?.size ?? 0 })));
        lookWhetherBlind();
      },
      failed: (e, retryMs) => {
        const text = describeError(e);
        node.status(status.error(t('status.failed', { error: shortError(text, 44), seconds: Math.ceil(retryMs / 1000) })));
        // the msg a Catch node gets: the error code lets a flow branch on it
        node.error(t('errors.poll', { detail: text, seconds: Math.ceil(retryMs / 1000) }), { payload: { code: (e as { code?: string }).code ?? 'ERROR', message: text } });
      },
    });
    node.pollNow = () => loop.pollNow();
    // a window left by the previous run is loaded first: its items count against the room
    (win ? win.start() : Promise.resolve(0)).then(() => loop.start(), (e: unknown) => node.error(t('errors.poll', { detail: describeError(e) })));
    node.on('input', (msg: NodeMessageInFlow & { event?: { ackId?: unknown } }, _send, done) => {
      if (win && typeof msg.event?.ackId === 'string') {
        win.ack(msg.event.ackId);
        return done();
      }
      loop.pollNow().then(() => done(), done);
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      client.events.off('backoff', onBackoff);
      loop.stop().then(() => win?.stop()).then(done, done);
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

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
import type { StateStore, TriggerState } from '../core/trigger/state';
import { Walker, type WalkEmit, type WalkScope } from '../core/trigger/walker';
import { msgBool } from '../core/bool';
import { accountOf } from './shared/account';
import { adminGuards } from './shared/form';
import { describeError, shortError } from './shared/errors';
import { clockTime, status } from './shared/status';

const NS = 'photoshelter-trigger';
const KEY = 'photoshelter-trigger';

type TriggerDef = NodeDef & TriggerSettings & { account?: string; store?: string };
interface TriggerNode extends Node {
  pollNow?: () => Promise<void>;
}

export = function register(RED: NodeAPI): void {
  const t = (key: string, vars?: Record<string, string | number>) => RED._(`${NS}.${key}`, vars);

  function contextStore(node: Node, name: string | undefined): StateStore {
    const ctx = node.context();
    const store = name || undefined;
    return {
      load: () => new Promise((ok, fail) => ctx.get(KEY, store as string, (err: Error | null, v: unknown) => (err ? fail(err) : ok(v as TriggerState)))),
      save: (s) => new Promise((ok, fail) => ctx.set(KEY, s, store as string, (err?: Error | null) => (err ? fail(err) : ok()))),
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
    const store = contextStore(node, def.store);
    if (isMemoryStore(def.store)) node.warn(t('warnings.memoryStore'));
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
          const msg = toMsg(item, 'walk', { type: 'walk', walkId: item.walkId, index: item.index, galleryId: item.galleryId, path: item.asset.path });
          node.send({ ...msg, parts: { id: item.walkId, index: item.index, ...(item.count !== undefined ? { count: item.count } : {}) } });
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
        walker.stop().then(done, done);
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
      emit: (r) => {
        for (const e of r.events) node.send(toMsg(e, e.topic, e.event));
        emitted += r.events.length;
      },
      polled: (r, at) => {
        if (blind === 'yes' && emitted === 0) return node.status(status.waiting(t('status.nothingVisible')));
        node.status((emitted ? status.ok : status.idle)(t('status.polled', { time: clockTime(at), count: emitted, latest: r.events.length })));
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
    loop.start();
    node.on('input', (_msg, _send, done) => {
      loop.pollNow().then(() => done(), done);
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      client.events.off('backoff', onBackoff);
      loop.stop().then(done, done);
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

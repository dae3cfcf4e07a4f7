/**
 * The trigger at work, whatever its mode: `createTrigger` makes the runner of the mode (a poll mode's
 * loop, or a walk), with the re-issue window (reissue.ts) in front of the flow when items must be
 * acknowledged in time (a leader of workers). The node gives it a place to keep its state, a way to send,
 * and a report it words for the user; the runner takes the node's input (acknowledgements, a walk to
 * start, a poll now) and stops on close.
 */
import { nothingVisible, type NothingVisible } from '../account';
import { summarize, type Asset } from '../asset';
import type { PhotoShelterClient } from '../../photoshelter';
import type { ResolvedTrigger } from './config';
import { PollLoop } from './loop';
import { walkRunner } from './modes/walk';
import { configKeyOf, TriggerPoller, type PollResult } from './poller';
import { ReissueWindow, type WindowStore } from './reissue';
import type { StateStore } from './state';
import type { WalkProgress } from './walker';

/** A message of the trigger. */
export interface TriggerMessage {
  topic: string;
  asset: Asset;
  payload: unknown;
  event: Record<string, unknown>;
  parts?: unknown;
}

/** What the runner tells the node; the node words it (status, log). */
export interface TriggerReport {
  /** Sends a message (the window's repeats are copies). */
  send(msg: TriggerMessage): void;
  /** PhotoShelter asked to wait this long. */
  backoff(ms: number): void;
  polling(baseline: boolean): void;
  /**
   * A poll ended: its result and when; `sent`, the events sent since the start; `pending`, those waiting
   * for acknowledgements (with a window); `blind`, nothing was ever seen and the account may see nothing.
   */
  polled(result: PollResult, at: Date, counts: { sent: number; pending?: number; blind: boolean }): void;
  /** After the first poll found nothing at all: why that may be, and the ids of the scopes (none: the library). */
  nothingVisible(why: NothingVisible, scopes: string[]): void;
  pollFailed(error: unknown, retryMs: number): void;
  /** The trigger could not start (its window could not be loaded). */
  startFailed(error: unknown): void;
  walkIdle(): void;
  walkProgress(p: WalkProgress): void;
  walkResumed(): void;
  walkFailed(error: unknown): void;
  /** The window could not be saved or read. */
  windowFailed(error: unknown): void;
}

export interface TriggerDeps {
  client: PhotoShelterClient;
  timeZone: string;
  /** The account's node id: `msg.event.account`, so that the nodes that follow use it. */
  accountId: string;
  store: StateStore;
  /** Where the window of unacknowledged events is kept (poll modes); none: in memory only. */
  windowStore?: WindowStore<TriggerMessage>;
  report: TriggerReport;
}

/** The node's input the runner takes: an acknowledgement, a walk to start, anything else polls now. */
export interface TriggerInput {
  event?: { ackId?: unknown; walkId?: unknown; index?: unknown };
  restart?: unknown;
  scope?: unknown;
}

export interface TriggerRunner {
  start(): void;
  /** Handles one input message; rejects with an Error for a bad one. */
  input(msg: TriggerInput): Promise<void>;
  /** Polls now (poll modes; a walk has none). */
  pollNow?(): Promise<void>;
  stop(): Promise<void>;
}

/** A message for an asset the trigger reports (`event.account`: the nodes that follow use this account). */
export function messageOf(deps: Pick<TriggerDeps, 'accountId'>, asset: Asset, topic: string, event: Record<string, unknown>): TriggerMessage {
  return { topic, asset, payload: summarize(asset), event: { ...event, account: deps.accountId } };
}

/**
 * The window of handed-out items not acknowledged yet, issued again when late, for a trigger with an
 * acknowledgement timeout (walks only when they wait for acknowledgements); undefined otherwise.
 */
export function windowOf(cfg: ResolvedTrigger, deps: TriggerDeps, store?: WindowStore<TriggerMessage>): ReissueWindow<TriggerMessage> | undefined {
  if (!(cfg.ackTimeoutMs > 0) || (cfg.mode === 'walk' && !cfg.acknowledge)) return undefined;
  return new ReissueWindow<TriggerMessage>({
    timeoutMs: cfg.ackTimeoutMs,
    capacity: cfg.window,
    // a copy each time: the window keeps its item while the flow may change the message
    send: (m, { issues }) => deps.report.send(structuredClone({ ...m, event: { ...m.event, issue: issues } })),
    store,
    configKey: configKeyOf({ mode: cfg.mode === 'walk' ? 'changed' : cfg.mode, scopes: cfg.scopes, rule: cfg.rule }),
    onError: (e) => deps.report.windowFailed(e),
  });
}

/** The runner of a poll mode: the poll loop, the window, and a word when the trigger sees nothing at all. */
function pollRunner(cfg: ResolvedTrigger, deps: TriggerDeps): TriggerRunner {
  const { client, report } = deps;
  const win = windowOf(cfg, deps, deps.windowStore);
  const poller = new TriggerPoller(
    client,
    {
      mode: cfg.mode, scopes: cfg.scopes, rule: cfg.rule, approvedChanges: cfg.approvedChanges, start: cfg.start, maxEvents: cfg.maxEvents,
      include: cfg.include, timeZone: deps.timeZone, now: () => client.serverNow(),
      syncClock: async () => {
        if (!client.serverTimeKnown) await client.session();
      },
    },
    deps.store,
  );
  let sent = 0;
  // a trigger that sees nothing at all says why that may be (once per start, after its first poll)
  let blind: 'unknown' | 'checking' | 'no' | 'yes' = 'unknown';
  const lookWhetherBlind = (): void => {
    if (blind !== 'unknown' || sent > 0) return;
    blind = 'checking';
    nothingVisible(client, cfg.scopes, AbortSignal.timeout(30_000)).then((why) => {
      blind = why && sent === 0 ? 'yes' : 'no';
      if (why && blind === 'yes') report.nothingVisible(why, cfg.scopes.map((sc) => sc.id));
    }, () => (blind = 'unknown'));
  };
  const keyOf = (m: TriggerMessage): string => `${m.topic}:${m.asset.id}@${(m.event.at as string | null) ?? ''}`;
  const loop = new PollLoop(poller, cfg.intervalMs, {
    polling: (baseline) => report.polling(baseline),
    emit: async (r) => {
      sent += r.events.length;
      const msgs = r.events.map((e) => messageOf(deps, e.asset, e.topic, e.event));
      if (!win) for (const m of msgs) report.send(m);
      // saved in the window before the position moves on: after a crash they are issued again
      else await win.issue(msgs.map((m) => ({ key: keyOf(m), item: { ...m, event: { ...m.event, ackId: keyOf(m) } } })));
    },
    room: win && (() => win.free),
    polled: (r, at) => {
      report.polled(r, at, { sent, pending: win?.size, blind: blind === 'yes' && sent === 0 });
      lookWhetherBlind();
    },
    failed: (e, retryMs) => report.pollFailed(e, retryMs),
  });
  return {
    // a window left by the previous run is loaded first: its items count against the room
    start: () => void (win ? win.start() : Promise.resolve(0)).then(() => loop.start(), (e: unknown) => report.startFailed(e)),
    input: async (msg) => {
      if (win && typeof msg.event?.ackId === 'string') return void win.ack(msg.event.ackId);
      await loop.pollNow();
    },
    pollNow: () => loop.pollNow(),
    stop: () => loop.stop().then(() => win?.stop()),
  };
}

/** The runner of the trigger's mode. */
export function createTrigger(cfg: ResolvedTrigger, deps: TriggerDeps): TriggerRunner {
  return cfg.mode === 'walk' ? walkRunner(cfg, deps) : pollRunner(cfg, deps);
}

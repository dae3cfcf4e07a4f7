/**
 * When has the flow finished a msg? Node-RED's messaging hooks (since 1.3) see every delivery of a msg to
 * a node (`preDeliver`; Catch, Complete and Status nodes get theirs directly: `onReceive`) and every node
 * that is done with one (`onComplete`, its `done()`). A msg a trigger sent is finished once every node that
 * received it — or a msg sent on from it, which keeps its `_msgid` — is done with it: a msg wired to two
 * deliver nodes is finished when both are. A node whose input handler takes no `done` (an old-style node)
 * is done with a msg once its handler has run (`postReceive`).
 *
 * The count is checked again a turn of the event loop after it reached zero, so that a msg handed from one
 * node to the next (sent, then the sender done) is not taken for finished in between. A node that never
 * calls done() keeps its msg unfinished: the trigger's status says how many wait.
 */
import { randomBytes } from 'node:crypto';
import type { NodeAPI } from 'node-red';

type Hooks = { add(id: string, fn: (ev: never) => void): void; remove(id: string): void };
interface Watched {
  owner: string;
  /** Deliveries under way or received, not done yet. */
  open: number;
  /** Msg objects whose delivery was counted already (so their reception is not counted twice). */
  routed: WeakSet<object>;
  finished: () => void;
  checking: boolean;
}
interface Delivery {
  msg?: { _msgid?: unknown };
  destination?: { node?: { _expectedDoneCount?: unknown } };
}

const LABEL = 'photoshelter-trigger-completion';

/**
 * The hooks are in place only while a msg is watched: they cost every msg of the runtime a call.
 */
class CompletionWatch {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly hooks: Hooks) {}

  /** The node closes: its msgs are no longer watched. */
  leave(owner: string): void {
    for (const [id, w] of this.watched) if (w.owner === owner) this.forget(id);
  }

  /** Gives `msg` an id of its own, sends it, and calls `finished` once the flow is done with it. */
  send(owner: string, msg: Record<string, unknown>, send: (msg: object) => void, finished: () => void): void {
    const id = randomBytes(8).toString('hex');
    msg._msgid = id;
    const w: Watched = { owner, open: 0, routed: new WeakSet(), finished, checking: false };
    if (!this.watched.size) this.install();
    this.watched.set(id, w);
    send(msg);
    // wired to nothing (or every delivery done already): finished
    this.settle(id, w);
  }

  private of(msg: unknown): [string, Watched] | undefined {
    const id = (msg as { _msgid?: unknown } | undefined)?._msgid;
    if (typeof id !== 'string') return undefined;
    const w = this.watched.get(id);
    return w && [id, w];
  }

  private forget(id: string): void {
    this.watched.delete(id);
    if (!this.watched.size) this.hooks.remove(`*.${LABEL}`);
  }

  private install(): void {
    this.hooks.remove(`*.${LABEL}`);
    this.hooks.add(`preDeliver.${LABEL}`, (ev: Delivery) => {
      const found = this.of(ev.msg);
      if (!found) return;
      found[1].open++;
      if (ev.msg) found[1].routed.add(ev.msg);
    });
    this.hooks.add(`onReceive.${LABEL}`, (ev: Delivery) => {
      const found = this.of(ev.msg);
      if (!found || !ev.msg) return;
      // a delivery counted on its way; else a msg a node got directly (Catch, Complete, Status)
      if (found[1].routed.has(ev.msg)) found[1].routed.delete(ev.msg);
      else found[1].open++;
    });
    this.hooks.add(`postReceive.${LABEL}`, (ev: Delivery) => {
      const found = this.of(ev.msg);
      // a node without a done callback never completes: its handler has run, it is done
      if (found && ev.destination?.node?._expectedDoneCount === 0) this.done(found);
    });
    this.hooks.add(`onComplete.${LABEL}`, (ev: Delivery) => {
      const found = this.of(ev.msg);
      if (found) this.done(found);
    });
  }

  private done([id, w]: [string, Watched]): void {
    w.open--;
    this.settle(id, w);
  }

  /** Finished when nothing is open, still a turn later (a msg handed on in between is open again). */
  private settle(id: string, w: Watched): void {
    if (w.open > 0 || w.checking) return;
    w.checking = true;
    setImmediate(() => {
      w.checking = false;
      if (w.open > 0 || this.watched.get(id) !== w) return;
      this.forget(id);
      w.finished();
    });
  }
}

const watches = new WeakMap<object, CompletionWatch>();

/** The runtime's completion watch; undefined where Node-RED offers no messaging hooks (before 1.3, test helpers). */
export function completionWatch(RED: NodeAPI): CompletionWatch | undefined {
  const hooks = (RED as unknown as { hooks?: Partial<Hooks> }).hooks;
  if (!hooks || typeof hooks.add !== 'function' || typeof hooks.remove !== 'function') return undefined;
  let watch = watches.get(hooks);
  if (!watch) {
    watch = new CompletionWatch(hooks as Hooks);
    watches.set(hooks, watch);
  }
  return watch;
}

export type { CompletionWatch };

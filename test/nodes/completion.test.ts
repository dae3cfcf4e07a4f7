/**
 * When the flow has finished a msg, as the trigger learns it from Node-RED's messaging hooks: driven here
 * by a stand-in of RED.hooks that calls the hooks in the order Node-RED 4 does (preDeliver when a node
 * sends, onReceive/postReceive when the next one gets it, onComplete on its done()). A msg is finished when
 * every node that got it (or a msg sent on from it) is done; hooks are in place only while a msg is watched.
 */
import assert from 'node:assert/strict';
import type { NodeAPI } from 'node-red';
import { completionWatch } from '../../src/nodes/shared/completion';

type Fn = (ev: unknown) => void;

/** RED.hooks as far as the watch uses it, and a tiny router that fires them as the runtime would. */
function runtime() {
  const hooks = new Map<string, Fn>();
  const api = {
    add: (id: string, fn: Fn) => void hooks.set(id, fn),
    remove: (pattern: string) => {
      const label = pattern.slice(2);
      for (const id of [...hooks.keys()]) if (id.endsWith(`.${label}`)) hooks.delete(id);
    },
  };
  const fire = (name: string, ev: unknown) => {
    for (const [id, fn] of hooks) if (id.startsWith(`${name}.`)) fn(ev);
  };
  interface FakeNode {
    id: string;
    _expectedDoneCount: number;
  }
  const node = (id: string, takesDone = true): FakeNode => ({ id, _expectedDoneCount: takesDone ? 1 : 0 });
  return {
    RED: { hooks: api } as unknown as NodeAPI,
    installed: () => hooks.size,
    /** A node sends `msg` to `to` (a clone for every target after the first, as Node-RED does). */
    send(msg: Record<string, unknown>, to: FakeNode[]): Array<Record<string, unknown>> {
      return to.map((dest, i) => {
        const m = i === 0 ? msg : structuredClone(msg);
        fire('preDeliver', { msg: m, destination: { id: dest.id, node: dest } });
        return m;
      });
    },
    receive(msg: object, dest: FakeNode) {
      fire('onReceive', { msg, destination: { id: dest.id, node: dest } });
      fire('postReceive', { msg, destination: { id: dest.id, node: dest } });
    },
    done(msg: object, n: FakeNode) {
      fire('onComplete', { msg, node: { id: n.id, node: n } });
    },
    node,
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('the completion watch (messaging hooks)', () => {
  it('a msg wired to nothing is finished at once; no hooks stay in place', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED);
    assert.ok(watch);
    let finished = 0;
    watch.send('trg', {}, () => undefined, () => finished++);
    await turn();
    await turn();
    assert.equal(finished, 1);
    assert.equal(rt.installed(), 0, 'hooks removed once nothing is watched');
  });

  it('a msg to two nodes is finished when both are done, not when the first is', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED) as NonNullable<ReturnType<typeof completionWatch>>;
    const a = rt.node('deliver-a');
    const b = rt.node('deliver-b');
    let finished = 0;
    let copies: Array<Record<string, unknown>> = [];
    watch.send('trg', { payload: 1 }, (m) => (copies = rt.send(m as Record<string, unknown>, [a, b])), () => finished++);
    assert.ok(rt.installed() > 0, 'hooks in place while a msg is watched');
    rt.receive(copies[0], a);
    rt.receive(copies[1], b);
    rt.done(copies[0], a);
    await turn();
    await turn();
    assert.equal(finished, 0, 'one of two is not finished');
    rt.done(copies[1], b);
    await turn();
    await turn();
    assert.equal(finished, 1);
  });

  it('a msg handed on is finished when the last node is done with it (sent on, then the sender done)', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED) as NonNullable<ReturnType<typeof completionWatch>>;
    const fetch = rt.node('fetch');
    const deliver = rt.node('deliver');
    let finished = 0;
    let m!: Record<string, unknown>;
    watch.send('trg', {}, (x) => ([m] = rt.send(x as Record<string, unknown>, [fetch])), () => finished++);
    rt.receive(m, fetch);
    // fetch sends the msg on, then calls done(); deliver gets it a turn later (asynchronous delivery)
    const [on] = rt.send(m, [deliver]);
    rt.done(m, fetch);
    await turn();
    rt.receive(on, deliver);
    await turn();
    assert.equal(finished, 0, 'deliver is still at work');
    rt.done(on, deliver);
    await turn();
    await turn();
    assert.equal(finished, 1);
  });

  it('the msg of a failed node, which a Catch node gets directly, is finished once the Catch path is done', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED) as NonNullable<ReturnType<typeof completionWatch>>;
    const deliver = rt.node('deliver');
    const caught = rt.node('catch');
    let finished = 0;
    let m!: Record<string, unknown>;
    watch.send('trg', {}, (x) => ([m] = rt.send(x as Record<string, unknown>, [deliver])), () => finished++);
    rt.receive(m, deliver);
    // done(err): onComplete, then the runtime hands a copy to the Catch node (no send, no preDeliver)
    rt.done(m, deliver);
    const copy = structuredClone(m);
    rt.receive(copy, caught);
    await turn();
    await turn();
    assert.equal(finished, 0, 'the Catch node is at work');
    rt.done(copy, caught);
    await turn();
    await turn();
    assert.equal(finished, 1);
  });

  it('a node whose handler takes no done() is done once its handler has run', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED) as NonNullable<ReturnType<typeof completionWatch>>;
    const old = rt.node('old-style', false);
    let finished = 0;
    let m!: Record<string, unknown>;
    watch.send('trg', {}, (x) => ([m] = rt.send(x as Record<string, unknown>, [old])), () => finished++);
    rt.receive(m, old);
    await turn();
    await turn();
    assert.equal(finished, 1);
  });

  it('a node that never calls done() keeps the msg unfinished; its trigger closing forgets it', async () => {
    const rt = runtime();
    const watch = completionWatch(rt.RED) as NonNullable<ReturnType<typeof completionWatch>>;
    const stuck = rt.node('stuck');
    let finished = 0;
    let m!: Record<string, unknown>;
    watch.send('trg', {}, (x) => ([m] = rt.send(x as Record<string, unknown>, [stuck])), () => finished++);
    rt.receive(m, stuck);
    await turn();
    await turn();
    assert.equal(finished, 0);
    watch.leave('trg');
    assert.equal(rt.installed(), 0);
    rt.done(m, stuck);
    await turn();
    assert.equal(finished, 0, 'forgotten: nothing is called after the close');
  });

  it('no messaging hooks (before Node-RED 1.3, test helpers): no watch', () => {
    assert.equal(completionWatch({} as NodeAPI), undefined);
  });
});

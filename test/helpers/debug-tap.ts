/**
 * What a runtime's debug nodes show in the editor's sidebar, read from its comms socket: the decisive
 * events of a flow ("already delivered", "delivered", "task created"…) that a test waits for instead of
 * sleeping and counting.
 */
import { WebSocket } from 'undici';

export interface DebugMessage {
  /** The debug node's id. */
  id: string;
  name?: string;
  /** The shown value: a string, or the JSON of an object. */
  msg: string;
  format?: string;
}

export interface NodeStatusMessage {
  fill?: string;
  shape?: string;
  text?: string;
}

export interface DebugTap {
  readonly messages: DebugMessage[];
  /** Every status a node showed since the tap opened (retained ones first). */
  statuses(nodeId: string): NodeStatusMessage[];
  /**
   * What a trigger said after each poll since the tap opened: the events that poll emitted (its status
   * reads "polled 12:00:01: 2 new, 7 in all").
   */
  polls(triggerId: string): number[];
  /** The shown values of one debug node, in order. */
  from(nodeId: string): string[];
  /** The shown values of one debug node parsed as JSON (strings stay strings). */
  json<T = Record<string, unknown>>(nodeId: string): T[];
  close(): void;
}

export async function debugTap(url: string): Promise<DebugTap> {
  const messages: DebugMessage[] = [];
  const status: Array<{ id: string; s: NodeStatusMessage }> = [];
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`cannot open the comms socket of ${url}`)));
  });
  let heard: () => void = () => undefined;
  const answered = new Promise<void>((r) => (heard = r));
  ws.addEventListener('message', (ev) => {
    for (const m of JSON.parse(String(ev.data)) as Array<{ topic: string; data: unknown }>) {
      if (m.topic === 'debug') messages.push(m.data as DebugMessage);
      else if (m.topic.startsWith('status/')) status.push({ id: m.topic.slice('status/'.length), s: (m.data ?? {}) as NodeStatusMessage });
    }
    heard();
  });
  ws.send(JSON.stringify({ subscribe: 'debug' }));
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  // the runtime answers this one with its retained deploy notification: then the first is in place too
  ws.send(JSON.stringify({ subscribe: 'notification/#' }));
  await Promise.race([answered, new Promise((r) => setTimeout(r, 5000))]);
  const from = (nodeId: string) => messages.filter((m) => m.id === nodeId).map((m) => m.msg);
  return {
    messages,
    statuses: (nodeId) => status.filter((x) => x.id === nodeId).map((x) => x.s),
    polls: (triggerId) =>
      status
        .filter((x) => x.id === triggerId)
        .map((x) => /^polled .*: (\d+) new, \d+ in all$/.exec(x.s.text ?? '')?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number),
    from,
    json: <T>(nodeId: string) =>
      from(nodeId).map((s) => {
        try {
          return JSON.parse(s) as T;
        } catch {
          return s as unknown as T;
        }
      }),
    close: () => ws.close(),
  };
}

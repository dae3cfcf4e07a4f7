import type { NodeAPI } from 'node-red';
import type { AccountNode } from './types';

/** The account a message names: `msg.event.account`, set by the trigger that produced it. */
function accountOfMessage(msg: unknown): string | undefined {
  const event = (msg as { event?: { account?: unknown } } | undefined)?.event;
  return typeof event?.account === 'string' && event.account ? event.account : undefined;
}

/**
 * The account config node a node points at or, when the node has none, the account of the trigger that
 * produced `msg` (`msg.event.account`); else an Error whose message tells the user what to do. `ns` is the
 * calling node's catalogue namespace (its type), holding `errors.noAccount`.
 */
export function accountOf(RED: NodeAPI, id: string | undefined, ns: string, msg?: unknown): AccountNode {
  const chosen = id || accountOfMessage(msg);
  const account = chosen ? (RED.nodes.getNode(chosen) as AccountNode | null) : null;
  if (!account || account.type !== 'photoshelter-account' || typeof account.getClient !== 'function') throw new Error(RED._(`${ns}.errors.noAccount`));
  return account;
}

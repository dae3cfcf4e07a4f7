import type { NodeAPI } from 'node-red';
import type { AccountNode } from './types';

/**
 * The account config node a node points at, or an Error whose message tells the user what to do.
 * `ns` is the calling node's catalogue namespace (its type), holding `errors.noAccount`.
 */
export function accountOf(RED: NodeAPI, id: string | undefined, ns: string): AccountNode {
  const account = id ? (RED.nodes.getNode(id) as AccountNode | null) : null;
  if (!account || typeof account.getClient !== 'function') throw new Error(RED._(`${ns}.errors.noAccount`));
  return account;
}

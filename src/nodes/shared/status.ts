import type { NodeStatus } from 'node-red';

/** The status shapes every PhotoShelter node uses, so a canvas reads the same everywhere. */
export const status = {
  clear: (): NodeStatus => ({}),
  idle: (text: string): NodeStatus => ({ fill: 'grey', shape: 'ring', text }),
  working: (text: string): NodeStatus => ({ fill: 'blue', shape: 'dot', text }),
  ok: (text: string): NodeStatus => ({ fill: 'green', shape: 'dot', text }),
  waiting: (text: string): NodeStatus => ({ fill: 'yellow', shape: 'ring', text }),
  error: (text: string): NodeStatus => ({ fill: 'red', shape: 'ring', text }),
};

/** `14:03:07` in the runtime's local time, for "last poll" style status texts. */
export function clockTime(d = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

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

/** Status text is short: long error messages are cut with an ellipsis. */
export function short(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `14:03:07` in the runtime's local time, for "last poll" style status texts. */
export function clockTime(d = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

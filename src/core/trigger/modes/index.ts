/**
 * The trigger's modes, one line each. A poll mode (changed, approved, added) is a PollMode (mode.ts) that
 * the poller runs; `walk` walks a library once (../walker.ts). The trigger node makes its runner with
 * `createTrigger` (../runner.ts), whatever the mode.
 */
import { added } from './added';
import { approved } from './approved';
import { changed } from './changed';
import type { PollMode } from './mode';

const POLL_MODES: readonly PollMode[] = [
  changed,
  approved,
  added,
];

/** The modes a trigger can be set to, in the order the editor offers them. */
export const TRIGGER_MODES: readonly string[] = [...POLL_MODES.map((m) => m.name), 'walk'];

/** The poll mode of that name; undefined for `walk` and unknown names. */
export function pollModeOf(name: string): PollMode | undefined {
  return POLL_MODES.find((m) => m.name === name);
}

/**
 * Crash points, for tests only: the fault suite (test/faults) stops a Node-RED process exactly between two
 * steps (between an upload and its ledger record, during a ledger compaction, mid-download…) to prove that
 * nothing is lost or delivered twice after the restart.
 *
 * `PHOTOSHELTER_TEST_CRASH_AT=<point>[@<n>]` in the environment of the process, read once when this module
 * loads, makes the process kill itself with SIGKILL the n-th time (default 1) it reaches that point. Unset
 * (always, in production) `crashPoint()` compares two strings and returns. Nothing else sets it: not a flow,
 * not the editor, not a message (Node-RED's flow and node `env` settings do not reach `process.env` of a
 * module that was loaded before them).
 */
import { writeSync } from 'node:fs';

/** Where a process can be stopped; see the callers. */
export type CrashPointName =
  /** A trigger's poll has read its changes; nothing was emitted or committed yet (core/trigger/loop.ts). */
  | 'poll'
  /** A chunk of a download's body arrived (photoshelter/download.ts). */
  | 'download'
  /** A chunk of a delivery's body went to the destination (core/deliver/deliver.ts). */
  | 'upload'
  /** An upload finished; its ledger record is not written yet (core/deliver/deliver.ts). */
  | 'recorded'
  /** A ledger compaction wrote its new file aside; the rename over the old one is next (core/deliver/ledger.ts). */
  | 'compact'
  /** A walk emitted an asset (core/trigger/walker.ts). */
  | 'walk';

const spec = /^([a-z]+)(?:@(\d+))?$/.exec(process.env.PHOTOSHELTER_TEST_CRASH_AT ?? '');
const armed = spec?.[1];
let left = Number(spec?.[2] ?? 1);

/** Kills this process when the crash point armed by the environment is reached for the n-th time. */
export function crashPoint(name: CrashPointName): void {
  if (name !== armed || --left > 0) return;
  try {
    writeSync(2, `crash point ${name} reached: SIGKILL\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}

// What the simulator's request log tells about a client's behaviour.
import type { LogEntry } from './sim';

/** The most requests the simulator was answering at the same moment (from its log: end time and duration). */
export function maxInFlight(log: LogEntry[]): number {
  const us = (t: string) => {
    const [date, frac = '0'] = t.split('.');
    return Date.parse(`${date}Z`) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
  };
  const edges = log.flatMap((e) => {
    const end = us(e.time);
    return [
      [end - e.durationMs * 1000, 1],
      [end, -1],
    ] as Array<[number, number]>;
  });
  // an end and a start at the same instant do not overlap
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

// Fast, stable-by-id ordering of records by a microsecond timestamp.

/**
 * Sorts by a microsecond timestamp (ties by id). A comparator sort over 100k objects costs hundreds of ms,
 * so this packs (whole seconds, index) into one double, sorts natively, then orders runs within a second.
 */
export function sortByMicros<T extends { id: string }>(list: readonly T[], key: (m: T) => number, dir: 1 | -1): T[] {
  const n = list.length;
  const byKey = (a: T, b: T): number => key(a) - key(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (n > 1 << 20) {
    const sorted = [...list].sort(byKey);
    return dir === 1 ? sorted : sorted.reverse();
  }
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = Math.floor(key(list[i]) / 1_000_000) * 1048576 + i;
  packed.sort();
  const out: T[] = new Array<T>(n);
  let runStart = 0;
  for (let i = 0; i <= n; i++) {
    const sec = i < n ? Math.floor(packed[i] / 1048576) : NaN;
    if (i > runStart && (i === n || sec !== Math.floor(packed[runStart] / 1048576))) {
      const run: T[] = [];
      for (let j = runStart; j < i; j++) run.push(list[packed[j] % 1048576]);
      if (run.length > 1) run.sort(byKey);
      for (let j = 0; j < run.length; j++) out[runStart + j] = run[j];
      runStart = i;
    }
  }
  return dir === 1 ? out : out.reverse();
}

// Benchmark 1: page a large library through the client vs a bare undici loop.
import { alternate, fixed, int, mb, median, printTable, runCase, startSimProcess, type CaseResult } from './lib';

export interface PagingOptions {
  assets: number;
  rounds: number;
  perPage: number;
}

const maxRss = (rs: CaseResult[]): number => Math.max(...rs.map((r) => r.rssGrowth));

export async function pagingBench(o: PagingOptions, log: (l: string) => void): Promise<void> {
  log(`paging: starting a simulator with ${int(o.assets)} media`);
  const sim = await startSimProcess({ seed: 1, assets: o.assets });
  try {
    const arg = { baseUrl: sim.baseUrl, credentials: sim.credentials, perPage: o.perPage };
    const res = await alternate(o.rounds, { bare: () => runCase('page-bare', arg), client: () => runCase('page-client', arg) }, log);
    for (const side of ['bare', 'client'] as const) {
      for (const r of res[side]) if (r.items !== o.assets) throw new Error(`paging ${side}: ${r.items} items, expected ${o.assets}`);
    }
    const ms = { bare: median(res.bare.map((r) => r.ms)), client: median(res.client.map((r) => r.ms)) };
    const ratio = ms.bare / ms.client;
    const row = (name: string, side: 'bare' | 'client', ratioCell: string): string[] => [
      name,
      int(res[side][0].items ?? 0),
      int(res[side][0].requests ?? 0),
      fixed(ms[side], 0),
      int(((res[side][0].items ?? 0) / ms[side]) * 1000),
      ratioCell,
      mb(maxRss(res[side])),
    ];
    printTable(
      `### Paging ${int(o.assets)} media, ${o.perPage} per page (${o.rounds} round${o.rounds > 1 ? 's' : ''}, A/B alternating, medians)`,
      ['side', 'items', 'requests', 'median ms', 'items/s', 'throughput client/bare', 'peak RSS growth MB (max)'],
      [row('bare undici loop', 'bare', '1.00 (baseline)'), row('client searchMedia', 'client', fixed(ratio))],
      `Conclusion: the client pages at ${fixed(ratio)}× the bare loop's rate (${ratio >= 1 ? 'no slower' : `${fixed((1 / ratio - 1) * 100, 0)}% slower`}; it reads one page ahead, the bare loop does not), ` +
        `with ${mb(maxRss(res.client))} MB vs ${mb(maxRss(res.bare))} MB peak RSS growth${o.rounds === 1 ? ' (one round of a few requests: indicative only)' : ''}.`,
    );
  } finally {
    await sim.stop();
  }
}

// Benchmark 2: one large original streamed to /dev/null through the client vs bare undici.
import { alternate, control, fixed, int, mb, med, median, printTable, runCase, startSimProcess, verdict, withSimCpu, type CaseResult } from './lib';

export interface DownloadOptions {
  size: number;
  rounds: number;
}

const RATIO_TARGET = 0.9;
const RSS_TARGET = 32 * 1024 * 1024;

export async function downloadBench(o: DownloadOptions, log: (l: string) => void): Promise<void> {
  const sim = await startSimProcess({ seed: 1, assets: 20 });
  try {
    const state = await control<{ galleries: Array<{ id: string }> }>(sim, 'GET', 'state');
    const created = await control<{ id: string; media: { file_size: number } }>(sim, 'POST', 'media', {
      galleryId: state.galleries[0].id,
      fileName: 'large original.jpg',
      size: o.size,
    });
    if (created.media.file_size !== o.size) throw new Error(`the simulator made a file of ${created.media.file_size} bytes, not ${o.size}`);
    log(`download: one original of ${mb(o.size)} MiB (${created.id})`);
    const arg = { baseUrl: sim.baseUrl, credentials: sim.credentials, mediaId: created.id };
    const res = await alternate(
      o.rounds,
      {
        bare: () => withSimCpu(sim, () => runCase('download-bare', arg)),
        client: () => withSimCpu(sim, () => runCase('download-client', arg)),
      },
      log,
    );
    for (const side of ['bare', 'client'] as const) {
      for (const r of res[side]) if (r.bytes !== o.size) throw new Error(`download ${side}: ${r.bytes} bytes, expected ${o.size}`);
    }
    const ms = { bare: median(res.bare.map((r) => r.ms)), client: median(res.client.map((r) => r.ms)) };
    const rate = (side: 'bare' | 'client'): number => o.size / 1048576 / (ms[side] / 1000);
    const ratio = rate('client') / rate('bare');
    const rss = (rs: CaseResult[]): number => Math.max(...rs.map((r) => r.rssGrowth));
    const rssOk = rss(res.client) <= RSS_TARGET;
    const ratioOk = ratio >= RATIO_TARGET;
    const maxOf = (rs: CaseResult[], pick: (r: CaseResult) => number | undefined): number => Math.max(...rs.map((r) => pick(r) ?? 0));
    const cells = (side: 'bare' | 'client'): string[] => [
      mb(maxOf(res[side], (r) => r.memory?.buffersGrowth)),
      mb(maxOf(res[side], (r) => r.memory?.retained)),
      fixed(med(res[side], (r) => r.cpuMs) / 1000, 1),
      fixed(med(res[side], (r) => r.extra?.simCpuMs) / 1000, 1),
    ];
    const extraRss = rss(res.client) - rss(res.bare);
    printTable(
      `### Download of one ${mb(o.size)} MiB original to /dev/null (${o.rounds} round${o.rounds > 1 ? 's' : ''}, A/B alternating, medians)`,
      ['side', 'bytes', 'median ms', 'MiB/s', 'throughput client/bare (target ≥ 0.9)', 'peak RSS growth MB, max (target ≤ 32)', 'of it Buffers MB', 'JS-held after GC MB', 'CPU s (reader)', 'CPU s (simulator)'],
      [
        ['bare undici', int(o.size), fixed(ms.bare, 0), fixed(rate('bare'), 0), '1.00 (baseline)', `${mb(rss(res.bare))}`, ...cells('bare')],
        ['client download()', int(o.size), fixed(ms.client, 0), fixed(rate('client'), 0), `${fixed(ratio)} ${verdict(ratioOk)}`, `${mb(rss(res.client))} ${verdict(rssOk)}`, ...cells('client')],
      ],
      `Conclusion: ${ratioOk && rssOk ? 'both targets met' : `MISS: ${[!ratioOk && `throughput ratio ${fixed(ratio)} < 0.9`, !rssOk && `peak RSS growth ${mb(rss(res.client))} MB > 32 MB`].filter(Boolean).join('; ')}`}. ` +
        `The client streams at ${fixed(ratio)}× bare undici's rate; its peak RSS growth is ${mb(rss(res.client))} MB, ${extraRss >= 0 ? `${mb(extraRss)} MB above` : `${mb(-extraRss)} MB below`} bare undici's ${mb(rss(res.bare))} MB ` +
        `(${Math.abs(extraRss) <= 8 * 1048576 ? 'the same with or without the client' : 'a difference the client makes'}; up to ${mb(maxOf(res.client, (r) => r.memory?.buffersGrowth))} MB of it are Buffers awaiting GC; ` +
        `${maxOf(res.client, (r) => r.memory?.retained) < 1048576 ? 'nothing of the file is held after GC' : `${mb(maxOf(res.client, (r) => r.memory?.retained))} MB are still held after GC`}).`,
    );
  } finally {
    await sim.stop();
  }
}

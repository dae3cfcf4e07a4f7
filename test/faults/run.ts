/**
 * The fault suite: `npm run test:faults [-- options]`.
 *
 *   --size ci|full     ci (default under CI=true): the scenarios marked for CI, fewer changes, a short
 *                      outage; full: all scenarios, more changes, PhotoShelter down for a minute
 *   --soak MINUTES     random faults and kills, drawn from --seed, for about that long (after the scenarios
 *                      of --size, unless --only-soak)
 *   --seed N           the soak's seed (default: the time); printed, so that a soak can be run again
 *   --only TEXT        only scenarios whose name contains TEXT
 *   --only-soak        no fixed scenarios, only the soak
 *
 * Every scenario ends with a reconciliation per destination: expected (asset, version, location) against
 * what the destination holds (by sha256) and what its ledger says, giving lost, doubled and orphaned
 * counts. The matrix is printed, then one last line `N scenarios, L lost, D doubled, O orphans`; any
 * non-zero count fails the run (exit code 1). Needs root (OpenSSH's sshd, tmpfs mounts) and loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSshUnavailable, startOpenSsh } from '../e2e/openssh';
import { prepareFolder, SCENARIOS, WALK_NOT_SAVED, type Scenario, type Size } from './scenarios';
import { soakScenario } from './soak';
import { HttpSink, S3Sink } from './sinks';
import { COLUMNS, Collector, sftpRoot, until, World, type CellResult, type Services } from './world';

interface Row {
  scenario: Scenario;
  cells: Record<string, CellResult>;
  error?: string;
  /** Errors the flow's Catch nodes saw, distinct by node and message. */
  caught: string[];
  seconds: number;
  kills: number;
  /** Injected faults that fired. */
  faults: number;
}

function args(): { size: 'ci' | 'full'; soakMin: number; seed: number; only?: string; onlySoak: boolean } {
  const a = process.argv.slice(2);
  const val = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const size = (val('--size') ?? (process.env.CI ? 'ci' : 'full')) as 'ci' | 'full';
  if (size !== 'ci' && size !== 'full') throw new Error('--size is ci or full');
  const soakMin = Number(val('--soak') ?? 0);
  if (!Number.isFinite(soakMin) || soakMin < 0) throw new Error('--soak takes minutes');
  return { size, soakMin, seed: Number(val('--seed') ?? Date.now() % 1_000_000), only: val('--only'), onlySoak: a.includes('--only-soak') };
}

const SIZES: Record<'ci' | 'full', Size> = {
  ci: { outageS: 15, changes: 3 },
  full: { outageS: 60, changes: 6 },
};

async function runScenario(services: Services, s: Scenario, index: number, size: Size): Promise<Row> {
  const started = Date.now();
  const name = `s${String(index).padStart(2, '0')}`;
  const w = new World(services, { name, mode: s.mode, seed: 100 + index, auth: s.auth, timeout: s.timeout, s3PartMb: s.s3PartMb });
  const row: Row = { scenario: s, cells: {}, seconds: 0, kills: 0, faults: 0, caught: [] };
  let unmount = async (): Promise<void> => undefined;
  try {
    await w.startSim();
    if (s.simClockS) await w.sim.control.clock(s.simClockS);
    if (s.mode === 'added' || s.mode === 'walk') await w.pickGallery();
    unmount = await prepareFolder(w, s);
    await w.startRed(s.crashAt);
    // the trigger's first poll takes its position ("start from now", an approval rule's baseline)
    await w.poll();
    await s.act(w, size);
  } catch (e) {
    row.error = (e as Error).message;
  }
  try {
    // the faults stay until they have fired (or the work is done without them: a rate that did not hit) …
    if (!row.error && w.red) {
      await until('the faults to fire', 60_000, async () => (await w.faultsSpent()) || w.recorded(), 250).catch(() => undefined);
    }
    // … then they end; what died is started again; and the flow finishes its work
    await w.sim.control.clearFaults().catch(() => undefined);
    services.http.faults = [];
    services.s3.faults = [];
    if (!w.red) await w.startRed();
    await until('every expected version at every destination', s.knownDefect ? 30_000 : 60_000, async () => {
      if (await w.complete()) return true;
      await w.reviveIfCrashed();
      await w.poll();
      return false;
    }, 500).catch((e: Error) => (row.error ??= e.message));
    // quiet for a moment (late retries of a POST would show now), then Node-RED stops as a deploy stops it
    const events = (): number => services.collector.of(name).length;
    let seen = -1;
    await until('quiet', 30_000, async () => {
      const n = events();
      const quiet = n === seen;
      seen = n;
      return quiet;
    }, 2000).catch(() => undefined);
    await w.red?.halt();
    row.faults = await w.faultsHit();
    // a kill can fall between a POST the server stored and its ledger record: the one duplicate POST allows
    for (const c of COLUMNS) row.cells[c] = await w.reconcile(c, s.allowPostDuplicates === true || w.kills > 0);
  } catch (e) {
    row.error ??= (e as Error).message;
  } finally {
    row.kills = w.kills;
    // a walk killed before its state was on disk meets the known defect, whichever scenario killed it
    if (w.walkUnsaved && !s.knownDefect) row.scenario = { ...s, knownDefect: `${WALK_NOT_SAVED} (the walk was killed before its state was written)` };
    row.caught = [...new Set(services.collector.of(name).filter((e) => e.kind !== 'delivered').map((e) => `${e.node ?? e.kind}: ${e.code ?? ''} ${String(e.message ?? '').slice(0, 160)}`))];
    await w.close();
    await unmount();
    row.seconds = Math.round((Date.now() - started) / 1000);
  }
  return row;
}

function cellText(s: Scenario, c: (typeof COLUMNS)[number], r: CellResult | undefined): string {
  if (!r) return 'not run';
  const bad = [r.lost && `${r.lost} lost`, r.doubled && `${r.doubled} doubled`, r.orphans && `${r.orphans} orphans`].filter(Boolean).join(' ');
  const ok = bad || `ok ${r.expected}`;
  const dup = r.allowedDuplicates ? ` +${r.allowedDuplicates} dup (POST)` : '';
  const note = s.knownCells?.[c] ? ' (known defect)' : s.notes?.[c] ? ` (${s.notes[c]})` : '';
  return ok + dup + note;
}

function printMatrix(rows: Row[]): { lost: number; doubled: number; orphans: number; known: number } {
  const head = ['scenario', ...COLUMNS, 'faults', 'kills', 's'];
  const lines = rows.map((r) => [
    `${r.scenario.knownDefect ? '(known defect) ' : ''}${r.scenario.name}`,
    ...COLUMNS.map((c) => cellText(r.scenario, c, r.cells[c])),
    String(r.faults),
    String(r.kills),
    String(r.seconds),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]): string => l.map((x, i) => x.padEnd(widths[i])).join(' | ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
  let lost = 0;
  let doubled = 0;
  let orphans = 0;
  let known = 0;
  for (const r of rows) {
    const counted = Object.entries(r.cells).filter(([c]) => !r.scenario.knownCells?.[c as (typeof COLUMNS)[number]]).map(([, cell]) => cell);
    const sum = counted.reduce((a, c) => ({ lost: a.lost + c.lost, doubled: a.doubled + c.doubled, orphans: a.orphans + c.orphans }), { lost: 0, doubled: 0, orphans: 0 });
    if (r.scenario.knownCells) known += Object.keys(r.scenario.knownCells).length;
    if (r.scenario.knownDefect) {
      known++;
      continue;
    }
    lost += sum.lost;
    doubled += sum.doubled;
    orphans += sum.orphans;
  }
  console.log('');
  for (const r of rows) {
    const details = Object.entries(r.cells).flatMap(([c, cell]) => cell.details.map((d) => `${c}: ${d}`));
    if (r.error || details.length) {
      console.log(`${r.scenario.name}:${r.error ? ` ERROR ${r.error}` : ''}`);
      for (const d of details.slice(0, 20)) console.log(`  ${d}`);
      for (const c of r.caught.slice(0, 8)) console.log(`  caught ${c}`);
    }
    if (r.scenario.knownDefect) console.log(`  known defect (not in the totals): ${r.scenario.knownDefect}`);
    for (const [c, text] of Object.entries(r.scenario.knownCells ?? {})) console.log(`  known defect of ${c} (not in the totals): ${text}`);
  }
  return { lost, doubled, orphans, known };
}

async function main(): Promise<void> {
  const o = args();
  const why = openSshUnavailable();
  if (why) throw new Error(`the fault suite needs root and OpenSSH: ${why}`);
  const root = mkdtempSync(join(tmpdir(), 'ps-faults-'));
  const collector = new Collector();
  await collector.start();
  const http = new HttpSink();
  await http.start();
  const s3 = new S3Sink(join(root, 's3'));
  await s3.start();
  const ssh = await startOpenSsh();
  const services: Services = { root, http, s3, ssh, collector };
  const rows: Row[] = [];
  const t0 = Date.now();
  try {
    const fixed = o.onlySoak ? [] : SCENARIOS.filter((s) => (o.size === 'full' || s.ci) && (!o.only || s.name.includes(o.only)));
    console.log(`fault suite: ${fixed.length} scenarios (${o.size})${o.soakMin ? `, then a soak of ${o.soakMin} min with --seed ${o.seed}` : ''}`);
    let i = 0;
    for (const s of fixed) {
      const row = await runScenario(services, s, ++i, SIZES[o.size]);
      rows.push(row);
      console.log(`  ${s.name}: ${COLUMNS.map((c) => `${c} ${cellText(s, c, row.cells[c])}`).join(', ')}${row.error ? ` — ${row.error}` : ''} (${row.seconds} s, ${row.faults} faults, ${row.kills} kills)`);
    }
    if (o.soakMin) {
      const end = Date.now() + o.soakMin * 60_000;
      let n = 0;
      // bounded: at most one scenario per 10 s of the soak
      while (Date.now() < end && n < o.soakMin * 6) {
        const s = soakScenario(o.seed, n++);
        const row = await runScenario(services, s, ++i, SIZES.ci);
        rows.push(row);
        console.log(`  ${s.name}: ${COLUMNS.map((c) => `${c} ${cellText(s, c, row.cells[c])}`).join(', ')}${row.error ? ` — ${row.error}` : ''} (${row.seconds} s, ${row.faults} faults, ${row.kills} kills)`);
      }
    }
  } finally {
    rmSync(sftpRoot(services), { recursive: true, force: true });
    // the services stop, each given a few seconds (a server that waits for a connection does not hold the report up)
    const stop = (p: Promise<unknown>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await stop(ssh.stop());
    await stop(s3.close());
    await stop(http.close());
    await stop(collector.close());
    rmSync(root, { recursive: true, force: true });
  }
  console.log('');
  const t = printMatrix(rows);
  const errors = rows.filter((r) => r.error && !r.scenario.knownDefect && !r.scenario.knownCells).length;
  console.log(`took ${Math.round((Date.now() - t0) / 1000)} s${errors ? `; ${errors} scenarios with errors` : ''}${t.known ? `; ${t.known} known defects shown above, not in the totals` : ''}`);
  console.log(`${rows.length - t.known} scenarios, ${t.lost} lost, ${t.doubled} doubled, ${t.orphans} orphans`);
  process.exitCode = t.lost || t.doubled || t.orphans || errors ? 1 : 0;
}

main().then(
  // nothing is left to wait for: a connection some server kept open must not keep the run alive
  () => process.exit(),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

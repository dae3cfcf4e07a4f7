/**
 * `approved`: an asset that comes to match the approval rule (rules.ts), once per entry into it. The
 * state keeps the ids that match, so that an asset is reported when it enters the rule, not on every edit;
 * started "now", the first poll records what matches already (the baseline) and reports nothing.
 *
 * With `approvedChanges`, an asset that stays approved is reported too when it changes: a new file version
 * or a metadata edit, said in `event.changed` (`file` when its version key moved, `metadata` when its
 * metadata key, the modification time, did; a new file moves both). For that the state keeps a short
 * fingerprint of both keys of every matching asset; an asset seen for the first time with the option on
 * is recorded, not reported (nothing is known of it to compare with).
 */
import { fnv1a, versionKeyParts, type Asset } from '../../asset';
import { describeRule, evaluateRule, ruleKey, ruleNeeds, type ApprovalRule } from '../rules';
import type { TriggerState } from '../state';
import type { PollMode, PollRun } from './mode';

/** The last values seen of recently changed assets (for `event.previous`), at most this many. */
const RECENT_MAX = 5000;

/** What changed of an asset that stays approved. */
export type ApprovedChange = 'file' | 'metadata';

/** `id version-fingerprint hash-fingerprint|- metadata-fingerprint`: what the state keeps of a matching asset. */
function keysOf(asset: Asset): string {
  const parts = versionKeyParts(asset.versionKey);
  const hash = parts?.hash ? fnv1a(parts.hash) : '-';
  return `${asset.id} ${fnv1a(parts?.base ?? asset.versionKey)} ${hash} ${fnv1a(asset.metadataKey)}`;
}

/** What changed between two entries of keysOf (a hash only one side has does not count, as in sameVersion). */
export function changesBetween(before: string, after: string): ApprovedChange[] {
  const [, b1, h1, m1] = before.split(' ');
  const [, b2, h2, m2] = after.split(' ');
  const out: ApprovedChange[] = [];
  if (b1 !== b2 || (h1 !== '-' && h2 !== '-' && h1 !== h2)) out.push('file');
  if (m1 !== m2) out.push('metadata');
  return out;
}

function approval(run: PollRun, asset: Asset, scope: string, memory: Memory, baseline: boolean): void {
  const rule = run.o.rule as ApprovalRule;
  const r = evaluateRule(rule, asset);
  const was = memory.matching.has(asset.id);
  const previousKnown = memory.recent.has(asset.id);
  const previous = memory.recent.get(asset.id) ?? null;
  const at = asset.modifiedAt;
  const base = { type: 'approved' as const, at, detectedAt: run.detectedAt, scope, rule: describeRule(rule), value: r.value, previous, previousKnown };
  if (r.matches && !was && !baseline && !run.emitted.has(asset.id)) {
    run.emitted.add(asset.id);
    run.events.push({ topic: 'approved', asset, event: base });
  } else if (r.matches && was && memory.keys && !baseline && !run.emitted.has(asset.id)) {
    // it stays approved: reported when its file or its metadata changed since it was last seen
    const before = memory.keys.get(asset.id);
    const changed = before === undefined ? [] : changesBetween(before, keysOf(asset));
    if (changed.length > 0) {
      run.emitted.add(asset.id);
      run.events.push({ topic: 'approved', asset, event: { ...base, changed } });
    }
  }
  if (r.matches) {
    memory.matching.add(asset.id);
    memory.keys?.set(asset.id, keysOf(asset));
  } else {
    memory.matching.delete(asset.id);
    memory.keys?.delete(asset.id);
  }
  memory.recent.delete(asset.id);
  memory.recent.set(asset.id, r.value);
}

interface Memory {
  matching: Set<string>;
  recent: Map<string, unknown>;
  /** With `approvedChanges`: the keys of each matching asset, by id. */
  keys?: Map<string, string>;
}

function memoryOf(state: TriggerState, withKeys: boolean): Memory {
  return {
    matching: new Set(state.matching ?? []),
    recent: new Map(state.recent ?? []),
    keys: withKeys ? new Map((state.approvedKeys ?? []).map((k) => [k.slice(0, k.indexOf(' ')), k])) : undefined,
  };
}

export const approved: PollMode = {
  name: 'approved',
  check: (o) => {
    if (!o.rule) throw new Error('The approved mode needs a rule');
  },
  key: (o) => (o.rule ? ruleKey(o.rule) : ''),
  needs: (o) => {
    const need = o.rule ? ruleNeeds(o.rule) : undefined;
    return need ? [need] : [];
  },
  needsBaseline: (o, state) => o.start.from === 'now' && !state.baselineDone,
  poll: async (run, baseline) => {
    const memory = memoryOf(run.state, run.o.approvedChanges === true);
    await run.scanChanges(baseline, (asset, scope) => approval(run, asset, scope, memory, baseline));
    run.state.matching = [...memory.matching].sort();
    run.state.recent = [...memory.recent].slice(-RECENT_MAX);
    if (memory.keys) run.state.approvedKeys = [...memory.keys.values()].sort();
    else delete run.state.approvedKeys;
    if (baseline) run.state.baselineDone = true;
  },
};

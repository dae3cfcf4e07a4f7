/**
 * The example flows as files, and as one deployment: examples that share a subflow (examples 1 and 5 share
 * "Remove from WordPress by slug") each carry the same definition, so that each imports alone; deployed
 * together, the definition is there once, as the editor keeps it when the second import finds it present.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLES_DIR = join(__dirname, '..', '..', 'examples');

export type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string };

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function loadExample(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(EXAMPLES_DIR, file.endsWith('.json') ? file : `${file}.json`), 'utf8')) as FlowNode[];
}

/** The ids of the subflow definitions in a flow, and of the nodes inside them. */
export function subflowPart(flow: FlowNode[]): Set<string> {
  const defs = new Set(flow.filter((n) => n.type === 'subflow').map((n) => n.id));
  return new Set(flow.filter((n) => defs.has(n.id) || (n.z !== undefined && defs.has(n.z))).map((n) => n.id));
}

/**
 * The nodes of several examples, for one deployment: a node that two files both carry (a shared subflow and
 * what is inside it) is kept once, and only when both copies are the same; any other repeated id is an error.
 */
export function combineExamples(files: string[]): FlowNode[] {
  const seen = new Map<string, { node: FlowNode; file: string; shared: boolean }>();
  const out: FlowNode[] = [];
  for (const file of files) {
    const flow = loadExample(file);
    const shared = subflowPart(flow);
    for (const n of flow) {
      const before = seen.get(n.id);
      if (before) {
        if (!before.shared || !shared.has(n.id)) throw new Error(`${n.id} is in ${before.file} and ${file}`);
        if (JSON.stringify(before.node) !== JSON.stringify(n)) throw new Error(`the shared ${n.id} differs between ${before.file} and ${file}`);
        continue;
      }
      seen.set(n.id, { node: n, file, shared: shared.has(n.id) });
      out.push(n);
    }
  }
  return out;
}

/**
 * Committed consumer offsets. The workload only ever commits the offset after records it
 * processed, and a new owner of a partition starts from the committed offset, so the committed
 * offset of a (group, partition) only grows:
 *   nonmonotonic-commit  an acknowledged commit, invoked after another was acknowledged, is lower
 *   lost-commit          an OffsetFetch (`committed`) returned less than a commit acknowledged
 *                        before the fetch began
 */
import { HistoryError } from './history.js';
import { lineOf, partitionOf, type Operation } from './operations.js';
import type { CheckResult, Violation } from './report.js';

interface Commit {
  readonly op: Operation;
  readonly key: string;
  readonly partition: string;
  readonly offset: number;
}

function commitsOf(ops: readonly Operation[], f: string): Commit[] {
  const out: Commit[] = [];
  for (const op of ops) {
    if (op.f !== f || op.outcome !== 'ok') continue;
    if (typeof op.value !== 'string') throw new HistoryError(lineOf(op), `${f} value must be the group id`);
    if (op.offset === undefined) throw new HistoryError(lineOf(op), `${f} ok needs an offset`);
    const partition = partitionOf(op);
    out.push({ op, key: `${op.value}/${partition}`, partition, offset: op.offset });
  }
  return out;
}

function groupBy<T extends { key: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.key);
    if (list) list.push(it);
    else m.set(it.key, [it]);
  }
  return m;
}

/**
 * The highest acknowledged commit completed before time t, for times asked in increasing order
 * (`byComplete` is sorted by completion time).
 */
function floorOf(byComplete: readonly Commit[]): (t: number) => Commit | undefined {
  let j = 0;
  let best: Commit | undefined;
  return (t) => {
    while (j < byComplete.length && (byComplete[j]?.op.completeTime ?? Infinity) < t) {
      const c = byComplete[j];
      if (c && (!best || c.offset > best.offset)) best = c;
      j++;
    }
    return best;
  };
}

export function checkCommits(ops: readonly Operation[]): CheckResult {
  const violations: Violation[] = [];
  const commits = groupBy(commitsOf(ops, 'commit'));
  const reads = groupBy(commitsOf(ops, 'committed'));
  let checked = 0;
  for (const [key, list] of commits) {
    const byComplete = [...list].sort((a, b) => a.op.completeTime - b.op.completeTime);
    const byInvoke = [...list].sort((a, b) => a.op.invokeTime - b.op.invokeTime);
    const floor = floorOf(byComplete);
    for (const c of byInvoke) {
      checked++;
      const before = floor(c.op.invokeTime);
      if (before && c.offset < before.offset) {
        violations.push({
          kind: 'nonmonotonic-commit',
          partition: c.partition,
          message: `${key}: ${c.op.process} committed ${c.offset} after ${before.op.process}'s commit of ${before.offset} was acknowledged`,
          lines: [lineOf(before.op), lineOf(c.op)],
        });
      }
    }
    const readList = [...(reads.get(key) ?? [])].sort((a, b) => a.op.invokeTime - b.op.invokeTime);
    const readFloor = floorOf(byComplete);
    for (const r of readList) {
      checked++;
      const before = readFloor(r.op.invokeTime);
      if (before && r.offset < before.offset) {
        violations.push({
          kind: 'lost-commit',
          partition: r.partition,
          message: `${key}: OffsetFetch returned ${r.offset === -1 ? 'no offset' : r.offset} after a commit of ${before.offset} was acknowledged`,
          lines: [lineOf(before.op), lineOf(r.op)],
        });
      }
    }
  }
  let orphanReads = 0;
  for (const key of reads.keys()) if (!commits.has(key)) orphanReads += reads.get(key)?.length ?? 0;
  return {
    name: 'committed offsets',
    checked,
    unit: 'commits and offset reads',
    violations,
    figures: { 'commits acknowledged': [...commits.values()].reduce((n, l) => n + l.length, 0), 'offset reads without commits': orphanReads },
  };
}

/**
 * Acknowledged writes against the final logs. Every produce writes a value no other produce
 * writes, so the final log says exactly what became of each one:
 *   lost-write            acknowledged, and in no final log of its partition
 *   offset-mismatch       acknowledged at one offset, found at another
 *   duplicate             one value at more than one place in the final logs
 *   unexpected-value      a value nobody wrote (corruption that passed every check)
 *   failed-write-present  a produce that certainly failed is in the log anyway
 *   final-read-missing    acknowledged writes to a partition that could not be read back
 *   reorder               write B was invoked after write A was acknowledged, yet sits before A
 * Indeterminate produces (`info`) may be present once or absent; either is fine.
 */
import { HistoryError } from './history.js';
import type { FinalLogs } from './final-logs.js';
import { lineOf, partitionOf, type Operation } from './operations.js';
import type { CheckResult, Violation } from './report.js';

interface Place {
  readonly partition: string;
  readonly offset: number;
}

interface Write {
  readonly op: Operation;
  readonly value: string;
  readonly partition: string;
}

function writesOf(ops: readonly Operation[]): Write[] {
  const out: Write[] = [];
  for (const op of ops) {
    if (op.f !== 'produce') continue;
    if (typeof op.value !== 'string') throw new HistoryError(op.line, 'produce value must be the string written');
    out.push({ op, value: op.value, partition: partitionOf(op) });
  }
  return out;
}

export function checkWrites(ops: readonly Operation[], final: FinalLogs): CheckResult {
  const violations: Violation[] = [...final.violations];
  const writes = writesOf(ops);
  const places = new Map<string, Place[]>();
  for (const log of final.logs.values()) {
    for (const r of log.records) {
      const list = places.get(r.value);
      if (list) list.push({ partition: log.partition, offset: r.offset });
      else places.set(r.value, [{ partition: log.partition, offset: r.offset }]);
    }
  }
  const written = new Set<string>();
  const unreadable = new Map<string, number[]>();
  let acknowledged = 0;
  let checked = 0;
  let indeterminate = 0;
  let indeterminatePresent = 0;
  let definiteFailures = 0;
  for (const w of writes) {
    written.add(w.value);
    const at = places.get(w.value) ?? [];
    const here = at.filter((p) => p.partition === w.partition);
    if (w.op.outcome === 'info') {
      indeterminate++;
      if (here.length > 0) indeterminatePresent++;
      continue;
    }
    if (w.op.outcome === 'fail') {
      definiteFailures++;
      if (at.length > 0) {
        violations.push({
          kind: 'failed-write-present',
          partition: w.partition,
          message: `${JSON.stringify(w.value)} failed (${w.op.error ?? 'no error given'}) but is in the log at offset ${at[0]?.offset}`,
          lines: [lineOf(w.op)],
        });
      }
      continue;
    }
    acknowledged++;
    if (!final.logs.has(w.partition)) {
      const lines = unreadable.get(w.partition);
      if (lines) lines.push(lineOf(w.op));
      else unreadable.set(w.partition, [lineOf(w.op)]);
      continue;
    }
    checked++;
    if (here.length === 0) {
      const elsewhere = at.length > 0 ? `; it is in partition ${at[0]?.partition} at offset ${at[0]?.offset} instead` : '';
      violations.push({
        kind: 'lost-write',
        partition: w.partition,
        message: `${JSON.stringify(w.value)} acknowledged at offset ${w.op.offset ?? '?'} by ${w.op.process} is not in the final log${elsewhere}`,
        lines: [lineOf(w.op)],
      });
    } else if (w.op.offset !== undefined && !here.some((p) => p.offset === w.op.offset)) {
      violations.push({
        kind: 'offset-mismatch',
        partition: w.partition,
        message: `${JSON.stringify(w.value)} acknowledged at offset ${w.op.offset} is at offset ${here.map((p) => p.offset).join(', ')}`,
        lines: [lineOf(w.op)],
      });
    }
  }
  for (const [partition, lines] of unreadable) {
    const why = final.failures.get(partition)?.join('; ') ?? 'no final read of this partition';
    violations.push({
      kind: 'final-read-missing',
      partition,
      message: `${lines.length} acknowledged writes cannot be checked: ${why}`,
      lines: lines.slice(0, 3),
    });
  }
  for (const [value, at] of places) {
    if (at.length > 1) {
      violations.push({
        kind: 'duplicate',
        partition: at[0]?.partition,
        message: `${JSON.stringify(value)} is stored ${at.length} times: ${at.map((p) => `${p.partition}@${p.offset}`).join(', ')}`,
      });
    }
    if (!written.has(value)) {
      violations.push({
        kind: 'unexpected-value',
        partition: at[0]?.partition,
        message: `${JSON.stringify(value)} at offset ${at[0]?.offset} was never written by any producer`,
      });
    }
  }
  violations.push(...checkOrder(writes, final, places));
  return {
    name: 'acknowledged writes',
    checked,
    unit: 'acknowledged writes',
    violations,
    figures: {
      'writes acknowledged': acknowledged,
      'writes indeterminate (info)': indeterminate,
      'indeterminate writes present': indeterminatePresent,
      'writes failed': definiteFailures,
      'final reads': final.reads,
    },
  };
}

/**
 * Real-time order within a partition: once A is acknowledged, any write invoked afterwards must
 * land after A in the log. Sweep writes by invoke time while admitting acknowledged writes by
 * completion time, keeping the one furthest along the log.
 */
function checkOrder(writes: readonly Write[], final: FinalLogs, places: ReadonlyMap<string, readonly Place[]>): Violation[] {
  const violations: Violation[] = [];
  const byPartition = new Map<string, { w: Write; offset: number }[]>();
  for (const w of writes) {
    if (w.op.outcome !== 'ok') continue;
    const log = final.logs.get(w.partition);
    if (!log) continue;
    const offset = w.op.offset !== undefined && log.byOffset.get(w.op.offset) === w.value ? w.op.offset : places.get(w.value)?.find((p) => p.partition === w.partition)?.offset;
    if (offset === undefined) continue;
    const list = byPartition.get(w.partition);
    if (list) list.push({ w, offset });
    else byPartition.set(w.partition, [{ w, offset }]);
  }
  for (const [partition, list] of byPartition) {
    const byInvoke = [...list].sort((a, b) => a.w.op.invokeTime - b.w.op.invokeTime);
    const byComplete = [...list].sort((a, b) => a.w.op.completeTime - b.w.op.completeTime);
    let j = 0;
    let furthest: { w: Write; offset: number } | undefined;
    for (const b of byInvoke) {
      while (j < byComplete.length && (byComplete[j]?.w.op.completeTime ?? Infinity) < b.w.op.invokeTime) {
        const a = byComplete[j];
        if (a && (!furthest || a.offset > furthest.offset)) furthest = a;
        j++;
      }
      if (furthest && furthest.offset >= b.offset) {
        violations.push({
          kind: 'reorder',
          partition,
          message: `${JSON.stringify(b.w.value)} (offset ${b.offset}) was invoked after ${JSON.stringify(furthest.w.value)} (offset ${furthest.offset}) was acknowledged, yet precedes it`,
          lines: [lineOf(furthest.w.op), b.w.op.line],
        });
      }
    }
  }
  return violations;
}

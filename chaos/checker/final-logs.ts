/**
 * The log of each partition as read back in full after the run (`final-read` events): the
 * reference the write and read checks compare against. Several final reads of one partition must
 * agree where they overlap, and a later one must still hold what an earlier one saw.
 */
import { readRecords, type ReadRecord } from './history.js';
import { lineOf, partitionOf, type Operation } from './operations.js';
import type { Violation } from './report.js';

export interface PartitionLog {
  readonly partition: string;
  /** By offset, ascending, one record per offset. */
  readonly records: readonly ReadRecord[];
  readonly byOffset: ReadonlyMap<number, string>;
  readonly line: number;
}

export interface FinalLogs {
  readonly logs: ReadonlyMap<string, PartitionLog>;
  /** Why a partition has no log: the errors of its failed final reads. */
  readonly failures: ReadonlyMap<string, readonly string[]>;
  readonly violations: readonly Violation[];
  readonly reads: number;
}

function toLog(partition: string, op: Operation, violations: Violation[]): PartitionLog {
  const byOffset = new Map<number, string>();
  for (const r of readRecords(op.value, lineOf(op), op.f)) {
    const seen = byOffset.get(r.offset);
    if (seen !== undefined && seen !== r.value) {
      violations.push({
        kind: 'final-read-inconsistent',
        partition,
        message: `one final read returned offset ${r.offset} twice with different values (${JSON.stringify(seen)} and ${JSON.stringify(r.value)})`,
        lines: [lineOf(op)],
      });
    }
    if (seen === undefined) byOffset.set(r.offset, r.value);
  }
  const records = [...byOffset].sort((a, b) => a[0] - b[0]).map(([offset, value]) => ({ offset, value }));
  return { partition, records, byOffset, line: lineOf(op) };
}

/** `f` names the reads: `final-read`, or the transactional workload's reads at either isolation level. */
export function finalLogs(ops: readonly Operation[], f = 'final-read'): FinalLogs {
  const violations: Violation[] = [];
  const logs = new Map<string, PartitionLog>();
  const failures = new Map<string, string[]>();
  let reads = 0;
  for (const op of ops) {
    if (op.f !== f) continue;
    const key = partitionOf(op);
    if (op.outcome !== 'ok') {
      failures.set(key, [...(failures.get(key) ?? []), op.error ?? op.outcome]);
      continue;
    }
    reads++;
    const next = toLog(key, op, violations);
    const prev = logs.get(key);
    if (prev) compareReads(prev, next, violations);
    logs.set(key, next);
  }
  return { logs, failures, violations, reads };
}

/** A later final read may hold more, never less or something else, than an earlier one. */
function compareReads(earlier: PartitionLog, later: PartitionLog, violations: Violation[]): void {
  for (const r of earlier.records) {
    const now = later.byOffset.get(r.offset);
    if (now === r.value) continue;
    violations.push({
      kind: 'final-read-inconsistent',
      partition: later.partition,
      message:
        now === undefined
          ? `offset ${r.offset} (${JSON.stringify(r.value)}) was in an earlier final read and is missing from a later one`
          : `offset ${r.offset} held ${JSON.stringify(r.value)} in an earlier final read and ${JSON.stringify(now)} in a later one`,
      lines: [earlier.line, later.line],
    });
    return;
  }
}

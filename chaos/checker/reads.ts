/**
 * What consumers received. Within one assignment (between two `assign` events of a consumer) a
 * consumer reads each partition forwards:
 *   nonmonotonic-poll  an offset at or below one it already received
 *   poll-skip          it jumped over offsets the final log shows hold records
 *   inconsistent-read  it received a value the final log does not hold at that offset (a read of
 *                      data that was later lost or never committed)
 * After a new assignment a consumer restarts from the committed offset, so going back is allowed.
 */
import { HistoryError, readRecords } from './history.js';
import type { FinalLogs, PartitionLog } from './final-logs.js';
import { lineOf, partitionOf, type Operation } from './operations.js';
import type { CheckResult, Violation } from './report.js';

/** Offsets present in (lo, hi) of a log whose records are sorted by offset. */
function presentBetween(log: PartitionLog, lo: number, hi: number): number {
  const first = lowerBound(log.records, lo + 1);
  const end = lowerBound(log.records, hi);
  return Math.max(0, end - first);
}

function lowerBound(records: PartitionLog['records'], offset: number): number {
  let a = 0;
  let b = records.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((records[m]?.offset ?? Infinity) < offset) a = m + 1;
    else b = m;
  }
  return a;
}

/** `f` names the polls to check (the transactional workload's consumer records `txn-poll`). */
export function checkReads(ops: readonly Operation[], final: FinalLogs, f = 'poll', name = 'consumer reads'): CheckResult {
  const violations: Violation[] = [];
  /** consumer -> partition -> last offset received in the current assignment */
  const last = new Map<string, Map<string, number>>();
  let polls = 0;
  let records = 0;
  let verified = 0;
  for (const op of ops) {
    if (op.f === 'assign' && op.outcome === 'ok') {
      if (op.value !== undefined && !Array.isArray(op.value)) throw new HistoryError(lineOf(op), 'assign value must be the list of partitions');
      last.delete(op.process);
      continue;
    }
    if (op.f !== f || op.outcome !== 'ok') continue;
    polls++;
    const partition = partitionOf(op);
    const log = final.logs.get(partition);
    let mine = last.get(op.process);
    if (!mine) last.set(op.process, (mine = new Map()));
    for (const r of readRecords(op.value, lineOf(op), op.f)) {
      records++;
      const prev = mine.get(partition);
      if (prev !== undefined && r.offset <= prev) {
        violations.push({
          kind: 'nonmonotonic-poll',
          partition,
          message: `${op.process} received offset ${r.offset} after offset ${prev} without a new assignment`,
          lines: [lineOf(op)],
        });
      } else if (prev !== undefined && log && r.offset > prev + 1) {
        const skipped = presentBetween(log, prev, r.offset);
        if (skipped > 0) {
          violations.push({
            kind: 'poll-skip',
            partition,
            message: `${op.process} went from offset ${prev} to ${r.offset}, skipping ${skipped} records the log holds`,
            lines: [lineOf(op)],
          });
        }
      }
      mine.set(partition, prev === undefined ? r.offset : Math.max(prev, r.offset));
      if (!log) continue;
      verified++;
      const stored = log.byOffset.get(r.offset);
      if (stored !== r.value) {
        violations.push({
          kind: 'inconsistent-read',
          partition,
          message:
            stored === undefined
              ? `${op.process} received ${JSON.stringify(r.value)} at offset ${r.offset}, which the final log does not have`
              : `${op.process} received ${JSON.stringify(r.value)} at offset ${r.offset}, where the final log holds ${JSON.stringify(stored)}`,
          lines: [lineOf(op)],
        });
      }
    }
  }
  return {
    name,
    checked: records,
    unit: 'records polled',
    violations,
    figures: { polls, 'polled records checked against the final log': verified },
  };
}

/**
 * Kafka transactions, against what read_committed readers were given: the `txn-final-read` of
 * every partition after the run and the `txn-poll`s of the consumer during it. Every value is
 * written by exactly one transaction, so each value read names its transaction. A transaction's
 * fate comes from its `txn` operation:
 *   committed  ok with end "commit": the commit was acknowledged
 *   aborted    ok with end "abort" (the abort was acknowledged), or fail (no commit was ever
 *              sent, so it can only end aborted)
 *   unknown    info, or never completed: the commit was sent and not answered
 * The checks, one result row each:
 *   aborted-read         a read_committed reader was given a value of an aborted transaction
 *   txn-partial          an acknowledged commit is partly visible in the final read_committed read
 *   txn-lost-write       an acknowledged commit's value is missing from it (or is at another
 *                        offset than its send was acknowledged at: offset-mismatch)
 *   txn-unknown-partial  a transaction of unknown outcome is neither wholly visible nor wholly not
 *   txn-reorder          within a partition, a transaction's values out of their send order, or a
 *                        transaction invoked after another's commit was acknowledged placed before it
 *   consumer checks      the read_committed consumer's polls, as `consumer reads` checks the
 *                        idempotent workload's (nonmonotonic-poll, poll-skip, inconsistent-read)
 *   final reads          duplicates, values nobody wrote, final reads that disagree, and
 *                        isolation-mismatch: a record the read_committed read holds that the
 *                        read_uncommitted read does not hold at the same offset
 */
import { finalLogs, type FinalLogs } from './final-logs.js';
import { HistoryError, partitionKey, readRecords } from './history.js';
import { lineOf, type Operation } from './operations.js';
import { checkReads } from './reads.js';
import type { CheckResult, Violation } from './report.js';

export const TXN_F = 'txn';
export const TXN_POLL_F = 'txn-poll';
export const TXN_READ_F = 'txn-final-read';
export const TXN_READ_UNCOMMITTED_F = 'txn-final-read-uncommitted';

type Fate = 'committed' | 'aborted' | 'unknown';

interface Txn {
  readonly op: Operation;
  readonly fate: Fate;
  /** Why it counts as aborted: an acknowledged abort, or a commit never sent. */
  readonly how: string;
  readonly writes: readonly { partition: string; value: string }[];
  /** Offsets the transactional sends were acknowledged at, by value. */
  readonly sent: ReadonlyMap<string, number>;
}

interface Place {
  readonly partition: string;
  readonly offset: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function transactionsOf(ops: readonly Operation[]): Txn[] {
  const out: Txn[] = [];
  for (const op of ops) {
    if (op.f !== TXN_F) continue;
    const line = lineOf(op);
    if (!isObject(op.value) || !Array.isArray(op.value['writes'])) throw new HistoryError(line, 'txn value must be an object with writes: [[partition, value], ...]');
    const writes = op.value['writes'].map((w: unknown, i) => {
      if (!Array.isArray(w) || typeof w[0] !== 'number' || typeof w[1] !== 'string') throw new HistoryError(line, `txn writes[${i}] must be a [partition, value] pair`);
      return { partition: partitionKey(op.topic, w[0]), value: w[1] };
    });
    const sent = new Map<string, number>();
    const rawSent = op.value['sent'];
    if (rawSent !== undefined) {
      if (!Array.isArray(rawSent)) throw new HistoryError(line, 'txn sent must be a list of [partition, value, offset]');
      for (const s of rawSent as unknown[]) {
        if (!Array.isArray(s) || typeof s[1] !== 'string' || typeof s[2] !== 'number') throw new HistoryError(line, 'txn sent entries must be [partition, value, offset]');
        sent.set(s[1], s[2]);
      }
    }
    const end = op.value['end'];
    let fate: Fate;
    let how = '';
    if (op.outcome === 'ok') {
      if (end !== 'commit' && end !== 'abort') throw new HistoryError(line, `txn ok needs end "commit" or "abort", got ${JSON.stringify(end)}`);
      fate = end === 'commit' ? 'committed' : 'aborted';
      how = 'its abort was acknowledged';
    } else if (op.outcome === 'fail') {
      fate = 'aborted';
      how = 'its commit was never sent';
    } else {
      fate = 'unknown';
    }
    out.push({ op, fate, how, writes, sent });
  }
  return out;
}

function placesOf(final: FinalLogs): Map<string, Place[]> {
  const places = new Map<string, Place[]>();
  for (const log of final.logs.values()) {
    for (const r of log.records) {
      const list = places.get(r.value);
      if (list) list.push({ partition: log.partition, offset: r.offset });
      else places.set(r.value, [{ partition: log.partition, offset: r.offset }]);
    }
  }
  return places;
}

/** The results of the transactional checks; none when the history has no transactions. */
export function checkTransactions(ops: readonly Operation[]): CheckResult[] {
  const txns = transactionsOf(ops);
  if (txns.length === 0) return [];
  const committedRead = finalLogs(ops, TXN_READ_F);
  const uncommittedRead = finalLogs(ops, TXN_READ_UNCOMMITTED_F);
  const owner = new Map<string, Txn>();
  for (const t of txns) for (const w of t.writes) owner.set(w.value, t);
  const places = placesOf(committedRead);
  const visibleIn = (t: Txn): { visible: number; missing: string[]; unreadable: string[] } => {
    let visible = 0;
    const missing: string[] = [];
    const unreadable: string[] = [];
    for (const w of t.writes) {
      if (!committedRead.logs.has(w.partition)) unreadable.push(w.value);
      else if ((places.get(w.value) ?? []).some((p) => p.partition === w.partition)) visible++;
      else missing.push(w.value);
    }
    return { visible, missing, unreadable };
  };
  return [
    abortedUnread(ops, txns, owner, committedRead, uncommittedRead),
    committedAtomic(txns, visibleIn),
    committedKept(txns, visibleIn, places, committedRead),
    unknownAllOrNothing(txns, visibleIn),
    order(txns, places),
    checkReads(ops, committedRead, TXN_POLL_F, 'txn read_committed consumer'),
    finalReads(owner, committedRead, uncommittedRead),
  ];
}

function abortedUnread(ops: readonly Operation[], txns: readonly Txn[], owner: ReadonlyMap<string, Txn>, committed: FinalLogs, uncommitted: FinalLogs): CheckResult {
  const violations: Violation[] = [];
  let checked = 0;
  let valuesRead = 0;
  const report = (value: string, partition: string, offset: number, who: string, line: number): void => {
    valuesRead++;
    const t = owner.get(value);
    if (t?.fate !== 'aborted') return;
    violations.push({
      kind: 'aborted-read',
      partition,
      message: `${who} was given ${JSON.stringify(value)} at offset ${offset}, a value of ${t.op.process}'s transaction that is aborted (${t.how})`,
      lines: [lineOf(t.op), line],
    });
  };
  for (const log of committed.logs.values()) for (const r of log.records) report(r.value, log.partition, r.offset, 'the final read_committed read', log.line);
  for (const op of ops) {
    if (op.f !== TXN_POLL_F || op.outcome !== 'ok') continue;
    if (op.partition === undefined) throw new HistoryError(lineOf(op), `${TXN_POLL_F} needs a partition`);
    const partition = partitionKey(op.topic, op.partition);
    for (const r of readRecords(op.value, lineOf(op), op.f)) report(r.value, partition, r.offset, op.process, lineOf(op));
  }
  const aborted = txns.filter((t) => t.fate === 'aborted');
  for (const t of aborted) checked += t.writes.length;
  const abortedValues = new Set(aborted.flatMap((t) => t.writes.map((w) => w.value)));
  let inLog = 0;
  for (const log of uncommitted.logs.values()) for (const r of log.records) if (abortedValues.has(r.value)) inLog++;
  return {
    name: 'txn aborted unread',
    checked,
    unit: 'values of aborted transactions',
    violations,
    figures: {
      'transactions aborted (abort acknowledged)': aborted.filter((t) => t.op.outcome === 'ok').length,
      'transactions aborted (commit never sent)': aborted.filter((t) => t.op.outcome !== 'ok').length,
      'aborted values stored (read_uncommitted)': uncommitted.reads > 0 ? inLog : 'no read_uncommitted read',
      'values read by read_committed readers': valuesRead,
    },
  };
}

type Visibility = (t: Txn) => { visible: number; missing: string[]; unreadable: string[] };

function committedAtomic(txns: readonly Txn[], visibleIn: Visibility): CheckResult {
  const violations: Violation[] = [];
  let checked = 0;
  for (const t of txns) {
    if (t.fate !== 'committed') continue;
    const v = visibleIn(t);
    if (v.unreadable.length > 0) continue;
    checked++;
    if (v.visible > 0 && v.missing.length > 0) {
      violations.push({
        kind: 'txn-partial',
        partition: t.writes.find((w) => v.missing.includes(w.value))?.partition,
        message: `${t.op.process}'s acknowledged commit is partly visible: ${v.visible} of ${t.writes.length} values read, missing ${v.missing.map((m) => JSON.stringify(m)).join(', ')}`,
        lines: [lineOf(t.op)],
      });
    }
  }
  return { name: 'txn committed atomic', checked, unit: 'acknowledged commits', violations, figures: { 'transactions committed (acknowledged)': txns.filter((t) => t.fate === 'committed').length } };
}

function committedKept(txns: readonly Txn[], visibleIn: Visibility, places: ReadonlyMap<string, readonly Place[]>, committed: FinalLogs): CheckResult {
  const violations: Violation[] = [...committed.violations];
  const unreadable = new Map<string, number[]>();
  let checked = 0;
  for (const t of txns) {
    if (t.fate !== 'committed') continue;
    const v = visibleIn(t);
    for (const w of t.writes) {
      if (v.unreadable.includes(w.value)) {
        unreadable.set(w.partition, [...(unreadable.get(w.partition) ?? []), lineOf(t.op)]);
        continue;
      }
      checked++;
      const here = (places.get(w.value) ?? []).filter((p) => p.partition === w.partition);
      if (here.length === 0) {
        violations.push({
          kind: 'txn-lost-write',
          partition: w.partition,
          message: `${JSON.stringify(w.value)} of ${t.op.process}'s acknowledged commit is not in the final read_committed read${v.visible === 0 ? ' (nor is any value of that transaction)' : ''}`,
          lines: [lineOf(t.op)],
        });
        continue;
      }
      const at = t.sent.get(w.value);
      if (at !== undefined && !here.some((p) => p.offset === at)) {
        violations.push({
          kind: 'offset-mismatch',
          partition: w.partition,
          message: `${JSON.stringify(w.value)} was acknowledged at offset ${at} and is read at offset ${here.map((p) => p.offset).join(', ')}`,
          lines: [lineOf(t.op)],
        });
      }
    }
  }
  for (const [partition, lines] of unreadable) {
    violations.push({
      kind: 'final-read-missing',
      partition,
      message: `${lines.length} values of acknowledged commits cannot be checked: ${committed.failures.get(partition)?.join('; ') ?? 'no final read_committed read of this partition'}`,
      lines: lines.slice(0, 3),
    });
  }
  return { name: 'txn committed kept', checked, unit: 'values of acknowledged commits', violations };
}

function unknownAllOrNothing(txns: readonly Txn[], visibleIn: Visibility): CheckResult {
  const violations: Violation[] = [];
  let checked = 0;
  let visible = 0;
  let invisible = 0;
  for (const t of txns) {
    if (t.fate !== 'unknown') continue;
    const v = visibleIn(t);
    if (v.unreadable.length > 0) continue;
    checked++;
    if (v.visible === t.writes.length) visible++;
    else if (v.visible === 0) invisible++;
    else {
      violations.push({
        kind: 'txn-unknown-partial',
        partition: t.writes.find((w) => v.missing.includes(w.value))?.partition,
        message: `${t.op.process}'s transaction of unknown outcome is partly visible: ${v.visible} of ${t.writes.length} values read, missing ${v.missing.map((m) => JSON.stringify(m)).join(', ')}`,
        lines: [lineOf(t.op)],
      });
    }
  }
  return {
    name: 'txn unknown all or nothing',
    checked,
    unit: 'transactions of unknown outcome',
    violations,
    figures: { 'unknown outcome, wholly visible': visible, 'unknown outcome, wholly invisible': invisible },
  };
}

/**
 * Order within a partition, on the final read_committed read: a transaction's values in the
 * order it sent them (each send waited for the one before), and a transaction invoked after
 * another's commit was acknowledged wholly after it. The second is a sweep by invoke time that
 * admits acknowledged commits by completion time, keeping the furthest offset reached.
 */
function order(txns: readonly Txn[], places: ReadonlyMap<string, readonly Place[]>): CheckResult {
  const violations: Violation[] = [];
  let checked = 0;
  /** partition -> transactions visible in it, with their first and last offsets there */
  const spans = new Map<string, { t: Txn; first: number; last: number }[]>();
  for (const t of txns) {
    const lastIn = new Map<string, { offset: number; value: string }>();
    for (const w of t.writes) {
      const offset = places.get(w.value)?.find((p) => p.partition === w.partition)?.offset;
      if (offset === undefined) continue;
      checked++;
      const prev = lastIn.get(w.partition);
      if (prev && offset <= prev.offset) {
        violations.push({
          kind: 'txn-reorder',
          partition: w.partition,
          message: `${JSON.stringify(w.value)} (offset ${offset}) was sent after ${JSON.stringify(prev.value)} (offset ${prev.offset}) in the same transaction, yet precedes it`,
          lines: [lineOf(t.op)],
        });
      }
      lastIn.set(w.partition, { offset, value: w.value });
      const list = spans.get(w.partition) ?? [];
      const mine = list.find((s) => s.t === t);
      if (mine) {
        mine.first = Math.min(mine.first, offset);
        mine.last = Math.max(mine.last, offset);
      } else {
        list.push({ t, first: offset, last: offset });
        spans.set(w.partition, list);
      }
    }
  }
  for (const [partition, list] of spans) {
    const byInvoke = [...list].sort((a, b) => a.t.op.invokeTime - b.t.op.invokeTime);
    const byComplete = list.filter((s) => s.t.fate === 'committed').sort((a, b) => a.t.op.completeTime - b.t.op.completeTime);
    let j = 0;
    let furthest: (typeof list)[number] | undefined;
    for (const b of byInvoke) {
      while (j < byComplete.length && (byComplete[j]?.t.op.completeTime ?? Infinity) < b.t.op.invokeTime) {
        const a = byComplete[j];
        if (a && (!furthest || a.last > furthest.last)) furthest = a;
        j++;
      }
      if (furthest && furthest.last >= b.first) {
        violations.push({
          kind: 'txn-reorder',
          partition,
          message: `${b.t.op.process}'s transaction (from offset ${b.first}) was invoked after ${furthest.t.op.process}'s commit (to offset ${furthest.last}) was acknowledged, yet precedes part of it`,
          lines: [lineOf(furthest.t.op), b.t.op.line],
        });
      }
    }
  }
  return { name: 'txn order in partition', checked, unit: 'values read', violations };
}

function finalReads(owner: ReadonlyMap<string, Txn>, committed: FinalLogs, uncommitted: FinalLogs): CheckResult {
  const violations: Violation[] = [...uncommitted.violations];
  let checked = 0;
  for (const [value, at] of placesOf(committed)) {
    if (at.length > 1) {
      violations.push({ kind: 'duplicate', partition: at[0]?.partition, message: `${JSON.stringify(value)} is read ${at.length} times: ${at.map((p) => `${p.partition}@${p.offset}`).join(', ')}` });
    }
  }
  for (const [value, at] of placesOf(uncommitted)) {
    if (at.length > 1) {
      violations.push({ kind: 'duplicate', partition: at[0]?.partition, message: `${JSON.stringify(value)} is stored ${at.length} times (read_uncommitted): ${at.map((p) => `${p.partition}@${p.offset}`).join(', ')}` });
    }
    if (!owner.has(value)) {
      violations.push({ kind: 'unexpected-value', partition: at[0]?.partition, message: `${JSON.stringify(value)} at offset ${at[0]?.offset} was never written by any transaction` });
    }
  }
  for (const log of committed.logs.values()) {
    const raw = uncommitted.logs.get(log.partition);
    for (const r of log.records) {
      if (!owner.has(r.value)) {
        violations.push({ kind: 'unexpected-value', partition: log.partition, message: `${JSON.stringify(r.value)} at offset ${r.offset} was never written by any transaction`, lines: [log.line] });
      }
      if (!raw) continue;
      checked++;
      const stored = raw.byOffset.get(r.offset);
      if (stored !== r.value) {
        violations.push({
          kind: 'isolation-mismatch',
          partition: log.partition,
          message: `read_committed read ${JSON.stringify(r.value)} at offset ${r.offset}, where read_uncommitted read ${stored === undefined ? 'nothing' : JSON.stringify(stored)}`,
          lines: [log.line, raw.line],
        });
      }
    }
  }
  return {
    name: 'txn final reads',
    checked,
    unit: 'records compared across isolation levels',
    violations,
    figures: { 'read_committed final reads': committed.reads, 'read_uncommitted final reads': uncommitted.reads },
  };
}

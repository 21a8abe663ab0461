/** Runs every check over one history (and, when given, the brokers' data dirs). */
import { checkCommits } from './commits.js';
import { finalLogs } from './final-logs.js';
import type { HistoryEvent } from './history.js';
import { checkLiveness } from './liveness.js';
import { pairOperations } from './operations.js';
import { checkReads } from './reads.js';
import { checkReplicas, type ReplicaDir } from './replicas.js';
import { makeReport, type CheckResult, type Report } from './report.js';
import { checkTransactions } from './transactions.js';
import { checkWrites } from './writes.js';

export const DEFAULT_LIVENESS_BOUND_MS = 30_000;

export interface CheckOptions {
  /** How soon after the final heal every partition must acknowledge a write. */
  readonly livenessBoundMs?: number;
  /** Data dirs of the brokers, for the replica comparison; none skips it. */
  readonly replicas?: readonly ReplicaDir[];
  /**
   * The replicas' files agreed while the brokers still ran (checked after the stop again). The
   * brokers stop a moment apart, and the ones still up record the others' going in the metadata
   * log (a partition's new leader and ISR), so a metadata replica stopped first lacking that tail
   * is the stop, not a bug; it is counted, not reported. Data partitions get no such writes.
   */
  readonly convergedWhileRunning?: boolean;
}

const METADATA_PARTITION = '__cluster_metadata-0';

function withoutStopTails(r: CheckResult): CheckResult {
  const tails = r.violations.filter((v) => v.kind === 'replica-behind' && v.partition === METADATA_PARTITION);
  if (tails.length === 0) return r;
  return {
    ...r,
    violations: r.violations.filter((v) => !tails.includes(v)),
    figures: { ...r.figures, 'metadata tails written while the brokers stopped (not counted)': tails.length },
  };
}

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): Report {
  const ops = pairOperations(events);
  const final = finalLogs(ops);
  const results: CheckResult[] = [
    checkWrites(ops, final),
    checkReads(ops, final),
    checkCommits(ops),
    checkLiveness(ops, options.livenessBoundMs ?? DEFAULT_LIVENESS_BOUND_MS),
    // Rows of their own, and only when the history has transactions: an idempotent-only run's summary stays as it was.
    ...checkTransactions(ops),
  ];
  if (options.replicas && options.replicas.length > 0) {
    const replicas = checkReplicas(options.replicas);
    results.push(options.convergedWhileRunning ? withoutStopTails(replicas) : replicas);
  }
  return makeReport(results);
}

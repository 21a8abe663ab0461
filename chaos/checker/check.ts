/** Runs every check over one history (and, when given, the brokers' data dirs). */
import { checkCommits } from './commits.js';
import { finalLogs } from './final-logs.js';
import type { HistoryEvent } from './history.js';
import { checkLiveness } from './liveness.js';
import { pairOperations } from './operations.js';
import { checkReads } from './reads.js';
import { checkReplicas, type ReplicaDir } from './replicas.js';
import { makeReport, type CheckResult, type Report } from './report.js';
import { checkWrites } from './writes.js';

export const DEFAULT_LIVENESS_BOUND_MS = 30_000;

export interface CheckOptions {
  /** How soon after the final heal every partition must acknowledge a write. */
  readonly livenessBoundMs?: number;
  /** Data dirs of the brokers, for the replica comparison; none skips it. */
  readonly replicas?: readonly ReplicaDir[];
}

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): Report {
  const ops = pairOperations(events);
  const final = finalLogs(ops);
  const results: CheckResult[] = [
    checkWrites(ops, final),
    checkReads(ops, final),
    checkCommits(ops),
    checkLiveness(ops, options.livenessBoundMs ?? DEFAULT_LIVENESS_BOUND_MS),
  ];
  if (options.replicas && options.replicas.length > 0) results.push(checkReplicas(options.replicas));
  return makeReport(results);
}

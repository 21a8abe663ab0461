/** Shared pieces of the data and topic-admin APIs: error mapping, timeouts, duplicate and epoch checks. */
import type { Logger } from '../../observability/logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export interface ErrorOutcome {
  readonly code: number;
  readonly message: string;
}

/**
 * Maps a failure to a Kafka error code. Unexpected exceptions become UNKNOWN_SERVER_ERROR and
 * are logged, so one bad partition never takes down the request or the connection.
 */
export function errorOutcome(err: unknown, logger: Logger, what: string): ErrorOutcome {
  if (err instanceof KafkaError) return { code: err.code, message: err.message };
  logger.error({ err }, `${what} failed unexpectedly`);
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: `${what} failed: ${err instanceof Error ? err.message : String(err)}` };
}

/** Resolves to `value`, or rejects with REQUEST_TIMED_OUT after `ms` (ms <= 0: no limit). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${what} did not complete within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Names that appear more than once in a request; Kafka answers those with INVALID_REQUEST. */
export function duplicates(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    seen.add(n);
  }
  return dup;
}

/** Current-leader-epoch check shared by Fetch, ListOffsets and OffsetForLeaderEpoch. */
export function leaderEpochError(requested: number | undefined, current: number): ErrorOutcome | null {
  if (requested === undefined || requested < 0 || requested === current) return null;
  if (requested < current) {
    return { code: ErrorCode.FENCED_LEADER_EPOCH, message: `Leader epoch ${requested} is older than the current ${current}` };
  }
  return { code: ErrorCode.UNKNOWN_LEADER_EPOCH, message: `Leader epoch ${requested} is newer than the current ${current}` };
}

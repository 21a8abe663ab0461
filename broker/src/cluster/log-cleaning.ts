/**
 * What the cluster does for the log cleaner: the compaction fields of a topic's LogConfig, and
 * starting the cleaner with the broker's log.cleaner.* settings. Each replica's cleanable bound
 * is its raft snapshot offset (see RaftPartition.applyRetention).
 */
import type { BrokerSettings } from '../config/index.js';
import type { LogConfig, LogManager } from '../log/types.js';

type CompactionFields = Pick<LogConfig, 'minCleanableDirtyRatio' | 'minCompactionLagMs' | 'maxCompactionLagMs' | 'deleteRetentionMs'>;

/** The topic's compaction settings, `num(key)` giving the effective numeric topic config. */
export function compactionConfig(num: (key: string) => number): CompactionFields {
  return {
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    deleteRetentionMs: num('delete.retention.ms'),
  };
}

/** Starts the log manager's cleaner unless log.cleaner.enable is false. */
export function startLogCleaning(logManager: LogManager, settings: BrokerSettings): boolean {
  if (!settings.get('log.cleaner.enable') || !logManager.startCleaning) return false;
  logManager.startCleaning({
    backoffMs: settings.get('log.cleaner.backoff.ms'),
    dedupeBufferBytes: settings.get('log.cleaner.dedupe.buffer.size'),
    ioBytesPerSecond: settings.get('log.cleaner.io.max.bytes.per.second'),
  });
  return true;
}

/**
 * What a log's cleanup.policy and compaction settings mean, with Kafka's defaults for settings a
 * LogConfig leaves out.
 */
import type { LogConfig } from './types.js';

export interface CompactionSettings {
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly deleteRetentionMs: number;
}

export const DEFAULT_COMPACTION: CompactionSettings = {
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  deleteRetentionMs: 86_400_000,
};

function policies(config: LogConfig): string[] {
  return config.cleanupPolicy.split(',').map((p) => p.trim().toLowerCase());
}

/** Retention by time and size applies (the policy names 'delete'). */
export function deletesByRetention(config: LogConfig): boolean {
  return policies(config).includes('delete');
}

/** The cleaner compacts this log (the policy names 'compact'). */
export function isCompacted(config: LogConfig): boolean {
  return policies(config).includes('compact');
}

function finiteOr(v: number | undefined, fallback: number): number {
  return v === undefined || Number.isNaN(v) ? fallback : v;
}

export function compactionSettings(config: LogConfig): CompactionSettings {
  return {
    minCleanableDirtyRatio: finiteOr(config.minCleanableDirtyRatio, DEFAULT_COMPACTION.minCleanableDirtyRatio),
    minCompactionLagMs: finiteOr(config.minCompactionLagMs, DEFAULT_COMPACTION.minCompactionLagMs),
    maxCompactionLagMs: finiteOr(config.maxCompactionLagMs, DEFAULT_COMPACTION.maxCompactionLagMs),
    deleteRetentionMs: finiteOr(config.deleteRetentionMs, DEFAULT_COMPACTION.deleteRetentionMs),
  };
}

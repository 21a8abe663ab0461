export type * from './types.js';
export { FileLogManager, createLogManager, type FileLogManagerOptions } from './log-manager.js';
export { FilePartitionLog } from './partition-log.js';
export { GroupCommitter, type GroupCommitStats } from './group-committer.js';
export { openPartitionLog } from './recovery.js';
export { LogCleaner, DEFAULT_CLEANER_OPTIONS, type CleanerStats, type CleanerPartitionStats, type PassResult } from './cleaner.js';
export { registerCleanerMetrics } from './cleaner-metrics.js';

export type * from './types.js';
export { FileLogManager, createLogManager, type FileLogManagerOptions } from './log-manager.js';
export { FilePartitionLog } from './partition-log.js';
export { GroupCommitter, type GroupCommitStats } from './group-committer.js';
export { openPartitionLog } from './recovery.js';

/** The Raft consensus core: pure, synchronous, deterministic. Imports nothing from the broker. */
export { RaftNode } from './raft.js';
export { MemoryStorage, type RaftStorage, type WritableRaftStorage } from './storage.js';
export { SeededRandom } from './random.js';
export { ProgressState } from './progress.js';
export { applyConfChange, decodeConfChange, encodeConfChange, isMember, isVoter } from './membership.js';
export * from './types.js';

/** The Raft consensus core: pure, synchronous, deterministic. Imports nothing from the broker. */
export { RaftNode } from './raft.js';
export { ENTRIES_UNAVAILABLE, MemoryStorage, type EntriesUnavailable, type RaftStorage, type StoredConfChange, type WritableRaftStorage } from './storage.js';
export { majority, quorumValue, tally } from './quorum.js';
export { SeededRandom } from './random.js';
export { ProgressState } from './progress.js';
export { applyConfChange, decodeConfChange, encodeConfChange, isMember, isVoter } from './membership.js';
export * from './types.js';

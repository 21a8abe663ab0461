/**
 * Types of the Raft consensus core. The core is a pure, synchronous state machine: the host feeds
 * it ticks, messages and proposals, then drains a {@link Ready}, persists it, sends it, applies it
 * and calls `advance()`. Node ids are positive integers; 0 means "nobody".
 */

export const NONE = 0;

export const EntryType = {
  Normal: 0,
  /** data is an encoded {@link ConfChangeRecord}; the configuration takes effect when appended. */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** A log entry. `data` is never copied by the core: the host's bytes travel to storage and peers. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** Voters decide elections and commitment; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export interface Snapshot {
  /** Last log index the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** Configuration in force at `index`. */
  readonly conf: ConfState;
  /** Opaque state-machine image produced by the host. */
  readonly data: Uint8Array;
}

/** What must be durable before anything that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
}

export const MessageType = {
  Append: 1,
  AppendResponse: 2,
  Heartbeat: 3,
  HeartbeatResponse: 4,
  PreVote: 5,
  PreVoteResponse: 6,
  Vote: 7,
  VoteResponse: 8,
  InstallSnapshot: 9,
  TimeoutNow: 10,
  ReadIndex: 11,
  ReadIndexResponse: 12,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One message between two replicas of one group. Every message has the same shape (monomorphic for
 * the VM) and carries its group id, so a transport can coalesce the messages of many groups bound
 * for one node into one frame (see proto/raft.proto).
 *
 * Field use per type:
 * - Append: index/logTerm = entry preceding `entries`; commit = leader commit.
 * - AppendResponse: index = last index now matching (success) or the rejected `index` (reject);
 *   hint/logTerm = the follower's guess of the last index that could match, and its term;
 *   commit = the sender's incarnation.
 * - Heartbeat: commit = min(follower match, leader commit); index = read round (ReadIndex).
 * - HeartbeatResponse: index = the read round echoed; commit = the sender's incarnation.
 * - PreVote/Vote: index/logTerm = candidate's last entry; term = the term campaigned for;
 *   `transfer` = the campaign follows a leadership transfer and may override a leader lease.
 * - Pre/VoteResponse: reject = vote refused.
 * - InstallSnapshot: snapshot.
 * - ReadIndex: context = caller's request id. ReadIndexResponse: index = read index, context.
 */
export interface Message {
  type: MessageType;
  group: number;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  commit: number;
  entries: readonly Entry[];
  snapshot: Snapshot | null;
  reject: boolean;
  hint: number;
  transfer: boolean;
  context: Uint8Array | null;
}

export const Role = {
  Follower: 0,
  PreCandidate: 1,
  Candidate: 2,
  Leader: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A linearizable read point: once `applied >= index`, a read tagged `context` may be served. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * Work handed to the host by `ready()`. THE CONTRACT, in this order:
 * 1. Persist `snapshot` (if any), then append `entries` (the first entry's index replaces any
 *    existing entry at that index and everything after it), then persist `hardState` (if any).
 *    The write must be durable (fsynced) before step 2. Many groups may share one write and one
 *    fsync: collect the Ready of every group, write them all, sync once.
 * 2. Send `messages`. They may promise durability of what step 1 wrote (votes, acknowledgements),
 *    which is why they must never leave before the sync.
 * 3. Restore the state machine from `snapshot` (if any), then apply `committedEntries` in order,
 *    and serve `readStates` once the state machine has applied their index.
 * 4. Call `advance()`. No other `ready()` may be taken before it; `step`, `tick` and `propose` may
 *    be called in between (their effects come out in the next Ready).
 */
/** Who leads and what this replica is; volatile (never persisted), handed out when it changes. */
export interface SoftState {
  readonly leader: number;
  readonly role: Role;
  readonly term: number;
}

export interface Ready {
  /** Set when leader, role or term changed since the previous Ready (the host reacts to it). */
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Whether step 1 has anything that must be fsynced (entries, snapshot, or a new term/vote). */
  readonly mustSync: boolean;
}

/** The only source of randomness (election timeouts). Must be deterministic for a given seed. */
export interface RandomSource {
  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number;
}

/** Why a proposal was not appended. Proposals return the assigned index (> 0) or one of these. */
export const Refusal = {
  NotLeader: -1,
  TransferInProgress: -2,
  ConfChangePending: -3,
  InvalidConfChange: -4,
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

export const ConfChangeOp = {
  AddVoter: 1,
  AddLearner: 2,
  Remove: 3,
} as const;
export type ConfChangeOp = (typeof ConfChangeOp)[keyof typeof ConfChangeOp];

/** One membership step: at most one voter is added or removed, so old and new quorums overlap. */
export interface ConfChange {
  readonly op: ConfChangeOp;
  readonly node: number;
}

/** What a ConfChange entry carries: the step and the full configuration it produces. */
export interface ConfChangeRecord {
  readonly change: ConfChange;
  readonly conf: ConfState;
}

export interface RaftOptions {
  readonly id: number;
  /** Stamped on every outgoing message so the transport can route and coalesce. */
  readonly group: number;
  readonly storage: import('./storage.js').RaftStorage;
  readonly random: RandomSource;
  /** Ticks without hearing from a leader before campaigning; randomised in [n, 2n). Default 10. */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1. */
  readonly heartbeatTicks?: number;
  /** Default true. */
  readonly preVote?: boolean;
  /** Default true. */
  readonly checkQuorum?: boolean;
  /** Append messages in flight per follower in replicate state. Default 256. */
  readonly maxInflight?: number;
  /** Soft cap on entry bytes per append message (at least one entry is always sent). Default 1 MiB. */
  readonly maxAppendBytes?: number;
  /** Last index the host's state machine has applied (on restart). Default: the snapshot index. */
  readonly applied?: number;
  /**
   * How many times this replica found at start-up that its log had lost entries it may have
   * acknowledged (persisted by the host, raised at every such start; default 0). Rides on every
   * answer to a leader, which thereby tells this replica's lives apart (see raft.ts, "Lost tails").
   */
  readonly incarnation?: number;
  /**
   * Set when the log may lack entries this replica acknowledged (a corrupt tail cut at start-up):
   * the last entry of the log as it was before (what it may have acknowledged ends there). Until
   * the log is at least as up to date as that again, the replica votes only for candidates that
   * are, and never campaigns. Needs incarnation > 0. Default: none.
   */
  readonly recoverTo?: LogPosition;
}

/** A log's last entry, compared as Raft compares logs: by term, then by index. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

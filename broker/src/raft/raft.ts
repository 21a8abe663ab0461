import { RaftLog } from './log.js';
import { applyConfChange, decodeConfChange, encodeConfChange, isMember, isVoter } from './membership.js';
import { Progress, ProgressState } from './progress.js';
import { majority, quorumValue, tally } from './quorum.js';
import { ENTRIES_UNAVAILABLE, type RaftStorage } from './storage.js';
import {
  EntryType,
  MessageType,
  NONE,
  Refusal,
  Role,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type LogPosition,
  type Message,
  type RaftOptions,
  type RandomSource,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
} from './types.js';

const NO_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];
const EMPTY_DATA = new Uint8Array(0);

interface PendingConf {
  readonly index: number;
  readonly conf: ConfState;
}

interface PendingRead {
  readonly round: number;
  readonly index: number;
  readonly from: number;
  readonly context: Uint8Array;
}

/*
 * Lost tails: a replica whose log lost entries it may have acknowledged.
 *
 * Raft assumes a replica never forgets what it acknowledged. A committed entry E sits on a quorum
 * M(E); every later leader won the votes of a quorum, which shares a voter v with M(E); v held E
 * when it voted and voted only for a log at least as up to date as its own, and such a log holds
 * E (Leader Completeness, Raft §5.4.3). A replica whose disk cut a corrupt tail at start-up breaks
 * the middle step: it may be E's only copy in M(E), and vote for a log without E. The host detects
 * the loss at start-up (its log ends below what it recorded, in the same fsync as the entries,
 * before anything was acknowledged) and opens the core with a new, higher `incarnation` and
 * `recoverTo` = Y, the last entry of the log as it was before the loss. Both are durable before
 * the replica sends anything. Then:
 *
 * 1. Votes: the replica grants a vote or pre-vote only to a candidate whose log is at least as up
 *    to date as its own log AND as Y, and it campaigns only once its own log is (then it is
 *    recovered: `recoverTo` no longer matters).
 * 2. Every AppendResponse and HeartbeatResponse carries the sender's incarnation. A leader that
 *    sees a higher incarnation than it knows for that follower forgets the follower's match
 *    (Progress.regress) and probes again, so it re-sends what was lost. Answers with a lower
 *    incarnation come from an earlier life and are ignored: a late acknowledgement from before the
 *    loss cannot raise match above what the new life holds, so a rejection at or below match is
 *    still known to be stale (reordered or late) within one life.
 *
 * Why 1 is safe. Every committed entry E that the replica acknowledged before the loss was in its
 * log until then (a replica drops only entries that conflict with a leader's, and those are not
 * committed), so it is in the log ending at Y. Leader Completeness' argument shows that any log at
 * least as up to date as a log holding a committed E holds E too: if its last term is higher, the
 * leader that wrote that last entry held E (induction over terms) and the log matches that
 * leader's up to its last entry, which lies past E; if the last terms are equal, both last entries
 * come from that term's one leader, so the longer log contains the shorter (Log Matching). Hence a
 * candidate the replica votes for holds every committed entry the replica acknowledged, before the
 * loss (it is at least as up to date as Y) or after it (at least as up to date as its own log) -
 * exactly what a replica that never lost anything guarantees. Once its own log is at least as up
 * to date as Y, the same argument says it holds all of them again, and it keeps them like any
 * replica. So the invariant Raft's proof rests on - a voter in M(E) votes only for logs holding E
 * - holds for every voter, and with it Leader Completeness for every term, by the same induction:
 * no committed entry is lost or changed.
 *
 * The price: a recovering replica counts towards new commits only once it has acknowledged them
 * again, and votes only for candidates past Y, so a group whose only complete replicas are gone
 * elects nobody rather than lose acknowledged data (an operator must decide). A replica that was
 * the only voter of its group has nobody to recover from: what it lost is gone, and the host opens
 * it without `recoverTo` (and logs that).
 */

/**
 * One replica of one Raft group (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and Ongaro's thesis "Consensus: Bridging Theory and Practice"). Synchronous and
 * deterministic: it never reads a clock, never schedules anything and draws randomness only from
 * the injected generator. See {@link Ready} for the persist-then-send contract.
 */
export class RaftNode {
  readonly id: number;
  readonly group: number;
  private readonly log: RaftLog;
  private readonly storage: RaftStorage;
  private readonly random: RandomSource;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxAppendBytes: number;

  private termValue = 0;
  private voteValue = NONE;
  private leadValue = NONE;
  /** Who sent the TimeoutNow this node campaigned on, and for which term (see `handedOverBy`). */
  private handed: { from: number; term: number } | null = null;
  private roleValue: Role = Role.Follower;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  /** Latest configuration whose entry is committed (or in the snapshot). */
  private baseConf: ConfState;
  /** Configuration entries appended but not yet committed, oldest first (at most one at a leader). */
  private pendingConfs: PendingConf[] = [];
  private confValue: ConfState;

  private readonly progress = new Map<number, Progress>();
  /** The same Progress objects as an array, for allocation-free iteration on the hot path. */
  private progressList: Progress[] = [];
  private readonly votes = new Map<number, boolean>();
  private leadTransferee = NONE;
  private transferElapsed = 0;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private pendingReads: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  private readsAwaitingCommit: { from: number; context: Uint8Array }[] = [];
  private readRound = 0;
  private readHeartbeatDue = false;

  /** What the last Ready reported as soft state (or the initial state). */
  private reportedSoft: SoftState = { leader: NONE, role: Role.Follower, term: 0 };

  /** Appends to followers are batched: proposals and acks set this, `ready()` sends. */
  private needFlush = false;

  private persisted: HardState;
  /** Last index the host has applied / has been handed for applying. */
  private applied: number;
  private applying: number;
  private outstanding = false;
  /** Elected by our own vote alone; becomes leader once that vote is persisted. */
  private selfElectionPending = false;
  private outstandingEntryIndex = 0;
  private outstandingEntryTerm = 0;
  private outstandingSnapshotIndex = -1;

  /** Reason for the last InvalidConfChange refusal, for the caller's error message. */
  lastRefusalReason = '';

  /** See "Lost tails" above. */
  private readonly incarnationValue: number;
  /** Set while the log may lack entries acknowledged before a lost tail; null once recovered. */
  private recoverTo: LogPosition | null;

  /** Reused buffer for quorum computations (no per-ack allocation). */
  private scratch = new Float64Array(8);

  constructor(opts: RaftOptions) {
    if (!Number.isSafeInteger(opts.id) || opts.id <= 0) throw new Error(`raft: id must be a positive integer, got ${opts.id}`);
    this.id = opts.id;
    this.group = opts.group;
    this.storage = opts.storage;
    this.random = opts.random;
    this.electionTicks = opts.electionTicks ?? 10;
    this.heartbeatTicks = opts.heartbeatTicks ?? 1;
    if (this.heartbeatTicks >= this.electionTicks) throw new Error('raft: heartbeatTicks must be below electionTicks');
    this.preVote = opts.preVote ?? true;
    this.checkQuorum = opts.checkQuorum ?? true;
    this.maxInflight = opts.maxInflight ?? 256;
    this.maxAppendBytes = opts.maxAppendBytes ?? 1 << 20;
    this.incarnationValue = opts.incarnation ?? 0;
    if (!Number.isSafeInteger(this.incarnationValue) || this.incarnationValue < 0) {
      throw new Error(`raft: incarnation must be a non-negative integer, got ${opts.incarnation}`);
    }
    this.recoverTo = opts.recoverTo ?? null;
    if (this.recoverTo !== null) {
      const { index, term } = this.recoverTo;
      if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(term) || term < 0) throw new Error('raft: recoverTo needs a non-negative index and term');
      if (this.incarnationValue === 0) throw new Error('raft: a recovering replica needs an incarnation above 0');
    }

    this.log = new RaftLog(this.storage);
    const hs = this.storage.hardState();
    const snap = this.storage.snapshot();
    this.termValue = hs.term;
    this.voteValue = hs.vote;
    // The persisted commit is only a hint (commitment lives on a quorum); a disk that made the hard
    // state durable before the entries it covers must not stop the replica from starting.
    this.log.commitTo(Math.min(hs.commit, this.log.lastIndex()));
    this.persisted = hs;
    this.baseConf = snap.conf;
    this.confValue = snap.conf;
    this.loadConfsFromStorage();
    this.promoteCommittedConfs();
    this.applied = Math.max(opts.applied ?? snap.index, snap.index);
    this.applying = this.applied;
    this.maybeRecovered();
    this.becomeFollower(this.termValue, NONE);
  }

  // ---------------------------------------------------------------- observation

  get term(): number {
    return this.termValue;
  }
  get vote(): number {
    return this.voteValue;
  }
  get leader(): number {
    return this.leadValue;
  }
  get role(): Role {
    return this.roleValue;
  }
  /**
   * The leader that handed this one its leadership (TimeoutNow) of the current term, or NONE:
   * the host does not hand leadership straight back to a replica that just gave it away.
   */
  get handedOverBy(): number {
    const h = this.handed;
    return h !== null && h.term === this.termValue && this.roleValue === Role.Leader ? h.from : NONE;
  }
  get commitIndex(): number {
    return this.log.committed;
  }
  get lastIndex(): number {
    return this.log.lastIndex();
  }
  get firstIndex(): number {
    return this.log.firstIndex();
  }
  get appliedIndex(): number {
    return this.applied;
  }
  /** The configuration in force (the latest one in the log, committed or not). */
  get conf(): ConfState {
    return this.confValue;
  }
  /** See RaftOptions.incarnation. */
  get incarnation(): number {
    return this.incarnationValue;
  }
  /**
   * The log may still lack entries this replica acknowledged before it lost its tail: it votes only
   * for candidates past `recoverTo` and does not campaign. Turns false once, when its log is at
   * least as up to date as `recoverTo` (see "Lost tails").
   */
  get recovering(): boolean {
    return this.recoverTo !== null;
  }
  /** What the log must reach to have recovered (RaftOptions.recoverTo), or null once it has. */
  get recoveryTarget(): LogPosition | null {
    return this.recoverTo;
  }
  /** Target of an ongoing leadership transfer, or 0. */
  get transferee(): number {
    return this.leadTransferee;
  }
  termAt(index: number): number {
    return this.log.term(index);
  }
  /** Entries [lo, hi) of this replica's log (for tests and the simulator), null if compacted. */
  entries(lo: number, hi: number): Entry[] | null {
    const ents = this.log.slice(lo, hi, Infinity);
    if (ents === ENTRIES_UNAVAILABLE) throw new Error(`raft: entries [${lo}, ${hi}) are not in memory`);
    return ents;
  }
  /** The leader's replication state for `id` (undefined elsewhere). */
  progressOf(id: number): { match: number; next: number; state: ProgressState } | undefined {
    const pr = this.progress.get(id);
    return pr === undefined ? undefined : { match: pr.match, next: pr.next, state: pr.state };
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.roleValue === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  /**
   * Appends `data` as a new entry if this replica leads. Returns its index, or a negative
   * {@link Refusal}. Proposals between two `ready()` calls go out in one append per follower.
   */
  propose(data: Uint8Array): number {
    if (this.roleValue !== Role.Leader) return Refusal.NotLeader;
    if (this.leadTransferee !== NONE) return Refusal.TransferInProgress;
    const index = this.log.lastIndex() + 1;
    this.log.appendOne({ term: this.termValue, index, type: EntryType.Normal, data });
    this.needFlush = true;
    return index;
  }

  /** Appends several entries at once; returns the index of the first, or a negative Refusal. */
  proposeBatch(data: readonly Uint8Array[]): number {
    if (this.roleValue !== Role.Leader) return Refusal.NotLeader;
    if (this.leadTransferee !== NONE) return Refusal.TransferInProgress;
    const first = this.log.lastIndex() + 1;
    for (let i = 0; i < data.length; i++) {
      this.log.appendOne({ term: this.termValue, index: first + i, type: EntryType.Normal, data: data[i] as Uint8Array });
    }
    if (data.length > 0) this.needFlush = true;
    return first;
  }

  /**
   * Proposes one membership step. Refused unless the previous step is committed and this leader
   * has committed an entry of its own term. Returns the entry index or a negative Refusal.
   */
  proposeMembershipChange(change: ConfChange): number {
    if (this.roleValue !== Role.Leader) return Refusal.NotLeader;
    if (this.leadTransferee !== NONE) return Refusal.TransferInProgress;
    if (this.pendingConfs.length > 0 || this.log.term(this.log.committed) !== this.termValue) {
      return Refusal.ConfChangePending;
    }
    const next = applyConfChange(this.confValue, change);
    if (typeof next === 'string') {
      this.lastRefusalReason = next;
      return Refusal.InvalidConfChange;
    }
    const index = this.log.lastIndex() + 1;
    const data = encodeConfChange({ change, conf: next });
    this.log.appendOne({ term: this.termValue, index, type: EntryType.ConfChange, data });
    this.pendingConfs.push({ index, conf: next });
    this.confValue = next;
    this.onConfChanged();
    this.needFlush = true;
    return index;
  }

  /**
   * Hands leadership to voter `to` (thesis §3.10): bring it up to date, then tell it to campaign at
   * once. Proposals are refused meanwhile; the attempt is abandoned after an election timeout.
   */
  transferLeadership(to: number): boolean {
    if (this.roleValue !== Role.Leader || to === this.id || !isVoter(this.confValue, to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to);
    if (pr === undefined) return false;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, pr, true);
    return true;
  }

  /**
   * Asks for a linearizable read point (thesis §6.4). The answer comes as a ReadState in a later
   * Ready. Returns false if there is no known leader to ask (the caller retries).
   */
  readIndex(context: Uint8Array): boolean {
    if (this.roleValue === Role.Leader) {
      this.handleReadIndex(this.id, context);
      return true;
    }
    if (this.leadValue === NONE) return false;
    const m = this.send(MessageType.ReadIndex, this.leadValue, this.termValue);
    m.context = context;
    return true;
  }

  /**
   * Feeds one message from a peer. Returns false, changing nothing, if it is malformed or for
   * another group. Throws only if a peer contradicts a committed entry, which a correct peer never
   * does (the host should stop the group and report it).
   */
  step(m: Message): boolean {
    if (m.group !== this.group || !wellFormed(m)) return false;
    if (m.term > this.termValue) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // A replica that heard from a live leader within the minimum election timeout ignores
        // campaigns (thesis §4.2.3), so removed or partitioned servers cannot disrupt it.
        const inLease = this.checkQuorum && this.leadValue !== NONE && this.electionElapsed < this.electionTicks;
        if (inLease && !m.transfer) return true;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term (thesis §9.6).
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // Granted pre-votes carry the term we will campaign for, not a newer real term.
      } else {
        const fromLeader =
          m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.InstallSnapshot;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.termValue) {
      if (m.type === MessageType.Append || m.type === MessageType.Heartbeat) {
        // Reply with our term (§5.1, AppendEntries rule 1) so a stale leader steps down. Needed
        // beyond the paper: with PreVote/CheckQuorum our term may never spread by votes, and a
        // learner, which never campaigns, would otherwise stay cut off for good.
        this.send(MessageType.AppendResponse, m.from, this.termValue);
      } else if (m.type === MessageType.PreVote || m.type === MessageType.Vote) {
        // Reject with our term (§5.1) so the candidate catches up: a candidate whose configuration
        // lists us while ours does not list it would otherwise never hear of our higher term.
        const r = this.send(m.type === MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse, m.from, this.termValue);
        r.reject = true;
      }
      return true;
    }

    switch (m.type) {
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return true;
    }
    switch (this.roleValue) {
      case Role.Leader:
        this.stepLeader(m);
        break;
      case Role.Follower:
        this.stepFollower(m);
        break;
      default:
        this.stepCandidate(m);
        break;
    }
    return true;
  }

  /**
   * Starts an election now instead of after the election timeout (with PreVote first, so a
   * healthy leader is not disturbed). For a replica the host knows should lead: the preferred
   * replica of a new group, or a lone voter after a restart. Ignored by a leader or a
   * replica that may not campaign.
   */
  campaign(): void {
    if (this.roleValue === Role.Leader || !this.promotable()) return;
    this.electionElapsed = 0;
    this.campaignNow(false);
  }

  /**
   * The host knows the leader's broker is gone (its connection dropped). The follower forgets
   * that leader, so its lease no longer makes it refuse other candidates' pre-votes; with
   * `campaignSoon` it also campaigns at its next tick rather than after the election timeout
   * (the host picks one replica per group for that, the others keep their randomized timeouts).
   * Only a liveness hint: term, vote and log are untouched, a leader that is in fact alive is
   * followed again at its next message, and whoever still hears it refuses the pre-votes.
   */
  leaderLost(campaignSoon: boolean): void {
    if (this.roleValue !== Role.Follower || this.leadValue === NONE) return;
    this.leadValue = NONE;
    if (campaignSoon && this.promotable()) this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - 1);
  }

  /**
   * The host could not deliver to `to` (queue full, connection lost): stop streaming appends to
   * it optimistically and probe once it answers again.
   */
  reportUnreachable(to: number): void {
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.state === ProgressState.Replicate) pr.becomeProbe();
  }

  /** Entries the storage answered ENTRIES_UNAVAILABLE for can now be read: retry sending. */
  entriesAvailable(): void {
    if (this.roleValue === Role.Leader) this.needFlush = true;
  }

  /** The host learned that sending a snapshot to `to` failed; go back to probing. */
  reportSnapshotFailure(to: number): void {
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.state === ProgressState.Snapshot) pr.becomeProbe();
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    if (this.outstanding) return false;
    this.flush();
    return (
      this.msgs.length > 0 ||
      this.log.hasUnstable() ||
      this.log.committed > this.applying ||
      this.readStates.length > 0 ||
      this.hardStateChanged() ||
      this.softStateChanged()
    );
  }

  private softStateChanged(): boolean {
    const r = this.reportedSoft;
    return r.leader !== this.leadValue || r.role !== this.roleValue || r.term !== this.termValue;
  }

  /** Everything to persist, send and apply since the last `advance()`. See {@link Ready}. */
  ready(): Ready {
    if (this.outstanding) throw new Error('raft: ready() called again before advance()');
    this.flush();
    const snapshot = this.log.unstableSnapshot();
    const entries = this.log.unstableEntries();
    let hardState: HardState | null = null;
    let mustSync = entries.length > 0 || snapshot !== null;
    if (this.hardStateChanged()) {
      hardState = { term: this.termValue, vote: this.voteValue, commit: this.log.committed };
      if (hardState.term !== this.persisted.term || hardState.vote !== this.persisted.vote) mustSync = true;
      this.persisted = hardState;
    }
    let applyFrom = this.applying + 1;
    if (snapshot !== null) {
      this.applying = snapshot.index;
      applyFrom = snapshot.index + 1;
    }
    let committedEntries: readonly Entry[] = NO_ENTRIES;
    if (this.log.committed >= applyFrom) {
      const ents = this.log.slice(applyFrom, this.log.committed + 1, Infinity);
      // The storage contract keeps unapplied entries in memory; anything else is a host bug.
      if (ents === ENTRIES_UNAVAILABLE) throw new Error(`raft: committed entries from ${applyFrom} are not in memory`);
      committedEntries = ents ?? NO_ENTRIES;
      if (committedEntries.length > 0) this.applying = (committedEntries[committedEntries.length - 1] as Entry).index;
    }
    const messages = this.msgs;
    this.msgs = [];
    const readStates = this.readStates;
    if (readStates.length > 0) this.readStates = [];

    let softState: SoftState | null = null;
    if (this.softStateChanged()) {
      softState = { leader: this.leadValue, role: this.roleValue, term: this.termValue };
      this.reportedSoft = softState;
    }

    this.outstanding = true;
    this.outstandingSnapshotIndex = snapshot !== null ? snapshot.index : -1;
    if (entries.length > 0) {
      const last = entries[entries.length - 1] as Entry;
      this.outstandingEntryIndex = last.index;
      this.outstandingEntryTerm = last.term;
    } else {
      this.outstandingEntryIndex = 0;
    }
    return { softState, hardState, entries, snapshot, messages, committedEntries, readStates, mustSync };
  }

  /** The last Ready was persisted, sent and applied. */
  advance(): void {
    if (!this.outstanding) return;
    this.outstanding = false;
    if (this.outstandingSnapshotIndex >= 0) this.log.stableSnapshotTo(this.outstandingSnapshotIndex);
    if (this.outstandingEntryIndex > 0) this.log.stableTo(this.outstandingEntryIndex, this.outstandingEntryTerm);
    this.applied = this.applying;
    if (this.selfElectionPending) {
      this.selfElectionPending = false;
      const p = this.persisted;
      if (this.roleValue === Role.Candidate && p.term === this.termValue && p.vote === this.id) this.becomeLeader();
      else if (this.roleValue === Role.Candidate) this.selfElectionPending = true;
    }
    if (this.roleValue === Role.Leader) {
      const self = this.progress.get(this.id);
      const stable = this.log.stableLastIndex();
      if (self !== undefined && stable > 0 && self.maybeUpdate(stable)) this.maybeCommit();
    }
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.termValue) {
      this.termValue = term;
      this.voteValue = NONE;
    }
    this.leadValue = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizeElectionTimeout();
    this.leadTransferee = NONE;
    this.selfElectionPending = false;
    this.votes.clear();
    this.progress.clear();
    this.progressList = [];
    // Outstanding reads die with the leadership; callers retry on a timeout of their own.
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    this.readRound = 0;
    this.readHeartbeatDue = false;
    this.needFlush = false;
  }

  private randomizeElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTicks + this.random.nextInt(this.electionTicks);
  }

  private becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.roleValue = Role.Follower;
    this.leadValue = lead;
  }

  private becomePreCandidate(): void {
    // Neither term nor vote change: a pre-vote that fails leaves no trace (thesis §9.6).
    this.roleValue = Role.PreCandidate;
    this.votes.clear();
    this.progress.clear();
    this.progressList = [];
    this.leadValue = NONE;
    this.electionElapsed = 0;
    this.randomizeElectionTimeout();
  }

  private becomeCandidate(): void {
    this.reset(this.termValue + 1);
    this.voteValue = this.id;
    this.roleValue = Role.Candidate;
  }

  private becomeLeader(): void {
    this.reset(this.termValue);
    this.roleValue = Role.Leader;
    this.leadValue = this.id;
    const next = this.log.lastIndex() + 1;
    for (const id of this.members()) this.addProgress(id, next);
    const self = this.progress.get(this.id);
    const stable = this.log.stableLastIndex();
    if (self !== undefined && stable > 0) self.maybeUpdate(stable);
    // An entry of the new term: committing it commits everything before it (§5.4.2).
    this.log.appendOne({ term: this.termValue, index: next, type: EntryType.Normal, data: EMPTY_DATA });
    this.needFlush = true;
  }

  private members(): number[] {
    return [...this.confValue.voters, ...this.confValue.learners];
  }

  private addProgress(id: number, next: number): void {
    const pr = new Progress(id, next, this.maxInflight);
    pr.recentActive = true;
    this.progress.set(id, pr);
    this.progressList = [...this.progress.values()];
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    // A replica that may not campaign keeps counting, so its leader lease runs out and it can
    // grant votes to the voters that can campaign.
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.promotable()) {
      this.electionElapsed = 0;
      this.campaignNow(false);
    } else if (this.recoverTo !== null && this.electionElapsed >= this.randomizedElectionTimeout && (this.electionElapsed - this.randomizedElectionTimeout) % this.electionTicks === 0) {
      this.announceRecovery();
    }
  }

  /**
   * A recovering replica that hears from no leader cannot campaign, and a host that stops ticking
   * idle groups (quiescence) may never send it a heartbeat, whose answer would tell the leader of
   * this incarnation. So it sends every voter a wake-up once per election timeout: an
   * AppendResponse of term 0, which a core ignores as stale (it can never depose anyone, unlike
   * its real term, which a removed server's campaign may have raised) but which wakes the
   * receiving host's group; the leader's next heartbeat then learns the incarnation.
   */
  private announceRecovery(): void {
    for (const v of this.confValue.voters) {
      if (v === this.id) continue;
      const m = this.send(MessageType.AppendResponse, v, 0);
      m.reject = true;
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.leadTransferee !== NONE && ++this.transferElapsed >= this.electionTicks) {
      this.leadTransferee = NONE;
    }
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumRecentlyActive()) {
        // CheckQuorum (thesis §6.2): a leader cut off from a majority steps down.
        this.becomeFollower(this.termValue, NONE);
        return;
      }
    }
    for (const pr of this.progressList) {
      if (pr.id !== this.id && pr.state === ProgressState.Snapshot && ++pr.snapshotTicks >= this.electionTicks) {
        pr.becomeProbe();
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  private quorumRecentlyActive(): boolean {
    let active = 0;
    const voters = this.confValue.voters;
    for (const v of voters) {
      if (v === this.id) {
        active++;
        continue;
      }
      const pr = this.progress.get(v);
      if (pr !== undefined && pr.recentActive) active++;
    }
    for (const pr of this.progressList) if (pr.id !== this.id) pr.recentActive = false;
    return voters.length > 0 && active >= majority(voters.length);
  }

  // ---------------------------------------------------------------- elections

  /**
   * Voters campaign. So does a replica that an uncommitted configuration has just removed (or
   * demoted) while the committed one still counts it: it may hold the only copy of that
   * configuration entry (a removed leader deposed by CheckQuorum before committing it), and the
   * remaining voters cannot elect anyone without its vote. Votes are still counted in the latest
   * configuration, so this is as safe as any other candidacy.
   */
  private promotable(): boolean {
    return this.recoverTo === null && (isVoter(this.confValue, this.id) || isVoter(this.baseConf, this.id));
  }

  private campaignNow(transfer: boolean): void {
    if (this.roleValue === Role.Leader || !this.promotable()) return;
    if (this.preVote && !transfer) {
      this.becomePreCandidate();
      this.requestVotes(MessageType.PreVote, this.termValue + 1, false);
    } else {
      this.becomeCandidate();
      this.requestVotes(MessageType.Vote, this.termValue, transfer);
    }
  }

  private requestVotes(type: MessageType, term: number, transfer: boolean): void {
    this.votes.set(this.id, true);
    if (this.poll() > 0) {
      this.onElectionWon(transfer);
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const v of this.confValue.voters) {
      if (v === this.id) continue;
      const m = this.send(type, v, term);
      m.index = lastIndex;
      m.logTerm = lastTerm;
      m.transfer = transfer;
    }
  }

  /** 1 won, -1 lost, 0 undecided. */
  private poll(): number {
    const voters = this.confValue.voters;
    let granted = 0;
    let rejected = 0;
    for (const v of voters) {
      const g = this.votes.get(v);
      if (g === true) granted++;
      else if (g === false) rejected++;
    }
    return tally(voters.length, granted, rejected);
  }

  private onElectionWon(transfer: boolean): void {
    if (this.roleValue === Role.PreCandidate) {
      this.becomeCandidate();
      this.requestVotes(MessageType.Vote, this.termValue, transfer);
    } else if (this.persisted.term !== this.termValue || this.persisted.vote !== this.id) {
      // Won on our own vote alone (a single voter) before it is durable: a crash now would let us
      // vote again in this term, so lead only once the host has persisted it (see advance()).
      this.selfElectionPending = true;
    } else {
      this.becomeLeader();
    }
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const canVote =
      this.voteValue === m.from ||
      (this.voteValue === NONE && this.leadValue === NONE) ||
      (pre && m.term > this.termValue);
    const respType = pre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    // A recovering replica's log may lack entries it acknowledged: the candidate must be at least
    // as up to date as the log that held them (see "Lost tails").
    const pastLoss = this.recoverTo === null || atLeastAsUpToDate(m.logTerm, m.index, this.recoverTo);
    if (canVote && pastLoss && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(respType, m.from, m.term);
      if (!pre) {
        this.electionElapsed = 0;
        this.voteValue = m.from;
      }
    } else {
      const r = this.send(respType, m.from, this.termValue);
      r.reject = true;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
      case MessageType.Heartbeat:
      case MessageType.InstallSnapshot:
        // A leader exists for this term: yield to it (§5.2).
        this.becomeFollower(this.termValue, m.from);
        this.stepFollower(m);
        return;
      case MessageType.PreVoteResponse:
        if (this.roleValue !== Role.PreCandidate) return;
        if (m.reject ? m.term !== this.termValue : m.term !== this.termValue + 1) return;
        this.recordVote(m);
        return;
      case MessageType.VoteResponse:
        if (this.roleValue !== Role.Candidate || m.term !== this.termValue) return;
        this.recordVote(m);
        return;
      default:
        return;
    }
  }

  private recordVote(m: Message): void {
    if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
    const result = this.poll();
    if (result > 0) this.onElectionWon(false);
    else if (result < 0) this.becomeFollower(this.termValue, NONE);
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.leadValue = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat: {
        this.electionElapsed = 0;
        this.leadValue = m.from;
        // The leader sends min(our match, its commit), so this never reaches past what we hold.
        if (m.commit <= this.log.lastIndex()) this.commitTo(m.commit);
        const r = this.send(MessageType.HeartbeatResponse, m.from, this.termValue);
        r.index = m.index;
        return;
      }
      case MessageType.InstallSnapshot:
        this.electionElapsed = 0;
        this.leadValue = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TimeoutNow:
        // Leadership transfer: campaign now, skipping pre-vote and overriding leases.
        this.campaignNow(true);
        if (this.roleValue !== Role.Follower) this.handed = { from: m.from, term: this.termValue };
        return;
      case MessageType.ReadIndexResponse:
        if (m.context !== null) this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: Message): void {
    const log = this.log;
    if (m.index < log.committed) {
      const r = this.send(MessageType.AppendResponse, m.from, this.termValue);
      r.index = log.committed;
      return;
    }
    if (!log.matchTerm(m.index, m.logTerm)) {
      // Log repair (§5.3), accelerated: point the leader at our last index whose term could match.
      const hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
      const r = this.send(MessageType.AppendResponse, m.from, this.termValue);
      r.reject = true;
      r.index = m.index;
      r.hint = hint;
      r.logTerm = Math.max(log.term(hint), 0);
      return;
    }
    const ents = m.entries;
    const lastNew = m.index + ents.length;
    let k = 0;
    while (k < ents.length) {
      const e = ents[k] as Entry;
      if (!log.matchTerm(e.index, e.term)) break;
      k++;
    }
    if (k < ents.length) {
      const first = (ents[k] as Entry).index;
      if (first <= log.committed) {
        throw new Error(`raft: leader ${m.from} conflicts with committed entry ${first} (commit ${log.committed})`);
      }
      const truncates = first <= log.lastIndex();
      const fresh = k === 0 ? ents : ents.slice(k);
      log.append(fresh);
      this.noteAppended(fresh, first, truncates);
    }
    this.commitTo(Math.min(m.commit, lastNew));
    this.maybeRecovered();
    const r = this.send(MessageType.AppendResponse, m.from, this.termValue);
    r.index = lastNew;
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (snap === null) return;
    const r = this.send(MessageType.AppendResponse, m.from, this.termValue);
    if (snap.index <= this.log.committed) {
      r.index = this.log.committed;
      return;
    }
    if (this.log.matchTerm(snap.index, snap.term)) {
      // We already hold the snapshot's last entry, so everything up to it matches: fast-forward.
      this.commitTo(snap.index);
      r.index = snap.index;
      return;
    }
    this.restore(snap);
    r.index = snap.index;
  }

  private restore(snap: Snapshot): void {
    this.log.restore(snap);
    this.baseConf = snap.conf;
    this.pendingConfs = [];
    this.confValue = snap.conf;
    this.maybeRecovered();
  }

  /** The log holds again everything acknowledged before the lost tail (see "Lost tails"). */
  private maybeRecovered(): void {
    if (this.recoverTo !== null && atLeastAsUpToDate(this.log.lastTerm(), this.log.lastIndex(), this.recoverTo)) this.recoverTo = null;
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case MessageType.AppendResponse:
        if (pr !== undefined) this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResponse:
        if (pr === undefined || m.commit < pr.incarnation) return;
        if (m.commit > pr.incarnation) {
          pr.incarnation = m.commit;
          pr.regress(pr.next);
        }
        pr.recentActive = true;
        pr.probeSent = false;
        // A heartbeat got through while the window is full: an append was probably lost.
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, pr, true);
        if (m.index > pr.readRound) {
          pr.readRound = m.index;
          this.releaseReads();
        }
        return;
      case MessageType.ReadIndex:
        if (m.context !== null) this.handleReadIndex(m.from, m.context);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    // An earlier life of the follower, before its log lost a tail: what it says no longer holds.
    if (m.commit < pr.incarnation) return;
    pr.recentActive = true;
    const reborn = m.commit > pr.incarnation;
    if (reborn) pr.incarnation = m.commit;
    if (m.reject) {
      const candidate = m.logTerm > 0 ? this.log.findConflictByTerm(m.hint, m.logTerm) : m.hint;
      if (reborn) {
        pr.regress(Math.min(m.index, candidate + 1));
        this.sendAppend(m.from, pr, true);
        return;
      }
      if (pr.maybeDecreaseTo(m.index, candidate)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from, pr, true);
      }
      return;
    }
    if (reborn) pr.regress(m.index + 1);
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === ProgressState.Probe && m.index >= pr.next - 1) pr.probeSent = false;
      return;
    }
    if (pr.state === ProgressState.Probe) pr.becomeReplicate();
    else if (pr.state === ProgressState.Snapshot) {
      if (pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
    } else pr.inflights.freeTo(m.index);
    this.maybeCommit();
    this.needFlush = true;
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  /**
   * Sends the follower what it lacks, or a snapshot if that is compacted away. Returns true if
   * entries were sent (the caller may loop to fill the inflight window).
   */
  private sendAppend(to: number, pr: Progress, allowEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const log = this.log;
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    const ents = prevTerm < 0 ? null : log.slice(pr.next, log.lastIndex() + 1, this.maxAppendBytes);
    // Storage is loading them from disk; entriesAvailable() brings us back here.
    if (ents === ENTRIES_UNAVAILABLE) return false;
    if (ents === null) {
      this.sendSnapshot(to, pr);
      return false;
    }
    if (ents.length === 0 && !allowEmpty) return false;
    const m = this.send(MessageType.Append, to, this.termValue);
    m.index = prevIndex;
    m.logTerm = prevTerm;
    m.commit = log.committed;
    m.entries = ents;
    pr.sentCommit = log.committed;
    if (ents.length === 0) {
      if (pr.state === ProgressState.Probe) pr.probeSent = true;
      return false;
    }
    if (pr.state === ProgressState.Replicate) {
      const last = (ents[ents.length - 1] as Entry).index;
      pr.next = last + 1;
      pr.inflights.add(last);
      return true;
    }
    pr.probeSent = true;
    return false;
  }

  private sendSnapshot(to: number, pr: Progress): void {
    if (!pr.recentActive) return;
    const snap = this.storage.snapshot();
    const m = this.send(MessageType.InstallSnapshot, to, this.termValue);
    m.snapshot = snap;
    pr.becomeSnapshot(snap.index);
  }

  private sendTimeoutNow(to: number): void {
    this.send(MessageType.TimeoutNow, to, this.termValue);
  }

  private broadcastHeartbeat(): void {
    const committed = this.log.committed;
    const list = this.progressList;
    for (let i = 0; i < list.length; i++) {
      const pr = list[i] as Progress;
      if (pr.id === this.id) continue;
      const m = this.send(MessageType.Heartbeat, pr.id, this.termValue);
      m.commit = Math.min(pr.match, committed);
      m.index = this.readRound;
    }
    this.readHeartbeatDue = false;
  }

  /** Sends the batched appends: one message per follower carries every entry proposed since. */
  private flush(): void {
    if (this.roleValue !== Role.Leader) return;
    if (this.readHeartbeatDue) this.broadcastHeartbeat();
    if (!this.needFlush) return;
    this.needFlush = false;
    const committed = this.log.committed;
    const list = this.progressList;
    for (let i = 0; i < list.length; i++) {
      const pr = list[i] as Progress;
      if (pr.id === this.id) continue;
      while (this.sendAppend(pr.id, pr, pr.sentCommit < committed)) {
        // keep filling the window
      }
    }
  }

  /** Commits the highest index a quorum of voters holds, if it is from this term (§5.4.2). */
  private maybeCommit(): boolean {
    const voters = this.confValue.voters;
    const n = voters.length;
    if (n === 0) return false;
    const s = this.scratchFor(n);
    for (let i = 0; i < n; i++) {
      const pr = this.progress.get(voters[i] as number);
      s[i] = pr === undefined ? 0 : pr.match;
    }
    const quorumIndex = quorumValue(s, n);
    if (quorumIndex <= this.log.committed || this.log.term(quorumIndex) !== this.termValue) return false;
    this.commitTo(quorumIndex);
    this.needFlush = true;
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadIndex(r.from, r.context);
    }
    if (this.pendingConfs.length === 0 && !isVoter(this.confValue, this.id)) {
      // Our own removal is committed (thesis §4.2.2): tell followers the commit, then step down.
      this.flush();
      this.becomeFollower(this.termValue, NONE);
    }
    return true;
  }

  private handleReadIndex(from: number, context: Uint8Array): void {
    if (this.log.term(this.log.committed) !== this.termValue) {
      this.readsAwaitingCommit.push({ from, context });
      return;
    }
    const voters = this.confValue.voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.answerRead(from, this.log.committed, context);
      return;
    }
    this.readRound++;
    this.pendingReads.push({ round: this.readRound, index: this.log.committed, from, context });
    this.readHeartbeatDue = true;
  }

  /** Releases reads whose heartbeat round a quorum acknowledged: we were still leader then. */
  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const voters = this.confValue.voters;
    const n = voters.length;
    if (n === 0) return;
    const s = this.scratchFor(n);
    for (let i = 0; i < n; i++) {
      const v = voters[i] as number;
      if (v === this.id) s[i] = this.readRound;
      else s[i] = this.progress.get(v)?.readRound ?? 0;
    }
    const acked = quorumValue(s, n);
    let k = 0;
    while (k < this.pendingReads.length && (this.pendingReads[k] as PendingRead).round <= acked) {
      const r = this.pendingReads[k] as PendingRead;
      this.answerRead(r.from, r.index, r.context);
      k++;
    }
    if (k > 0) this.pendingReads.splice(0, k);
  }

  private answerRead(from: number, index: number, context: Uint8Array): void {
    if (from === this.id) {
      this.readStates.push({ index, context });
      return;
    }
    const m = this.send(MessageType.ReadIndexResponse, from, this.termValue);
    m.index = index;
    m.context = context;
  }

  // ---------------------------------------------------------------- membership

  private onConfChanged(): void {
    if (this.roleValue !== Role.Leader) return;
    const next = this.log.lastIndex() + 1;
    for (const id of this.members()) if (!this.progress.has(id)) this.addProgress(id, next);
    for (const id of [...this.progress.keys()]) {
      if (id !== this.id && !isMember(this.confValue, id)) this.progress.delete(id);
    }
    this.progressList = [...this.progress.values()];
    if (this.leadTransferee !== NONE && !isVoter(this.confValue, this.leadTransferee)) this.leadTransferee = NONE;
    this.needFlush = true;
    this.releaseReads();
    this.maybeCommit();
  }

  /** Configuration entries take effect when appended; a truncation undoes them (thesis §4.1). */
  private noteAppended(ents: readonly Entry[], first: number, truncated: boolean): void {
    let changed = false;
    if (truncated) {
      while (this.pendingConfs.length > 0 && (this.pendingConfs[this.pendingConfs.length - 1] as PendingConf).index >= first) {
        this.pendingConfs.pop();
        changed = true;
      }
    }
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (e.type === EntryType.ConfChange) {
        this.pendingConfs.push({ index: e.index, conf: decodeConfChange(e.data).conf });
        changed = true;
      }
    }
    if (changed) {
      const last = this.pendingConfs[this.pendingConfs.length - 1];
      this.confValue = last === undefined ? this.baseConf : last.conf;
      this.onConfChanged();
    }
  }

  private loadConfsFromStorage(): void {
    if (this.storage.confChanges !== undefined) {
      for (const c of this.storage.confChanges()) this.pendingConfs.push({ index: c.index, conf: decodeConfChange(c.data).conf });
      const newest = this.pendingConfs[this.pendingConfs.length - 1];
      if (newest !== undefined) this.confValue = newest.conf;
      return;
    }
    const last = this.storage.lastIndex();
    for (let lo = this.storage.firstIndex(); lo <= last; ) {
      const chunk = this.storage.entries(lo, Math.min(last + 1, lo + 4096), Infinity);
      if (chunk === ENTRIES_UNAVAILABLE) throw new Error('raft: a storage without confChanges() must hold every entry in memory');
      if (chunk === null || chunk.length === 0) break;
      for (const e of chunk) {
        if (e.type === EntryType.ConfChange) this.pendingConfs.push({ index: e.index, conf: decodeConfChange(e.data).conf });
      }
      lo = (chunk[chunk.length - 1] as Entry).index + 1;
    }
    const latest = this.pendingConfs[this.pendingConfs.length - 1];
    if (latest !== undefined) this.confValue = latest.conf;
  }

  private commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.log.commitTo(index);
    this.promoteCommittedConfs();
  }

  private promoteCommittedConfs(): void {
    while (this.pendingConfs.length > 0 && (this.pendingConfs[0] as PendingConf).index <= this.log.committed) {
      this.baseConf = (this.pendingConfs.shift() as PendingConf).conf;
    }
  }

  // ---------------------------------------------------------------- helpers

  private scratchFor(n: number): Float64Array {
    if (this.scratch.length < n) this.scratch = new Float64Array(n * 2);
    return this.scratch;
  }

  private hardStateChanged(): boolean {
    const p = this.persisted;
    return p.term !== this.termValue || p.vote !== this.voteValue || p.commit !== this.log.committed;
  }

  private send(type: MessageType, to: number, term: number): Message {
    const m: Message = {
      type,
      group: this.group,
      from: this.id,
      to,
      term,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: NO_ENTRIES,
      snapshot: null,
      reject: false,
      hint: 0,
      transfer: false,
      context: null,
    };
    // Answers to a leader say which life of this replica they come from (see "Lost tails").
    if (type === MessageType.AppendResponse || type === MessageType.HeartbeatResponse) m.commit = this.incarnationValue;
    this.msgs.push(m);
    return m;
  }
}

/** A log ending at (term, index) is at least as up to date as one ending at `p` (§5.4.1). */
function atLeastAsUpToDate(term: number, index: number, p: LogPosition): boolean {
  return term > p.term || (term === p.term && index >= p.index);
}

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Numbers are non-negative integers and appended entries are contiguous after `index`. */
function wellFormed(m: Message): boolean {
  if (!(m.from > 0) || !isIndex(m.term) || !isIndex(m.index) || !isIndex(m.logTerm) || !isIndex(m.commit)) return false;
  if (!Array.isArray(m.entries)) return false;
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i] as Entry;
    if (e.index !== m.index + 1 + i || !isIndex(e.term) || e.term > m.term || !(e.data instanceof Uint8Array)) return false;
  }
  return true;
}

/**
 * A partition replica backed by a Raft group: the Kafka semantics on top of the core.
 *
 * - Leader epoch = raft term; only the leader serves produce and fetch, others answer
 *   NOT_LEADER_OR_FOLLOWER (6).
 * - The leader validates a produce, checks idempotent-producer sequences, stamps each batch with
 *   its base offset, the term and (LogAppendTime topics) the time, and proposes one raft entry per
 *   batch. acks=all answers once the entry is committed (a quorum has it fsynced); acks=1 once
 *   the leader's own fsync covered it; acks=0 at once.
 * - High watermark = the offset after the last applied (committed) entry.
 * - Producer state is kept twice: `committed` from applied entries only, and `live`, which adds
 *   the entries appended but not yet committed (every replica keeps both, so a new leader checks
 *   retries against everything in its log). A truncation rebuilds `live` from `committed`.
 * - Transactions: a transactional batch opens its producer's transaction here, a marker (written
 *   by `writeTxnMarker` for the coordinator) closes it. The last stable offset is the first
 *   offset of the oldest transaction open in the applied state (else the applied end), so
 *   read_committed readers see only decided data; aborted transactions go into the partition's
 *   aborted-transactions index (log/txn-index.ts) when their marker is applied. A transactional
 *   batch that would open a transaction is first verified with the transaction coordinator
 *   (KIP-890), so a late or stray batch cannot leave a transaction hanging.
 * - ISR = the leader plus the voters that were caught up with it within replica.lag.time.max.ms.
 *   With fewer in-sync replicas than min.insync.replicas an acks=all produce gets
 *   NOT_ENOUGH_REPLICAS (19) before anything is appended.
 */
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { BatchField, readInt64, setLogAppendTime, validateBatches, type RecordBatchHeader } from '../kafka/protocol/records.js';
import { ProducerStateTable, type TxnMarkerRef } from '../coordinator/producer-state.js';
import { CorruptStoredBatch } from '../log/corrupt-stored-batch.js';
import type { AppendResult, ReadResult } from '../log/types.js';
import { realTimers, type Timers } from '../platform/timers.js';
import type { AbortedTxn, AbortedTxnIndex } from '../log/txn-index.js';
import { buildTxnMarker } from '../kafka/protocol/txn-markers.js';
import { producerEffect, producersAt, type ClosedTxn } from './partition-txns.js';
import type { RaftNode } from '../raft/raft.js';
import { MessageType, NONE, Role, type Entry, type Message, type Snapshot, type SoftState } from '../raft/types.js';
import { isBatchEntry } from './control-entries.js';
import type { PartitionLimits } from './types.js';
import type { PartitionRaftStorage, StoredBatch } from './partition-raft-storage.js';
import type { ProducerBatchRef } from './producer-state-port.js';
import { decodePartitionSnapshot, encodePartitionSnapshot } from './partition-snapshot.js';
import { cutReply, MAX_RECORDS_CHUNK_BYTES, SnapshotStager, type RecordsFetch, type RecordsReply, type RecordsRequest } from './snapshot-records.js';
import { decodeConfChange } from '../raft/membership.js';
import { ProposalCursor } from './proposal-cursor.js';
import type { GroupMachine } from './raft-host.js';
import type { Acks, IsolationLevel, ReplicatedPartition } from './types.js';

/** What the partition needs of its log beyond the raft storage (reads, timestamps, log start). */
export interface PartitionDataLog {
  logStartOffset(): number;
  logEndOffset(): number;
  readonly dir: string;
  /** The next close leaves the log to be scanned, batch by batch, from here (FilePartitionLog). */
  rescanOnClose(offset: number): void;
  truncateTo(offset: number): Promise<void>;
  close(): Promise<void>;
  /** Base offset of the oldest segment retention would keep (see FilePartitionLog). */
  retentionTarget(now: number): number;
  setDeletionFloor(offset: number): void;
  /** The log cleaner rewrites only segments wholly below this. */
  setCleanableBelow(offset: number): void;
  segmentBaseOffsets(): number[];
  applyRetention(now: number): Promise<number>;
  read(offset: number, maxBytes: number, maxOffset: number): Promise<ReadResult>;
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  advanceLogStart(offset: number): Promise<void>;
  /** Batches as stored from `offset` on, even below the log start (see FilePartitionLog). */
  readStored(offset: number, maxBytes: number): Promise<ReadResult>;
  /** Part of the stored batch holding `offset`, and its header (see FilePartitionLog). */
  readStoredPiece(offset: number, skip: number, maxBytes: number): Promise<{ header: RecordBatchHeader; bytes: Buffer } | null>;
}

/** The host's side of a replica: waking the loop after a proposal, raft ids of brokers. */
export interface ReplicaHostPort {
  wake(group: number): void;
  /** Hands messages from broker `from` to their groups' cores (RaftHost.receive). */
  receive?(from: number, messages: readonly Message[]): number;
  /** Stops the group: its storage is damaged (RaftHost.failGroup). */
  failGroup?(group: number, err: Error): void;
}

export interface RaftPartitionOptions {
  readonly topic: string;
  readonly partition: number;
  readonly group: number;
  /** This broker's Kafka node id (raft id = node id + 1). */
  readonly nodeId: number;
  readonly node: RaftNode;
  readonly storage: PartitionRaftStorage;
  readonly log: PartitionDataLog;
  readonly host: ReplicaHostPort;
  readonly limits: () => PartitionLimits;
  /** min.insync.replicas of the topic, read per produce. */
  readonly minInsyncReplicas: () => number;
  /** replica.lag.time.max.ms. */
  readonly replicaLagTimeMaxMs: number;
  /** Whether the topic's cleanup.policy includes compact (read per retention pass). */
  readonly compacted: () => boolean;
  /**
   * Copies records from another replica for a snapshot that stands for them (see
   * snapshot-records.ts). Without it a replicated compacted partition keeps its raft log, so no
   * follower ever needs records its leader compacted.
   */
  readonly fetchRecords?: RecordsFetch;
  /** The partition's aborted-transactions index (opened with its log). */
  readonly txnIndex: AbortedTxnIndex;
  readonly logger: Logger;
  /** Wall-clock ms (timestamps, ISR lag); default Date.now. */
  readonly now?: () => number;
  /** The long-poll timers (default: Node's). */
  readonly timers?: Timers;
}

/** What a produce carries beside its batches. */
export interface AppendOptions {
  /** The Produce request's transactional id (transactional batches need it). */
  readonly transactionalId?: string | null;
  /** Written by the brokers themselves (transactional offset commits): no sequence checks, no verification. */
  readonly internal?: boolean;
}

/**
 * Asks the transaction coordinator whether this partition is part of the producer's ongoing
 * transaction: null if it is, else the error for the produce (KIP-890 verification).
 */
export type TxnVerifier = (
  transactionalId: string,
  producerId: number,
  producerEpoch: number,
  topic: string,
  partition: number,
) => Promise<{ code: number; message: string } | null>;

interface Waiter {
  readonly offset: number;
  /** Waits on the last stable offset (read_committed) rather than the high watermark. */
  readonly stable: boolean;
  readonly wake: () => void;
}

interface PendingAck {
  /** Resolved once the high watermark passes this offset (acks=all) ... */
  readonly lastOffset: number;
  /** ... or once the local log is durable through this raft index (acks=1). */
  readonly index: number;
  readonly acks: Acks;
  readonly term: number;
  readonly result: AppendResult;
  resolve(r: AppendResult): void;
  reject(e: Error): void;
}

/** Producer state and the max timestamp rebuilt while a replica's storage opens. */
export interface ReplicaRestore {
  committed: ProducerStateTable;
  live: ProducerStateTable;
  uncommitted: Uncommitted[];
  maxTs: { timestamp: number; offset: number };
  /** Committed aborts seen, in log order, and every committed marker (see ClosedTxn). */
  aborted: AbortedTxn[];
  closed: ClosedTxn[];
  /** Starts from the producer state of the snapshot the raft log continues from. */
  begin: (snap: Snapshot) => void;
  visit: (b: StoredBatch) => void;
}

/** An entry past the commit point: a data batch (ref) or a marker. */
interface Uncommitted {
  readonly index: number;
  readonly ref: ProducerBatchRef | null;
  readonly marker: TxnMarkerRef | null;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

function replay(table: ProducerStateTable, u: Uncommitted): void {
  if (u.marker !== null) table.endTransaction(u.marker);
  else if (u.ref !== null) table.record(u.ref, u.baseOffset, u.lastOffset);
}

const EMPTY: Buffer = Buffer.alloc(0);
/** How long a NOT_LEADER answer waits for this replica to hear who leads now (see `refuseOnceLeaderKnown`). */
const NOT_LEADER_WAIT_MS = 1000;

export const raftId = (nodeId: number): number => nodeId + 1;
export const nodeIdOf = (raftIdValue: number): number => raftIdValue - 1;

function refOf(h: RecordBatchHeader): ProducerBatchRef {
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    recordCount: h.recordCount,
    isTransactional: h.isTransactional,
  };
}

function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.length);
}

export class RaftPartition implements ReplicatedPartition, GroupMachine {
  readonly topic: string;
  readonly partition: number;
  readonly group: number;
  readonly node: RaftNode;
  readonly storage: PartitionRaftStorage;
  private readonly opts: RaftPartitionOptions;
  private readonly now: () => number;
  private readonly selfId: number;

  private soft: SoftState = { leader: NONE, role: Role.Follower, term: 0 };
  /** NOT_LEADER answers waiting for a new leader to be known. */
  private leaderWaiters: (() => void)[] = [];
  private hwm: number;
  private appliedIndex: number;
  private committed = new ProducerStateTable();
  private live = new ProducerStateTable();
  private uncommitted: Uncommitted[] = [];
  private liveRecordedTo: number;
  /**
   * Raft index -> term of this leader's proposals that the host has not stored yet. A leader
   * that loses its term before storing them has them replaced in its core's log without the
   * host ever truncating anything, so `onAppended` compares what arrives with what was proposed.
   */
  private readonly unstored = new Map<number, number>();
  private readonly cursor: ProposalCursor;
  private pending: PendingAck[] = [];
  private readonly waiters = new Set<Waiter>();
  private maxTs: { timestamp: number; offset: number } = { timestamp: -1, offset: -1 };
  private stableIndex: number;
  /** Leader only: (time, last index) per tick, to tell how far behind each follower is. */
  private lastIndexHistory: { at: number; index: number }[] = [];
  private caughtUpAt = new Map<number, number>();
  private isrValue: number[] = [];
  /** Where the next scrub read starts (see scrub). */
  private scrubNext = 0;
  /** Damage a lone replica's scrub has already reported (it keeps finding it). */
  private scrubDamage = -1;
  private closed = false;
  private deleted = false;
  /** Copies the records of snapshots that stand for records (null: none are made or taken). */
  private readonly stager: SnapshotStager | null;
  /** Offset after the last applied entry: the last stable offset never passes it. */
  private appliedOffset: number;
  /** Transactions closed by committed markers since the raft snapshot (see partition-txns.ts). */
  private closedTxns: ClosedTxn[] = [];
  /** Listeners for leadership and ISR changes (the cluster reports them to the controller). */
  onStateChange: (p: RaftPartition) => void = () => undefined;
  /** KIP-890 verification of transactional produces; none: they are not verified. */
  txnVerifier: TxnVerifier | null = null;

  constructor(opts: RaftPartitionOptions) {
    this.opts = opts;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.group = opts.group;
    this.node = opts.node;
    this.storage = opts.storage;
    // A log that cannot give back a stored entry must not go on leading or voting as if whole.
    opts.storage.onCorrupt = (err) => opts.host.failGroup?.(opts.group, err);
    this.now = opts.now ?? Date.now;
    this.selfId = raftId(opts.nodeId);
    this.appliedIndex = opts.node.appliedIndex;
    this.hwm = opts.storage.offsetAfter(this.appliedIndex) ?? opts.storage.snapshotOffset();
    this.appliedOffset = this.hwm;
    this.liveRecordedTo = opts.storage.lastIndex();
    this.stableIndex = opts.storage.lastIndex();
    this.cursor = new ProposalCursor(opts.node, opts.storage);
    this.stager =
      opts.fetchRecords === undefined
        ? null
        : new SnapshotStager({ fs: opts.storage.fs, dir: opts.storage.dir, topic: opts.topic, partition: opts.partition, fetch: opts.fetchRecords, logger: opts.logger });
  }

  /**
   * Collects producer state and the max timestamp from the batches the storage reads while it
   * opens (entries up to `applied` are committed, later ones are not); `adoptRestored` takes it.
   */
  static restorer(applied: number): ReplicaRestore {
    const target: ReplicaRestore = {
      committed: new ProducerStateTable(),
      live: new ProducerStateTable(),
      uncommitted: [],
      maxTs: { timestamp: -1, offset: -1 },
      aborted: [],
      closed: [],
      begin: () => undefined,
      visit: () => undefined,
    };
    target.begin = (snap) => {
      // Nothing compacted yet: the placeholder snapshot carries no state.
      if (snap.data.length === 0) return;
      // The batches the snapshot covers are no longer in the raft log, so what it carries is the
      // only record of them; without it a retry of one of them would be stored a second time.
      // (It may also hold batches after the snapshot point: the scan's replay of those is a no-op.)
      const { producers } = decodePartitionSnapshot(snap.data);
      target.committed = producers;
      target.live = ProducerStateTable.fromSnapshot(producers.snapshot());
    };
    target.visit = (b) => {
      if (!isBatchEntry(b.entry)) return;
      const bytes = asBuffer(b.entry.data);
      const ts = readInt64(bytes, BatchField.maxTimestamp);
      if (b.index <= applied && ts > target.maxTs.timestamp) target.maxTs = { timestamp: ts, offset: b.lastOffset };
      const fx = producerEffect(bytes);
      if (fx === null) return;
      const u: Uncommitted =
        fx.kind === 'data'
          ? { index: b.index, ref: fx.ref, marker: null, baseOffset: b.baseOffset, lastOffset: b.lastOffset }
          : { index: b.index, ref: null, marker: fx.marker, baseOffset: b.baseOffset, lastOffset: b.lastOffset };
      replay(target.live, u);
      if (b.index > applied) {
        target.uncommitted.push(u);
        return;
      }
      if (fx.kind === 'data') {
        target.committed.record(fx.ref, b.baseOffset, b.lastOffset);
        return;
      }
      const ended = target.committed.endTransaction(fx.marker);
      target.closed.push({ producerId: ended.producerId, firstOffset: ended.firstOffset, markerOffset: b.baseOffset });
      if (!ended.commit && ended.firstOffset >= 0) {
        const open = target.committed.firstOpenOffset();
        target.aborted.push({ producerId: ended.producerId, firstOffset: ended.firstOffset, lastOffset: b.baseOffset, lastStableOffset: open ?? b.baseOffset + 1 });
      }
    };
    return target;
  }

  /** Adopts the state `restorer` collected. */
  adoptRestored(r: ReplicaRestore): void {
    this.committed = r.committed;
    this.live = r.live;
    this.uncommitted = r.uncommitted;
    this.maxTs = r.maxTs;
    this.closedTxns = r.closed.filter((c) => this.spansSegmentBase(c));
    // The index files cover what lies below the raft snapshot; the scan rebuilt the rest.
    this.opts.txnIndex.dropFrom(this.storage.snapshotOffset());
    for (const a of r.aborted) this.opts.txnIndex.add(a);
  }

  /** The committed producer state (what a snapshot of this replica carries). */
  producerSnapshot(): ProducerStateTable {
    return ProducerStateTable.fromSnapshot(this.committed.snapshot());
  }

  /** The committed producer state with the transactions open at `offset` (a snapshot there). */
  private producersAt(offset: number): ProducerStateTable {
    return ProducerStateTable.fromSnapshot(producersAt(this.committed.snapshot(), offset, this.closedTxns));
  }

  // ------------------------------------------------------------ the Kafka view

  isLeader(): boolean {
    return !this.closed && this.soft.role === Role.Leader;
  }

  /** The leader and its epoch as this replica knows them, or null while there is none. */
  leader(): { nodeId: number; epoch: number } | null {
    if (this.soft.leader === NONE) return null;
    return { nodeId: this.soft.leader - 1, epoch: this.soft.term };
  }

  leaderEpoch(): number {
    return this.soft.term;
  }

  /**
   * The leader this replica's core has heard from, before the host has stored the term and
   * published it (`leader()`): true, so Metadata may name it, but nothing here acts on it.
   */
  heardLeader(): { nodeId: number; epoch: number } | null {
    const l = this.node.leader;
    return l === NONE ? null : { nodeId: nodeIdOf(l), epoch: this.node.term };
  }

  /** Raft ids of the voters, as node ids. */
  replicas(): number[] {
    return this.node.conf.voters.map(nodeIdOf);
  }

  /** In-sync replicas (node ids) as the leader sees them; followers report []. */
  isr(): number[] {
    return this.isrValue;
  }

  logStartOffset(): number {
    return this.opts.log.logStartOffset();
  }

  logEndOffset(): number {
    return this.storage.endOffset();
  }

  highWatermark(): number {
    return this.hwm;
  }

  lastStableOffset(): number {
    const open = this.committed.firstOpenOffset();
    const stable = Math.min(this.hwm, open === null ? this.appliedOffset : Math.min(open, this.appliedOffset));
    // As in Kafka: retention may take a transaction's first batches; the bound never precedes the log.
    return Math.max(stable, Math.min(this.logStartOffset(), this.hwm));
  }

  /** Aborted transactions a read_committed read of [from, upTo) must report. */
  abortedTransactions(from: number, upTo: number): Array<{ producerId: number; firstOffset: number }> {
    return this.opts.txnIndex.collect(from, upTo).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
  }

  /** The transactions open in the applied state, oldest first (admin, tests). */
  openTransactions(): Array<{ producerId: number; firstOffset: number }> {
    return this.committed.openTransactions();
  }

  maxTimestamp(): { timestamp: number; offset: number } | null {
    if (this.maxTs.offset < this.logStartOffset()) return null;
    return this.maxTs;
  }

  private gone(): KafkaError {
    return this.deleted
      ? new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic}-${this.partition} was deleted`)
      : new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition} is closed on this broker`);
  }

  /**
   * Refuses with NOT_LEADER once this replica knows another leader (at most NOT_LEADER_WAIT_MS
   * later). A client told NOT_LEADER asks for metadata at once; told while a transfer or an
   * election is under way, it would hear of no leader or of this one again, and spend a second
   * retry on the same send (a drain under load). Known, the leader is what Metadata names here.
   */
  private refuseOnceLeaderKnown<T>(): Promise<T> {
    return new Promise<T>((_, reject) => this.onceLeaderKnown(() => reject(this.closed ? this.gone() : this.notLeader())));
  }

  /** As refuseOnceLeaderKnown, but a replica that has become the leader meanwhile takes the append. */
  private appendOnceLeaderKnown(batches: Buffer, acks: Acks, opts: AppendOptions): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) =>
      this.onceLeaderKnown(() => {
        if (this.closed) reject(this.gone());
        else if (this.isLeader()) this.append(batches, acks, opts).then(resolve, reject);
        else reject(this.notLeader());
      }),
    );
  }

  private onceLeaderKnown(then: () => void): void {
    if (this.closed || (this.soft.leader !== NONE && this.soft.role !== Role.Leader)) {
      then();
      return;
    }
    const timers = this.opts.timers ?? realTimers;
    let done = false;
    const run = (): void => {
      if (done) return;
      done = true;
      timers.clearTimeout(timer);
      then();
    };
    const timer = timers.setTimeout(run, NOT_LEADER_WAIT_MS);
    this.leaderWaiters.push(run);
  }

  private notLeader(): KafkaError {
    const l = this.leader();
    return new KafkaError(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `broker ${this.opts.nodeId} does not lead ${this.topic}-${this.partition}${l ? ` (broker ${l.nodeId} does, epoch ${l.epoch})` : ''}`,
    );
  }

  append(batches: Buffer, acks: Acks, opts: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(this.gone());
    if (!this.isLeader()) return this.appendOnceLeaderKnown(batches, acks, opts);
    let split: RecordBatchHeader[];
    try {
      split = validateBatches(batches);
      const limits = this.opts.limits();
      const now = this.now();
      for (const h of split) this.checkBatch(h, limits, now, opts.internal === true);
      if (acks === -1) {
        const min = this.opts.minInsyncReplicas();
        const isr = this.isrValue.length;
        if (isr < min) {
          throw new KafkaError(
            ErrorCode.NOT_ENOUGH_REPLICAS,
            `${this.topic}-${this.partition} has ${isr} in-sync replicas, min.insync.replicas is ${min}`,
          );
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const verify = opts.internal === true ? null : this.unverified(split, opts);
    if (verify instanceof KafkaError) return Promise.reject(verify);
    if (verify !== null) return this.verifiedAppend(batches, acks, split, verify, opts);
    return this.appendChecked(batches, acks, split, opts);
  }

  /**
   * The transactional producer whose batch would open a transaction here, to verify with its
   * coordinator first; null when nothing needs verifying (or no verifier is set).
   */
  private unverified(split: readonly RecordBatchHeader[], opts: AppendOptions): { transactionalId: string; producerId: number; producerEpoch: number } | KafkaError | null {
    for (const h of split) {
      if (!h.isTransactional) continue;
      const transactionalId = opts.transactionalId;
      if (transactionalId === undefined || transactionalId === null || transactionalId === '') {
        return new KafkaError(ErrorCode.INVALID_REQUEST, `${this.topic}-${this.partition}: transactional batches need the request's transactionalId`);
      }
      if (this.txnVerifier === null || this.live.hasOpenTransaction(h.producerId)) return null;
      return { transactionalId, producerId: h.producerId, producerEpoch: h.producerEpoch };
    }
    return null;
  }

  private async verifiedAppend(
    batches: Buffer,
    acks: Acks,
    split: RecordBatchHeader[],
    v: { transactionalId: string; producerId: number; producerEpoch: number },
    opts: AppendOptions,
  ): Promise<AppendResult> {
    const verifier = this.txnVerifier;
    const markersBefore = this.live.markerCount(v.producerId);
    const refused = verifier === null ? null : await verifier(v.transactionalId, v.producerId, v.producerEpoch, this.topic, this.partition);
    if (refused !== null) throw new KafkaError(refused.code, refused.message);
    if (this.closed) throw this.gone();
    if (!this.isLeader()) throw this.notLeader();
    // A marker in the meantime ended the transaction the coordinator vouched for.
    if (this.live.markerCount(v.producerId) !== markersBefore) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `${this.topic}-${this.partition}: the transaction of producer ${v.producerId} ended while its batch was verified`);
    }
    return this.appendChecked(batches, acks, split, opts);
  }

  private appendChecked(batches: Buffer, acks: Acks, split: RecordBatchHeader[], opts: AppendOptions): Promise<AppendResult> {
    const limits = this.opts.limits();
    const now = this.now();
    const term = this.soft.term;
    let first: AppendResult | undefined;
    let lastResult: AppendResult | undefined;
    let lastIndex = 0;
    let waitOffset = -1;
    for (const h of split) {
      const bytes = batches.subarray(h.position, h.position + h.sizeInBytes);
      const ref = opts.internal === true ? { ...refOf(h), internal: true } : refOf(h);
      let r: AppendResult;
      if (ref.producerId >= 0) {
        const check = this.live.check(ref);
        if (check.kind === 'error') {
          if (first === undefined) return Promise.reject(new KafkaError(check.code, check.message));
          break;
        }
        if (check.kind === 'duplicate') {
          r = { baseOffset: check.baseOffset, lastOffset: check.lastOffset, logAppendTime: -1 };
          waitOffset = Math.max(waitOffset, check.lastOffset);
          lastIndex = Math.max(lastIndex, this.node.lastIndex);
          first ??= r;
          lastResult = r;
          continue;
        }
      }
      const proposed = this.propose(bytes, limits.timestampType === 'LogAppendTime' ? now : -1, term);
      if (proposed === null) return this.refuseOnceLeaderKnown();
      this.unstored.set(proposed.index, this.node.term);
      r = proposed.result;
      if (ref.producerId >= 0) {
        this.live.record(ref, r.baseOffset, r.lastOffset);
        this.uncommitted.push({ index: proposed.index, ref, marker: null, baseOffset: r.baseOffset, lastOffset: r.lastOffset });
      }
      this.liveRecordedTo = proposed.index;
      lastIndex = proposed.index;
      waitOffset = Math.max(waitOffset, r.lastOffset);
      first ??= r;
      lastResult = r;
    }
    if (!first || !lastResult) return Promise.reject(new Error('unreachable: no batch handled'));
    const result: AppendResult = { baseOffset: first.baseOffset, lastOffset: lastResult.lastOffset, logAppendTime: lastResult.logAppendTime };
    this.opts.host.wake(this.group);
    if (acks === 0) return Promise.resolve(result);
    if (acks === -1 ? this.hwm > waitOffset : this.stableIndex >= lastIndex) return Promise.resolve(result);
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ lastOffset: waitOffset, index: lastIndex, acks, term, result, resolve, reject });
    });
  }

  /** Stamps one batch for the next offset and proposes it; null if no longer leader. */
  private propose(bytes: Buffer, logAppendTime: number, term: number): { index: number; result: AppendResult } | null {
    // The time goes in first: it lies inside the CRC, which setLogAppendTime recomputes.
    if (logAppendTime >= 0) setLogAppendTime(bytes, 0, logAppendTime);
    const p = this.cursor.propose(bytes, term);
    if (p === null) return null;
    const ts = logAppendTime >= 0 ? logAppendTime : readInt64(bytes, BatchField.maxTimestamp);
    if (ts > this.maxTs.timestamp) this.maxTs = { timestamp: ts, offset: p.lastOffset };
    return { index: p.index, result: { baseOffset: p.baseOffset, lastOffset: p.lastOffset, logAppendTime } };
  }

  private checkBatch(h: RecordBatchHeader, limits: PartitionLimits, now: number, internal: boolean): void {
    const where = `${this.topic}-${this.partition}`;
    if (h.sizeInBytes > limits.maxMessageBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `Record batch of ${h.sizeInBytes} bytes exceeds max.message.bytes ${limits.maxMessageBytes} of ${where}`);
    }
    if (h.isControl) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Clients may not produce control batches');
    if (!internal && limits.timestampType === 'CreateTime' && Number.isFinite(limits.timestampDifferenceMaxMs)) {
      if (Math.abs(h.maxTimestamp - now) > limits.timestampDifferenceMaxMs) {
        throw new KafkaError(
          ErrorCode.INVALID_TIMESTAMP,
          `Timestamp ${h.maxTimestamp} is more than message.timestamp.difference.max.ms (${limits.timestampDifferenceMaxMs}) from broker time`,
        );
      }
    }
  }

  /**
   * Writes a transaction marker (WriteTxnMarkers from the coordinator) and resolves with its
   * offset once it is committed. Refused with the error of `ProducerStateTable.checkMarker`.
   */
  writeTxnMarker(m: TxnMarkerRef): Promise<number> {
    if (this.closed) return Promise.reject(this.gone());
    if (!this.isLeader()) return Promise.reject(this.notLeader());
    const refused = this.live.checkMarker(m);
    if (refused !== null) return Promise.reject(new KafkaError(refused.code, refused.message));
    const now = this.now();
    const term = this.soft.term;
    const proposed = this.propose(buildTxnMarker(m, now), this.opts.limits().timestampType === 'LogAppendTime' ? now : -1, term);
    if (proposed === null) return Promise.reject(this.notLeader());
    // Like a produce: `live` changes before the host stores the marker (see onAppended).
    this.unstored.set(proposed.index, this.node.term);
    const r = proposed.result;
    this.live.endTransaction(m);
    this.uncommitted.push({ index: proposed.index, ref: null, marker: m, baseOffset: r.baseOffset, lastOffset: r.lastOffset });
    this.liveRecordedTo = proposed.index;
    this.opts.host.wake(this.group);
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ lastOffset: r.lastOffset, index: proposed.index, acks: -1, term, result: r, resolve, reject });
    }).then((a) => a.baseOffset);
  }

  async read(offset: number, maxBytes: number, isolation: IsolationLevel): Promise<ReadResult> {
    if (this.closed) throw this.gone();
    if (!this.isLeader()) throw this.notLeader();
    const start = this.logStartOffset();
    const end = this.logEndOffset();
    if (offset < start || offset > end) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Offset ${offset} is outside ${this.topic}-${this.partition} range [${start}, ${end}]`);
    }
    const limit = isolation === 1 ? this.lastStableOffset() : this.highWatermark();
    if (offset >= limit) return { records: EMPTY, firstOffset: offset, nextOffset: offset };
    return this.opts.log.read(offset, maxBytes, limit);
  }

  waitForData(offset: number, timeoutMs: number, signal: AbortSignal, isolation: IsolationLevel = 0): Promise<void> {
    const stable = isolation === 1;
    const bound = stable ? this.lastStableOffset() : this.hwm;
    if (bound > offset || this.closed || signal.aborted || timeoutMs <= 0 || !this.isLeader()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timers = this.opts.timers ?? realTimers;
      const done = (): void => {
        timers.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { offset, stable, wake: done };
      const timer = timers.setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
    });
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    if (this.closed) throw this.gone();
    if (!this.isLeader()) throw this.notLeader();
    const target = offset === -1 ? this.hwm : offset;
    // Never into an open transaction's data: its marker could not be matched any more.
    const open = this.committed.firstOpenOffset();
    if (open !== null && target > open) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Cannot delete records before ${target}: ${this.topic}-${this.partition} has a transaction open since ${open}`);
    }
    if (target < 0 || target > this.hwm) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records before ${offset}: ${this.topic}-${this.partition} high watermark is ${this.hwm}`,
      );
    }
    if (target > this.opts.log.logStartOffset()) await this.opts.log.advanceLogStart(target);
    return this.opts.log.logStartOffset();
  }

  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const found = await this.opts.log.offsetForTimestamp(ts);
    if (!found || found.offset >= this.hwm) return null;
    return found;
  }

  /** OffsetForLeaderEpoch from the term history. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } | null {
    return this.storage.endOffsetForEpoch(epoch);
  }

  // ------------------------------------------------------------ driven by the host

  /** Leadership or term changed. */
  onSoftState(s: SoftState): void {
    const wasLeader = this.soft.role === Role.Leader;
    this.soft = s;
    this.cursor.reset();
    if (s.role === Role.Leader && !wasLeader) {
      this.lastIndexHistory = [];
      this.caughtUpAt.clear();
      this.isrValue = [this.opts.nodeId];
      this.opts.logger.info({ topic: this.topic, partition: this.partition, epoch: s.term }, 'elected partition leader');
    }
    if (s.role !== Role.Leader) {
      if (wasLeader) this.opts.logger.info({ topic: this.topic, partition: this.partition, epoch: s.term }, 'lost partition leadership');
      this.isrValue = [];
      const lost = this.pending;
      this.pending = [];
      if (lost.length > 0) this.onceLeaderKnown(() => {
        for (const p of lost) p.reject(this.closed ? this.gone() : this.notLeader());
      });
      for (const w of [...this.waiters]) w.wake();
    }
    if (s.leader !== NONE) this.wakeLeaderWaiters();
    this.onStateChange(this);
  }

  /** Entries stored by the host (a follower's copy of its leader's): they enter `live`. */
  onAppended(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (this.unstored.size > 0 && this.replaces(e)) {
        // Another leader's entry at or below what this one proposed (and recorded in `live`):
        // forget what was recorded from there on, or a retry of a lost batch would be answered
        // as a duplicate at an offset that now holds someone else's records.
        this.onTruncated(e.index);
      } else if (this.unstored.get(e.index) === e.term) {
        this.unstored.delete(e.index);
      }
      if (e.index <= this.liveRecordedTo) continue;
      this.liveRecordedTo = e.index;
      if (!isBatchEntry(e)) continue;
      const bytes = asBuffer(e.data);
      const fx = producerEffect(bytes);
      if (fx === null) continue;
      const base = readInt64(bytes, BatchField.baseOffset);
      const last = base + bytes.readInt32BE(BatchField.lastOffsetDelta);
      const u: Uncommitted =
        fx.kind === 'data'
          ? { index: e.index, ref: fx.ref, marker: null, baseOffset: base, lastOffset: last }
          : { index: e.index, ref: null, marker: fx.marker, baseOffset: base, lastOffset: last };
      replay(this.live, u);
      this.uncommitted.push(u);
    }
  }

  /**
   * Whether storing `e` discards one of this replica's unstored proposals: one at its index with
   * another term, or one above it with an older term (terms only grow along a log, so no log
   * holding `e` can hold that proposal).
   */
  private replaces(e: Entry): boolean {
    for (const [index, term] of this.unstored) {
      if (index === e.index ? term !== e.term : index > e.index && term < e.term) return true;
    }
    return false;
  }

  /** The host truncated the log from `index` (a conflicting suffix). */
  onTruncated(index: number): void {
    for (const i of this.unstored.keys()) if (i >= index) this.unstored.delete(i);
    this.uncommitted = this.uncommitted.filter((u) => u.index < index);
    this.live = ProducerStateTable.fromSnapshot(this.committed.snapshot());
    for (const u of this.uncommitted) replay(this.live, u);
    this.liveRecordedTo = Math.min(this.liveRecordedTo, index - 1);
    this.stableIndex = Math.min(this.stableIndex, index - 1);
    this.cursor.reset();
    this.failPending((p) => p.index >= index, () => new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition}: the entry was replaced by a new leader's`));
  }

  /**
   * Where the records a snapshot stands for must be copied from, or null when this replica has
   * them (or the core will not install the snapshot: it has it committed or holds its last entry).
   */
  private recordsWanted(snap: Snapshot): { from: number; to: number } | null {
    if (snap.index <= this.node.commitIndex || this.storage.term(snap.index) === snap.term) return null;
    const data = decodePartitionSnapshot(snap.data);
    // What this replica applied is committed, so its leader holds the same batches below it. The
    // sender serves from its own log start if that is later; a compacted partition asks from its
    // committed offset whatever the snapshot says (one taken before replicated partitions were
    // compacted names the snapshot offset as log start although the records below it are kept).
    const from = this.opts.compacted() ? this.hwm : Math.max(this.hwm, data.logStartOffset);
    return from < data.offset ? { from, to: data.offset } : null;
  }

  /**
   * Consulted by the host before a message reaches the core. A snapshot that stands for records
   * this replica lacks is held back while they are copied from its sender into the staging file;
   * once they are durable the message is handed to the core again (the sender also retries it).
   */
  admit(m: Message): boolean {
    if (m.type !== MessageType.InstallSnapshot || m.snapshot === null || this.stager === null || this.closed) return true;
    const snap = m.snapshot;
    let wanted: { from: number; to: number } | null;
    try {
      wanted = this.recordsWanted(snap);
    } catch {
      return true; // the core's install reports the bad snapshot
    }
    if (wanted === null || this.stager.staged(snap) !== null) return true;
    this.stager.begin(snap, nodeIdOf(m.from), wanted.from, wanted.to, (ok) => {
      if (!ok || this.closed) return;
      if (this.opts.host.receive) this.opts.host.receive(nodeIdOf(m.from), [m]);
      else if (this.node.step(m)) this.opts.host.wake(this.group);
    });
    return false;
  }

  /** A snapshot from the leader: install it (the log restarts where it says) and reset to it. */
  async installSnapshot(snap: Snapshot): Promise<void> {
    const data = decodePartitionSnapshot(snap.data);
    const wanted = this.stager === null ? null : this.recordsWanted(snap);
    const records = this.stager?.take(snap) ?? null;
    try {
      if (wanted !== null && (records === null || records.from > wanted.from)) {
        // admit() lets no such snapshot through before its records are staged.
        throw new Error(`${this.topic}-${this.partition}: snapshot ${snap.index} stands for records from ${wanted.from} that were not copied`);
      }
      await this.storage.installSnapshot(snap, data.offset, records);
    } finally {
      this.stager?.release();
    }
    if (data.logStartOffset > this.opts.log.logStartOffset()) await this.opts.log.advanceLogStart(Math.min(data.logStartOffset, data.offset));
    // Nothing below the snapshot is read here any more; what follows it is applied afresh.
    await this.opts.txnIndex.reset();
    this.onSnapshotInstalled(snap, data.producers);
  }

  /**
   * A peer installing a snapshot of this partition asks for the records it stands for: the
   * committed batches of [from, to) as stored here, in replies of about maxBytes (capped), a
   * batch larger than that in pieces when the peer takes them.
   */
  async recordsFor(req: RecordsRequest): Promise<RecordsReply> {
    if (this.closed) throw this.gone();
    if (req.to > this.hwm) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `${this.topic}-${this.partition}: records up to ${req.to} asked for, broker ${this.opts.nodeId} has them committed up to ${this.hwm}`);
    }
    // A log start moved on since the snapshot was taken (DeleteRecords, retention): from there.
    const from = Math.max(req.from, this.opts.log.logStartOffset());
    if (from >= req.to) return { next: req.to, batches: EMPTY };
    const maxBytes = Math.min(req.maxBytes, MAX_RECORDS_CHUNK_BYTES);
    if (req.skip !== undefined) {
      // The header first: a batch larger than the reply is read a piece at a time, never whole.
      const probe = await this.opts.log.readStoredPiece(from, 0, 0);
      if (probe === null || probe.header.lastOffset >= req.to) return { next: req.to, batches: EMPTY };
      const h = probe.header;
      if (req.skip > 0 || h.sizeInBytes > maxBytes) {
        if (req.skip >= h.sizeInBytes) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `${this.topic}-${this.partition}: skip ${req.skip} of batch ${h.baseOffset}, which has ${h.sizeInBytes} bytes`);
        }
        const piece = await this.opts.log.readStoredPiece(from, req.skip, maxBytes);
        if (piece === null || piece.header.baseOffset !== h.baseOffset || piece.header.crc !== h.crc) {
          throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${this.topic}-${this.partition}: batch ${h.baseOffset} changed while it was read; ask again`);
        }
        const done = req.skip + piece.bytes.length >= h.sizeInBytes;
        return {
          next: done ? h.lastOffset + 1 : from,
          piece: { baseOffset: h.baseOffset, lastOffset: h.lastOffset, size: h.sizeInBytes, crc: h.crc, at: req.skip },
          batches: piece.bytes,
        };
      }
      const r = await this.opts.log.readStored(from, maxBytes);
      return cutReply(r.records, from, req.to, maxBytes);
    }
    const r = await this.opts.log.readStored(from, maxBytes);
    return cutReply(r.records, from, req.to, maxBytes);
  }

  onTick(): void {
    this.updateIsr();
  }

  /**
   * Reads the next `maxBytes` of this replica's committed log back from disk (readStored checks
   * every batch's framing and CRC, reading a bad one again), and that offsets only go forward.
   * Damage that every read shows fails the group, whose replica is then opened again and cuts its
   * log there (replica-revival.ts). Passes run from the oldest stored offset to the high
   * watermark and start over; returns the bytes read.
   */
  async scrub(maxBytes: number, at?: number): Promise<number> {
    if (this.closed) return 0;
    const first = this.opts.log.segmentBaseOffsets()[0] ?? 0;
    const end = this.hwm;
    if (at !== undefined) this.scrubNext = at;
    if (this.scrubNext < first || this.scrubNext >= end) this.scrubNext = first;
    const from = this.scrubNext;
    if (from >= end) return 0;
    // Only compaction leaves gaps between batches; in any other log a gap is a batch gone.
    const gapsAllowed = this.opts.compacted() || from < this.opts.log.logStartOffset();
    try {
      const r = await this.opts.log.readStored(from, maxBytes);
      if (this.closed) return 0;
      let expect = from;
      let firstBatch = true;
      for (const h of validateBatches(r.records)) {
        if (h.lastOffset < from) continue;
        const back = h.baseOffset < expect && !firstBatch;
        const gap = h.baseOffset > expect && !gapsAllowed && h.baseOffset < end;
        if (back || gap) {
          throw new CorruptStoredBatch(this.opts.log.dir, expect, `log ${this.opts.log.dir}: the batch at ${h.baseOffset} ${back ? 'goes back before' : 'leaves out'} ${expect}`);
        }
        firstBatch = false;
        expect = h.lastOffset + 1;
      }
      this.scrubNext = r.records.length === 0 ? first : Math.max(expect, r.nextOffset);
      return r.records.length;
    } catch (err) {
      if (err instanceof CorruptStoredBatch) {
        if (this.closed) return 0;
        if (this.node.conf.voters.length <= 1) {
          // No peer holds a copy: cutting would only lose the good batches after the damage.
          if (this.scrubDamage !== err.offset) {
            this.opts.logger.error({ err, topic: this.topic, partition: this.partition }, 'scrub found a stored batch damaged for good, and no other replica to recover it from');
          }
          this.scrubDamage = err.offset;
        } else {
          this.opts.logger.error({ err, topic: this.topic, partition: this.partition }, 'scrub found a stored batch damaged for good: the replica recovers its log from there');
          this.opts.host.failGroup?.(this.group, err);
        }
      } else if (!(err instanceof KafkaError)) {
        throw err;
      }
      // Moved on meanwhile (retention, truncation, closing): the next pass starts over.
      this.scrubNext = first;
      return 0;
    }
  }

  /**
   * Retention (retention.ms / retention.bytes, and whole segments below the log start offset):
   * the raft log is compacted into a snapshot up to the first segment retention keeps, then the
   * segments below it are deleted. Only committed, applied entries are compacted; what is not yet
   * applied waits for a later pass. Each replica does this on its own; a follower that needs
   * what its leader dropped gets the snapshot (log start offset and producer state, no records).
   */
  async applyRetention(now: number): Promise<number> {
    if (this.closed) return 0;
    const retained = this.opts.log.retentionTarget(now);
    let target = retained;
    // The log cleaner may only rewrite what the raft log no longer holds, so a compacted
    // partition compacts its raft log up to its newest segment that holds only applied
    // (committed) entries. A follower that then needs what lies below gets a snapshot and copies
    // those records from its leader (admit); without a way to copy them only a partition with no
    // other replicas does this.
    if (this.opts.compacted() && (this.stager !== null || this.replicas().length === 1)) {
      const bound = Math.min(this.storage.offsetAfter(this.appliedIndex) ?? this.storage.snapshotOffset(), this.inSyncFloor());
      for (const base of this.opts.log.segmentBaseOffsets()) if (base <= bound && base > target) target = base;
    }
    if (target > this.storage.snapshotOffset()) {
      const index = await this.storage.indexAt(target);
      if (index !== null && index - 1 <= this.appliedIndex && index - 1 > this.storage.snapshot().index) {
        const conf = this.storage.confEntryAt(index - 1);
        const data = encodePartitionSnapshot({
          offset: target,
          // Where retention leaves the log start: a compacted partition keeps what lies below.
          logStartOffset: Math.max(this.opts.log.logStartOffset(), retained),
          producers: this.producersAt(target),
        });
        // Aborts below the snapshot are no longer rebuilt from the log on start-up: on disk first.
        await this.opts.txnIndex.persist(this.opts.log.segmentBaseOffsets());
        await this.storage.compactTo(index - 1, conf === null ? this.storage.snapshot().conf : decodeConfChange(conf.data).conf, data);
        this.opts.log.setDeletionFloor(target);
        this.closedTxns = this.closedTxns.filter((c) => c.markerOffset >= target);
      }
    }
    this.opts.log.setCleanableBelow(this.storage.snapshotOffset());
    const deleted = await this.opts.log.applyRetention(now);
    if (deleted > 0) {
      this.opts.txnIndex.dropBelow(this.opts.log.logStartOffset());
      await this.opts.txnIndex.persist(this.opts.log.segmentBaseOffsets());
    }
    return deleted;
  }

  /**
   * Leading: the offset every in-sync follower has reached, so compaction for the cleaner never
   * sends one that merely lags a little under load to a snapshot and a copy of the records (one
   * out of the ISR gets them). Infinity elsewhere: a follower's compaction concerns nobody else.
   */
  private inSyncFloor(): number {
    if (!this.isLeader()) return Infinity;
    let floor = Infinity;
    for (const nodeId of this.isrValue) {
      if (nodeId === this.opts.nodeId) continue;
      const match = this.node.progressOf(raftId(nodeId))?.match ?? 0;
      floor = Math.min(floor, this.storage.offsetAfter(match) ?? this.storage.snapshotOffset());
    }
    return floor;
  }

  private onSnapshotInstalled(snap: Snapshot, producers: ProducerStateTable): void {
    this.committed = producers;
    this.live = ProducerStateTable.fromSnapshot(producers.snapshot());
    this.uncommitted = [];
    this.closedTxns = [];
    this.unstored.clear();
    this.appliedIndex = snap.index;
    this.liveRecordedTo = snap.index;
    this.stableIndex = snap.index;
    this.hwm = this.storage.snapshotOffset();
    this.appliedOffset = this.hwm;
  }

  /** Everything up to `index` is durable in the local log. */
  onStable(index: number): void {
    if (index <= this.stableIndex) return;
    this.stableIndex = index;
    this.settlePending();
  }

  /**
   * Leading: `index` is committed (a quorum has it durable, this replica included), so what it
   * covers may be acknowledged and read before the entries are applied.
   */
  onLeaderCommit(index: number): void {
    if (this.soft.role !== Role.Leader || index > this.storage.lastIndex()) return;
    const hwm = this.storage.offsetAfter(index);
    if (hwm === null || hwm <= this.hwm) return;
    this.hwm = hwm;
    this.wakeWaiters();
    this.settlePending();
  }

  /** Wakes the long polls whose bound (high watermark, or last stable offset) passed their offset. */
  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const lso = this.lastStableOffset();
    for (const w of [...this.waiters]) if (w.offset < (w.stable ? lso : this.hwm)) w.wake();
  }

  /** Committed entries, in order. */
  apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const lastIndex = (entries[entries.length - 1] as Entry).index;
    for (const e of entries) {
      if (!isBatchEntry(e)) continue;
      const bytes = asBuffer(e.data);
      const fx = producerEffect(bytes);
      if (fx === null) continue;
      const base = readInt64(bytes, BatchField.baseOffset);
      if (fx.kind === 'data') this.committed.record(fx.ref, base, base + bytes.readInt32BE(BatchField.lastOffsetDelta));
      else this.applyMarker(fx.marker, base);
    }
    let k = 0;
    while (k < this.uncommitted.length && (this.uncommitted[k] as Uncommitted).index <= lastIndex) k++;
    if (k > 0) this.uncommitted.splice(0, k);
    this.appliedIndex = lastIndex;
    const hwm = this.storage.offsetAfter(lastIndex);
    if (hwm === null) throw new Error(`${this.topic}-${this.partition}: no offset known after applied entry ${lastIndex}`);
    this.appliedOffset = hwm;
    if (hwm > this.hwm) this.hwm = hwm;
    this.wakeWaiters();
    this.settlePending();
  }

  /**
   * Whether a segment starts inside the closed transaction (after its first offset, at or before
   * its marker): only then can a snapshot be taken while it was open (snapshots are taken at
   * segment starts, and segments rolled later start after the marker).
   */
  private spansSegmentBase(c: ClosedTxn): boolean {
    if (c.firstOffset < 0) return false;
    return this.opts.log.segmentBaseOffsets().some((b) => b > c.firstOffset && b <= c.markerOffset);
  }

  /** A committed marker at `offset`: the transaction is decided; an abort goes into the index. */
  private applyMarker(m: TxnMarkerRef, offset: number): void {
    const ended = this.committed.endTransaction(m);
    const closed: ClosedTxn = { producerId: ended.producerId, firstOffset: ended.firstOffset, markerOffset: offset };
    if (this.spansSegmentBase(closed)) this.closedTxns.push(closed);
    if (!ended.commit && ended.firstOffset >= 0) {
      const open = this.committed.firstOpenOffset();
      this.opts.txnIndex.add({ producerId: ended.producerId, firstOffset: ended.firstOffset, lastOffset: offset, lastStableOffset: open ?? offset + 1 });
    }
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** Leader, every tick: ISR from how recently each voter matched the leader's log. */
  updateIsr(): void {
    if (this.soft.role !== Role.Leader) return;
    const now = this.now();
    const lag = this.opts.replicaLagTimeMaxMs;
    const last = this.node.lastIndex;
    const hist = this.lastIndexHistory;
    if (hist.length === 0 || (hist[hist.length - 1] as { index: number }).index !== last) hist.push({ at: now, index: last });
    while (hist.length > 1 && (hist[1] as { at: number }).at < now - lag) hist.shift();
    const isr = [this.opts.nodeId];
    for (const v of this.node.conf.voters) {
      if (v === this.selfId) continue;
      const pr = this.node.progressOf(v);
      if (pr === undefined) continue;
      // Caught up as of the newest moment whose last index the follower has reached.
      for (let i = hist.length - 1; i >= 0; i--) {
        const h = hist[i] as { at: number; index: number };
        if (pr.match >= h.index) {
          const prev = this.caughtUpAt.get(v) ?? 0;
          if (i === hist.length - 1) this.caughtUpAt.set(v, now);
          else if (h.at > prev) this.caughtUpAt.set(v, h.at);
          break;
        }
      }
      const at = this.caughtUpAt.get(v);
      if (at !== undefined && now - at <= lag) isr.push(nodeIdOf(v));
    }
    isr.sort((a, b) => a - b);
    if (isr.length !== this.isrValue.length || isr.some((v, i) => v !== this.isrValue[i])) {
      this.isrValue = isr;
      this.onStateChange(this);
    }
  }

  private settlePending(): void {
    if (this.pending.length === 0) return;
    const keep: PendingAck[] = [];
    for (const p of this.pending) {
      const done = p.acks === -1 ? this.hwm > p.lastOffset : this.stableIndex >= p.index;
      if (done) p.resolve(p.result);
      else keep.push(p);
    }
    this.pending = keep;
  }

  private failPending(which: (p: PendingAck) => boolean, err: () => Error): void {
    if (this.pending.length === 0) return;
    const keep: PendingAck[] = [];
    for (const p of this.pending) {
      if (which(p)) p.reject(err());
      else keep.push(p);
    }
    this.pending = keep;
  }

  /** Stops serving: pending produces fail with NOT_LEADER_OR_FOLLOWER, long polls wake. */
  /** This replica's log (replica-revival.ts closes it to open the replica again). */
  get dataLog(): PartitionDataLog {
    return this.opts.log;
  }

  close(deleted = false): void {
    if (this.closed) return;
    this.closed = true;
    this.stager?.close();
    this.deleted = deleted;
    this.failPending(() => true, () => this.gone());
    for (const w of [...this.waiters]) w.wake();
    this.wakeLeaderWaiters();
  }

  private wakeLeaderWaiters(): void {
    const waiters = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const w of waiters) w();
  }
}

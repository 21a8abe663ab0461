/**
 * A raft group that replicates commands to an in-memory state machine (the cluster metadata
 * image): each command is the value of a one-record batch in the group's own log, every replica
 * applies the committed commands in order, and the log is compacted into a snapshot of the
 * state every `snapshotEvery` entries. After a restart the state is restored from the snapshot
 * and the entries after it are replayed.
 */
import type { Logger } from 'pino';
import { buildRecordBatch, decodeRecords } from '../kafka/protocol/records.js';
import { decodeConfChange } from '../raft/membership.js';
import type { RaftNode } from '../raft/raft.js';
import { NONE, Role, type ConfState, type Entry, type Snapshot, type SoftState } from '../raft/types.js';
import { isBatchEntry } from './control-entries.js';
import type { PartitionRaftStorage } from './partition-raft-storage.js';
import { ProposalCursor } from './proposal-cursor.js';
import type { GroupMachine } from './raft-host.js';

/** The replicated state: deterministic, in memory, serialisable. */
export interface ReplicatedState {
  /** Applies one committed command; must not throw for a command the leader accepted. */
  apply(command: Buffer, index: number): void;
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array): void;
}

export interface StateMachineLog {
  advanceLogStart(offset: number): Promise<void>;
  setDeletionFloor(offset: number): void;
}

export interface StateMachineReplicaOptions {
  readonly group: number;
  readonly nodeId: number;
  readonly node: RaftNode;
  readonly storage: PartitionRaftStorage;
  readonly log: StateMachineLog;
  readonly host: { wake(group: number): void };
  readonly state: ReplicatedState;
  readonly logger: Logger;
  readonly snapshotEvery?: number;
}

export class NotLeaderError extends Error {
  constructor(readonly leader: number | null) {
    super(leader === null ? 'no leader is known for the group' : `broker ${leader} leads the group`);
    this.name = 'NotLeaderError';
  }
}

interface PendingProposal {
  readonly index: number;
  readonly term: number;
  resolve(index: number): void;
  reject(err: Error): void;
}

interface AppliedWaiter {
  readonly index: number;
  resolve(): void;
}

const SNAPSHOT_VERSION = 1;

/** Snapshot data: version, the offset where the log continues, the state's own bytes. */
export function encodeStateSnapshot(offset: number, state: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(12 + state.length);
  out.writeUInt32BE(SNAPSHOT_VERSION, 0);
  out.writeDoubleBE(offset, 4);
  out.set(state, 12);
  return out;
}

export function decodeStateSnapshot(data: Uint8Array): { offset: number; state: Uint8Array } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (b.length < 12 || b.readUInt32BE(0) !== SNAPSHOT_VERSION) throw new Error('state snapshot has an unknown format');
  const offset = b.readDoubleBE(4);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`state snapshot names offset ${offset}`);
  return { offset, state: b.subarray(12) };
}

export class StateMachineReplica implements GroupMachine {
  readonly group: number;
  readonly node: RaftNode;
  readonly storage: PartitionRaftStorage;
  private readonly opts: StateMachineReplicaOptions;
  private readonly cursor: ProposalCursor;
  private soft: SoftState = { leader: NONE, role: Role.Follower, term: 0 };
  private appliedIndex: number;
  private pending: PendingProposal[] = [];
  private waiters: AppliedWaiter[] = [];
  private compacting = false;
  private closed = false;
  /** Leadership changes (the controller role follows the metadata group's leader). */
  onLeaderChange: (leader: number | null, term: number) => void = () => undefined;

  constructor(opts: StateMachineReplicaOptions) {
    this.opts = opts;
    this.group = opts.group;
    this.node = opts.node;
    this.storage = opts.storage;
    this.cursor = new ProposalCursor(opts.node, opts.storage);
    const snap = opts.storage.snapshot();
    if (snap.index > 0) opts.state.restore(decodeStateSnapshot(snap.data).state);
    this.appliedIndex = snap.index;
    opts.log.setDeletionFloor(opts.storage.snapshotOffset());
  }

  isLeader(): boolean {
    return this.soft.role === Role.Leader;
  }

  /** Node id of the leader, or null. */
  leader(): number | null {
    return this.soft.leader === NONE ? null : this.soft.leader - 1;
  }

  term(): number {
    return this.soft.term;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /**
   * Proposes one command, or several applied together; resolves with the entry's index once this
   * replica applied it, rejects with
   * NotLeaderError when this replica does not lead, or when the entry was replaced.
   */
  propose(command: Buffer | readonly Buffer[]): Promise<number> {
    if (this.closed || !this.isLeader()) return Promise.reject(new NotLeaderError(this.leader()));
    const commands = Buffer.isBuffer(command) ? [command] : command;
    if (commands.length === 0) return Promise.reject(new Error('propose: no commands'));
    // Several commands in one entry are applied together (one batch, one raft entry).
    const batch = buildRecordBatch({ records: commands.map((value) => ({ value, timestamp: 0 })) });
    const p = this.cursor.propose(batch, this.soft.term);
    if (p === null) return Promise.reject(new NotLeaderError(this.leader()));
    this.opts.host.wake(this.group);
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ index: p.index, term: this.soft.term, resolve, reject });
    });
  }

  /** Runs a host turn soon (after a membership change proposed straight on the core). */
  wakeHost(): void {
    this.opts.host.wake(this.group);
  }

  /** Resolves once the replica has applied `index` (or at once if it has). */
  waitApplied(index: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }

  // ------------------------------------------------------------ GroupMachine

  onSoftState(s: SoftState): void {
    const changed = s.leader !== this.soft.leader || s.term !== this.soft.term;
    this.soft = s;
    this.cursor.reset();
    if (changed) this.onLeaderChange(this.leader(), s.term);
  }

  onAppended(): void {
    // The state changes only on commit.
  }

  onTruncated(index: number): void {
    this.cursor.reset();
    const keep: PendingProposal[] = [];
    for (const p of this.pending) {
      if (p.index >= index) p.reject(new NotLeaderError(this.leader()));
      else keep.push(p);
    }
    this.pending = keep;
  }

  async installSnapshot(snap: Snapshot): Promise<void> {
    const { offset, state } = decodeStateSnapshot(snap.data);
    await this.storage.installSnapshot(snap, offset);
    this.opts.state.restore(state);
    this.appliedIndex = snap.index;
    this.opts.log.setDeletionFloor(offset);
    this.onTruncated(snap.index + 1);
    this.releaseWaiters();
  }

  onStable(): void {
    // Proposals answer on apply.
  }

  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (isBatchEntry(e)) {
        const batch = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length);
        for (const r of decodeRecords(batch, 0).records) {
          if (r.value !== null) this.opts.state.apply(r.value, e.index);
        }
      }
      this.appliedIndex = e.index;
      while (this.pending.length > 0 && (this.pending[0] as PendingProposal).index <= e.index) {
        const p = this.pending.shift() as PendingProposal;
        if (p.index === e.index && p.term === e.term) p.resolve(p.index);
        else p.reject(new NotLeaderError(this.leader()));
      }
    }
    this.releaseWaiters();
    this.maybeCompact();
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: AppliedWaiter[] = [];
    for (const w of this.waiters) {
      if (this.appliedIndex >= w.index) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private confAt(index: number): ConfState {
    const c = this.storage.confEntryAt(index);
    return c === null ? this.storage.snapshot().conf : decodeConfChange(c.data).conf;
  }

  private maybeCompact(): void {
    const every = this.opts.snapshotEvery ?? 1000;
    const index = this.appliedIndex;
    if (this.compacting || index - this.storage.snapshot().index < every) return;
    const offset = this.storage.offsetAfter(index);
    if (offset === null) return;
    // The state is taken now, at exactly `index`; writing it may finish after later applies.
    const data = encodeStateSnapshot(offset, this.opts.state.snapshot());
    const conf = this.confAt(index);
    this.compacting = true;
    void (async () => {
      try {
        await this.storage.compactTo(index, conf, data);
        this.opts.log.setDeletionFloor(offset);
        await this.opts.log.advanceLogStart(offset);
      } catch (err) {
        this.opts.logger.error({ err, group: this.group, index }, 'compacting the state machine log failed');
      } finally {
        this.compacting = false;
      }
    })();
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(new NotLeaderError(null));
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}

/**
 * The controller's part of the admin service: the requests (decommission, cancel, add broker,
 * rebalance, a partition leader's report that a move is done) and the long operations it drives
 * on every reconcile pass.
 *
 * Decommission lives entirely in the image: the broker's state (decommissioning) and the
 * reassignments in progress. Each pass recomputes the next step from them (decommission-plan,
 * admin-commands), so a new controller after a failover continues where the old one was. The
 * last steps: once no replica is left and the metadata voter intent no longer names the broker,
 * and the voters it does name all vote, the broker is recorded as removed; the controller's
 * membership reconciliation then takes it out of the metadata group.
 *
 * A rebalance's progress is in the image too (set-rebalance), written with each round's moves,
 * so a new controller goes on planning rounds of the run the old one started. Which of the
 * moves in progress a run started is the one thing kept in memory; a new controller counts
 * every move in progress at its takeover as the run's (a decommission's moves running at the
 * same time may so count as done a little early; done never passes planned).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { raftId } from '../replication/raft-partition.js';
import type { StateMachineReplica } from '../replication/state-machine-replica.js';
import {
  beginDecommission,
  completeDecommission,
  completePartitionReassignment,
  decommissionStep,
  reassignPartition,
  reconcileMetadataVoters,
  type DecommissionProgress,
} from './admin-commands.js';
import type { CommandResult } from './controller-commands.js';
import type { AdminRequest, ControllerReply } from './controller-protocol.js';
import { handOver, successorOf } from './leadership.js';
import type { MetadataRecord, RunningRebalanceMove, RebalanceProgress } from './metadata-records.js';
import { applyMetadataRecord, reassignmentInProgress, targetReplicas, type MetadataState } from './metadata-state.js';
import { beginReassignment, cancelReassignment } from './reassignment.js';
import { planRebalance } from './rebalance-plan.js';

/** Replicas being copied off a decommissioning broker at once. */
export const DECOMMISSION_CONCURRENT_MOVES = 4;
/** Rebalance's bound on concurrent replica moves when the request leaves it to the controller. */
export const DEFAULT_REBALANCE_MOVES = 4;
export const MAX_CONCURRENT_MOVES = 64;

export interface RebalanceStatusValue {
  readonly id: string;
  readonly inProgress: boolean;
  readonly movesPlanned: number;
  readonly movesDone: number;
  readonly done: boolean;
}

export interface AdminOperationsOptions {
  readonly nodeId: number;
  readonly image: () => MetadataState;
  /** The metadata group (its Raft configuration, and leadership to hand over). */
  readonly replica: StateMachineReplica;
  /** Proposes records and resolves once they are applied here, with the entry's index. */
  readonly commit: (records: readonly MetadataRecord[]) => Promise<number>;
  readonly logger: Logger;
}

type RunningMove = RunningRebalanceMove;

function keyOf(topic: string, topicId: string, partition: number): string {
  return `${topicId}/${topic}/${partition}`;
}

function anyReassignment(state: MetadataState): boolean {
  for (const t of state.topics.values()) for (const p of t.partitionImages) if (reassignmentInProgress(p)) return true;
  return false;
}

function reassignmentsInProgress(state: MetadataState): Map<string, RunningMove> {
  const out = new Map<string, RunningMove>();
  for (const t of state.topics.values()) {
    t.partitionImages.forEach((p, partition) => {
      if (reassignmentInProgress(p)) out.set(keyOf(t.name, t.topicId, partition), { topic: t.name, topicId: t.topicId, partition });
    });
  }
  return out;
}

/**
 * CancelDecommission without ever dropping below the replication factor: each running move off
 * the broker is turned around (a reassignment back to the replicas it started from) rather than
 * dropped. A move that already replaced the broker's replica in the partition's Raft group
 * then re-adds it before the replacement leaves; simply restoring the old replica list would
 * close the replacement while it still held one of the group's votes. Partitions already moved
 * stay where they are.
 */
export function revertDecommission(state: MetadataState, nodeId: number): CommandResult<undefined> {
  const b = state.brokers.get(nodeId);
  if (!b) return { ok: false, error: new KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${nodeId} is not registered`) };
  if (b.state === 'active') return { ok: true, records: [], value: undefined };
  if (b.state === 'removed') return { ok: false, error: new KafkaError(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} has already been removed`) };
  const records: MetadataRecord[] = [{ type: 'set-broker-state', nodeId, state: 'active' }];
  for (const t of state.topics.values()) {
    t.partitionImages.forEach((p, partition) => {
      if (!p.removingReplicas.includes(nodeId)) return;
      records.push(beginReassignment(t.name, partition, p, cancelReassignment(t.name, partition, p).replicas));
    });
  }
  return { ok: true, records, value: undefined };
}

/** GetRebalanceStatus from an image: any broker answers it from its own, with or without a controller. */
export function rebalanceStatusOf(image: MetadataState): RebalanceStatusValue {
  const r = image.rebalance;
  if (!r) {
    const moving = anyReassignment(image);
    return { id: '', inProgress: moving, movesPlanned: 0, movesDone: 0, done: !moving };
  }
  return { id: r.id, inProgress: !r.finished, movesPlanned: r.planned, movesDone: r.done, done: r.finished };
}

export class AdminOperations {
  /** The replica moves the current rebalance run started and not yet seen finished, by partition key. */
  private running = new Map<string, RunningMove>();
  /** The run `running` belongs to; another id (a new run, or a run this controller took over) starts it afresh. */
  private runningFor: string | null = null;

  constructor(private readonly o: AdminOperationsOptions) {}

  /** Serves one admin request (the controller holds its lock); KafkaErrors become error replies. */
  async execute(req: AdminRequest): Promise<ControllerReply> {
    switch (req.op) {
      case 'complete-reassignment':
        return this.completeReassignment(req);
      case 'decommission': {
        await this.apply(beginDecommission(this.o.image(), req.nodeId));
        const index = await this.apply(decommissionStep(this.o.image(), req.nodeId, DECOMMISSION_CONCURRENT_MOVES));
        return { ok: true, index, value: null };
      }
      case 'cancel-decommission':
        return { ok: true, index: await this.apply(revertDecommission(this.o.image(), req.nodeId)), value: null };
      case 'add-broker': {
        const registered = this.o.image().brokers.get(req.nodeId);
        // Not started yet: it registers itself when it starts, and membership follows from that.
        if (!registered || registered.state === 'removed') return { ok: true, index: this.o.replica.applied, value: false };
        return { ok: true, index: await this.apply(reconcileMetadataVoters(this.o.image())), value: true };
      }
      case 'rebalance':
        return await this.startRebalance(req.leadersOnly, req.maxConcurrentMoves);
      case 'rebalance-status':
        return { ok: true, index: this.o.replica.applied, value: this.rebalanceStatus() };
    }
  }

  /** One pass of the long operations (called on the controller's reconcile timer, under its lock). */
  async reconcile(): Promise<void> {
    for (const b of [...this.o.image().brokers.values()]) {
      if (b.state === 'decommissioning') await this.decommissionPass(b.nodeId);
    }
    await this.rebalancePass();
  }

  /** Proposes a command's records (if any); returns the index the caller's image must reach. */
  private async apply<T>(r: CommandResult<T>): Promise<number> {
    if (!r.ok) throw r.error;
    if (r.records.length === 0) return this.o.replica.applied;
    return this.o.commit(r.records);
  }

  private async completeReassignment(req: Extract<AdminRequest, { op: 'complete-reassignment' }>): Promise<ControllerReply> {
    const image = this.o.image();
    const t = image.topics.get(req.topic);
    if (!t || t.topicId !== req.topicId) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, `Topic '${req.topic}' with id ${req.topicId} does not exist`);
    const p = t.partitionImages[req.partition];
    if (!p) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${req.topic}' has no partition ${req.partition}`);
    if (!reassignmentInProgress(p)) return { ok: true, index: this.o.replica.applied, value: null };
    const target = targetReplicas(p);
    if (!Array.isArray(req.replicas) || req.replicas.length !== target.length || !target.every((id) => req.replicas.includes(id))) {
      throw new KafkaError(
        ErrorCode.POLICY_VIOLATION,
        `${req.topic}-${req.partition}: voters [${String(req.replicas)}] are not the reassignment's target [${target.join(',')}]`,
      );
    }
    return { ok: true, index: await this.apply(completePartitionReassignment(image, req.topic, req.partition)), value: null };
  }

  private async decommissionPass(nodeId: number): Promise<void> {
    let step: CommandResult<DecommissionProgress>;
    step = decommissionStep(this.o.image(), nodeId, DECOMMISSION_CONCURRENT_MOVES);
    if (!step.ok) {
      this.o.logger.debug({ broker: nodeId, reason: step.error.message }, 'decommission cannot proceed');
      return;
    }
    if (step.records.length > 0) {
      await this.o.commit(step.records);
      step = decommissionStep(this.o.image(), nodeId, DECOMMISSION_CONCURRENT_MOVES);
      if (!step.ok) return;
    }
    if (step.value.phase !== 'ready-to-remove') return;
    const node = this.o.replica.node;
    const image = this.o.image();
    // The seat it leaves is taken first: every voter of the intent votes already.
    if (!image.metadataVoters.every((id) => node.conf.voters.includes(raftId(id)))) return;
    if (nodeId === this.o.nodeId) {
      const to = successorOf(node, (id) => image.metadataVoters.includes(id), image.metadataVoters);
      if (to !== null && handOver(node, to)) {
        this.o.logger.info({ to }, 'this broker is leaving: handing the controller role over first');
        this.o.replica.wakeHost();
      }
      return;
    }
    const removed = completeDecommission(image, nodeId);
    if (!removed.ok) {
      this.o.logger.debug({ broker: nodeId, reason: removed.error.message }, 'decommission not complete yet');
      return;
    }
    if (removed.records.length === 0) return;
    await this.o.commit(removed.records);
    this.o.logger.info({ broker: nodeId }, 'broker decommissioned: it holds no replicas and leaves the metadata group');
  }

  private async startRebalance(leadersOnly: boolean, maxConcurrentMoves: number): Promise<ControllerReply> {
    const current = this.o.image().rebalance;
    if (current && !current.finished) return { ok: true, index: this.o.replica.applied, value: this.rebalanceStatus() };
    if (!Number.isInteger(maxConcurrentMoves) || maxConcurrentMoves < 0 || maxConcurrentMoves > MAX_CONCURRENT_MOVES) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `maxConcurrentMoves must be 0-${MAX_CONCURRENT_MOVES}, got ${maxConcurrentMoves}`);
    }
    const progress: RebalanceProgress = {
      id: randomUUID(),
      leadersOnly,
      maxMoves: maxConcurrentMoves === 0 ? DEFAULT_REBALANCE_MOVES : maxConcurrentMoves,
      planned: 0,
      done: 0,
      finished: false,
    };
    const index = await this.o.commit([{ type: 'set-rebalance', progress }]);
    this.running = new Map();
    this.runningFor = progress.id;
    this.o.logger.info({ id: progress.id, leadersOnly, maxMoves: progress.maxMoves }, 'rebalance started');
    // The first round is planned by the next reconcile pass, a moment away.
    return { ok: true, index, value: this.rebalanceStatus() };
  }

  rebalanceStatus(): RebalanceStatusValue {
    return rebalanceStatusOf(this.o.image());
  }

  private async rebalancePass(): Promise<void> {
    const image = this.o.image();
    const r = image.rebalance;
    if (!r || r.finished) return;
    if (this.runningFor !== r.id) {
      // The run's own list when it has one: a move that finished since the last count is still
      // on it, and is counted below.
      this.running = r.moving ? new Map(r.moving.map((m) => [keyOf(m.topic, m.topicId, m.partition), m])) : reassignmentsInProgress(image);
      this.runningFor = r.id;
      this.o.logger.info({ id: r.id, planned: r.planned, done: r.done, moving: this.running.size }, 'continuing a rebalance started by an earlier controller');
    }
    let planned = r.planned;
    let done = r.done;
    // Counted into a copy: a commit that fails leaves `running` as the record still has it.
    const stillRunning = new Map(this.running);
    for (const [key, m] of this.running) {
      const t = image.topics.get(m.topic);
      const p = t?.topicId === m.topicId ? t.partitionImages[m.partition] : undefined;
      if (!p || !reassignmentInProgress(p)) {
        stillRunning.delete(key);
        done = Math.min(planned, done + 1);
      }
    }
    const plan = planRebalance(image, r.leadersOnly ? { maxConcurrentMoves: 0 } : { maxConcurrentMoves: r.maxMoves });
    const records: MetadataRecord[] = [];
    const started: [string, RunningMove][] = [];
    let scratch = image;
    for (const m of plan.moves) {
      const res = reassignPartition(scratch, m.topic, m.partition, m.targetReplicas);
      if (!res.ok) {
        this.o.logger.warn({ topic: m.topic, partition: m.partition, reason: res.error.message }, 'rebalance move refused');
        continue;
      }
      for (const rec of res.records) {
        scratch = applyMetadataRecord(scratch, rec);
        records.push(rec);
      }
      planned++;
      if (m.kind === 'move-replicas') started.push([keyOf(m.topic, m.topicId, m.partition), { topic: m.topic, topicId: m.topicId, partition: m.partition }]);
      else done++;
    }
    const finished = records.length === 0 && stillRunning.size === 0 && !anyReassignment(image);
    if (records.length === 0 && !finished && planned === r.planned && done === r.done) {
      this.running = stillRunning;
      return;
    }
    for (const [key, m] of started) stillRunning.set(key, m);
    // The round's moves and the counters that include them commit in one entry.
    records.push({ type: 'set-rebalance', progress: { ...r, planned, done, finished, moving: [...stillRunning.values()] } });
    await this.o.commit(records);
    this.running = stillRunning;
    if (finished) this.o.logger.info({ id: r.id, moves: planned }, 'rebalance done');
    else if (started.length > 0 || records.length > 1) this.o.logger.info({ id: r.id, moves: plan.moves.length, planned, done }, 'rebalance round planned');
  }
}

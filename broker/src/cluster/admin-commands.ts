/**
 * Controller commands behind the admin service (admin.proto): decommission, partition
 * reassignment and the metadata voter intent. Like controller-commands, pure: they validate
 * against the image and return the records to propose, or a KafkaError whose code
 * adminStatusOf maps to the gRPC status the admin service answers with.
 *
 * Long operations are a sequence of steps, each recomputed from the image, so a new controller
 * after a failover continues where the old one was.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { CommandResult } from './controller-commands.js';
import { planDecommission, type DecommissionPlan } from './decommission-plan.js';
import type { MetadataRecord } from './metadata-records.js';
import { hostsReplicas, reassignmentInProgress, type MetadataState, type PartitionImage } from './metadata-state.js';
import { planMetadataVoters } from './metadata-voters.js';
import { beginReassignment, cancelReassignment, completeReassignment } from './reassignment.js';

export type AdminStatus = 'ok' | 'invalid-argument' | 'not-found' | 'failed-precondition' | 'internal';

/** The gRPC status family of a command error. */
export function adminStatusOf(error: KafkaError): AdminStatus {
  switch (error.code) {
    case ErrorCode.NONE:
      return 'ok';
    case ErrorCode.INVALID_REQUEST:
    case ErrorCode.INVALID_REPLICA_ASSIGNMENT:
    case ErrorCode.INVALID_REPLICATION_FACTOR:
    case ErrorCode.INVALID_PARTITIONS:
    case ErrorCode.INVALID_CONFIG:
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
      return 'invalid-argument';
    case ErrorCode.BROKER_ID_NOT_REGISTERED:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.UNKNOWN_TOPIC_ID:
      return 'not-found';
    case ErrorCode.POLICY_VIOLATION:
    case ErrorCode.REASSIGNMENT_IN_PROGRESS:
    case ErrorCode.NO_REASSIGNMENT_IN_PROGRESS:
    case ErrorCode.TOPIC_ALREADY_EXISTS:
      return 'failed-precondition';
    default:
      return 'internal';
  }
}

function fail<T>(code: number, message: string): CommandResult<T> {
  return { ok: false, error: new KafkaError(code, message) };
}

function done<T>(records: readonly MetadataRecord[], value: T): CommandResult<T> {
  return { ok: true, records, value };
}

function planOrFail(state: MetadataState, nodeId: number): CommandResult<DecommissionPlan> {
  const res = planDecommission(state, nodeId);
  if (res.ok) return done([], res.plan);
  // POLICY_VIOLATION carries "refused for a reason", which the admin service answers as FAILED_PRECONDITION.
  return fail(res.error === 'not-found' ? ErrorCode.BROKER_ID_NOT_REGISTERED : ErrorCode.POLICY_VIOLATION, res.message);
}

/** DecommissionBroker: marks the broker decommissioning (placement stops using it) once the plan is possible. */
export function beginDecommission(state: MetadataState, nodeId: number): CommandResult<DecommissionPlan> {
  const planned = planOrFail(state, nodeId);
  if (!planned.ok) return planned;
  const b = state.brokers.get(nodeId);
  const records: MetadataRecord[] = b?.state === 'decommissioning' ? [] : [{ type: 'set-broker-state', nodeId, state: 'decommissioning' }];
  return done(records, planned.value);
}

export type DecommissionPhase =
  /** Replicas are still moving off the broker. */
  | 'moving-replicas'
  /** Replicas are gone; the metadata voter intent no longer has the broker once these records commit. */
  | 'leaving-metadata'
  /** Nothing left: once the Raft configuration has dropped the broker, completeDecommission removes it. */
  | 'ready-to-remove';

export interface DecommissionProgress {
  readonly phase: DecommissionPhase;
  /** Partitions still on the broker (moving now or not started). */
  readonly partitionsLeft: number;
  readonly movesInProgress: number;
}

/**
 * One step of a decommission: start moves (up to `maxConcurrentMoves` running at once), or,
 * once every replica is gone, take the broker out of the metadata voter intent. Call it again
 * whenever a reassignment completes.
 */
export function decommissionStep(state: MetadataState, nodeId: number, maxConcurrentMoves: number): CommandResult<DecommissionProgress> {
  const b = state.brokers.get(nodeId);
  if (!b) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${nodeId} is not registered`);
  if (b.state !== 'decommissioning') return fail(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} is ${b.state}, not being decommissioned`);
  const planned = planOrFail(state, nodeId);
  if (!planned.ok) return planned;
  const plan = planned.value;
  const running = plan.inProgress.length;
  const partitionsLeft = plan.moves.length + running;
  if (partitionsLeft > 0) {
    const room = Math.max(0, Math.floor(maxConcurrentMoves) - running);
    const records = plan.moves.slice(0, room).map((m) => {
      const p = state.topics.get(m.topic)?.partitionImages[m.partition] as PartitionImage;
      return beginReassignment(m.topic, m.partition, p, m.targetReplicas);
    });
    return done(records, { phase: 'moving-replicas', partitionsLeft, movesInProgress: running + records.length });
  }
  if (state.metadataVoters.includes(nodeId)) {
    return done([{ type: 'set-metadata-voters', voters: plan.metadataVoters }], { phase: 'leaving-metadata', partitionsLeft: 0, movesInProgress: 0 });
  }
  return done([], { phase: 'ready-to-remove', partitionsLeft: 0, movesInProgress: 0 });
}

/** The broker has left the metadata group's Raft configuration: record it as removed. */
export function completeDecommission(state: MetadataState, nodeId: number): CommandResult<undefined> {
  const b = state.brokers.get(nodeId);
  if (!b) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${nodeId} is not registered`);
  if (b.state === 'removed') return done([], undefined);
  if (b.state !== 'decommissioning') return fail(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} is ${b.state}, not being decommissioned`);
  if (hostsReplicas(state, nodeId)) return fail(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} still hosts replicas`);
  if (state.metadataVoters.includes(nodeId)) return fail(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} is still a metadata voter`);
  return done([{ type: 'set-broker-state', nodeId, state: 'removed' }], undefined);
}

/**
 * CancelDecommission: the broker is active again and running moves off it are cancelled
 * (partitions already moved stay where they are). Idempotent on an active broker.
 */
export function cancelDecommission(state: MetadataState, nodeId: number): CommandResult<undefined> {
  const b = state.brokers.get(nodeId);
  if (!b) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${nodeId} is not registered`);
  if (b.state === 'active') return done([], undefined);
  if (b.state === 'removed') return fail(ErrorCode.POLICY_VIOLATION, `Broker ${nodeId} has already been removed`);
  const records: MetadataRecord[] = [{ type: 'set-broker-state', nodeId, state: 'active' }];
  for (const t of state.topics.values()) {
    t.partitionImages.forEach((p, partition) => {
      if (p.removingReplicas.includes(nodeId)) records.push(cancelReassignment(t.name, partition, p));
    });
  }
  return done(records, undefined);
}

function partitionOf(state: MetadataState, topic: string, partition: number): PartitionImage | KafkaError {
  const t = state.topics.get(topic);
  if (!t) return new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic}' does not exist`);
  const p = t.partitionImages[partition];
  if (!p) return new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic}' has no partition ${partition}`);
  return p;
}

/**
 * Starts moving a partition to `target` (preferred leader first; same brokers in a new order
 * is a preferred-leader change that completes at once).
 */
export function reassignPartition(state: MetadataState, topic: string, partition: number, target: readonly number[]): CommandResult<undefined> {
  const p = partitionOf(state, topic, partition);
  if (p instanceof KafkaError) return { ok: false, error: p };
  if (reassignmentInProgress(p)) return fail(ErrorCode.REASSIGNMENT_IN_PROGRESS, `${topic}-${partition} is already being reassigned`);
  const rf = state.topics.get(topic)?.replicationFactor ?? 0;
  const at = `Target [${target.join(',')}] for ${topic}-${partition}`;
  if (target.length !== rf) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at} has ${target.length} replicas; the replication factor is ${rf}`);
  if (new Set(target).size !== target.length) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at} names a broker twice`);
  for (const id of target) {
    const b = state.brokers.get(id);
    // A replica may stay on a leaving broker, but none may be added there.
    if (!b || (b.state !== 'active' && !(b.state === 'decommissioning' && p.replicas.includes(id)))) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at}: broker ${id} is ${b ? b.state : 'not registered'}`);
    }
  }
  if (target.every((id, i) => id === p.replicas[i])) return done([], undefined);
  return done([beginReassignment(topic, partition, p, target)], undefined);
}

/** The partition's leader has finished the membership change: keep the target replicas only. */
export function completePartitionReassignment(state: MetadataState, topic: string, partition: number): CommandResult<undefined> {
  const p = partitionOf(state, topic, partition);
  if (p instanceof KafkaError) return { ok: false, error: p };
  if (!reassignmentInProgress(p)) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `${topic}-${partition} is not being reassigned`);
  return done([completeReassignment(topic, partition, p)], undefined);
}

/** Abandons a running reassignment: back to the replicas it started from. */
export function cancelPartitionReassignment(state: MetadataState, topic: string, partition: number): CommandResult<undefined> {
  const p = partitionOf(state, topic, partition);
  if (p instanceof KafkaError) return { ok: false, error: p };
  if (!reassignmentInProgress(p)) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `${topic}-${partition} is not being reassigned`);
  return done([cancelReassignment(topic, partition, p)], undefined);
}

/** AddBroker's second half: grow (or repair) the metadata voter intent when the broker count calls for it. */
export function reconcileMetadataVoters(state: MetadataState): CommandResult<readonly number[]> {
  const next = planMetadataVoters(state);
  if (next === null) return done([], state.metadataVoters);
  return done([{ type: 'set-metadata-voters', voters: [...next] }], next);
}

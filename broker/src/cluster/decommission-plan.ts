/**
 * Moving every replica off a broker that is leaving. Pure: the controller recomputes the plan
 * from the current image after each step (and after a failover), so partitions already moved
 * drop out of it and a half-done move shows as in progress.
 */
import { BrokerLoad, minBy, rackKey, type PlacementBroker } from './broker-load.js';
import { majority, pickVoters } from './metadata-voters.js';
import { reassignmentInProgress, type MetadataState } from './metadata-state.js';
import { allAssignments } from './placement.js';
import type { PartitionRef } from './reassignment.js';

export interface ReplicaMove extends PartitionRef {
  readonly from: number;
  readonly to: number;
  /** The partition's replicas once moved, preferred leader first: `to` takes `from`'s place. */
  readonly targetReplicas: readonly number[];
}

export interface DecommissionPlan {
  readonly brokerId: number;
  /** One move per partition still on the broker, topics by name then partition. */
  readonly moves: readonly ReplicaMove[];
  /** Partitions on the broker with a reassignment running: wait for (or cancel) it first. */
  readonly inProgress: readonly PartitionRef[];
  /** The metadata voter intent once the broker has left (a learner takes its seat if one exists). */
  readonly metadataVoters: readonly number[];
}

export type PlanResult<T> =
  | { readonly ok: true; readonly plan: T }
  | { readonly ok: false; readonly error: 'not-found' | 'failed-precondition'; readonly message: string };

function byName<T extends { name: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The plan to empty `brokerId`: for each partition, the replacement broker on a rack the other
 * replicas do not use if possible, then with the fewest replicas (and, for a preferred-leader
 * slot, the fewest preferred leaderships). Refused when some partition cannot keep its
 * replication factor on the remaining active brokers, or when the metadata group would be left
 * with fewer healthy voters than a majority of its current size.
 */
export function planDecommission(state: MetadataState, brokerId: number): PlanResult<DecommissionPlan> {
  const leaving = state.brokers.get(brokerId);
  if (!leaving) return { ok: false, error: 'not-found', message: `Broker ${brokerId} is not registered` };
  if (leaving.state === 'removed') return { ok: false, error: 'failed-precondition', message: `Broker ${brokerId} has already been removed` };
  const eligible: PlacementBroker[] = [...state.brokers.values()]
    .filter((b) => b.state === 'active' && b.nodeId !== brokerId)
    .sort((a, b) => a.nodeId - b.nodeId);
  const rackOf = new Map(eligible.map((b) => [b.nodeId, rackKey(b)]));
  for (const b of state.brokers.values()) if (!rackOf.has(b.nodeId)) rackOf.set(b.nodeId, rackKey(b));
  const load = new BrokerLoad(allAssignments(state));
  const moves: ReplicaMove[] = [];
  const inProgress: PartitionRef[] = [];
  for (const t of byName(state.topics.values())) {
    t.partitionImages.forEach((p, partition) => {
      if (!p.replicas.includes(brokerId)) return;
      const ref = { topic: t.name, topicId: t.topicId, partition };
      if (reassignmentInProgress(p)) {
        inProgress.push(ref);
        return;
      }
      moves.push({ ...ref, from: brokerId, to: -1, targetReplicas: p.replicas });
    });
  }
  for (let i = 0; i < moves.length; i++) {
    const m = moves[i] as ReplicaMove;
    const others = m.targetReplicas.filter((id) => id !== brokerId);
    const candidates = eligible.filter((b) => !others.includes(b.nodeId));
    if (candidates.length === 0) {
      return {
        ok: false,
        error: 'failed-precondition',
        message:
          `Broker ${brokerId} cannot be decommissioned: ${m.topic}-${m.partition} needs ${m.targetReplicas.length} replicas ` +
          `and only ${eligible.length} other active broker${eligible.length === 1 ? '' : 's'} remain`,
      };
    }
    const slot = m.targetReplicas.indexOf(brokerId);
    const racks = new Set(others.map((id) => rackOf.get(id)));
    const to = minBy(candidates, (b) => [
      racks.has(rackKey(b)) ? 1 : 0,
      load.replicas(b.nodeId),
      slot === 0 ? load.leaders(b.nodeId) : 0,
      b.nodeId,
    ]) as PlacementBroker;
    const targetReplicas = m.targetReplicas.map((id) => (id === brokerId ? to.nodeId : id));
    load.remove(m.targetReplicas);
    load.add(targetReplicas);
    moves[i] = { ...m, to: to.nodeId, targetReplicas };
  }
  const voters = votersWithout(state, brokerId);
  if (!voters.ok) return voters;
  return { ok: true, plan: { brokerId, moves, inProgress, metadataVoters: voters.plan } };
}

function votersWithout(state: MetadataState, brokerId: number): PlanResult<readonly number[]> {
  const current = state.metadataVoters;
  if (!current.includes(brokerId)) return { ok: true, plan: current };
  const remaining = current.filter((id) => id !== brokerId);
  const learners = [...state.brokers.values()].filter((b) => b.state === 'active' && !current.includes(b.nodeId));
  const staying = remaining.map((id) => state.brokers.get(id)).filter((b) => b !== undefined);
  const next = [...remaining, ...pickVoters(learners, staying, 1)];
  const healthy = next.filter((id) => state.brokers.get(id)?.state === 'active');
  if (healthy.length < majority(current.length)) {
    return {
      ok: false,
      error: 'failed-precondition',
      message:
        `Broker ${brokerId} cannot be decommissioned: the metadata group would keep ${healthy.length} healthy voter${healthy.length === 1 ? '' : 's'} ` +
        `[${healthy.join(',')}], fewer than a majority (${majority(current.length)}) of its ${current.length}`,
    };
  }
  return { ok: true, plan: next };
}

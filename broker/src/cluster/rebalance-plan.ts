/**
 * A bounded step toward an even, rack-aware spread of replicas and preferred leaders over the
 * active brokers. The controller runs a plan, waits for its moves to finish, and plans again;
 * a balanced cluster gets an empty plan. Each move lowers the sum of squared replica (or
 * preferred-leader) counts, so repeated rounds reach a balance and stop.
 */
import { balanceLeaders, balanceReplicas, distinctRacks, Layout, moveLeadersToReplicas, type ChangeBudget, type MovablePartition } from './balance.js';
import { BrokerLoad, minBy, type PlacementBroker } from './broker-load.js';
import { reassignmentInProgress, targetReplicas, type MetadataState } from './metadata-state.js';
import { eligibleBrokers } from './placement.js';
import type { PartitionRef } from './reassignment.js';

export type RebalanceMove =
  | (PartitionRef & {
      readonly kind: 'move-replicas';
      /** Brokers that lose the partition and those that gain it. */
      readonly from: readonly number[];
      readonly to: readonly number[];
      readonly targetReplicas: readonly number[];
    })
  | (PartitionRef & {
      readonly kind: 'set-preferred-leader';
      readonly leader: number;
      /** Same brokers, new order; an assign-partition record that completes at once. */
      readonly targetReplicas: readonly number[];
    });

export interface RebalanceLimits {
  /** Replicas being copied to a new broker at once, counting those of reassignments in progress. */
  readonly maxConcurrentMoves: number;
  /**
   * Preferred-leader changes per plan. They move no data, but each is a leadership transfer;
   * the default (the larger of maxConcurrentMoves and the broker count) fits any reordering chain.
   */
  readonly maxLeaderChanges?: number;
}

export interface RebalancePlan {
  /**
   * Replicas added by move-replicas entries (the sum of their `to` lengths): at most
   * maxConcurrentMoves minus the replicas still being added by running reassignments.
   * set-preferred-leader entries: at most maxLeaderChanges.
   */
  readonly moves: readonly RebalanceMove[];
  /** Partitions with a reassignment running; they are left alone and their added replicas count against the bound. */
  readonly inProgress: number;
}

interface Candidate extends MovablePartition, PartitionRef {
  readonly original: readonly number[];
}

export function planRebalance(state: MetadataState, limits: RebalanceLimits | number): RebalancePlan {
  const { maxConcurrentMoves, maxLeaderChanges } = typeof limits === 'number' ? { maxConcurrentMoves: limits, maxLeaderChanges: undefined } : limits;
  const brokers = eligibleBrokers(state).sort((a, b) => a.nodeId - b.nodeId);
  const eligible = new Set(brokers.map((b) => b.nodeId));
  const load = new BrokerLoad();
  const parts: Candidate[] = [];
  let inProgress = 0;
  let adding = 0;
  const topics = [...state.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of topics) {
    t.partitionImages.forEach((p, partition) => {
      const target = targetReplicas(p);
      load.add(target);
      if (reassignmentInProgress(p)) {
        inProgress++;
        adding += Math.max(1, p.addingReplicas.length);
      }
      // Partitions on leaving brokers belong to the decommission; running moves are left to finish.
      else if (target.every((id) => eligible.has(id))) {
        parts.push({ topic: t.name, topicId: t.topicId, partition, replicas: [...target], original: target });
      }
    });
  }
  const moveBudget = Math.max(0, Math.floor(maxConcurrentMoves) - adding);
  const leaderBudget = Math.max(0, Math.floor(maxLeaderChanges ?? Math.max(maxConcurrentMoves, brokers.length)));
  // Replica moves are counted one by one (a partition may move two replicas); reorders by partition.
  const moved = new Set<number>();
  let replicaMoves = 0;
  const reordered = new Set<number>();
  const fresh = (ix: readonly number[], skip: (i: number) => boolean): number => new Set(ix.filter((i) => !skip(i))).size;
  const moves: ChangeBudget = {
    allows: (ix) => replicaMoves + ix.length <= moveBudget,
    spend: (i) => {
      moved.add(i);
      replicaMoves++;
      reordered.delete(i);
    },
    full: () => replicaMoves >= moveBudget,
  };
  const reorders: ChangeBudget = {
    allows: (ix) => reordered.size + fresh(ix, (i) => moved.has(i) || reordered.has(i)) <= leaderBudget,
    spend: (i) => {
      if (!moved.has(i)) reordered.add(i);
    },
    full: () => reordered.size >= leaderBudget,
  };
  if (brokers.length > 0) {
    spreadOverRacks(new Layout(parts, load, brokers, moves), brokers, moves);
    balanceReplicas(new Layout(parts, load, brokers, moves), moves);
    balanceLeaders(new Layout(parts, load, brokers, reorders), eligible, reorders);
    moveLeadersToReplicas(new Layout(parts, load, brokers, moves), moves);
  }
  const planned = [...moved, ...reordered]
    .sort((a, b) => a - b)
    .map((i) => parts[i] as Candidate)
    // Steps that undid each other leave a partition as it was.
    .filter((p) => p.replicas.some((id, at) => id !== p.original[at]))
    .map(toMove);
  return { moves: planned, inProgress };
}

/** Partitions on fewer racks than they could be: move a replica off a shared rack to the emptiest broker of an unused one. */
function spreadOverRacks(layout: Layout, brokers: readonly PlacementBroker[], budget: ChangeBudget): void {
  const { rackOf, load } = layout;
  const rackCount = new Set(rackOf.values()).size;
  layout.parts.forEach((p, i) => {
    while (distinctRacks(p.replicas, rackOf) < Math.min(p.replicas.length, rackCount) && budget.allows([i])) {
      const used = new Map<string, number>();
      for (const id of p.replicas) used.set(rackOf.get(id) as string, (used.get(rackOf.get(id) as string) ?? 0) + 1);
      // The replica on a shared rack whose broker is fullest goes; the preferred leader stays if it can.
      const shared = p.replicas.filter((id) => (used.get(rackOf.get(id) as string) ?? 0) > 1);
      const from = minBy(shared, (id) => [id === p.replicas[0] ? 1 : 0, -load.replicas(id), id]) as number;
      const to = minBy(
        brokers.filter((b) => !used.has(rackOf.get(b.nodeId) as string)),
        (b) => [load.replicas(b.nodeId), b.nodeId],
      ) as PlacementBroker;
      layout.replace(i, from, to.nodeId);
    }
  });
}

function toMove(p: Candidate): RebalanceMove {
  const ref = { topic: p.topic, topicId: p.topicId, partition: p.partition };
  const from = p.original.filter((id) => !p.replicas.includes(id));
  if (from.length === 0) return { ...ref, kind: 'set-preferred-leader', leader: p.replicas[0] as number, targetReplicas: [...p.replicas] };
  return { ...ref, kind: 'move-replicas', from, to: p.replicas.filter((id) => !p.original.includes(id)), targetReplicas: [...p.replicas] };
}

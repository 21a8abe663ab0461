/**
 * Where new partitions' replicas go. Pure and deterministic: the same brokers and load give the
 * same assignments on every controller. Goals, in order: a partition's replicas on distinct
 * brokers; on as many racks as there are (a broker without a rack is its own failure domain);
 * replica counts even across brokers (max - min <= 1 from an even start, when racks allow);
 * preferred leaders (first replica) even across brokers.
 */
import { balanceLeaders, balanceReplicas, Layout, UNLIMITED, type MovablePartition } from './balance.js';
import { BrokerLoad, compareKeys, minBy, rackKey, type PlacementBroker } from './broker-load.js';
import type { MetadataState } from './metadata-state.js';
import { targetReplicas } from './metadata-state.js';

export type { PlacementBroker };

export interface PlacementRequest {
  /** The brokers that may receive replicas (active, not decommissioning). */
  readonly brokers: readonly PlacementBroker[];
  /** Replica lists of the partitions that already exist, preferred leader first: the load to even out. */
  readonly existing: Iterable<readonly number[]>;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export type PlacementResult =
  | { readonly ok: true; readonly assignments: readonly (readonly number[])[] }
  /** The Kafka API maps this to INVALID_REPLICATION_FACTOR. */
  | { readonly ok: false; readonly error: 'invalid-replication-factor'; readonly message: string };

/** What `Cluster.placement()` returns: placement over the cluster's current brokers and load. */
export type Placement = (partitions: number, replicationFactor: number) => PlacementResult;

export function validateReplicationFactor(eligible: number, replicationFactor: number): string | null {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    return `Replication factor must be at least 1, got ${replicationFactor}`;
  }
  if (replicationFactor > eligible) {
    return `Replication factor ${replicationFactor} is larger than the ${eligible} available broker${eligible === 1 ? '' : 's'}`;
  }
  return null;
}

/** A broker with its rack key computed once (placement compares racks in its inner loop). */
interface RackedBroker extends PlacementBroker {
  readonly key: string;
}

/** Mean replica count per broker of each rack, so ties between brokers go to the emptier rack. */
function rackMeans(brokers: readonly RackedBroker[], load: BrokerLoad): Map<string, number> {
  const sum = new Map<string, number>();
  const size = new Map<string, number>();
  for (const b of brokers) {
    const k = b.key;
    sum.set(k, (sum.get(k) ?? 0) + load.replicas(b.nodeId));
    size.set(k, (size.get(k) ?? 0) + 1);
  }
  return new Map([...sum].map(([k, v]) => [k, v / (size.get(k) ?? 1)]));
}

/**
 * Fills a replica set greedily: unused racks first, then the fewest replicas, then the fewest
 * partitions shared with the brokers already chosen, then the emptier rack, then the most
 * preferred leaderships (a broker that leads little is better kept free to lead a later one).
 */
function fillReplicaSet(
  brokers: readonly RackedBroker[],
  load: BrokerLoad,
  means: ReadonlyMap<string, number>,
  replicationFactor: number,
  first?: RackedBroker,
): RackedBroker[] {
  const chosen: RackedBroker[] = first ? [first] : [];
  const racksUsed = new Map<string, number>();
  if (first) racksUsed.set(first.key, 1);
  const shared = (b: RackedBroker): number => {
    let n = 0;
    for (const c of chosen) n += load.shared(b.nodeId, c.nodeId);
    return n;
  };
  const key = (b: RackedBroker): readonly number[] => [
    racksUsed.get(b.key) ?? 0,
    load.replicas(b.nodeId),
    shared(b),
    means.get(b.key) ?? 0,
    -load.leaders(b.nodeId),
    b.nodeId,
  ];
  while (chosen.length < replicationFactor) {
    let next: RackedBroker | undefined;
    let nextKey: readonly number[] = [];
    for (const b of brokers) {
      if (chosen.includes(b)) continue;
      const k = key(b);
      if (next === undefined || compareKeys(k, nextKey) < 0) {
        next = b;
        nextKey = k;
      }
    }
    const picked = next as RackedBroker;
    chosen.push(picked);
    racksUsed.set(picked.key, (racksUsed.get(picked.key) ?? 0) + 1);
  }
  return chosen;
}

function replicaCost(set: readonly RackedBroker[], load: BrokerLoad): number[] {
  let max = 0;
  let sum = 0;
  for (const b of set) {
    max = Math.max(max, load.replicas(b.nodeId));
    sum += load.replicas(b.nodeId);
  }
  return [max, sum];
}

/**
 * Places one partition given the load so far, and records it in the load. The replica spread
 * comes first: the best set ignoring leadership fixes the cost to meet. The leader is then the
 * broker with the fewest preferred leaderships whose own set meets that cost.
 */
function placeOne(brokers: readonly RackedBroker[], load: BrokerLoad, replicationFactor: number): number[] {
  const means = rackMeans(brokers, load);
  const best = fillReplicaSet(brokers, load, means, replicationFactor);
  const cost = replicaCost(best, load);
  const byLeadership = [...brokers].sort(
    (a, b) => load.leaders(a.nodeId) - load.leaders(b.nodeId) || load.replicas(a.nodeId) - load.replicas(b.nodeId) || a.nodeId - b.nodeId,
  );
  let chosen: RackedBroker[] | undefined;
  for (const leader of byLeadership) {
    if (load.replicas(leader.nodeId) > (cost[0] as number)) continue;
    const set = fillReplicaSet(brokers, load, means, replicationFactor, leader);
    if (compareKeys(replicaCost(set, load), cost) <= 0) {
      chosen = set;
      break;
    }
  }
  if (!chosen) {
    const leader = minBy(best, (b) => [load.leaders(b.nodeId), load.replicas(b.nodeId), b.nodeId]) as RackedBroker;
    chosen = [leader, ...best.filter((b) => b !== leader)];
  }
  const ids = chosen.map((b) => b.nodeId);
  load.add(ids);
  return ids;
}

/**
 * Places `partitions` new partitions: greedily one at a time, then the same local improvement
 * the rebalance planner uses, on the new partitions only (existing ones never move here), to
 * undo what greed got wrong at the end of a batch.
 */
export function placePartitions(req: PlacementRequest): PlacementResult {
  const problem = validateReplicationFactor(req.brokers.length, req.replicationFactor);
  if (problem) return { ok: false, error: 'invalid-replication-factor', message: problem };
  if (!Number.isInteger(req.partitions) || req.partitions < 0) {
    throw new RangeError(`placePartitions: partition count ${req.partitions} is not a non-negative integer`);
  }
  const brokers = [...req.brokers].sort((a, b) => a.nodeId - b.nodeId).map((b) => ({ nodeId: b.nodeId, rack: b.rack, key: rackKey(b) }));
  const load = new BrokerLoad(req.existing);
  const placed: MovablePartition[] = [];
  for (let i = 0; i < req.partitions; i++) placed.push({ replicas: placeOne(brokers, load, req.replicationFactor) });
  const layout = new Layout(placed, load, brokers, UNLIMITED);
  balanceReplicas(layout, UNLIMITED);
  balanceLeaders(layout, new Set(brokers.map((b) => b.nodeId)), UNLIMITED);
  return { ok: true, assignments: placed.map((p) => p.replicas) };
}

/** Brokers that may receive new replicas: registered, active (maintenance does not matter). */
export function eligibleBrokers(state: MetadataState): PlacementBroker[] {
  return [...state.brokers.values()].filter((b) => b.state === 'active').map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
}

/** The target replica list of every partition in the image. */
export function allAssignments(state: MetadataState): (readonly number[])[] {
  const out: (readonly number[])[] = [];
  for (const t of state.topics.values()) for (const p of t.partitionImages) out.push(targetReplicas(p));
  return out;
}

/**
 * Placement over the image's eligible brokers and current load: what `Cluster.placement()` returns.
 * Brokers the controller cannot reach right now (`isLive`) are left out while enough others are
 * there: a new partition with a replica on a dead broker starts one failure closer to losing its
 * quorum, and with two replicas it has none at all. With fewer live brokers than the replication
 * factor the dead ones are used too, so the topic exists with the factor asked for. Brokers in
 * maintenance are left out the same way: maintenance announces a restart, and a replica placed
 * there would be behind from its first minutes.
 */
export function placementFor(state: MetadataState, isLive: (nodeId: number) => boolean = () => true): Placement {
  return (partitions, replicationFactor) => {
    const all = eligibleBrokers(state);
    const live = all.filter((b) => isLive(b.nodeId));
    const serving = live.filter((b) => !state.brokers.get(b.nodeId)?.maintenance);
    const brokers = serving.length >= replicationFactor ? serving : live.length >= replicationFactor ? live : all;
    return placePartitions({ brokers, existing: allAssignments(state), partitions, replicationFactor });
  };
}

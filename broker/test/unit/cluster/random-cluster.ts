/** Seeded random clusters for the placement and planner property tests. */
import { BrokerLoad } from '../../../src/cluster/broker-load.js';
import type { PlacementBroker } from '../../../src/cluster/broker-load.js';
import { applyMetadataRecord, emptyMetadataState, targetReplicas, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { allAssignments } from '../../../src/cluster/placement.js';
import { completeReassignment, beginReassignment } from '../../../src/cluster/reassignment.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { registration } from './fixtures.js';

/** none: no racks; balanced: equal-sized racks; random: any broker on any of a few racks. */
export type RackMode = 'none' | 'balanced' | 'random';

export interface RandomBrokers {
  readonly brokers: PlacementBroker[];
  readonly mode: RackMode;
}

export function randomBrokers(rng: SeededRandom, maxBrokers = 12): RandomBrokers {
  const modes: RackMode[] = ['none', 'balanced', 'random'];
  let mode = modes[rng.nextInt(3)] as RackMode;
  let count = 1 + rng.nextInt(maxBrokers);
  const racks = 1 + rng.nextInt(4);
  if (mode === 'balanced') count = racks * Math.max(1, Math.round(count / racks));
  if (mode === 'balanced' && racks === 1) mode = 'none';
  // Ids with gaps and not in order, as real broker ids can be.
  const ids = Array.from({ length: count }, (_, i) => 3 * i + 1 + (i % 2));
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  const brokers = ids.map((nodeId, i) => ({
    nodeId,
    rack: mode === 'none' ? null : mode === 'balanced' ? `rack-${i % racks}` : `rack-${rng.nextInt(racks)}`,
  }));
  return { brokers, mode };
}

export function imageOf(brokers: readonly PlacementBroker[]): MetadataState {
  let s = emptyMetadataState('cluster-1');
  for (const b of brokers) s = applyMetadataRecord(s, registration(b.nodeId, b.rack));
  return applyMetadataRecord(s, { type: 'set-metadata-voters', voters: brokers.slice(0, 3).map((b) => b.nodeId) });
}

/** Topics whose replicas sit on a random subset of the brokers: a skewed cluster to rebalance. */
export function skewedImage(rng: SeededRandom, brokers: readonly PlacementBroker[], sameRf: boolean): MetadataState {
  let s = imageOf(brokers);
  const ids = brokers.map((b) => b.nodeId);
  const rf0 = 1 + rng.nextInt(Math.min(ids.length, 3));
  const topics = 1 + rng.nextInt(5);
  for (let t = 0; t < topics; t++) {
    const rf = sameRf ? rf0 : 1 + rng.nextInt(Math.min(ids.length, 3));
    const subset = Math.max(rf, 1 + rng.nextInt(ids.length));
    const partitions = 1 + rng.nextInt(15);
    const assignments = Array.from({ length: partitions }, () => {
      const pool = ids.slice(0, subset);
      return Array.from({ length: rf }, () => pool.splice(rng.nextInt(pool.length), 1)[0] as number);
    });
    s = applyMetadataRecord(s, {
      type: 'create-topic',
      name: `topic-${t}`,
      topicId: `00000000-0000-4000-8000-00000000000${t}`,
      partitions,
      replicationFactor: rf,
      internal: false,
      configs: {},
      assignments,
    });
  }
  return s;
}

export function spread(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}

/** Replica and preferred-leader count spreads over the given brokers. */
export function spreads(state: MetadataState, ids: readonly number[]): { replicas: number; leaders: number } {
  const load = new BrokerLoad(allAssignments(state));
  return { replicas: spread(ids.map((id) => load.replicas(id))), leaders: spread(ids.map((id) => load.leaders(id))) };
}

export function rackCount(brokers: readonly PlacementBroker[], ids: readonly number[]): number {
  return new Set(ids.map((id) => brokers.find((b) => b.nodeId === id)).map((b) => (b?.rack === null || !b ? `#${b?.nodeId}` : b.rack))).size;
}

/** Runs a reassignment to its target as a partition leader would: begin, then complete. */
export function moveTo(state: MetadataState, topic: string, partition: number, target: readonly number[]): MetadataState {
  const p = state.topics.get(topic)?.partitionImages[partition];
  if (!p) throw new Error(`no partition ${topic}-${partition}`);
  const begun = applyMetadataRecord(state, beginReassignment(topic, partition, p, target));
  const now = begun.topics.get(topic)?.partitionImages[partition];
  if (!now) throw new Error('partition vanished');
  const done = applyMetadataRecord(begun, completeReassignment(topic, partition, now));
  const finalTarget = targetReplicas(done.topics.get(topic)!.partitionImages[partition]!);
  if (finalTarget.join() !== target.join()) throw new Error(`reassignment ended at [${finalTarget}] instead of [${target}]`);
  return done;
}

import { describe, expect, it } from 'vitest';
import { imageViolations } from '../../../src/cluster/metadata-invariants.js';
import { applyMetadataRecord, targetReplicas, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { placePartitions } from '../../../src/cluster/placement.js';
import { planRebalance, type RebalanceMove } from '../../../src/cluster/rebalance-plan.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { cluster, registration, withTopic } from './fixtures.js';
import { moveTo, rackCount, randomBrokers, skewedImage, spreads } from './random-cluster.js';

function placed(ids: number[], partitions: number, rf: number): MetadataState {
  const res = placePartitions({ brokers: ids.map((nodeId) => ({ nodeId, rack: null })), existing: [], partitions, replicationFactor: rf });
  if (!res.ok) throw new Error(res.message);
  return withTopic(cluster(ids), 't', res.assignments);
}

function added(moves: readonly RebalanceMove[]): number {
  return moves.reduce((n, m) => n + (m.kind === 'move-replicas' ? m.to.length : 0), 0);
}

/** Runs plans to completion; returns the final image and the number of rounds. */
function converge(s: MetadataState, maxConcurrentMoves: number, limit: number): { state: MetadataState; rounds: number } {
  for (let rounds = 0; ; rounds++) {
    const plan = planRebalance(s, maxConcurrentMoves);
    if (plan.moves.length === 0) {
      expect(imageViolations(s)).toEqual([]);
      return { state: s, rounds };
    }
    if (rounds >= limit) throw new Error(`no balance after ${limit} rounds`);
    expect(added(plan.moves)).toBeLessThanOrEqual(maxConcurrentMoves);
    const reorders = plan.moves.filter((m) => m.kind === 'set-preferred-leader').length;
    expect(reorders).toBeLessThanOrEqual(Math.max(maxConcurrentMoves, s.brokers.size));
    for (const m of plan.moves) s = moveTo(s, m.topic, m.partition, m.targetReplicas);
  }
}

describe('planRebalance', () => {
  it('plans nothing for a balanced cluster', () => {
    expect(planRebalance(placed([1, 2, 3, 4], 24, 3), 5)).toEqual({ moves: [], inProgress: 0 });
  });

  it('moves replicas onto new brokers, at most maxConcurrentMoves at a time', () => {
    let s = placed([1, 2, 3], 12, 2);
    s = applyMetadataRecord(applyMetadataRecord(s, registration(4)), registration(5));
    const plan = planRebalance(s, 3);
    expect(added(plan.moves)).toBe(3);
    for (const m of plan.moves) {
      if (m.kind !== 'move-replicas') continue;
      expect(m.to.every((id) => id === 4 || id === 5)).toBe(true);
      expect(m.from.every((id) => id <= 3)).toBe(true);
    }
    expect(planRebalance(s, 3)).toEqual(plan);
    const { state, rounds } = converge(s, 3, 20);
    expect(spreads(state, [1, 2, 3, 4, 5])).toEqual({ replicas: 1, leaders: 1 });
    expect(rounds).toBeGreaterThan(1);
  });

  it('counts running reassignments against the bound and leaves them alone', () => {
    let s = placed([1, 2, 3], 12, 2);
    s = applyMetadataRecord(s, registration(4));
    const p0 = s.topics.get('t')!.partitionImages[0]!;
    s = applyMetadataRecord(s, {
      type: 'assign-partition',
      topic: 't',
      partition: 0,
      replicas: [4, p0.replicas[1]!, p0.replicas[0]!],
      addingReplicas: [4],
      removingReplicas: [p0.replicas[0]!],
    });
    const plan = planRebalance(s, 2);
    expect(plan.inProgress).toBe(1);
    expect(added(plan.moves)).toBe(1);
    expect(plan.moves.some((m) => m.partition === 0)).toBe(false);
    expect(added(planRebalance(s, 1).moves)).toBe(0);
  });

  it('evens out preferred leaders by reordering replicas alone when that suffices', () => {
    const s = withTopic(cluster([1, 2, 3]), 't', [
      [1, 2, 3],
      [1, 3, 2],
      [1, 2, 3],
    ]);
    const plan = planRebalance(s, 1);
    expect(plan.moves.every((m) => m.kind === 'set-preferred-leader')).toBe(true);
    const { state } = converge(s, 1, 5);
    expect(spreads(state, [1, 2, 3]).leaders).toBe(0);
  });

  it('moves a replica off a shared rack onto a rack the partition lacks', () => {
    const s = withTopic(cluster({ 1: 'a', 2: 'a', 3: 'b', 4: 'b' }), 't', [
      [1, 2],
      [3, 4],
    ]);
    const { state } = converge(s, 2, 5);
    for (const p of state.topics.get('t')!.partitionImages) expect(new Set(p.replicas.map((id) => (id <= 2 ? 'a' : 'b'))).size).toBe(2);
  });

  it('leaves partitions on decommissioning brokers to the decommission', () => {
    let s = withTopic(cluster([1, 2, 3, 4]), 't', [
      [1, 2],
      [1, 2],
      [1, 3],
      [1, 2],
    ]);
    s = applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 1, state: 'decommissioning' });
    for (const m of planRebalance(s, 10).moves) expect(targetReplicas(s.topics.get('t')!.partitionImages[m.partition]!)).not.toContain(1);
  });

  it('converges over random skewed clusters to an even, rack-aware spread', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new SeededRandom(seed);
      const { brokers, mode } = randomBrokers(rng, 10);
      const sameRf = rng.chance(0.5);
      const start = skewedImage(rng, brokers, sameRf);
      const k = 2 + rng.nextInt(5);
      const ctx = `seed ${seed} (${mode}, ${brokers.length} brokers, ${sameRf ? 'one rf' : 'mixed rf'}, k ${k})`;
      let replicas = 0;
      for (const t of start.topics.values()) replicas += t.partitions * t.replicationFactor;
      // Every replica move lowers the squared spread; a generous bound that still catches a loop.
      const { state, rounds } = converge(start, k, replicas + brokers.length + 5);
      expect(planRebalance(start, k), ctx).toEqual(planRebalance(start, k));
      const ids = brokers.map((b) => b.nodeId);
      const racks = rackCount(brokers, ids);
      for (const t of state.topics.values()) {
        for (const p of t.partitionImages) {
          expect(new Set(p.replicas).size, ctx).toBe(t.replicationFactor);
          expect(rackCount(brokers, p.replicas), ctx).toBe(Math.min(t.replicationFactor, racks));
        }
      }
      const s = spreads(state, ids);
      if (mode !== 'random') expect(s.replicas, ctx).toBeLessThanOrEqual(1);
      if (mode === 'none' || (mode === 'balanced' && sameRf)) expect(s.leaders, ctx).toBeLessThanOrEqual(1);
      if (mode === 'balanced') expect(s.leaders, ctx).toBeLessThanOrEqual(2);
      expect(rounds, ctx).toBeLessThanOrEqual(replicas + brokers.length);
    }
  });

  it('stops even when moves are bounded to one at a time', () => {
    for (let seed = 301; seed <= 400; seed++) {
      const rng = new SeededRandom(seed);
      const { brokers } = randomBrokers(rng, 8);
      const start = skewedImage(rng, brokers, rng.chance(0.5));
      let replicas = 0;
      for (const t of start.topics.values()) replicas += t.partitions * t.replicationFactor;
      converge(start, 1, replicas + brokers.length + 5);
    }
  });
});

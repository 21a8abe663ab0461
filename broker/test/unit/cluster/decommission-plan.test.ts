import { describe, expect, it } from 'vitest';
import { planDecommission } from '../../../src/cluster/decommission-plan.js';
import { applyMetadataRecord, hostsReplicas, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { placePartitions } from '../../../src/cluster/placement.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { applyAll, cluster, withTopic } from './fixtures.js';
import { imageOf, moveTo, rackCount, randomBrokers, spreads } from './random-cluster.js';

function plan(s: MetadataState, id: number) {
  const res = planDecommission(s, id);
  if (!res.ok) throw new Error(res.message);
  return res.plan;
}

describe('planDecommission', () => {
  it('replaces the broker in each partition, in its slot, on a rack the partition lacks', () => {
    let s = cluster({ 1: 'a', 2: 'b', 3: 'c', 4: 'c', 5: 'a' }, [1, 2, 3]);
    s = withTopic(s, 't', [
      [3, 1, 2],
      [1, 3, 2],
      [1, 2, 5],
    ]);
    const p = plan(s, 3);
    expect(p.moves.map((m) => [m.partition, m.from, m.to, m.targetReplicas])).toEqual([
      [0, 3, 4, [4, 1, 2]],
      [1, 3, 4, [1, 4, 2]],
    ]);
    expect(p.inProgress).toEqual([]);
    // Voter 3 leaves; the learner on rack c (the rack the staying voters lack) takes its seat.
    expect(p.metadataVoters).toEqual([1, 2, 4]);
  });

  it('reports partitions with a reassignment running instead of planning over them', () => {
    let s = withTopic(cluster([1, 2, 3, 4]), 't', [
      [1, 2],
      [2, 3],
    ]);
    s = applyMetadataRecord(s, { type: 'assign-partition', topic: 't', partition: 1, replicas: [2, 4, 3], addingReplicas: [4], removingReplicas: [3] });
    const p = plan(s, 3);
    expect(p.moves).toEqual([]);
    expect(p.inProgress).toEqual([{ topic: 't', topicId: s.topics.get('t')!.topicId, partition: 1 }]);
  });

  it('refuses when a partition cannot keep its replication factor, naming it', () => {
    const s = withTopic(cluster([1, 2, 3]), 'orders', [[1, 2, 3]]);
    expect(planDecommission(s, 2)).toEqual({
      ok: false,
      error: 'failed-precondition',
      message: 'Broker 2 cannot be decommissioned: orders-0 needs 3 replicas and only 2 other active brokers remain',
    });
    // Another leaving broker does not count as room.
    const s2 = applyMetadataRecord(withTopic(cluster([1, 2, 3, 4]), 'x', [[1, 2, 3]]), { type: 'set-broker-state', nodeId: 4, state: 'decommissioning' });
    expect(planDecommission(s2, 1)).toMatchObject({ ok: false, error: 'failed-precondition' });
  });

  it('refuses when the metadata group would lose its quorum', () => {
    expect(planDecommission(cluster([1], [1]), 1)).toMatchObject({
      ok: false,
      error: 'failed-precondition',
      message: /metadata group would keep 0 healthy voters \[\], fewer than a majority \(1\) of its 1/,
    });
    const s = applyMetadataRecord(cluster([1, 2, 3], [1, 2, 3]), { type: 'set-broker-state', nodeId: 2, state: 'decommissioning' });
    expect(planDecommission(s, 3)).toMatchObject({ ok: false, message: /keep 1 healthy voter \[1\], fewer than a majority \(2\) of its 3/ });
    // Without a learner to promote, 3 voters shrink to 2: still a majority of 3.
    expect(plan(cluster([1, 2, 3], [1, 2, 3]), 3).metadataVoters).toEqual([1, 2]);
  });

  it('knows unknown and removed brokers', () => {
    expect(planDecommission(cluster([1]), 7)).toMatchObject({ ok: false, error: 'not-found', message: 'Broker 7 is not registered' });
    const s = applyAll(cluster([1, 2], [1]), [{ type: 'set-broker-state', nodeId: 2, state: 'removed' }]);
    expect(planDecommission(s, 2)).toMatchObject({ ok: false, error: 'failed-precondition', message: /already been removed/ });
  });

  it('empties the broker over random clusters, keeping rack spread and the replica spread', () => {
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new SeededRandom(seed);
      const { brokers, mode } = randomBrokers(rng);
      if (brokers.length < 2) continue;
      const rf = 1 + rng.nextInt(Math.min(brokers.length - 1, 3));
      const placed = placePartitions({ brokers, existing: [], partitions: 1 + rng.nextInt(30), replicationFactor: rf });
      if (!placed.ok) throw new Error(placed.message);
      let s = imageOf(brokers);
      s = applyMetadataRecord(s, {
        type: 'create-topic',
        name: 't',
        topicId: '00000000-0000-4000-8000-000000000001',
        partitions: placed.assignments.length,
        replicationFactor: rf,
        internal: false,
        configs: {},
        assignments: placed.assignments,
      });
      const leaving = (brokers[rng.nextInt(brokers.length)] as { nodeId: number }).nodeId;
      const res = planDecommission(s, leaving);
      const ctx = `seed ${seed} (${mode}, ${brokers.length} brokers, rf ${rf}, leaving ${leaving})`;
      if (!res.ok) {
        // Only the voter quorum can refuse here: RF < brokers by construction.
        expect(res.message, ctx).toMatch(/metadata group/);
        continue;
      }
      expect(planDecommission(s, leaving), ctx).toEqual(res);
      s = applyMetadataRecord(s, { type: 'set-broker-state', nodeId: leaving, state: 'decommissioning' });
      for (const m of res.plan.moves) s = moveTo(s, m.topic, m.partition, m.targetReplicas);
      s = applyAll(s, [
        { type: 'set-metadata-voters', voters: res.plan.metadataVoters },
        { type: 'set-broker-state', nodeId: leaving, state: 'removed' },
      ]);
      expect(hostsReplicas(s, leaving), ctx).toBe(false);
      const remaining = brokers.filter((b) => b.nodeId !== leaving);
      const racks = rackCount(remaining, remaining.map((b) => b.nodeId));
      for (const p of s.topics.get('t')!.partitionImages) {
        expect(new Set(p.replicas).size, ctx).toBe(rf);
        expect(rackCount(remaining, p.replicas), ctx).toBe(Math.min(rf, racks));
      }
      // Only the leaving broker's replicas move, so a partner it shared every partition with
      // cannot take any: the spread can widen by one. A rebalance afterwards evens it out.
      if (mode === 'none') expect(spreads(s, remaining.map((b) => b.nodeId)).replicas, ctx).toBeLessThanOrEqual(2);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });
});

import { describe, expect, it } from 'vitest';
import type { AssignPartitionRecord, MetadataRecord, PartitionStateRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, emptyMetadataState, targetReplicas } from '../../../src/cluster/metadata-state.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { applyAll, cluster, registration, withTopic } from './fixtures.js';

const create: MetadataRecord = {
  type: 'create-topic',
  name: 'orders',
  topicId: '11111111-2222-3333-4444-555555555555',
  partitions: 3,
  replicationFactor: 1,
  internal: false,
  configs: { 'retention.ms': '1000' },
  assignments: [[1], [1], [1]],
};

describe('applyMetadataRecord: topics', () => {
  it('creates, grows, reconfigures and deletes a topic without mutating earlier states', () => {
    const s0 = emptyMetadataState('cid');
    const s1 = applyMetadataRecord(s0, create);
    expect(s0.topics.size).toBe(0);
    expect(s1.version).toBe(1);
    expect(s1.topics.get('orders')).toMatchObject({ partitions: 3, configs: { 'retention.ms': '1000' } });
    expect(s1.topics.get('orders')?.partitionImages[0]).toEqual({
      replicas: [1],
      leader: -1,
      leaderEpoch: 0,
      isr: [1],
      addingReplicas: [],
      removingReplicas: [],
    });

    const s2 = applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 5, assignments: [[1], [1]] });
    expect(s2.topics.get('orders')?.partitions).toBe(5);
    expect(s2.topics.get('orders')?.partitionImages).toHaveLength(5);
    expect(s1.topics.get('orders')?.partitions).toBe(3);

    const s3 = applyMetadataRecord(s2, { type: 'set-topic-configs', name: 'orders', configs: { 'cleanup.policy': 'compact' } });
    expect(s3.topics.get('orders')?.configs).toEqual({ 'cleanup.policy': 'compact' });

    const s4 = applyMetadataRecord(s3, { type: 'delete-topic', name: 'orders' });
    expect(s4.topics.has('orders')).toBe(false);
    expect(s4.version).toBe(4);
    expect(s4.clusterId).toBe('cid');
  });

  it('refuses records that do not fit the state', () => {
    const s1 = applyMetadataRecord(emptyMetadataState('cid'), create);
    expect(() => applyMetadataRecord(s1, create)).toThrow(/already exists/);
    expect(() => applyMetadataRecord(s1, { type: 'delete-topic', name: 'nope' })).toThrow(/does not exist/);
    expect(() => applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 2, assignments: [] })).toThrow(/already has 3/);
    expect(() => applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 5, assignments: [[1]] })).toThrow(
      /grows by 2 but has 1 assignments/,
    );
    expect(() => applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 4, assignments: [[1, 2]] })).toThrow(
      /partition 3: 2 replicas, replication factor is 1/,
    );
    const bad = (assignments: number[][], rf = 2): MetadataRecord => ({ ...create, name: 'x', partitions: assignments.length, replicationFactor: rf, assignments });
    expect(() => applyMetadataRecord(s1, bad([[1, 2], [3]]))).toThrow(/partition 1: 1 replicas/);
    expect(() => applyMetadataRecord(s1, bad([[1, 1]]))).toThrow(/duplicate broker/);
    expect(() => applyMetadataRecord(s1, bad([[]], 0))).toThrow(/1 partitions of 0 replicas/);
    expect(() => applyMetadataRecord(s1, bad([[]], 1))).toThrow(/empty replica list/);
    expect(() => applyMetadataRecord(s1, { ...create, name: 'y', partitions: 2 })).toThrow(/2 partitions but 3 assignments/);
  });

  it('shares unchanged topics between versions so a diff can skip them by identity', () => {
    const s1 = withTopic(withTopic(cluster([1, 2]), 'a', [[1, 2]]), 'b', [[2, 1]]);
    const s2 = applyMetadataRecord(s1, { type: 'set-topic-configs', name: 'a', configs: { 'retention.ms': '5' } });
    expect(s2.topics.get('b')).toBe(s1.topics.get('b'));
    expect(s2.topics.get('a')).not.toBe(s1.topics.get('a'));
    expect(s2.brokers).toBe(s1.brokers);
  });
});

describe('applyMetadataRecord: brokers', () => {
  it('registers a broker active, and a re-registration updates addresses but keeps state and maintenance', () => {
    const s1 = applyMetadataRecord(emptyMetadataState('c'), registration(1, 'r1'));
    expect(s1.brokers.get(1)).toMatchObject({ state: 'active', maintenance: false, rack: 'r1', incarnationId: 'inc-1' });
    const s2 = applyAll(s1, [
      { type: 'set-maintenance', nodeId: 1, maintenance: true },
      { type: 'set-broker-state', nodeId: 1, state: 'decommissioning' },
      { ...registration(1, 'r2', 'inc-2'), kafka: { host: 'new', port: 19092 } },
    ]);
    expect(s2.brokers.get(1)).toMatchObject({
      state: 'decommissioning',
      maintenance: true,
      rack: 'r2',
      incarnationId: 'inc-2',
      kafka: { host: 'new', port: 19092 },
    });
  });

  it('removes a broker only once it hosts nothing and is no metadata voter; a removed id may register again', () => {
    let s = withTopic(cluster([1, 2, 3], [1, 2, 3]), 't', [[3, 1]]);
    expect(() => applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 3, state: 'removed' })).toThrow(/still hosts replicas/);
    s = applyMetadataRecord(s, { type: 'assign-partition', topic: 't', partition: 0, replicas: [2, 1], addingReplicas: [], removingReplicas: [] });
    expect(() => applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 3, state: 'removed' })).toThrow(/still a metadata voter/);
    s = applyAll(s, [
      { type: 'set-metadata-voters', voters: [1, 2] },
      { type: 'set-maintenance', nodeId: 3, maintenance: true },
      { type: 'set-broker-state', nodeId: 3, state: 'removed' },
    ]);
    expect(s.brokers.get(3)).toMatchObject({ state: 'removed', maintenance: false });
    expect(() => applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 3, state: 'active' })).toThrow(/must register again/);
    expect(() => applyMetadataRecord(s, { type: 'set-maintenance', nodeId: 3, maintenance: true })).toThrow(/removed/);
    expect(() => applyMetadataRecord(s, { type: 'set-metadata-voters', voters: [1, 3] })).toThrow(/removed/);
    expect(() => withTopic(s, 'u', [[3]])).toThrow(/broker 3 has been removed/);
    s = applyMetadataRecord(s, registration(3, null, 'inc-new'));
    expect(s.brokers.get(3)).toMatchObject({ state: 'active', incarnationId: 'inc-new' });
  });

  it('leaves the state as it was for a record that changes nothing', () => {
    const s = cluster([1]);
    expect(applyMetadataRecord(s, { type: 'set-maintenance', nodeId: 1, maintenance: false })).toBe(s);
    expect(applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 1, state: 'active' })).toBe(s);
    expect(() => applyMetadataRecord(s, { type: 'set-maintenance', nodeId: 9, maintenance: true })).toThrow(/not registered/);
  });

  it('records the metadata voter intent', () => {
    const s = applyMetadataRecord(cluster([1, 2, 3, 4]), { type: 'set-metadata-voters', voters: [4, 2, 1] });
    expect(s.metadataVoters).toEqual([4, 2, 1]);
    expect(() => applyMetadataRecord(s, { type: 'set-metadata-voters', voters: [] })).toThrow(/empty/);
    expect(() => applyMetadataRecord(s, { type: 'set-metadata-voters', voters: [1, 1] })).toThrow(/duplicate/);
  });

  it('hands out producer-id blocks contiguously', () => {
    let s = cluster([1, 2]);
    s = applyMetadataRecord(s, { type: 'producer-id-block', nodeId: 1, firstProducerId: 0, size: 1000 });
    s = applyMetadataRecord(s, { type: 'producer-id-block', nodeId: 2, firstProducerId: 1000, size: 10 });
    expect(s.nextProducerId).toBe(1010);
    expect(() => applyMetadataRecord(s, { type: 'producer-id-block', nodeId: 1, firstProducerId: 0, size: 5 })).toThrow(/next free producer id is 1010/);
    expect(() => applyMetadataRecord(s, { type: 'producer-id-block', nodeId: 7, firstProducerId: 1010, size: 5 })).toThrow(/not registered/);
    expect(() => applyMetadataRecord(s, { type: 'producer-id-block', nodeId: 1, firstProducerId: 1010, size: 0 })).toThrow(/block size/);
  });
});

describe('applyMetadataRecord: assignments and partition state', () => {
  const base = withTopic(cluster([1, 2, 3, 4]), 't', [[1, 2, 3]]);
  const p0 = (s: typeof base) => s.topics.get('t')?.partitionImages[0];

  it('runs a reassignment: target plus removing replicas, then the target alone; ISR follows the replica set', () => {
    const moving = applyMetadataRecord(base, {
      type: 'assign-partition',
      topic: 't',
      partition: 0,
      replicas: [1, 2, 4, 3],
      addingReplicas: [4],
      removingReplicas: [3],
    });
    expect(targetReplicas(p0(moving)!)).toEqual([1, 2, 4]);
    expect(p0(moving)?.isr).toEqual([1, 2, 3]);
    const done = applyMetadataRecord(moving, { type: 'assign-partition', topic: 't', partition: 0, replicas: [1, 2, 4], addingReplicas: [], removingReplicas: [] });
    expect(p0(done)).toMatchObject({ replicas: [1, 2, 4], isr: [1, 2], addingReplicas: [], removingReplicas: [] });
  });

  it('refuses an assignment that does not fit the topic', () => {
    const assign = (replicas: number[], addingReplicas: number[] = [], removingReplicas: number[] = [], partition = 0): AssignPartitionRecord => ({
      type: 'assign-partition',
      topic: 't',
      partition,
      replicas,
      addingReplicas,
      removingReplicas,
    });
    expect(() => applyMetadataRecord(base, assign([1, 2, 3], [], [], 1))).toThrow(/has 1 partitions/);
    expect(() => applyMetadataRecord(base, assign([1, 2]))).toThrow(/target has 2 replicas, replication factor is 3/);
    expect(() => applyMetadataRecord(base, assign([1, 2, 3], [4]))).toThrow(/adding replica 4 is not in replicas/);
    expect(() => applyMetadataRecord(base, assign([1, 2, 3, 4], [4], [4]))).toThrow(/both added and removed/);
    expect(() => applyMetadataRecord(base, assign([1, 2, 2]))).toThrow(/duplicate/);
    expect(() => applyMetadataRecord(base, { ...assign([1, 2, 3]), topic: 'nope' })).toThrow(/does not exist/);
  });

  const topicId = base.topics.get('t')!.topicId;
  const report = (leader: number, leaderEpoch: number, isr: number[]): PartitionStateRecord => ({
    type: 'partition-state',
    topic: 't',
    topicId,
    partition: 0,
    leader,
    leaderEpoch,
    isr,
  });

  it('applies leader reports of the same or a newer epoch and ignores stale ones', () => {
    const s1 = applyMetadataRecord(base, report(2, 3, [2, 1, 3]));
    expect(p0(s1)).toMatchObject({ leader: 2, leaderEpoch: 3, isr: [2, 1, 3] });
    const s2 = applyMetadataRecord(s1, report(2, 3, [2, 1]));
    expect(p0(s2)?.isr).toEqual([2, 1]);
    expect(applyMetadataRecord(s2, report(1, 2, [1]))).toBe(s2);
    // Two leaders cannot share a term; the second claim is not the real leader.
    expect(applyMetadataRecord(s2, report(3, 3, [3]))).toBe(s2);
    expect(applyMetadataRecord(s2, report(2, 3, [2, 1]))).toBe(s2);
    const s3 = applyMetadataRecord(s2, report(3, 4, [3, 9, 3]));
    expect(p0(s3)).toMatchObject({ leader: 3, leaderEpoch: 4, isr: [3] });
  });

  it('ignores reports for deleted, recreated or missing partitions', () => {
    expect(applyMetadataRecord(base, { ...report(1, 1, [1]), topicId: 'other' })).toBe(base);
    expect(applyMetadataRecord(base, { ...report(1, 1, [1]), partition: 5 })).toBe(base);
    const gone = applyMetadataRecord(base, { type: 'delete-topic', name: 't' });
    expect(applyMetadataRecord(gone, report(1, 1, [1]))).toBe(gone);
  });

  it('never throws on a partition-state record, whatever it says', () => {
    const rng = new SeededRandom(17);
    let s = base;
    for (let i = 0; i < 2000; i++) {
      const isr = Array.from({ length: rng.nextInt(5) }, () => rng.nextInt(7) - 1);
      const rec: MetadataRecord = {
        type: 'partition-state',
        topic: rng.chance(0.8) ? 't' : 'u',
        topicId: rng.chance(0.9) ? topicId : 'x',
        partition: rng.nextInt(3) - (rng.chance(0.1) ? 1 : 0),
        leader: rng.nextInt(6) - 1,
        leaderEpoch: rng.nextInt(20),
        isr,
      };
      const before = p0(s)!;
      s = applyMetadataRecord(s, rec);
      const after = p0(s)!;
      expect(after.leaderEpoch).toBeGreaterThanOrEqual(before.leaderEpoch);
      for (const id of after.isr) expect(after.replicas).toContain(id);
    }
  });
});

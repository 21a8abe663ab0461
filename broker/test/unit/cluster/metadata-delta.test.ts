import { describe, expect, it } from 'vitest';
import { completePartitionReassignment, reassignPartition } from '../../../src/cluster/admin-commands.js';
import { createPartitions, createTopic, deleteTopic, reportPartitionState } from '../../../src/cluster/controller-commands.js';
import { isEmptyDelta, metadataDelta, topicsGone } from '../../../src/cluster/metadata-delta.js';
import { imageViolations } from '../../../src/cluster/metadata-invariants.js';
import type { MetadataRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { applyAll, cluster, registration } from './fixtures.js';

const create = (name: string, topicId: string, assignments: number[][]): MetadataRecord => ({
  type: 'create-topic',
  name,
  topicId,
  partitions: assignments.length,
  replicationFactor: assignments[0]!.length,
  internal: false,
  configs: {},
  assignments,
});

const report = (s: MetadataState, topic: string, partition: number, leader: number, leaderEpoch: number): MetadataRecord => ({
  type: 'partition-state',
  topic,
  topicId: s.topics.get(topic)!.topicId,
  partition,
  leader,
  leaderEpoch,
  isr: s.topics.get(topic)!.partitionImages[partition]!.replicas.slice(),
});

describe('metadataDelta', () => {
  const s0 = cluster([1, 2, 3]);

  it('opens the partitions of a new topic that land on this broker, and lists all for Metadata', () => {
    const s1 = applyMetadataRecord(s0, create('t', 'id-t', [[1, 2], [2, 3], [3, 1]]));
    const d = metadataDelta(s0, s1, 1);
    expect(d.open.map((p) => p.partition)).toEqual([0, 2]);
    expect(d.open[0]).toMatchObject({ topic: 't', topicId: 'id-t', image: { replicas: [1, 2], leader: -1 } });
    expect(d.partitions.map((p) => [p.partition, p.previous])).toEqual([[0, null], [1, null], [2, null]]);
    expect(d.close).toEqual([]);
    expect(metadataDelta(s0, s1, 9).open).toEqual([]);
  });

  it('follows a reassignment: open on the added broker, membership on the kept ones, close on the removed one', () => {
    const s1 = applyMetadataRecord(s0, create('t', 'id-t', [[1, 2]]));
    const s2 = applyMetadataRecord(applyMetadataRecord(s1, registration(4)), {
      type: 'assign-partition',
      topic: 't',
      partition: 0,
      replicas: [4, 2, 1],
      addingReplicas: [4],
      removingReplicas: [1],
    });
    expect(metadataDelta(s1, s2, 4).open.map((p) => p.image.replicas)).toEqual([[4, 2, 1]]);
    expect(metadataDelta(s1, s2, 2).reassigned.map((p) => p.partition)).toEqual([0]);
    expect(metadataDelta(s1, s2, 1).close).toEqual([]);
    const s3 = applyMetadataRecord(s2, { type: 'assign-partition', topic: 't', partition: 0, replicas: [4, 2], addingReplicas: [], removingReplicas: [] });
    expect(metadataDelta(s2, s3, 1).close).toEqual([{ topic: 't', topicId: 'id-t', partition: 0 }]);
    expect(metadataDelta(s2, s3, 4).open).toEqual([]);
    expect(metadataDelta(s1, s2, 3).brokers.map((b) => b.current.nodeId)).toEqual([4]);
  });

  it('deletes a deleted topic, and a recreated one is a delete plus opens', () => {
    const s1 = applyMetadataRecord(s0, create('t', 'old', [[1], [2], [1]]));
    const s2 = applyMetadataRecord(s1, { type: 'delete-topic', name: 't' });
    expect(metadataDelta(s1, s2, 1).deleted).toEqual([{ topic: 't', topicId: 'old', localPartitions: [0, 2] }]);
    const s3 = applyMetadataRecord(s2, create('t', 'new', [[1]]));
    const d = metadataDelta(s1, s3, 1);
    expect(d.deleted).toEqual([{ topic: 't', topicId: 'old', localPartitions: [0, 2] }]);
    expect(d.open.map((p) => [p.topicId, p.partition])).toEqual([['new', 0]]);
    expect(d.configsChanged).toEqual([]);
    // What the group coordinators hear: the names whose topic is gone, replaced or not.
    expect(topicsGone(s1, s2)).toEqual(['t']);
    expect(topicsGone(s1, s3)).toEqual(['t']);
    expect(topicsGone(s2, s3)).toEqual([]);
    expect(topicsGone(s3, applyMetadataRecord(s3, report(s3, 't', 0, 1, 1)))).toEqual([]);
  });

  it('reports leadership changes everywhere, and elections and resignations of this broker', () => {
    let s = applyMetadataRecord(s0, create('t', 'id-t', [[1, 2], [2, 1]]));
    const s1 = applyAll(s, [report(s, 't', 0, 1, 1), report(s, 't', 1, 2, 1)]);
    let d = metadataDelta(s, s1, 1);
    expect(d.partitions.map((p) => [p.partition, p.current.leader])).toEqual([[0, 1], [1, 2]]);
    expect(d.elected).toEqual([{ topic: 't', topicId: 'id-t', partition: 0, leaderEpoch: 1 }]);
    expect(d.resigned).toEqual([]);
    s = applyAll(s1, [report(s1, 't', 0, 2, 2), report(s1, 't', 1, 1, 2)]);
    d = metadataDelta(s1, s, 1);
    expect(d.elected.map((p) => p.partition)).toEqual([1]);
    expect(d.resigned.map((p) => p.partition)).toEqual([0]);
    // Re-elected in a new term: elected again with the new epoch.
    const s2 = applyMetadataRecord(s, report(s, 't', 1, 1, 3));
    expect(metadataDelta(s, s2, 1).elected).toEqual([{ topic: 't', topicId: 'id-t', partition: 1, leaderEpoch: 3 }]);
    // A deleted topic's led partitions resign.
    const s3 = applyMetadataRecord(s2, { type: 'delete-topic', name: 't' });
    expect(metadataDelta(s2, s3, 1).resigned.map((p) => p.partition)).toEqual([1]);
  });

  it('lists config, broker, voter and producer-id changes, and nothing for an unchanged image', () => {
    const s1 = applyMetadataRecord(s0, create('t', 'id-t', [[1]]));
    const s2 = applyAll(s1, [
      { type: 'set-topic-configs', name: 't', configs: { 'retention.ms': '5' } },
      { type: 'set-maintenance', nodeId: 2, maintenance: true },
      { type: 'set-metadata-voters', voters: [1, 2] },
      { type: 'producer-id-block', nodeId: 1, firstProducerId: 0, size: 10 },
    ]);
    const d = metadataDelta(s1, s2, 1);
    expect(d.configsChanged).toEqual(['t']);
    expect(d.partitions).toEqual([]);
    expect(d.brokers).toEqual([{ previous: s1.brokers.get(2), current: s2.brokers.get(2) }]);
    expect(d.metadataVotersChanged).toBe(true);
    expect(d.producerIdsChanged).toBe(true);
    expect(isEmptyDelta(d)).toBe(false);
    expect(isEmptyDelta(metadataDelta(s2, s2, 1))).toBe(true);
    // A stale report leaves the image as it was: an empty delta.
    const s3 = applyMetadataRecord(s2, report(s2, 't', 0, 1, 2));
    expect(isEmptyDelta(metadataDelta(s3, applyMetadataRecord(s3, report(s3, 't', 0, 1, 1)), 1))).toBe(true);
  });
});

describe('metadataDelta over random histories', () => {
  it('keeps each broker\'s hosted set equal to what the image says, step by step', () => {
    const hostedIn = (s: MetadataState, id: number): Set<string> => {
      const out = new Set<string>();
      for (const t of s.topics.values()) t.partitionImages.forEach((p, i) => p.replicas.includes(id) && out.add(`${t.topicId}/${i}`));
      return out;
    };
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new SeededRandom(seed);
      const ids = [1, 2, 3, 4, 5];
      let s = cluster(ids);
      const local = new Map(ids.map((id) => [id, new Set<string>()]));
      let n = 0;
      const ctx = { brokerDefaults: {}, newTopicId: () => `topic-id-${seed}-${++n}` };
      for (let step = 0; step < 60; step++) {
        const names = [...s.topics.keys()];
        const pick = names[rng.nextInt(names.length)];
        const roll = rng.nextInt(6);
        let records: readonly MetadataRecord[] = [];
        const take = (r: { ok: boolean; records?: readonly MetadataRecord[] }): void => {
          if (r.ok && r.records) records = r.records;
        };
        if (roll === 0 || !pick) take(createTopic(s, { name: `t${rng.nextInt(6)}`, partitions: 1 + rng.nextInt(4), replicationFactor: 1 + rng.nextInt(3), configs: {} }, ctx));
        else if (roll === 1) take(deleteTopic(s, { name: pick }));
        else if (roll === 2) take(createPartitions(s, { name: pick, totalCount: s.topics.get(pick)!.partitions + 1 }));
        else if (roll === 3) {
          const t = s.topics.get(pick)!;
          const target = [...ids];
          for (let i = target.length - 1; i > 0; i--) {
            const j = rng.nextInt(i + 1);
            [target[i], target[j]] = [target[j]!, target[i]!];
          }
          take(reassignPartition(s, pick, rng.nextInt(t.partitions), target.slice(0, t.replicationFactor)));
        } else if (roll === 4) take(completePartitionReassignment(s, pick, rng.nextInt(s.topics.get(pick)!.partitions)));
        else {
          const t = s.topics.get(pick)!;
          const partition = rng.nextInt(t.partitions);
          const p = t.partitionImages[partition]!;
          take(reportPartitionState(s, { topic: pick, topicId: t.topicId, partition, leader: p.replicas[0]!, leaderEpoch: p.leaderEpoch + rng.nextInt(2), isr: p.replicas.slice() }));
        }
        const next = applyAll(s, records);
        expect(imageViolations(next), `seed ${seed} step ${step}`).toEqual([]);
        for (const id of ids) {
          const d = metadataDelta(s, next, id);
          const set = local.get(id)!;
          for (const t of d.deleted) for (const i of t.localPartitions) expect(set.delete(`${t.topicId}/${i}`)).toBe(true);
          for (const c of d.close) expect(set.delete(`${c.topicId}/${c.partition}`)).toBe(true);
          for (const o of d.open) {
            expect(set.has(`${o.topicId}/${o.partition}`)).toBe(false);
            set.add(`${o.topicId}/${o.partition}`);
          }
          expect(set, `seed ${seed} step ${step} broker ${id}`).toEqual(hostedIn(next, id));
        }
        s = next;
      }
    }
  });
});

/**
 * The coordinator on a real one-broker raft cluster and real partition logs (fsync'd files in a temp dir):
 * the offsets topic is created internal and compacted, big commits are split into batches that
 * fit max.message.bytes, and a restart rebuilds everything from the log - also past garbage that
 * a client might have produced into the topic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OFFSETS_TOPIC } from '../../../src/coordinator/index.js';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { closeSingleNodes, startSingleNode } from '../../helpers/single-node.js';
import { tmpDataDir } from '../../helpers/tmp.js';

const settings = {
  'offsets.topic.num.partitions': '3',
  'num.partitions': '1',
  'offsets.topic.replication.factor': '3',
};

async function start(dir: string) {
  const node = await startSingleNode(dir, settings);
  // The first FindCoordinator creates the offsets topic and waits for its groups to load.
  for (const g of ['big', 'a', 'b', 'c']) await node.coordinator.coordinatorFor(g, 0);
  return { cluster: node.cluster, groups: node.coordinator.groups, stop: () => node.close() };
}

afterEach(async () => {
  await closeSingleNodes();
});

describe('offsets topic storage', () => {
  it('creates the internal compacted topic, splits a large commit into batches, and replays it after a restart', async () => {
    const dir = tmpDataDir();
    const a = await start(dir);
    const topic = a.cluster.topic(OFFSETS_TOPIC)!;
    expect(topic).toMatchObject({ internal: true, partitions: 3, replicationFactor: 1 });
    expect(topic.configs['cleanup.policy']).toBe('compact');
    await a.cluster.createTopic({ name: 'wide', partitions: 300, replicationFactor: 1, configs: {} });

    const meta = 'm'.repeat(4000);
    const partitions = Array.from({ length: 300 }, (_, p) => ({ topic: 'wide', partition: p, offset: p * 10, leaderEpoch: -1, metadata: meta }));
    const errors = await a.groups.commitOffsets({ groupId: 'big', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions });
    expect(errors.every((e) => e.errorCode === 0)).toBe(true);
    // About 1 MB of records: more than one batch went into the log.
    const owner = [0, 1, 2].map((p) => a.cluster.partition(OFFSETS_TOPIC, p)!).find((p) => p.highWatermark() > 0)!;
    expect(owner.highWatermark()).toBe(300);
    const read = await owner.read(0, 64 * 1024 * 1024, 0);
    expect(read.records.length).toBeGreaterThan(1024 * 1024);

    // A client writing garbage into the internal topic must not stop the coordinator from starting.
    await owner.append(buildRecordBatch({ records: [{ key: 'not-json', value: 'x' }, { key: null, value: 'y' }] }), -1);
    await a.groups.commitOffsets({ groupId: 'big', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [{ ...partitions[7]!, offset: 7777 }] });
    await a.stop();

    const b = await start(dir);
    const fetched = await b.groups.fetchOffsets('big', null);
    expect(fetched.offsets).toHaveLength(300);
    const byPartition = new Map(fetched.offsets.map((o) => [o.partition, o]));
    expect(byPartition.get(299)).toMatchObject({ offset: 2990, metadata: meta });
    expect(byPartition.get(7)?.offset).toBe(7777);
    expect(b.groups.groupState('big')).toBe('Empty');
  }, 60_000);
});

/**
 * `__consumer_offsets` under the log cleaner, on a real one-broker raft cluster and real files: after many
 * commits, offset deletions and a group deletion, cleaning leaves one record per live key (no
 * deleted offset or group comes back), and a restarted coordinator loads exactly the state it
 * had before cleaning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftCluster } from '../../../src/cluster/raft-cluster.js';
import { OFFSETS_TOPIC, type GroupCoordinator } from '../../../src/coordinator/index.js';
import { decodeRecords, readBatchHeader } from '../../../src/kafka/protocol/records.js';
import type { FileLogManager } from '../../../src/log/index.js';
import { closeSingleNodes, startSingleNode } from '../../helpers/single-node.js';
import { tmpDataDir } from '../../helpers/tmp.js';

const settings = {
  'offsets.topic.num.partitions': '1',
  'num.partitions': '1',
  'offsets.topic.segment.bytes': '16384',
  'log.cleaner.enable': 'false',
  'log.cleaner.delete.retention.ms': '0',
  'log.cleaner.min.cleanable.ratio': '0.01',
};

interface Running {
  readonly cluster: RaftCluster;
  readonly manager: FileLogManager;
  readonly groups: GroupCoordinator;
  stop(): Promise<void>;
}

afterEach(async () => {
  await closeSingleNodes();
});

async function start(dataDir: string, ids: readonly string[]): Promise<Running> {
  // The cleaner's clock runs a little ahead, so every tombstone is past delete.retention.ms (0).
  const node = await startSingleNode(dataDir, settings, { now: () => Date.now() + 1000 });
  for (const id of ids) await node.coordinator.coordinatorFor(id, 0);
  return { cluster: node.cluster, manager: node.logs, groups: node.coordinator.groups, stop: () => node.close() };
}

async function allOffsets(groups: GroupCoordinator, ids: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const id of ids) {
    const f = await groups.fetchOffsets(id, null);
    out[id] = f.offsets.map((o) => `${o.topic}/${o.partition}=${o.offset}:${o.metadata}`).sort();
  }
  return out;
}

/** The record keys of the offsets partition below `end`, in offset order. */
async function storedKeys(r: Running, end = Infinity): Promise<string[]> {
  const p = r.cluster.partition(OFFSETS_TOPIC, 0)!;
  const keys: string[] = [];
  for (let off = p.logStartOffset(); off < p.highWatermark(); ) {
    const read = await p.read(off, 1 << 20, 0);
    for (let pos = 0; pos < read.records.length; ) {
      const h = readBatchHeader(read.records, pos);
      if (!h.isControl) {
        for (const rec of decodeRecords(read.records, pos).records) if (rec.offset >= off && rec.offset < end) keys.push(rec.key!.toString());
      }
      pos += h.sizeInBytes;
    }
    off = read.nextOffset;
  }
  return keys;
}

describe('__consumer_offsets compaction', () => {
  it('keeps the latest commit per key, drops deleted offsets and groups, and reloads the same state', async () => {
    const dir = tmpDataDir();
    const ids = Array.from({ length: 12 }, (_, g) => `group-${g}`);
    const a = await start(dir, ids);
    await a.cluster.createTopic({ name: 'data', partitions: 10, replicationFactor: 1, configs: {} });
    for (let round = 0; round < 40; round++) {
      for (const groupId of ids) {
        const partitions = Array.from({ length: 10 }, (_, p) => ({ topic: 'data', partition: p, offset: round * 100 + p, leaderEpoch: -1, metadata: `r${round}` }));
        const errors = await a.groups.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions });
        expect(errors.every((e) => e.errorCode === 0)).toBe(true);
      }
    }
    const del = await a.groups.deleteOffsets('group-3', [{ topic: 'data', partition: 0 }, { topic: 'data', partition: 1 }]);
    expect(del.errorCode).toBe(0);
    expect(await a.groups.deleteGroups(['group-7'])).toEqual([{ groupId: 'group-7', errorCode: 0 }]);
    // more commits, so the deletions lie in closed segments (the active one is never cleaned)
    for (let round = 0; round < 10; round++) {
      for (const groupId of ids.filter((g) => g !== 'group-7')) {
        const partitions = Array.from({ length: 8 }, (_, p) => ({ topic: 'data', partition: 2 + p, offset: 99_000 + round, leaderEpoch: -1, metadata: 'late' }));
        await a.groups.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions });
      }
    }
    const before = await allOffsets(a.groups, ids);
    expect(before['group-7']).toEqual([]);
    expect(before['group-3']).toHaveLength(8);
    const keysBefore = await storedKeys(a);

    const log = a.manager.openLogs().find((l) => l.dir.endsWith(`${OFFSETS_TOPIC}-0`))!;
    const ref = { topic: OFFSETS_TOPIC, partition: 0, log };
    // The raft log is compacted first: the cleaner may rewrite only what lies below its snapshot.
    await a.cluster.applyRetention();
    expect(log.cleanableBelow()).toBe(log.segmentBaseOffsets().at(-1));
    await a.manager.cleaner.clean(ref);
    await a.manager.cleaner.clean(ref);
    const keysAfter = await storedKeys(a);
    expect(keysAfter.length).toBeLessThan(keysBefore.length / 10);
    const active = log.segmentBaseOffsets().at(-1)!;
    expect(active).toBeGreaterThan(0);
    // below the active segment, one record per live key and none of the deleted ones
    const cleaned = await storedKeys(a, active);
    expect(cleaned.length).toBeGreaterThan(0);
    expect(new Set(cleaned).size).toBe(cleaned.length);
    expect(cleaned.filter((k) => k.includes('"group-7"'))).toEqual([]);
    expect(cleaned.filter((k) => k.includes('"group-3"') && /"partition":[01]\}/.test(k))).toEqual([]);
    await a.stop();

    const b = await start(dir, ids);
    expect(await allOffsets(b.groups, ids)).toEqual(before);
    expect(b.groups.groupState('group-7')).toBeUndefined();
  }, 120_000);
});

/**
 * Loading a coordinator partition when a read goes wrong (found by the system simulator: seeds
 * 601 and 629, its REGRESSION_SEEDS, with read bit flips): the replay used to skip a batch
 * whose CRC a flipped bit broke (as if it were some client's undecodable batch) and to end at a read that came back empty (the
 * log stops a read at a batch it finds corrupt), so a new coordinator served the partition
 * without its newest commits: an acknowledged offset commit lost. Now such a read is read again,
 * and a partition that never reads back whole fails its load instead of loading short.
 */
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/cluster/types.js';
import { OFFSETS_TOPIC } from '../../../src/coordinator/group-partition.js';
import { encodeKey, encodeOffsetValue, type CoordinatorKey, type OffsetValue } from '../../../src/coordinator/offsets-records.js';
import { OffsetsTopicStore, type ReplayVisitor, type StoredValue } from '../../../src/coordinator/offsets-topic-store.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { buildRecordBatch, readBatchHeader } from '../../../src/kafka/protocol/records.js';
import type { ReadResult } from '../../../src/log/types.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** One batch per commit of group 'g', topic 't', partition 0: offsets 0..n-1 commit 10, 20, ... */
function log(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const value: OffsetValue = { offset: (i + 1) * 10, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 };
    return buildRecordBatch({ baseOffset: i, records: [{ key: encodeKey({ type: 'offset', group: 'g', topic: 't', partition: 0 }), value: encodeOffsetValue(value) }] });
  });
}

/** A store over one leading partition whose reads `damage` may spoil (read number, from 1). */
function storeOver(batches: Buffer[], damage: (read: number, r: ReadResult) => ReadResult): { store: OffsetsTopicStore; reads: () => number } {
  let reads = 0;
  const end = batches.length;
  const partition = {
    isLeader: () => true,
    leaderEpoch: () => 1,
    logStartOffset: () => 0,
    highWatermark: () => end,
    logEndOffset: () => end,
    read: (offset: number): Promise<ReadResult> => {
      // Like the log: up to 3 whole batches from the one holding `offset`.
      const from = batches.filter((b) => readBatchHeader(b, 0).lastOffset >= offset).slice(0, 3);
      const r: ReadResult = { records: Buffer.concat(from.map((b) => Buffer.from(b))), firstOffset: offset, nextOffset: Math.min(end, offset + from.length) };
      return Promise.resolve(damage(++reads, r));
    },
  };
  const cluster = {
    topic: (name: string) => (name === OFFSETS_TOPIC ? { name, topicId: 'x', partitions: 1, replicationFactor: 1, internal: true, configs: {} } : undefined),
    partition: (topic: string) => (topic === OFFSETS_TOPIC ? partition : undefined),
  } as unknown as Cluster;
  return { store: new OffsetsTopicStore({ cluster, partitions: 1, replicationFactor: () => 1, logger: quiet }), reads: () => reads };
}

async function replay(store: OffsetsTopicStore): Promise<{ offsets: number[]; skipped: number }> {
  const offsets: number[] = [];
  const visit: ReplayVisitor = {
    record: (_key: CoordinatorKey, value: StoredValue | null) => offsets.push((value as OffsetValue).offset),
    txnRecord: () => undefined,
    marker: () => undefined,
  };
  const r = await store.replayPartition(0, 7, visit, () => true);
  return { offsets, skipped: r.skipped };
}

const flipped = (r: ReadResult): ReadResult => {
  const records = Buffer.from(r.records);
  records[records.length - 5] = (records[records.length - 5] as number) ^ 0x10;
  return { ...r, records };
};

describe('replaying a coordinator partition', () => {
  const all = [10, 20, 30, 40, 50, 60, 70];

  it('reads a batch whose CRC a flipped bit broke again instead of skipping it', async () => {
    const { store, reads } = storeOver(log(7), (n, r) => (n === 3 ? flipped(r) : r));
    expect(await replay(store)).toEqual({ offsets: all, skipped: 0 });
    expect(reads()).toBe(4);
  });

  it('reads again when a read below the high watermark comes back empty instead of ending the load there', async () => {
    const { store } = storeOver(log(7), (n, r) => (n === 2 ? { records: Buffer.alloc(0), firstOffset: r.firstOffset, nextOffset: r.firstOffset } : r));
    expect(await replay(store)).toEqual({ offsets: all, skipped: 0 });
  });

  it('fails the load when the partition never reads back whole', async () => {
    const { store } = storeOver(log(7), (n, r) => (n >= 2 ? flipped(r) : r));
    const err = await replay(store).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).code).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

/**
 * Record batches larger than a raft transport frame (4 MiB) on three real broker processes on
 * loopback. An acks=all produce of one is answered once a quorum stored it, and every replica
 * ends with it byte for byte (before, the leader dropped the append on every retry, the produce
 * timed out and nothing on the partition committed again).
 *
 * Records are read from each broker's segment files, so what is compared is what each replica
 * stores, not what one leader serves.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { eventually, kafkaOf, topicMetadata } from '../helpers/kafka-load.js';
import { sameEverywhere } from '../helpers/stored-records.js';

const MiB = 1024 * 1024;

/** A value of `bytes` ASCII characters that no codec shrinks much (hex of random bytes). */
const bigValue = (bytes: number): string => randomBytes(bytes / 2).toString('hex');
const digest = (v: string | null): string => (v === null ? 'null' : `${v.length}:${createHash('sha256').update(v).digest('hex').slice(0, 16)}`);

describe('record batches larger than a raft frame on a three-broker cluster', () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(cluster.logs().slice(-30_000));
  });

  it('an acks=all produce of a 6 MiB batch is answered and every replica stores it; one above max.message.bytes is refused', async () => {
    const topic = 'big';
    const kafka = kafkaOf(cluster);
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: String(8 * MiB) }] }] });
      await eventually('a leader with a full ISR', async () => (await topicMetadata(admin, topic)).partitions[0]!.isr.length === 3);
      await producer.connect();
      const values = ['before', bigValue(6 * MiB), 'after'];
      for (const [i, value] of values.entries()) {
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value }] });
        expect(Number(meta!.baseOffset)).toBe(i);
      }
      await expect(producer.send({ topic, acks: -1, messages: [{ key: 'too-big', value: bigValue(9 * MiB) }] })).rejects.toThrow(/larger than the max message size/);

      let state: ReturnType<typeof sameEverywhere> = { same: false, records: [], counts: [] };
      await eventually('every replica storing the three records', () => (state = sameEverywhere(cluster, topic, 0)).same && state.records.length === 3);
      expect(state.records.map((r) => digest(r.value))).toEqual(values.map(digest));

      // A consumer reads it back from whichever broker leads.
      const consumer = kafka.consumer({ groupId: 'big-reader', maxWaitTimeInMs: 200 });
      const read: string[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => void read.push(digest(message.value?.toString() ?? null)) });
        await eventually('the consumer reading the three records', () => read.length >= 3);
      } finally {
        await consumer.disconnect();
      }
      expect(read).toEqual(values.map(digest));
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 180_000);
});

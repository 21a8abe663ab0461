/**
 * Record batches larger than a raft transport frame (4 MiB) on three real broker processes on
 * loopback. An acks=all produce of one is answered once a quorum stored it, and every replica
 * ends with it byte for byte (before, the leader dropped the append on every retry, the produce
 * timed out and nothing on the partition committed again). A compacted topic of such batches
 * whose follower was down while its leader compacted: the follower copies the records below the
 * snapshot, large batches in pieces, is killed with kill -9 in the middle, continues the copy
 * from its staging file when it comes back, and every replica ends with the same records (before,
 * no reply could carry such a batch and the copy failed on every attempt).
 *
 * Records are read from each broker's segment files, so what is compared is what each replica
 * stores, not what one leader serves.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startAndKillAt, startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { eventually, kafkaOf, topicMetadata } from '../helpers/kafka-load.js';
import { jsonField, sameEverywhere, storedRecords } from '../helpers/stored-records.js';

const MiB = 1024 * 1024;

/** A value of `bytes` ASCII characters that no codec shrinks much (hex of random bytes). */
const bigValue = (bytes: number): string => randomBytes(bytes / 2).toString('hex');
const digest = (v: string | null): string => (v === null ? 'null' : `${v.length}:${createHash('sha256').update(v).digest('hex').slice(0, 16)}`);

describe('record batches larger than a raft frame on a three-broker cluster', () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await startCluster({
      brokers: 3,
      args: [
        // Frequent retention passes (they compact the raft logs) and cleaner passes.
        '--config', 'log.retention.check.interval.ms=300',
        '--config', 'log.cleaner.backoff.ms=100',
        // A killed follower leaves the ISR soon: a leader compacts no further than its in-sync followers.
        '--config', 'replica.lag.time.max.ms=1500',
        '--config', 'log.cleaner.min.cleanable.ratio=0.01',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(cluster.logs().slice(-30_000));
    for (const m of cluster.members) await cluster.start(m.nodeId);
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

  it('a compacted topic of 6 MiB batches: a follower back after its leader compacted copies them in pieces, continues after a kill -9, and every replica ends with the same records', async () => {
    const topic = 'big-compacted';
    const kafka = kafkaOf(cluster, 30);
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 1,
            replicationFactor: 3,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'max.message.bytes', value: String(8 * MiB) },
              { name: 'segment.bytes', value: String(MiB) },
              { name: 'min.cleanable.dirty.ratio', value: '0.01' },
            ],
          },
        ],
      });
      await eventually('the preferred replica leading with a full ISR', async () => {
        const p = (await topicMetadata(admin, topic)).partitions[0]!;
        return p.leader === p.replicas[0] && p.isr.length === 3;
      }, 60_000);
      const leader = (await topicMetadata(admin, topic)).partitions[0]!.leader;
      const follower = [0, 1, 2].find((i) => i !== leader)!;
      await cluster.kill(follower);

      await producer.connect();
      // Three large keys rewritten three times among small records of keys of their own, so the
      // copy meets small batches before its first large one.
      const latest = new Map<string, string>();
      const send = async (key: string, value: string): Promise<void> => {
        await producer.send({ topic, acks: -1, messages: [{ key, value }] });
        latest.set(key, digest(value));
      };
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 20; i++) await send(`small-${round}-${i}`, `r${round}-${i}`.padEnd(200, '.'));
        for (let k = 0; k < 3; k++) await send(`big-${k}`, bigValue(6 * MiB));
      }
      const end = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
      const leaderDir = path.join(cluster.member(leader).process.dataDir, `${topic}-0`);
      // Cleaned far enough that a rewritten key's older value is gone (a first pass that ends
      // before any key's next value removes nothing).
      await eventually('the leader compacted its raft log past what the follower has, and cleaned below it', () => {
        return (
          jsonField(path.join(leaderDir, 'raft-snapshot.json'), 'offset') > end / 2 &&
          jsonField(path.join(leaderDir, 'cleaner.checkpoint'), 'firstDirtyOffset') > end / 2 &&
          storedRecords(cluster.member(leader).process.dataDir, topic, 0).length < end
        );
      }, 90_000);

      // Killed once it copied the small batches and reached the first large one.
      await startAndKillAt(cluster, follower, 'copying a batch larger than a request in pieces');
      await cluster.start(follower);
      const continued = logLines<{ bytes: number }>(cluster.member(follower).process.logs(), 'continuing the copy of the records of a snapshot').map((l) => l.bytes);
      console.log(`follower killed while copying large batches in pieces; after the restart its copy continued from ${continued.join(', ') || 'nothing'} bytes staged`);
      expect(continued[0]).toBeGreaterThan(0);
      await eventually('the follower back in the ISR', async () => (await topicMetadata(admin, topic)).partitions[0]!.isr.includes(follower), 90_000);
      const staged = logLines<{ bytes: number; ms: number }>(cluster.member(follower).process.logs(), 'staged the records of a snapshot');
      console.log(`copies completed: ${staged.map((x) => `${(x.bytes / MiB).toFixed(1)} MiB in ${x.ms} ms`).join(', ')}`);

      let state: ReturnType<typeof sameDigests> = { same: false, records: [], counts: [] };
      await eventually('every replica holding the same records', () => (state = sameDigests(cluster, topic)).same, 90_000);
      console.log(`${topic}: ${end} offsets written, ${state.counts.join('/')} records stored per replica`);
      const last = new Map(state.records.map((r) => [r.key, r.value] as const));
      expect(last).toEqual(latest);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 400_000);
});

/** A broker's JSON log lines with message `msg` (its stdout and stderr may interleave a line). */
function logLines<T>(logs: string, msg: string): T[] {
  const out: T[] = [];
  for (const line of logs.split('\n')) {
    if (!line.includes(`"msg":"${msg}`)) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // cut by the other stream's output
    }
  }
  return out;
}

/** Every replica's records, values as digests, equal. */
function sameDigests(c: ProcessCluster, topic: string): { same: boolean; records: { offset: number; key: string | null; value: string }[]; counts: number[] } {
  const all = c.members.map((m) => storedRecords(m.process.dataDir, topic, 0).map((r) => ({ offset: r.offset, key: r.key, value: digest(r.value) })));
  const first = JSON.stringify(all[0]);
  return { same: all.every((r) => JSON.stringify(r) === first), records: all[0]!, counts: all.map((r) => r.length) };
}

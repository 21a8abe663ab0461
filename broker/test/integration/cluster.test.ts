/**
 * The replicated cluster with real broker processes on loopback: topics created from any broker
 * with replicas and leaders spread, replicated produce and consume by every client, a leader
 * killed with kill -9 under idempotent acks=all load (nothing acknowledged lost, duplicated or
 * reordered), a follower catching up after a restart, a whole-cluster restart, a broker joining
 * a running cluster, and a consumer group outliving its coordinator's broker.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientDriver } from '../clients/driver.js';
import { kafkajsDriver, platformaticDriver } from '../clients/js-drivers.js';
import { kcatDriver } from '../clients/kcat-driver.js';
import { pythonDriver, runOnce } from '../clients/python-driver.js';
import { apiByKey } from '../../src/kafka/apis/registry.js';
import type { ApiDef } from '../../src/kafka/protocol/schema.js';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { eventually, readAll as readAllRecords, topicMetadata } from '../helpers/kafka-load.js';
import { RawKafkaClient } from '../helpers/raw-kafka-client.js';

const quiet = { logLevel: logLevel.NOTHING };

/** A client bootstrapped from the brokers running now (a dead seed only slows kafkajs down). */
function kafkaOf(c: ProcessCluster, retries = 20): Kafka {
  const live = c.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap);
  return new Kafka({ clientId: 'cluster-test', brokers: live, ...quiet, retry: { retries, initialRetryTime: 50, maxRetryTime: 1000 } });
}

interface Acked {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/**
 * Idempotent acks=all senders until `stop()`, sender s writing to partition s % partitions;
 * records what was acknowledged and the longest time any sender waited between two acknowledgements.
 */
function loadUntilStopped(kafka: Kafka, topic: string, senders: number, partitions = senders): { stop(): Promise<{ acked: Acked[]; failures: number; longestGapMs: number }> } {
  const acked: Acked[] = [];
  let failures = 0;
  let running = true;
  let longestGapMs = 0;
  const producers: Producer[] = [];
  const loops = Array.from({ length: senders }, async (_, s) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    producers.push(producer);
    await producer.connect();
    let lastAck = Date.now();
    for (let i = 0; running; i++) {
      const value = `s${s}-${i}`;
      try {
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `k${s}`, value, partition: s % partitions }] });
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - lastAck);
        lastAck = now;
        acked.push({ partition: meta!.partition, offset: Number(meta!.baseOffset), value });
      } catch {
        // A retriable error beyond the client's retries: count it and go on, as an application would.
        failures++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
      return { acked, failures, longestGapMs };
    },
  };
}

/** Reads every partition of `topic` from the start until every record up to its end offsets is in. */
const readAll = (kafka: Kafka, topic: string, partitions: number): ReturnType<typeof readAllRecords> =>
  readAllRecords(kafka, topic, partitions, Number.POSITIVE_INFINITY);

/** Every acknowledged write is read back exactly once, at its offset, in acknowledgement order. */
function checkNoLoss(acked: readonly Acked[], read: Map<number, { offset: number; value: string }[]>): void {
  const byValue = new Map<string, { partition: number; offset: number }>();
  for (const [partition, records] of read) {
    for (const r of records) {
      expect(byValue.has(r.value), `duplicate ${r.value}`).toBe(false);
      byValue.set(r.value, { partition, offset: r.offset });
    }
    const offsets = records.map((r) => r.offset);
    expect(offsets, `offsets of partition ${partition} increase`).toEqual([...offsets].sort((a, b) => a - b));
  }
  for (const a of acked) expect(byValue.get(a.value), `acknowledged ${a.value}`).toEqual({ partition: a.partition, offset: a.offset });
}

function segmentBytes(dataDir: string, topic: string, partition: number): Buffer {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  return Buffer.concat(files.map((f) => readFileSync(path.join(dir, f))));
}

describe('a three-broker cluster', () => {
  let cluster: ProcessCluster;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, args: ['--config', 'group.initial.rebalance.delay.ms=0'] });
    kafka = kafkaOf(cluster);
    admin = kafka.admin();
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(cluster.logs().slice(-20_000));
    // Whatever a test stopped comes back for the next one.
    for (const m of cluster.members) await cluster.start(m.nodeId);
  });

  it('creates a replicated topic from any broker: three replicas each, leaders spread, ISR complete', async () => {
    const other = new Kafka({ brokers: [cluster.member(2).process.bootstrap], ...quiet }).admin();
    await other.connect();
    await other.createTopics({ topics: [{ topic: 'spread', numPartitions: 12, replicationFactor: 3 }] });
    await other.disconnect();
    // Leadership ends up on each partition's preferred replica (its first), where placement
    // spread it: preferred replicas campaign first, and leaders hand back to them otherwise.
    await eventually('every partition led by its preferred replica, with a full ISR', async () => {
      const t = await topicMetadata(admin, 'spread');
      return t.partitions.length === 12 && t.partitions.every((p) => p.leader === p.replicas[0] && p.isr.length === 3);
    });
    const t = await topicMetadata(admin, 'spread');
    const leaders = new Map<number, number>();
    for (const p of t.partitions) {
      expect([...p.replicas].sort()).toEqual([0, 1, 2]);
      expect(p.replicas).toContain(p.leader);
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
    expect([...leaders.values()].sort()).toEqual([4, 4, 4]);
  });

  it('defaults to a replication factor of min(3, brokers) for topics created without one', async () => {
    await admin.createTopics({ topics: [{ topic: 'defaulted', numPartitions: 2 }] });
    const t = await topicMetadata(admin, 'defaulted');
    for (const p of t.partitions) expect(p.replicas).toHaveLength(3);
  });

  const drivers: ClientDriver[] = [kafkajsDriver, platformaticDriver, kcatDriver, pythonDriver('confluent'), pythonDriver('kafka-python')];
  it.each(drivers)('$name produces to and consumes from replicated partitions', async (driver) => {
    const topic = `rt-${driver.name.replace(/[^a-z0-9]+/gi, '-')}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
    const bootstrap = cluster.member(1).process.bootstrap;
    await driver.produce(bootstrap, topic, messages, { compression: 'none' });
    const got = await driver.consume(bootstrap, topic, `g-${topic}`, messages.length, 60_000);
    expect(got.map((m) => m.value).sort()).toEqual(messages.map((m) => m.value).sort());
  });

  it('loses nothing acknowledged when a partition leader is killed under idempotent acks=all load', async () => {
    await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 3, replicationFactor: 3 }] });
    await eventually('leaders', async () => (await topicMetadata(admin, 'failover')).partitions.every((p) => p.leader >= 0));
    const victim = (await topicMetadata(admin, 'failover')).partitions[0]!.leader;
    const load = loadUntilStopped(kafkaOf(cluster, 30), 'failover', 3);
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.kill(victim);
    await new Promise((r) => setTimeout(r, 4000));
    const { acked, failures, longestGapMs } = await load.stop();
    console.log(`failover: ${acked.length} acknowledged, ${failures} sends failed after retries, longest gap between acknowledgements ${longestGapMs} ms`);
    expect(acked.length).toBeGreaterThan(50);
    const t = await topicMetadata(admin, 'failover');
    expect(t.partitions.every((p) => p.leader >= 0 && p.leader !== victim)).toBe(true);
    checkNoLoss(acked, await readAll(kafkaOf(cluster), 'failover', 3));
  });

  it('a librdkafka idempotent acks=all producer sees no failure when a partition leader is killed, and loses nothing', async () => {
    await admin.createTopics({ topics: [{ topic: 'failover-rdkafka', numPartitions: 3, replicationFactor: 3 }] });
    await eventually('leaders', async () => (await topicMetadata(admin, 'failover-rdkafka')).partitions.every((p) => p.leader >= 0));
    const victim = (await topicMetadata(admin, 'failover-rdkafka')).partitions[0]!.leader;
    const bootstrap = cluster.members.map((m) => `127.0.0.1:${m.process.kafkaPort}`).join(',');
    const run = runOnce('confluent', 'produce-steady', { bootstrap, topic: 'failover-rdkafka', partitions: 3, count: 1500, interval_ms: 4 }, 120_000);
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.kill(victim);
    const r = (await run) as { delivered: [number, number, string, number][]; errors: string[]; undelivered: number };
    expect(r.errors).toEqual([]);
    expect(r.undelivered).toBe(0);
    expect(r.delivered).toHaveLength(1500);
    const times = r.delivered.map((d) => d[3]).sort((a, b) => a - b);
    const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    console.log(`librdkafka failover: 1500 delivered, no errors, longest gap between deliveries ${(gap * 1000).toFixed(0)} ms`);
    const t0 = Date.now();
    const read = await readAll(kafkaOf(cluster), 'failover-rdkafka', 3);
    console.log(`read back in ${Date.now() - t0} ms`);
    checkNoLoss(
      r.delivered.map(([partition, offset, value]) => ({ partition, offset, value })),
      read,
    );
  }, 180_000);

  it('a follower restarted after missing writes catches up to a byte-identical log and rejoins the ISR', async () => {
    await admin.createTopics({ topics: [{ topic: 'catchup', numPartitions: 1, replicationFactor: 3 }] });
    await eventually('a leader', async () => (await topicMetadata(admin, 'catchup')).partitions[0]!.leader >= 0);
    const leader = (await topicMetadata(admin, 'catchup')).partitions[0]!.leader;
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    await cluster.kill(follower);
    const producer = kafkaOf(cluster).producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'catchup', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `m${i}-${j}`.padEnd(200, '.') })) });
    await producer.disconnect();
    await cluster.start(follower);
    await eventually('the follower back in the ISR', async () => (await topicMetadata(admin, 'catchup')).partitions[0]!.isr.includes(follower), 30_000);
    const ends = await admin.fetchTopicOffsets('catchup');
    expect(Number(ends[0]!.high)).toBe(200);
    // Both logs hold the same bytes once the follower has everything (it is in the ISR).
    await eventually('identical segment files', () => {
      try {
        return segmentBytes(cluster.member(follower).process.dataDir, 'catchup', 0).equals(segmentBytes(cluster.member(leader).process.dataDir, 'catchup', 0));
      } catch {
        return false;
      }
    });
  });

  it('keeps a consumer group and its committed offsets when the coordinator\'s broker is killed', async () => {
    await admin.createTopics({ topics: [{ topic: 'grouped', numPartitions: 2, replicationFactor: 3 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'grouped', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `a${i}` })) });
    const seen: string[] = [];
    // Short client backoff, so the member finds the new coordinator soon after the old one died.
    // (kafkajs retries a dead coordinator's address for as long as its retries last before it
    // looks the coordinator up again.)
    const consumer = kafka.consumer({ groupId: 'survivor', maxWaitTimeInMs: 200, sessionTimeout: 10_000, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 500 } });
    await consumer.connect();
    await consumer.subscribe({ topic: 'grouped', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
    await eventually('first 20 read', () => seen.length >= 20);
    await consumer.commitOffsets([]).catch(() => undefined);
    expect((await admin.describeGroups(['survivor'])).groups[0]?.state).toBe('Stable');
    // Kill the broker that coordinates the group (the leader of its offsets partition).
    const node = await coordinatorOf(cluster, 'survivor');
    expect(node).toBeGreaterThanOrEqual(0);
    await cluster.kill(node);
    await producer.send({ topic: 'grouped', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `b${i}` })) }).catch(async () => {
      await producer.send({ topic: 'grouped', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `b${i}` })) });
    });
    await eventually('the next 20 read after the coordinator moved', () => seen.filter((v) => v.startsWith('b')).length >= 20, 60_000);
    // The member's commits reach the new coordinator: everything read ends up committed.
    const reader = kafkaOf(cluster).admin();
    await reader.connect();
    const committed = async (): Promise<number> => {
      const offsets = await reader.fetchOffsets({ groupId: 'survivor', topics: ['grouped'] });
      return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    await eventually('40 committed', async () => (await committed()) === 40, 30_000);
    await reader.disconnect();
    await consumer.disconnect();
    await producer.disconnect();
    expect(new Set(seen).size).toBe(40);
  });

  it('restarts as a whole after kill -9 of every broker with everything acknowledged', async () => {
    await admin.createTopics({ topics: [{ topic: 'everyone', numPartitions: 3, replicationFactor: 3 }] });
    const load = loadUntilStopped(kafkaOf(cluster), 'everyone', 2);
    await new Promise((r) => setTimeout(r, 1500));
    const { acked } = await load.stop();
    for (const m of cluster.members) await cluster.kill(m.nodeId);
    await Promise.all(cluster.members.map((m) => cluster.start(m.nodeId)));
    checkNoLoss(acked, await readAll(kafkaOf(cluster), 'everyone', 3));
  });

  it('takes in a broker that joins the running cluster, and places new replicas on it', async () => {
    const joined = await cluster.add();
    await eventually('the new broker in Metadata', async () => (await admin.describeCluster()).brokers.some((b) => b.nodeId === joined.nodeId));
    await admin.createTopics({ topics: [{ topic: 'wider', numPartitions: 8, replicationFactor: 3 }] });
    const t = await topicMetadata(admin, 'wider');
    expect(t.partitions.some((p) => p.replicas.includes(joined.nodeId))).toBe(true);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'wider', acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ value: `w${i}`, partition: i % 8 })) });
    await producer.disconnect();
    const read = await readAll(kafka, 'wider', 8);
    expect([...read.values()].flat()).toHaveLength(40);
  });
});

/** Which broker coordinates `group`, by asking a running one with FindCoordinator. */
async function coordinatorOf(cluster: ProcessCluster, group: string): Promise<number> {
  const m = cluster.members.find((x) => !x.process.exited);
  if (!m) return -1;
  const client = await RawKafkaClient.open(m.process.kafkaPort);
  try {
    const body = await client.call(apiByKey(10) as ApiDef, 3, { key: group, keyType: 0 });
    return body['errorCode'] === 0 ? (body['nodeId'] as number) : -1;
  } finally {
    client.close();
  }
}

describe('a five-broker cluster', () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startCluster({ brokers: 5 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('replicates over three of five brokers, and survives one leader after another being killed', async () => {
    const kafka = kafkaOf(cluster);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'five', numPartitions: 5, replicationFactor: 3 }] });
    await eventually('one leader per broker', async () => new Set((await topicMetadata(admin, 'five')).partitions.map((p) => p.leader)).size === 5);
    const t = await topicMetadata(admin, 'five');
    await admin.disconnect();
    const load = loadUntilStopped(kafka, 'five', 5);
    await new Promise((r) => setTimeout(r, 1000));
    const first = t.partitions[0]!.leader;
    await cluster.kill(first);
    await new Promise((r) => setTimeout(r, 2000));
    // Back, and caught up, before the next one goes: RF 3 survives one replica down at a time.
    await cluster.start(first);
    const watch = kafkaOf(cluster).admin();
    await watch.connect();
    await eventually('full ISRs again', async () => (await topicMetadata(watch, 'five')).partitions.every((p) => p.isr.length === 3), 30_000);
    const second = t.partitions[1]!.leader === first ? t.partitions[2]!.leader : t.partitions[1]!.leader;
    await watch.disconnect();
    await cluster.kill(second);
    await new Promise((r) => setTimeout(r, 3000));
    const { acked } = await load.stop();
    checkNoLoss(acked, await readAll(kafkaOf(cluster), 'five', 5));
  });

});

/**
 * Produce/consume load against a cluster of broker processes, and the check that nothing
 * acknowledged was lost, duplicated or reordered: idempotent acks=all senders record every
 * acknowledgement, a reader fetches every partition from the start, and every acknowledged
 * value must be read back exactly once at its acknowledged offset.
 */
import { Kafka, logLevel, type Admin, type ITopicMetadata, type Producer, type RetryOptions } from 'kafkajs';
import { expect } from 'vitest';
import type { ProcessCluster } from './cluster-process.js';

/** kafkajs is silent unless CHRONIK_TEST_KAFKAJS_DEBUG=1 (its requests and errors, for a post-mortem). */
export const quiet = { logLevel: process.env['CHRONIK_TEST_KAFKAJS_DEBUG'] === '1' ? logLevel.DEBUG : logLevel.NOTHING };

/** A client bootstrapped from the brokers running now (a dead seed only slows kafkajs down). */
export function kafkaOf(c: ProcessCluster, retries = 20): Kafka {
  const live = c.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap);
  return new Kafka({ clientId: 'admin-test', brokers: live, ...quiet, retry: { retries, initialRetryTime: 50, maxRetryTime: 1000 } });
}

/** Waits for `cond`; a throwing check (a client meeting a broker just killed) counts as not yet. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function topicMetadata(admin: Admin, topic: string): Promise<ITopicMetadata> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = md.topics.find((x) => x.name === topic);
  if (!t) throw new Error(`no metadata for ${topic}`);
  return t;
}

let loadRuns = 0;

export interface Acked {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface LoadResult {
  readonly acked: Acked[];
  /** Sends that failed after the producer's own retries. */
  readonly failures: number;
  readonly errors: string[];
  readonly longestGapMs: number;
}

export interface Load {
  /** Acknowledgements so far. */
  count(): number;
  stop(): Promise<LoadResult>;
}

/**
 * Idempotent acks=all senders until `stop()`, sender s writing to partition s % partitions;
 * records what was acknowledged, what failed after the client's retries, and the longest time
 * any sender waited between two acknowledgements.
 */
export function loadUntilStopped(kafka: Kafka, topic: string, senders: number, partitions = senders, retry?: RetryOptions): Load {
  const acked: Acked[] = [];
  const errors: string[] = [];
  let failures = 0;
  let running = true;
  let longestGapMs = 0;
  const producers: Producer[] = [];
  // Values are unique across loads, so a later load on the same topic is checked on its own.
  const run = (loadRuns++).toString(36);
  const loops = Array.from({ length: senders }, async (_, s) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, ...(retry ? { retry } : {}) });
    producers.push(producer);
    await producer.connect();
    let lastAck = Date.now();
    for (let i = 0; running; i++) {
      const value = `r${run}-s${s}-${i}`;
      try {
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `k${s}`, value, partition: s % partitions }] });
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - lastAck);
        lastAck = now;
        acked.push({ partition: meta!.partition, offset: Number(meta!.baseOffset), value });
      } catch (err) {
        // A retriable error beyond the client's retries: count it and go on, as an application would.
        failures++;
        errors.push((err as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    count: () => acked.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
      return { acked, failures, errors, longestGapMs };
    },
  };
}

/**
 * Reads every partition of `topic` from the start to its end (a fresh consumer group). The end
 * is the high watermark, unless control batches (membership changes of moved partitions take
 * an offset each, and no record) keep the count below it: then once at least `atLeast` records
 * are in and nothing more arrives for a few seconds.
 */
export async function readAll(kafka: Kafka, topic: string, partitions: number, atLeast = 0): Promise<Map<number, { offset: number; value: string }[]>> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Awaited<ReturnType<Admin['fetchTopicOffsets']>> = [];
  // A leader that moved a moment ago answers NOT_LEADER_OR_FOLLOWER, which kafkajs's admin passes on.
  await eventually(`the end offsets of ${topic}`, async () => {
    ends = await admin.fetchTopicOffsets(topic);
    return true;
  });
  await admin.disconnect();
  const want = ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0);
  const out = new Map<number, { offset: number; value: string }[]>();
  for (let p = 0; p < partitions; p++) out.set(p, []);
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let lastAt = Date.now();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.get(partition)?.push({ offset: Number(message.offset), value: message.value?.toString() ?? '' });
      seen++;
      lastAt = Date.now();
    },
  });
  try {
    await eventually(`reading up to ${want} records of ${topic}`, () => seen >= want || (seen >= atLeast && Date.now() - lastAt > 3000), 60_000);
  } finally {
    // A consumer stuck on an unreachable coordinator may never finish leaving; the failure above matters more.
    await Promise.race([consumer.disconnect(), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  return out;
}

/** Every acknowledged write is read back exactly once, at its offset, in acknowledgement order. */
export function checkNoLoss(acked: readonly Acked[], read: Map<number, { offset: number; value: string }[]>): void {
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

export interface Consumption {
  /** Distinct values the group has read. */
  seen(): ReadonlySet<string>;
  stop(): Promise<void>;
}

/**
 * A consumer group reading `topic` while the test runs: consumption (fetches, commits, the
 * group's coordinator) has to survive whatever the test does to the cluster.
 */
export async function consumeUntilStopped(kafka: Kafka, topic: string, groupId: string): Promise<Consumption> {
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 10_000, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value?.toString() ?? '') });
  return {
    seen: () => seen,
    stop: () => consumer.disconnect(),
  };
}

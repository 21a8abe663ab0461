/**
 * Continuous load for the e2e scenarios: one idempotent acks=all producer sending numbered
 * records one at a time (so each acknowledgement is exact), and a consumer group reading
 * them back, both from the host. `stop()` waits until the group has read every acknowledged
 * record and checks the log it saw: every acknowledged record at exactly one offset, and in
 * each partition in the order it was acknowledged.
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';

export interface LoadReport {
  acknowledged: number;
  /** Sends that failed after the client's own retries: a producer saw an error. */
  failedSends: string[];
  /** Longest time between two acknowledgements, ms. */
  longestGapMs: number;
  /** Problems the check found (empty when every acknowledged record was read once, in order). */
  problems: string[];
  /** Distinct records the group read, including ones whose send failed but landed. */
  read: number;
}

export interface Load {
  /** Acknowledged so far. */
  readonly acknowledged: number;
  /** Waits until `n` more records are acknowledged (from the time of the call). */
  progress(n: number, timeoutMs: number): Promise<void>;
  stop(readTimeoutMs?: number): Promise<LoadReport>;
}

interface Ack {
  partition: number;
  offset: string;
}

export async function startLoad(kafka: Kafka, topic: string, partitions: number, groupId: string): Promise<Load> {
  const run = Math.random().toString(36).slice(2, 8);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 3000 } });
  await producer.connect();
  const acked = new Map<string, Ack>();
  const ackOrder: string[] = [];
  const failedSends: string[] = [];
  let longestGapMs = 0;
  // The first acknowledgement (connecting, a producer id) is not a gap of the cluster's.
  let lastAck: number | null = null;
  let stopping = false;

  // value -> offsets it was read at, per partition, as the group saw them
  const readAt = new Map<string, Set<string>>();
  const byPartition = new Map<number, Map<string, string>>();
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 20_000, heartbeatInterval: 2000, retry: { retries: 20 } });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const value = message.value?.toString() ?? '';
      if (!value.startsWith(`${run}-`)) return;
      let offsets = readAt.get(value);
      if (!offsets) readAt.set(value, (offsets = new Set()));
      offsets.add(`${partition}:${message.offset}`);
      let p = byPartition.get(partition);
      if (!p) byPartition.set(partition, (p = new Map()));
      p.set(message.offset, value);
    },
  });

  const sender = (async () => {
    for (let seq = 0; !stopping; seq++) {
      const value = `${run}-${seq}`;
      const partition = seq % partitions;
      try {
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ partition, value }] });
        const now = Date.now();
        if (lastAck !== null) longestGapMs = Math.max(longestGapMs, now - lastAck);
        lastAck = now;
        acked.set(value, { partition, offset: meta?.baseOffset ?? '?' });
        ackOrder.push(value);
      } catch (e) {
        failedSends.push(`${value}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();

  return {
    get acknowledged() {
      return acked.size;
    },
    async progress(n, timeoutMs) {
      const target = acked.size + n;
      const deadline = Date.now() + timeoutMs;
      while (acked.size < target) {
        if (Date.now() > deadline) throw new Error(`load: only ${acked.size}/${target} acknowledged after ${timeoutMs} ms; failures: ${failedSends.slice(-3).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop(readTimeoutMs = 120_000) {
      stopping = true;
      await sender;
      await producer.disconnect();
      const deadline = Date.now() + readTimeoutMs;
      while ([...acked.keys()].some((v) => !readAt.has(v)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      await consumer.disconnect();
      const problems: string[] = [];
      const missing = ackOrder.filter((v) => !readAt.has(v));
      if (missing.length > 0) problems.push(`${missing.length} acknowledged records never read, e.g. ${missing.slice(0, 5).join(', ')}`);
      for (const [v, offsets] of readAt) if (offsets.size > 1) problems.push(`${v} stored at ${offsets.size} offsets: ${[...offsets].join(', ')}`);
      for (const [v, a] of acked) {
        const at = readAt.get(v);
        if (at && a.offset !== '?' && !at.has(`${a.partition}:${a.offset}`)) problems.push(`${v} acknowledged at ${a.partition}:${a.offset} but read at ${[...at].join(', ')}`);
      }
      // Per partition, records by offset must follow the acknowledgement order.
      const rank = new Map(ackOrder.map((v, i) => [v, i]));
      for (const [partition, offsets] of byPartition) {
        const inLog = [...offsets.entries()].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)).map(([, v]) => v).filter((v) => rank.has(v));
        for (let i = 1; i < inLog.length; i++) {
          if (rank.get(inLog[i]!)! < rank.get(inLog[i - 1]!)!) {
            problems.push(`partition ${partition}: ${inLog[i]} after ${inLog[i - 1]} in the log, acknowledged before it`);
            break;
          }
        }
      }
      return { acknowledged: acked.size, failedSends, longestGapMs, problems: problems.slice(0, 20), read: readAt.size };
    },
  };
}

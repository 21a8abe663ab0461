/**
 * kill -9 in the middle of a produce stream, three times over the same data directory: after
 * each restart every acknowledged message is present exactly once, in the order it was
 * acknowledged, and nothing is duplicated.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

const TOPIC = 'crash';
const PARTITIONS = 3;
let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess({});
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
});
afterAll(async () => {
  await broker?.stop();
});

interface Acked {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** Several concurrent idempotent senders until the broker dies under them. */
async function produceUntilKilled(bootstrap: string, round: number, killAfterMs: number): Promise<Acked[]> {
  // kafkajs insists on retries for idempotent producers; keep them short so senders stop soon after the kill.
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } });
  const acked: Acked[] = [];
  const producers: Producer[] = [];
  let stop = false;
  const senders = Array.from({ length: 4 }, async (_, s) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    producers.push(producer);
    await producer.connect();
    for (let i = 0; !stop; i++) {
      const value = `r${round}-s${s}-${i}`;
      try {
        const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `s${s}`, value }, { key: `s${s}`, value: `${value}b` }] });
        acked.push({ partition: meta!.partition, offset: Number(meta!.baseOffset), value });
        acked.push({ partition: meta!.partition, offset: Number(meta!.baseOffset) + 1, value: `${value}b` });
      } catch {
        return;
      }
    }
  });
  await new Promise((r) => setTimeout(r, killAfterMs));
  await broker.kill();
  stop = true;
  await Promise.all(senders);
  await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  return acked;
}

async function readAll(bootstrap: string): Promise<Map<number, Array<{ offset: number; value: string }>>> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const want = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const out = new Map<number, Array<{ offset: number; value: string }>>();
  if (want === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let got = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = out.get(partition) ?? [];
        list.push({ offset: Number(message.offset), value: message.value!.toString() });
        out.set(partition, list);
        if (++got === want) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

test('acknowledged messages survive kill -9 exactly once and in order', async () => {
  const allAcked: Acked[] = [];
  for (let round = 0; round < 3; round++) {
    const acked = await produceUntilKilled(broker.bootstrap, round, 1500 + round * 700);
    expect(acked.length).toBeGreaterThan(0);
    allAcked.push(...acked);
    await broker.restart();

    const log = await readAll(broker.bootstrap);
    const values = [...log.values()].flat().map((r) => r.value);
    expect(new Set(values).size).toBe(values.length); // nothing duplicated
    for (const a of allAcked) {
      const rec = log.get(a.partition)?.find((r) => r.offset === a.offset);
      expect(rec?.value, `acknowledged ${a.value} at ${a.partition}/${a.offset}`).toBe(a.value);
    }
    for (const list of log.values()) {
      const offsets = list.map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y)); // offsets strictly increase
    }
  }
}, 300_000);

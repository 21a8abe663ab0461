/**
 * Idempotent producers against a real broker process: InitProducerId, a retried batch stored
 * once with its original offsets, sequence gaps and stale epochs refused with their codes, and
 * all of it (plus the producer-id allocator) surviving a restart.
 */
import { Kafka, logLevel } from 'kafkajs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { buildRecordBatch } from '../../src/kafka/protocol/records.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/index.js';
import { RawKafkaClient as Wire, type RawBody } from '../helpers/raw-kafka-client.js';

type Body = RawBody;

const PRODUCE = 0;
const INIT_PRODUCER_ID = 22;
const TOPIC = 'idem';

let broker: BrokerProcess;
let w: Wire;

async function initProducerId(version: number, body: Body = {}): Promise<Body> {
  return w.call(INIT_PRODUCER_ID, version, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1, ...body });
}

/** One batch of `count` records with the given producer fields (fresh timestamps, so the broker's timestamp check never interferes). */
function batch(producerId: number, producerEpoch: number, baseSequence: number, count: number, tag = 'v'): Buffer {
  const now = Date.now();
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${tag}-${baseSequence + i}`, timestamp: now })),
  });
}

/** Sends exactly these batch bytes in a Produce v9 (acks=-1); returns the partition response. */
async function send(records: Buffer): Promise<Body> {
  const r = await w.call(PRODUCE, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
  return r.responses[0].partitionResponses[0];
}

function produce(producerId: number, producerEpoch: number, baseSequence: number, count: number, tag = 'v'): Promise<Body> {
  return send(batch(producerId, producerEpoch, baseSequence, count, tag));
}

async function endOffset(): Promise<number> {
  const admin = new Kafka({ clientId: 'idem-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    return Number(offsets.find((o) => o.partition === 0)!.high);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ['--config', 'offsets.topic.num.partitions=2'] });
  w = await Wire.open(broker.kafkaPort, 'idempotence-test');
  await w.call(19, 4, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
}, 60_000);

afterAll(async () => {
  w?.close();
  await broker?.stop();
});

describe('idempotent producer', () => {
  it('hands out a fresh producer id per call; a transactional id goes to its coordinator', async () => {
    const a = await initProducerId(0);
    const b = await initProducerId(4);
    expect(a).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    expect(b.producerId).toBeGreaterThan(a.producerId);
    // Asked without FindCoordinator first, as Kafka's broker does: the coordinator is elsewhere
    // or not there yet (transactions.test.ts goes through the whole protocol).
    const txn = await initProducerId(4, { transactionalId: 'my-txn' });
    expect([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NONE]).toContain(txn.errorCode);
    // Like Kafka, an idempotent (non-transactional) producer passing its id/epoch gets a new id;
    // @platformatic/kafka sends 0/0 on first use, which must not hand out id 0 twice.
    const again = await initProducerId(4, { producerId: b.producerId, producerEpoch: 0 });
    expect(again.errorCode).toBe(0);
    expect(again.producerId).toBeGreaterThan(b.producerId);
    expect(again.producerEpoch).toBe(0);
    expect((await initProducerId(4, { producerId: b.producerId, producerEpoch: -1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('stores a retried batch once and answers the retry with the original offsets; gaps and stale epochs are refused', async () => {
    const { producerId } = await initProducerId(4);
    const start = await endOffset();
    // The very same request bytes twice, as a client retrying after a lost response does.
    const original = batch(producerId, 0, 0, 3);
    const first = await send(original);
    expect(first.errorCode).toBe(0);
    expect(first.baseOffset).toBe(start);
    const retry = await send(original);
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: start });
    expect(await endOffset()).toBe(start + 3);

    const next = await produce(producerId, 0, 3, 2);
    expect(next).toMatchObject({ errorCode: 0, baseOffset: start + 3 });
    // An older batch still in the window of the last five is a duplicate too.
    expect(await produce(producerId, 0, 0, 3)).toMatchObject({ errorCode: 0, baseOffset: start });

    const gap = await produce(producerId, 0, 10, 1);
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await endOffset()).toBe(start + 5);

    // The producer bumps its own epoch (KIP-360): the new epoch must start at sequence 0, and
    // the old epoch is fenced from then on.
    expect((await produce(producerId, 1, 5, 1)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(producerId, 1, 0, 1)).toMatchObject({ errorCode: 0, baseOffset: start + 5 });
    expect((await produce(producerId, 0, 5, 1)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('keeps producer state and never reuses a producer id after a restart', async () => {
    const { producerId } = await initProducerId(4);
    const original = batch(producerId, 0, 0, 2, 'pre');
    const first = await send(original);
    expect(first.errorCode).toBe(0);
    w.close();
    await broker.kill();
    await broker.restart();
    w = await Wire.open(broker.kafkaPort, 'idempotence-test');
    // The retry arrives after the restart: still the original offsets, still stored once.
    const end = await endOffset();
    expect(await send(original)).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset });
    expect(await endOffset()).toBe(end);
    expect((await produce(producerId, 0, 7, 1)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(producerId, 0, 2, 1)).toMatchObject({ errorCode: 0, baseOffset: end });
    const fresh = await initProducerId(4);
    expect(fresh.producerId).toBeGreaterThan(producerId);
  }, 60_000);

  it('works with the kafkajs idempotent producer', async () => {
    const kafka = new Kafka({ clientId: 'idem-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const before = await endOffset();
    for (let i = 0; i < 5; i++) {
      const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'k', value: `kafkajs-${i}` }] });
      expect(r!.errorCode).toBe(0);
    }
    await producer.disconnect();
    expect(await endOffset()).toBe(before + 5);
  });
});

/**
 * Transactions on a replicated cluster of real broker processes, with real clients: kafkajs and
 * librdkafka (confluent-kafka) transactional producers committing and aborting, read_committed
 * and read_uncommitted consumers, zombie fencing, the coordinator's own timeout, and
 * consume-transform-produce exactly once (TxnOffsetCommit) across kill -9 of the producer, of
 * the transaction coordinator's broker and of a partition leader. Bad transactional requests get
 * Kafka's error codes and leave every broker serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfluent } from '../clients/python-driver.js';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { quiet } from '../helpers/kafka-load.js';
import { RawKafkaClient, type RawBody } from '../helpers/raw-kafka-client.js';

const WORKER = fileURLToPath(new URL('../clients/eos_worker.py', import.meta.url));

let cluster: ProcessCluster;
let kafka: Kafka;
let admin: Admin;

function kafkaOf(c: ProcessCluster): Kafka {
  const live = c.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap);
  return new Kafka({ clientId: 'txn-test', brokers: live, ...quiet, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 1000 } });
}

async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
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

/** Everything a kafkajs consumer of `isolation` reads from `topic` until `count` arrive (and a little more). */
async function consumeAll(topic: string, readUncommitted: boolean, count: number): Promise<Array<{ partition: number; value: string }>> {
  const consumer = kafka.consumer({ groupId: `check-${topic}-${readUncommitted}-${Date.now()}`, readUncommitted, maxWaitTimeInMs: 200 });
  const out: Array<{ partition: number; value: string }> = [];
  // A rebalance (the offsets topic's leader moving while the group forms) hands partitions out
  // again from the committed offsets, and kafkajs delivers those records a second time: the same
  // offsets, counted once. A record stored twice would sit at two offsets and still show.
  const seen = new Set<string>();
  let redelivered = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const at = `${partition}:${message.offset}`;
        if (seen.has(at)) {
          redelivered++;
          return;
        }
        seen.add(at);
        out.push({ partition, value: message.value?.toString() ?? '' });
      },
    });
    await eventually(`${count} records of ${topic}`, () => out.length >= count);
    // Anything more would be a record that must not be there.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await consumer.disconnect();
  }
  if (redelivered > 0) console.log(`${topic}: kafkajs delivered ${redelivered} records a second time (a rebalance)`);
  return out;
}

function raw(nodeId = 0): Promise<RawKafkaClient> {
  const m = cluster.members.find((x) => x.nodeId === nodeId && !x.process.exited) ?? cluster.members.find((x) => !x.process.exited);
  if (!m) throw new Error('no live broker');
  return RawKafkaClient.open(m.process.kafkaPort);
}

/** The node id of the transaction coordinator of `transactionalId`. */
async function txnCoordinator(transactionalId: string): Promise<number> {
  let node = -1;
  await eventually(`the coordinator of ${transactionalId}`, async () => {
    const c = await raw(cluster.members.find((m) => !m.process.exited)?.nodeId);
    try {
      const r = await c.call(10, 4, { keyType: 1, coordinatorKeys: [transactionalId] });
      const k = (r.coordinators as RawBody)[0] as RawBody;
      node = k.errorCode === 0 ? (k.nodeId as number) : -1;
    } finally {
      c.close();
    }
    return node >= 0;
  });
  return node;
}

beforeAll(async () => {
  cluster = await startCluster({
    brokers: 3,
    args: [
      '--config', 'transaction.state.log.num.partitions=5',
      '--config', 'offsets.topic.num.partitions=5',
      '--config', 'group.initial.rebalance.delay.ms=0',
      '--config', 'transaction.abort.timed.out.transaction.cleanup.interval.ms=500',
    ],
  });
  kafka = kafkaOf(cluster);
  admin = kafka.admin();
  await admin.connect();
}, 120_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

describe('transactions on a replicated cluster', () => {
  it('kafkajs: read_committed sees the committed transactions in order, read_uncommitted sees the aborted one too', async () => {
    const topic = 'txn-kafkajs';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
    const producer = kafka.producer({ transactionalId: 'kafkajs-1', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const committed: string[] = [];
    for (let t = 0; t < 6; t++) {
      const txn = await producer.transaction();
      const values = Array.from({ length: 5 }, (_, i) => `t${t}-${i}`);
      await txn.send({ topic, messages: values.map((value, i) => ({ value, partition: i % 3 })) });
      if (t % 3 === 1) await txn.abort();
      else {
        await txn.commit();
        committed.push(...values);
      }
    }
    await producer.disconnect();
    const readCommitted = await consumeAll(topic, false, committed.length);
    expect(readCommitted.map((r) => r.value).sort()).toEqual([...committed].sort());
    for (let p = 0; p < 3; p++) {
      expect(readCommitted.filter((r) => r.partition === p).map((r) => r.value)).toEqual(committed.filter((_, i) => i % 5 % 3 === p));
    }
    const everything = await consumeAll(topic, true, 30);
    expect(everything).toHaveLength(30);
    // The end offsets agree: nothing is left open.
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const o of offsets) expect(Number(o.high)).toBeGreaterThan(0);
  }, 120_000);

  it('librdkafka: commit and abort, read_committed and read_uncommitted', async () => {
    const topic = 'txn-librdkafka';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }] });
    const transactions = [0, 1, 2, 3].map((t) => ({
      commit: t !== 2,
      messages: Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: `r${t}-${i}`, partition: i % 2 })),
    }));
    await runConfluent('txn-produce', { bootstrap: cluster.bootstrap, topic, transactional_id: 'rdkafka-1', transactions }, 120_000);
    const committed = transactions.filter((t) => t.commit).flatMap((t) => t.messages.map((m) => m.value));
    const rc = (await runConfluent('read', { bootstrap: cluster.bootstrap, topic, isolation: 'read_committed', count: committed.length }, 90_000)).messages as Array<{ partition: number; value: string }>;
    expect(rc.map((m) => m.value).sort()).toEqual([...committed].sort());
    for (const p of [0, 1]) expect(rc.filter((m) => m.partition === p).map((m) => m.value)).toEqual(committed.filter((_, i) => i % 4 % 2 === p));
    const ru = (await runConfluent('read', { bootstrap: cluster.bootstrap, topic, isolation: 'read_uncommitted', count: 16 }, 90_000)).messages as unknown[];
    expect(ru).toHaveLength(16);
  }, 240_000);

  it('a zombie producer with an older epoch is fenced: its transaction cannot commit and its data stays invisible', async () => {
    const topic = 'txn-zombie';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const zombie = kafka.producer({ transactionalId: 'zombie-1', maxInFlightRequests: 1, idempotent: true, retry: { retries: 2 } });
    await zombie.connect();
    const old = await zombie.transaction();
    await old.send({ topic, messages: [{ value: 'from-the-zombie' }] });
    // A new instance of the same transactional id: its InitProducerId aborts the zombie's transaction.
    const fresh = kafka.producer({ transactionalId: 'zombie-1', maxInFlightRequests: 1, idempotent: true });
    await fresh.connect();
    const txn = await fresh.transaction();
    await txn.send({ topic, messages: [{ value: 'from-the-new-instance' }] });
    await txn.commit();
    const err = await old.send({ topic, messages: [{ value: 'zombie-again' }] }).then(() => old.commit()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/epoch|fenced/i);
    await zombie.disconnect().catch(() => undefined);
    await fresh.disconnect();
    const rc = await consumeAll(topic, false, 1);
    expect(rc.map((r) => r.value)).toEqual(['from-the-new-instance']);
  }, 120_000);

  it('the coordinator aborts a transaction open longer than its timeout, on its own clock', async () => {
    const topic = 'txn-timeout';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const slow = kafka.producer({ transactionalId: 'slow-1', transactionTimeout: 1500, maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
    await slow.connect();
    const txn = await slow.transaction();
    await txn.send({ topic, messages: [{ value: 'never-committed' }] });
    const coordinator = await txnCoordinator('slow-1');
    await eventually('the timed-out transaction aborted', async () => {
      const c = await raw(coordinator);
      try {
        const r = await c.call(65, 0, { transactionalIds: ['slow-1'] });
        return (r.transactionStates as RawBody)[0]?.transactionState === 'CompleteAbort';
      } finally {
        c.close();
      }
    });
    await expect(txn.commit()).rejects.toThrow();
    await slow.disconnect().catch(() => undefined);
    // Nothing is open on the partition any more: the last stable offset reached the end.
    const c = await raw();
    try {
      const r = await c.call(2, 5, { replicaId: -1, isolationLevel: 1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] });
      const committedEnd = (r.topics as RawBody)[0].partitions[0].offset as number;
      const r2 = await c.call(2, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] });
      expect(committedEnd).toBe((r2.topics as RawBody)[0].partitions[0].offset);
    } finally {
      c.close();
    }
  }, 120_000);

  it('kafkajs consume-transform-produce with sendOffsets commits offsets and output together', async () => {
    const input = 'ctp-kafkajs-in';
    const output = 'ctp-kafkajs-out';
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 2, replicationFactor: 3 }, { topic: output, numPartitions: 2, replicationFactor: 3 }] });
    const seed = kafka.producer({ idempotent: true });
    await seed.connect();
    await seed.send({ topic: input, messages: Array.from({ length: 40 }, (_, i) => ({ value: `in-${i}`, partition: i % 2 })) });
    await seed.disconnect();
    const group = 'ctp-kafkajs-group';
    const producer = kafka.producer({ transactionalId: 'ctp-kafkajs', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let done = 0;
    let aborts = 0;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const txn = await producer.transaction();
        await txn.send({ topic: output, messages: batch.messages.map((m) => ({ value: `out:${m.value?.toString() ?? ''}`, partition: batch.partition })) });
        const last = batch.messages[batch.messages.length - 1];
        if (last === undefined) return txn.abort();
        await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last.offset) + 1) }] }] });
        // Every third batch is aborted first and done again: its output must never be seen.
        if (aborts < 2 && done > 0) {
          aborts++;
          await txn.abort();
          throw new Error('aborted on purpose: the batch is consumed again');
        }
        await txn.commit();
        for (const m of batch.messages) resolveOffset(m.offset);
        done += batch.messages.length;
        await heartbeat();
      },
    });
    await eventually('all 40 records transformed', () => done >= 40);
    await consumer.disconnect();
    await producer.disconnect();
    const out = await consumeAll(output, false, 40);
    expect(out.map((o) => o.value).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `out:in-${i}`).sort());
    const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(committed[0]?.partitions.map((p) => Number(p.offset)).sort()).toEqual([20, 20]);
  }, 120_000);

  it('bad transactional requests get Kafka error codes and no broker falls over', async () => {
    const topic = 'txn-bad';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const id = 'bad-1';
    const coordinator = await txnCoordinator(id);
    const c = await raw(coordinator);
    const other = await raw((coordinator + 1) % 3);
    try {
      expect((await c.call(22, 4, { transactionalId: '', transactionTimeoutMs: 1000 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
      expect((await c.call(22, 4, { transactionalId: id, transactionTimeoutMs: 0 })).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      expect((await c.call(22, 4, { transactionalId: id, transactionTimeoutMs: 10_000_000 })).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      expect((await other.call(22, 4, { transactionalId: id, transactionTimeoutMs: 5000 })).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      const init = await c.call(22, 4, { transactionalId: id, transactionTimeoutMs: 60_000 });
      expect(init.errorCode).toBe(ErrorCode.NONE);
      const pid = init.producerId as number;
      const epoch = init.producerEpoch as number;
      const add = (v: number, body: RawBody) => c.call(24, v, body);
      const one = (r: RawBody) => (r.resultsByTopicV3AndBelow as RawBody)[0].resultsByPartition[0].partitionErrorCode as number;
      // Unknown transactional id (at its own coordinator), wrong producer id, an older epoch (v1: INVALID_PRODUCER_EPOCH, v3: PRODUCER_FENCED).
      const nobody = await raw(await txnCoordinator('nobody'));
      try {
        const r = await nobody.call(24, 3, { v3AndBelowTransactionalId: 'nobody', v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
        expect(one(r)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        expect((await nobody.call(26, 3, { transactionalId: 'nobody', producerId: pid, producerEpoch: epoch, committed: false })).errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      } finally {
        nobody.close();
      }
      expect(one(await add(3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid + 1000, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] }))).toBe(
        ErrorCode.INVALID_PRODUCER_ID_MAPPING,
      );
      expect(one(await add(1, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch + 5, v3AndBelowTopics: [{ name: topic, partitions: [0] }] }))).toBe(
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      expect(one(await add(3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch + 5, v3AndBelowTopics: [{ name: topic, partitions: [0] }] }))).toBe(
        ErrorCode.PRODUCER_FENCED,
      );
      // Unknown topic: that partition says so, the others are not attempted.
      const mixed = await add(3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }, { name: 'no-such-topic', partitions: [0] }] });
      expect((mixed.resultsByTopicV3AndBelow as RawBody[]).map((t) => t.resultsByPartition[0].partitionErrorCode)).toEqual([ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      // Out of order: EndTxn before any partition was added, AddOffsets for an empty group.
      expect((await c.call(26, 3, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: true })).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
      expect((await c.call(25, 3, { transactionalId: id, producerId: pid, producerEpoch: epoch, groupId: '' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
      // Verify-only (v4+): a partition never added is TRANSACTION_ABORTABLE (v5), INVALID_TXN_STATE (v4).
      for (const [v, code] of [[5, ErrorCode.TRANSACTION_ABORTABLE], [4, ErrorCode.INVALID_TXN_STATE]] as const) {
        const r = await add(v, { transactions: [{ transactionalId: id, producerId: pid, producerEpoch: epoch, verifyOnly: true, topics: [{ name: topic, partitions: [0] }] }] });
        expect((r.resultsByTransaction as RawBody)[0].topicResults[0].resultsByPartition[0].partitionErrorCode).toBe(code);
      }
      // A transactional batch for a partition not in the transaction is refused by its leader (KIP-890).
      const { buildRecordBatch } = await import('../../src/kafka/protocol/records.js');
      const leader = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.leader;
      const l = await raw(leader);
      try {
        const records = buildRecordBatch({ records: [{ value: 'stray' }], producerId: pid, producerEpoch: epoch, baseSequence: 0, isTransactional: true });
        const produced = await l.call(0, 9, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
        expect((produced.responses as RawBody)[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
        const noId = await l.call(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
        expect((noId.responses as RawBody)[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
      } finally {
        l.close();
      }
      // TxnOffsetCommit from a producer whose transaction does not hold the group's partition.
      const groupCoordinator = await (async () => {
        const r = await c.call(10, 4, { keyType: 0, coordinatorKeys: ['bad-group'] });
        return (r.coordinators as RawBody)[0].nodeId as number;
      })();
      const g = await raw(groupCoordinator);
      try {
        const r = await g.call(28, 3, { transactionalId: id, groupId: 'bad-group', producerId: pid, producerEpoch: epoch, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
        expect((r.topics as RawBody)[0].partitions[0].errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
      } finally {
        g.close();
      }
      // Describe and list: the id is known here, unknown states are named back.
      const d = await c.call(65, 0, { transactionalIds: [id, ''] });
      expect((d.transactionStates as RawBody[]).map((s) => [s.errorCode, s.transactionState])).toEqual([[ErrorCode.NONE, 'Empty'], [ErrorCode.INVALID_REQUEST, '']]);
      const unknown = await raw(await txnCoordinator('never-seen'));
      try {
        const r = await unknown.call(65, 0, { transactionalIds: ['never-seen'] });
        expect((r.transactionStates as RawBody)[0].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      } finally {
        unknown.close();
      }
      const list = await c.call(66, 1, { stateFilters: ['Empty', 'Bogus'], producerIdFilters: [pid], durationFilter: -1 });
      expect(list.unknownStateFilters).toEqual(['Bogus']);
      expect((list.transactionStates as RawBody[]).map((s) => s.transactionalId)).toEqual([id]);
      // Every broker still answers.
      for (const m of cluster.members) {
        const x = await RawKafkaClient.open(m.process.kafkaPort);
        try {
          expect((await x.call(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
        } finally {
          x.close();
        }
      }
    } finally {
      c.close();
      other.close();
    }
  }, 120_000);

  it('librdkafka consume-transform-produce is exactly once across kill -9 of the producer, the coordinator broker and a partition leader', async () => {
    const input = 'eos-in';
    const output = 'eos-out';
    const total = 600;
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 3, replicationFactor: 3 }, { topic: output, numPartitions: 3, replicationFactor: 3 }] });
    const seed = kafka.producer({ idempotent: true });
    await seed.connect();
    for (let i = 0; i < total; i += 100) {
      await seed.send({ topic: input, acks: -1, messages: Array.from({ length: 100 }, (_, k) => ({ key: `k${i + k}`, value: `v${i + k}`, partition: (i + k) % 3 })) });
    }
    await seed.disconnect();
    const group = 'eos-group';
    const transactionalId = 'eos-worker';
    const workers: ChildProcess[] = [];
    let progress = 0;
    const startWorker = (): ChildProcess => {
      const args = { bootstrap: cluster.bootstrap, input, output, group, transactional_id: transactionalId, batch: 10, pause_s: 0.1 };
      const w = spawn('/usr/bin/python3', [WORKER, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
      createInterface({ input: w.stdout! }).on('line', (line) => {
        const ev = JSON.parse(line) as { event: string; records?: number };
        if (ev.event === 'committed') progress += ev.records ?? 0;
      });
      w.stderr!.on('data', () => undefined);
      workers.push(w);
      return w;
    };
    const killWorker = (w: ChildProcess): Promise<void> =>
      new Promise((resolve) => {
        if (w.exitCode !== null || w.signalCode !== null) return resolve();
        w.once('exit', () => resolve());
        w.kill('SIGKILL');
      });
    const committedOffsets = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [input] });
      return (offsets[0]?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    try {
      let w = startWorker();
      await eventually('the worker processed 100', () => progress >= 100, 90_000);
      // 1. kill -9 of the producer, mid-stream: a new instance fences and aborts what it left open.
      await killWorker(w);
      let mark = progress;
      w = startWorker();
      await eventually('the second worker processed 80 more', () => progress >= mark + 80, 90_000);
      // 2. kill -9 of the transaction coordinator's broker.
      const coordinator = await txnCoordinator(transactionalId);
      await cluster.kill(coordinator);
      mark = progress;
      await eventually('progress without the coordinator broker', () => progress >= mark + 60, 120_000);
      await cluster.start(coordinator);
      // 3. kill -9 of the leader of an output partition.
      const md = await admin.fetchTopicMetadata({ topics: [output] });
      const leader = md.topics[0]!.partitions.find((p) => p.partitionId === 1)!.leader;
      await cluster.kill(leader);
      mark = progress;
      await eventually('progress without the partition leader', () => progress >= mark + 60, 120_000);
      await cluster.start(leader);
      await eventually('every input record consumed and committed', async () => (await committedOffsets()) === total, 180_000);
      await killWorker(w);
    } finally {
      for (const x of workers) await killWorker(x);
    }
    const fresh = kafkaOf(cluster);
    const check = fresh.consumer({ groupId: `eos-check-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
    const seen: string[] = [];
    await check.connect();
    await check.subscribe({ topic: output, fromBeginning: true });
    await check.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
    await eventually(`${total} output records`, () => seen.length >= total, 90_000);
    await new Promise((r) => setTimeout(r, 2000));
    await check.disconnect();
    // Exactly once: every input value once, nothing twice, nothing aborted.
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    expect([...seen].sort()).toEqual(Array.from({ length: total }, (_, i) => `out:v${i}`).sort());
  }, 600_000);
});

/**
 * The data APIs spoken to byte for byte over a real socket, against a broker process: the cases
 * real clients never send (bad CRC, wrong magic, truncated batches, bad acks, transactional
 * batches, fetch sessions) and the version-specific shapes (ListOffsets v0, Fetch by name and by
 * topic id, CreateTopics v7, DeleteTopics by id). After every bad request the broker must still
 * answer on the same connection.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { ZERO_UUID } from '../../src/kafka/protocol/schema.js';
import { buildRecordBatch } from '../../src/kafka/protocol/records.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaClient as RawClient, type RawBody } from '../helpers/raw-kafka-client.js';

type Body = RawBody;

const PRODUCE = 0;
const FETCH = 1;
const LIST_OFFSETS = 2;
const CREATE_TOPICS = 19;
const DELETE_TOPICS = 20;
const OFFSET_FOR_LEADER_EPOCH = 23;
const DESCRIBE_CONFIGS = 32;
const INCREMENTAL_ALTER_CONFIGS = 44;

let broker: BrokerProcess;
let client: RawClient;

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ['--config', 'auto.create.topics.enable=false'] });
  client = await RawClient.open(broker.kafkaPort, 'data-raw');
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

interface TopicResult {
  name: string;
  topicId: string;
  errorCode: number;
  errorMessage: string | null;
  numPartitions: number;
  replicationFactor: number;
  configs: { name: string; value: string | null; configSource: number }[] | null;
}

async function createTopic(name: string, partitions = 1, configs: { name: string; value: string }[] = []): Promise<TopicResult> {
  const res = await client.call(CREATE_TOPICS, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const t = (res['topics'] as TopicResult[])[0];
  if (!t) throw new Error('no CreateTopics result');
  return t;
}

interface PartitionProduceResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  errorMessage: string | null;
}

async function produce(topic: string, records: Buffer, opts: { acks?: number; partition?: number; transactionalId?: string | null } = {}) {
  const res = await client.call(PRODUCE, 9, {
    transactionalId: opts.transactionalId ?? null,
    acks: opts.acks ?? -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: opts.partition ?? 0, records }] }],
  });
  const responses = res['responses'] as { name: string; partitionResponses: PartitionProduceResponse[] }[];
  const p = responses[0]?.partitionResponses[0];
  if (!p) throw new Error('no Produce result');
  return p;
}

function batch(...values: string[]): Buffer {
  return buildRecordBatch({ records: values.map((v) => ({ key: null, value: v })) });
}

async function latest(topic: string, partition = 0): Promise<number> {
  const res = await client.call(LIST_OFFSETS, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  return ((res['topics'] as { partitions: { offset: number }[] }[])[0]?.partitions[0]?.offset) ?? NaN;
}

describe('bad produce input never takes the broker down', () => {
  it('answers CORRUPT_MESSAGE, UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_REQUIRED_ACKS, INVALID_REQUEST (transactional batch without its id) and INVALID_TOPIC_EXCEPTION (internal topic) per partition', async () => {
    await createTopic('bad-input');

    const badCrc = batch('payload');
    badCrc[badCrc.length - 2]! ^= 0x55;
    const r1 = await produce('bad-input', badCrc);
    expect(r1.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(r1.errorMessage).toMatch(/crc/i);

    const oldMagic = batch('payload');
    oldMagic.writeInt8(1, 16);
    expect((await produce('bad-input', oldMagic)).errorCode).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);

    const truncated = batch('payload', 'more').subarray(0, 70);
    expect((await produce('bad-input', truncated)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);

    expect((await produce('bad-input', Buffer.from('definitely not a record batch, just some bytes of text'))).errorCode).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    expect((await produce('bad-input', batch('x'), { acks: 2 })).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    // A transactional batch needs the request's transactionalId.
    const transactional = buildRecordBatch({ records: [{ key: null, value: 'x' }], producerId: 7, producerEpoch: 0, baseSequence: 0, isTransactional: true });
    expect((await produce('bad-input', transactional)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await produce('no-such-topic', batch('x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce('bad-input', batch('x'), { partition: 7 })).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const internal = await produce('__consumer_offsets', batch('forged group state'));
    expect(internal.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(internal.errorMessage).toMatch(/internal topic/);

    // Nothing was appended by any of that, and the broker still works on the same connection.
    expect(await latest('bad-input')).toBe(0);
    const ok = await produce('bad-input', batch('good'));
    expect(ok).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(broker.exited).toBe(false);
  });

  it('sends nothing back for acks=0 but appends, and the next answer is for the next request', async () => {
    await createTopic('acks0');
    client.send(PRODUCE, 9, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 5000,
      topicData: [{ name: 'acks0', partitionData: [{ index: 0, records: batch('fire', 'forget') }] }],
    });
    const deadline = Date.now() + 5000;
    while ((await latest('acks0')) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await latest('acks0')).toBe(2);
  });
});

interface FetchPartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: unknown[] | null;
  preferredReadReplica: number;
  records: Buffer | null;
}

function fetchBody(
  topics: { topic?: string; topicId?: string; partitions: { partition: number; fetchOffset: number; partitionMaxBytes?: number }[] }[],
  over: Body = {},
): Body {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: topics.map((t) => ({
      topic: t.topic ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: -1,
        fetchOffset: p.fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: p.partitionMaxBytes ?? 1 << 20,
      })),
    })),
    forgottenTopicsData: [],
    rackId: '',
    ...over,
  };
}

function partitionsOf(res: Body): FetchPartition[] {
  return (res['responses'] as { partitions: FetchPartition[] }[]).flatMap((t) => t.partitions);
}

describe('fetch', () => {
  it('serves by name (v12) and by topic id (v13+), with the right errors for unknown ones', async () => {
    const t = await createTopic('fetch-shapes');
    await produce('fetch-shapes', batch('a', 'b'));

    const byName = partitionsOf(await client.call(FETCH, 12, fetchBody([{ topic: 'fetch-shapes', partitions: [{ partition: 0, fetchOffset: 0 }] }])));
    expect(byName[0]).toMatchObject({ errorCode: 0, highWatermark: 2, lastStableOffset: 2, logStartOffset: 0, preferredReadReplica: -1 });
    expect(byName[0]?.abortedTransactions).toBeNull();
    expect(byName[0]?.records?.length).toBeGreaterThan(61);

    const byId = await client.call(FETCH, 17, fetchBody([{ topicId: t.topicId, partitions: [{ partition: 0, fetchOffset: 0 }] }], { isolationLevel: 1 }));
    expect((byId['responses'] as { topicId: string }[])[0]?.topicId).toBe(t.topicId);
    expect(byId['sessionId']).toBe(0);
    // READ_COMMITTED answers an empty aborted-transactions list (there are no transactions yet).
    expect(partitionsOf(byId)[0]).toMatchObject({ errorCode: 0, highWatermark: 2, abortedTransactions: [] });

    const unknownId = partitionsOf(
      await client.call(FETCH, 13, fetchBody([{ topicId: '12345678-1234-1234-1234-123456789abc', partitions: [{ partition: 0, fetchOffset: 0 }] }])),
    );
    expect(unknownId[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    const unknownName = partitionsOf(await client.call(FETCH, 11, fetchBody([{ topic: 'nope', partitions: [{ partition: 0, fetchOffset: 0 }] }])));
    expect(unknownName[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const outOfRange = partitionsOf(await client.call(FETCH, 12, fetchBody([{ topic: 'fetch-shapes', partitions: [{ partition: 0, fetchOffset: 50 }] }])));
    expect(outOfRange[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 2 });

    const session = await client.call(FETCH, 12, fetchBody([], { sessionId: 42, sessionEpoch: 3 }));
    expect(session['errorCode']).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('gives the first partition with data at least one whole batch and respects max_bytes after it', async () => {
    await createTopic('fetch-budget', 2);
    const big = batch('x'.repeat(300));
    await produce('fetch-budget', big, { partition: 0 });
    await produce('fetch-budget', big, { partition: 1 });
    const res = partitionsOf(
      await client.call(
        FETCH,
        12,
        fetchBody([{ topic: 'fetch-budget', partitions: [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }] }], { maxBytes: 10 }),
      ),
    );
    expect(res[0]?.records?.length).toBe(big.length);
    expect(res[1]?.records?.length ?? 0).toBe(0);
    expect(res[1]?.highWatermark).toBe(1);
  });

  it('waits up to max_wait_ms for min_bytes, then answers with what it has', async () => {
    await createTopic('fetch-wait');
    await produce('fetch-wait', batch('small'));
    const t0 = Date.now();
    const res = partitionsOf(
      await client.call(FETCH, 12, fetchBody([{ topic: 'fetch-wait', partitions: [{ partition: 0, fetchOffset: 0 }] }], { maxWaitMs: 400, minBytes: 1 << 20 })),
    );
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(5000);
    expect(res[0]?.records?.length).toBeGreaterThan(0);
  });
});

describe('offsets and admin shapes', () => {
  it('ListOffsets v0 uses the old shape; v7 finds the max timestamp; OffsetForLeaderEpoch reports the raft term as the epoch', async () => {
    await createTopic('lo');
    await produce('lo', buildRecordBatch({ records: [{ key: null, value: 'a', timestamp: 5000 }] }));
    await produce('lo', buildRecordBatch({ records: [{ key: null, value: 'b', timestamp: 9000 }, { key: null, value: 'c', timestamp: 7000 }] }));
    await produce('lo', buildRecordBatch({ records: [{ key: null, value: 'd', timestamp: 6000 }] }));

    const v0 = await client.call(LIST_OFFSETS, 0, {
      replicaId: -1,
      topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: -1, maxNumOffsets: 1 }] }],
    });
    expect((v0['topics'] as { partitions: { oldStyleOffsets: number[] }[] }[])[0]?.partitions[0]?.oldStyleOffsets).toEqual([4]);

    const v7 = await client.call(LIST_OFFSETS, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'lo',
          partitions: [
            { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3 },
          ],
        },
      ],
    });
    // The batch holding the max timestamp (9000) ends at offset 2.
    expect((v7['topics'] as { partitions: { timestamp: number; offset: number }[] }[])[0]?.partitions[0]).toMatchObject({ timestamp: 9000, offset: 2 });

    const byTime = await client.call(LIST_OFFSETS, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 8000 }] }],
    });
    expect((byTime['topics'] as { partitions: { offset: number }[] }[])[0]?.partitions[0]?.offset).toBe(1);

    const ofle = await client.call(OFFSET_FOR_LEADER_EPOCH, 4, {
      replicaId: -1,
      topics: [{ topic: 'lo', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 1 }] }],
    });
    // The leader epoch is the partition's raft term: 1 after its first election.
    expect((ofle['topics'] as { partitions: unknown[] }[])[0]?.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: 1, endOffset: 4 });
  });

  it('CreateTopics v7 returns id, counts and configs; validateOnly creates nothing; DeleteTopics v6 deletes by id', async () => {
    const dry = await client.call(CREATE_TOPICS, 7, {
      topics: [{ name: 'dry-run', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    expect((dry['topics'] as TopicResult[])[0]).toMatchObject({ errorCode: 0, numPartitions: 2 });
    const again = await createTopic('dry-run', 3, [{ name: 'retention.ms', value: '1234' }]);
    expect(again.errorCode).toBe(0);
    expect(again.topicId).not.toBe(ZERO_UUID);
    expect(again.numPartitions).toBe(3);
    expect(again.replicationFactor).toBe(1);
    expect(again.configs?.find((c) => c.name === 'retention.ms')).toMatchObject({ value: '1234', configSource: 1 });

    const del = await client.call(DELETE_TOPICS, 6, { topics: [{ name: null, topicId: again.topicId }], timeoutMs: 5000 });
    expect((del['responses'] as unknown[])[0]).toMatchObject({ name: 'dry-run', topicId: again.topicId, errorCode: 0 });
    const delAgain = await client.call(DELETE_TOPICS, 6, { topics: [{ name: null, topicId: again.topicId }], timeoutMs: 5000 });
    expect((delAgain['responses'] as { errorCode: number }[])[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('IncrementalAlterConfigs applies SET/DELETE/APPEND/SUBTRACT and names bad keys', async () => {
    await createTopic('inc');
    const alter = (configs: { name: string; configOperation: number; value: string | null }[], resourceType = 2, resourceName = 'inc') =>
      client
        .call(INCREMENTAL_ALTER_CONFIGS, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false })
        .then((r) => (r['responses'] as { errorCode: number; errorMessage: string | null }[])[0]);
    const describe = async (name: string) => {
      const r = await client.call(DESCRIBE_CONFIGS, 4, {
        resources: [{ resourceType: 2, resourceName: 'inc', configurationKeys: [name] }],
        includeSynonyms: true,
        includeDocumentation: true,
      });
      return (r['results'] as { configs: { value: string; configSource: number; documentation: string | null; synonyms: unknown[] }[] }[])[0]?.configs[0];
    };

    expect(await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).toMatchObject({ errorCode: 0 });
    expect((await describe('cleanup.policy'))?.value).toBe('delete,compact');
    expect(await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }])).toMatchObject({ errorCode: 0 });
    expect((await describe('cleanup.policy'))?.value).toBe('compact');
    expect(await alter([{ name: 'retention.ms', configOperation: 0, value: '777' }])).toMatchObject({ errorCode: 0 });
    const described = await describe('retention.ms');
    expect(described).toMatchObject({ value: '777', configSource: 1 });
    expect(described?.documentation).toBeTruthy();
    expect(described?.synonyms.length).toBeGreaterThanOrEqual(2);
    expect(await alter([{ name: 'retention.ms', configOperation: 1, value: null }])).toMatchObject({ errorCode: 0 });
    expect((await describe('retention.ms'))?.configSource).not.toBe(1);

    const bad = await alter([{ name: 'retention.ms', configOperation: 2, value: '5' }]);
    expect(bad?.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const unknown = await alter([{ name: 'retention.mz', configOperation: 0, value: '5' }]);
    expect(unknown).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG });
    expect(unknown?.errorMessage).toContain('retention.mz');
    const brokerAlter = await alter([{ name: 'log.retention.ms', configOperation: 0, value: '5' }], 4, '');
    expect(brokerAlter?.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(broker.exited).toBe(false);
  });
});

/**
 * The data and topic-admin APIs against a real broker process with real clients: kafkajs for
 * admin, produce, ListOffsets and DeleteRecords; @platformatic/kafka for Fetch v17 by topic id
 * (including a long poll woken by a produce).
 */
import { Consumer } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKER_SETTINGS, BrokerSettings } from '../../src/config/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ['--config', 'num.partitions=2', '--config', 'log.retention.ms=86400000'] });
  kafka = new Kafka({ clientId: 'data-apis', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

function errorType(err: unknown): string {
  const e = err as { type?: string; errors?: unknown[]; originalError?: unknown; partitions?: { error?: unknown }[] };
  if (e.type) return e.type;
  if (Array.isArray(e.partitions) && e.partitions[0]?.error) return errorType(e.partitions[0].error);
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorType(e.errors[0]);
  if (e.originalError) return errorType(e.originalError);
  if (err instanceof Error && err.cause) return errorType(err.cause);
  return String(err);
}

async function expectKafkaError(p: Promise<unknown>, type: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(errorType(err)).toBe(type);
    return;
  }
  expect.fail(`expected ${type}`);
}

describe('topic administration', () => {
  it('creates, describes, alters, grows and deletes topics', async () => {
    expect(
      await admin.createTopics({
        topics: [{ topic: 'adm', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
        waitForLeaders: true,
      }),
    ).toBe(true);
    expect(await admin.listTopics()).toContain('adm');
    const meta = await admin.fetchTopicMetadata({ topics: ['adm'] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);

    // Already there, impossible replication, unknown config: each refused with its own error.
    expect(await admin.createTopics({ topics: [{ topic: 'adm' }] })).toBe(false);
    await expectKafkaError(admin.createTopics({ topics: [{ topic: 'rf3', replicationFactor: 3 }] }), 'INVALID_REPLICATION_FACTOR');
    await expectKafkaError(
      admin.createTopics({ topics: [{ topic: 'badcfg', configEntries: [{ name: 'retention.mss', value: '1' }] }] }),
      'INVALID_CONFIG',
    );
    await expectKafkaError(admin.createTopics({ topics: [{ topic: 'bad/name' }] }), 'INVALID_TOPIC_EXCEPTION');

    const described = await admin.describeConfigs({
      resources: [{ type: 2, name: 'adm', configNames: ['retention.ms', 'segment.bytes', 'cleanup.policy'] }],
      includeSynonyms: true,
    });
    const entries = described.resources[0]?.configEntries ?? [];
    const byName = new Map(entries.map((e) => [e.configName, e]));
    expect(byName.get('retention.ms')?.configValue).toBe('60000');
    expect(byName.get('retention.ms')?.configSource).toBe(1); // DYNAMIC_TOPIC_CONFIG
    expect(byName.get('segment.bytes')?.configValue).toBe('1073741824');
    expect(byName.get('cleanup.policy')?.configValue).toBe('delete');

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const after = await admin.describeConfigs({ resources: [{ type: 2, name: 'adm', configNames: ['cleanup.policy', 'retention.ms'] }], includeSynonyms: false });
    const afterByName = new Map((after.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
    expect(afterByName.get('cleanup.policy')).toBe('compact');
    // AlterConfigs replaces the whole set: retention.ms fell back to the broker default.
    expect(afterByName.get('retention.ms')).toBe('86400000');

    const nodeId = (await admin.describeCluster()).brokers[0]?.nodeId ?? 0;
    const broker0 = await admin.describeConfigs({ resources: [{ type: 4, name: String(nodeId) }], includeSynonyms: false });
    expect(broker0.resources[0]?.configEntries.find((e) => e.configName === 'num.partitions')?.configValue).toBe('2');

    await admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 5 }] });
    expect((await admin.fetchTopicMetadata({ topics: ['adm'] })).topics[0]?.partitions).toHaveLength(5);
    await expectKafkaError(admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 2 }] }), 'INVALID_PARTITIONS');

    await admin.deleteTopics({ topics: ['adm'] });
    expect(await admin.listTopics()).not.toContain('adm');
  });
});

describe('broker configs', () => {
  it('describes every registered setting with its value, default and source', async () => {
    const described = await admin.describeConfigs({ resources: [{ type: 4, name: '0' }], includeSynonyms: true });
    const resource = described.resources[0];
    expect(resource?.errorCode).toBe(0);
    const byName = new Map((resource?.configEntries ?? []).map((e) => [e.configName, e]));
    expect([...byName.keys()].sort()).toEqual(BROKER_SETTINGS.map((s) => s.name).sort());
    const defaults = BrokerSettings.defaults();
    for (const s of BROKER_SETTINGS) {
      const e = byName.get(s.name);
      expect(e?.readOnly, s.name).toBe(!s.dynamic);
      if (s.name === 'num.partitions' || s.name === 'log.retention.ms' || s.flag) continue;
      // Everything the test did not set is at its registered default.
      expect(e?.isDefault, s.name).toBe(true);
      expect(e?.configSource, s.name).toBe(5); // DEFAULT_CONFIG
      expect(e?.configValue, s.name).toBe(defaults.effective(s.name).text);
    }
    const partitions = byName.get('num.partitions');
    expect(partitions).toMatchObject({ configValue: '2', isDefault: false, configSource: 4 }); // STATIC_BROKER_CONFIG
    expect(partitions?.configSynonyms).toEqual([
      { configName: 'num.partitions', configValue: '2', configSource: 4 },
      { configName: 'num.partitions', configValue: '1', configSource: 5 },
    ]);
    // The data dir came from --data-dir: given, so static.
    expect(byName.get('log.dirs')).toMatchObject({ isDefault: false, configSource: 4 });

    await expectKafkaError(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: 4, name: '0', configEntries: [{ name: 'num.partitions', value: '3' }] }] }),
      'INVALID_REQUEST',
    );
    await expectKafkaError(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: 4, name: '0', configEntries: [{ name: 'num.partition', value: '3' }] }] }),
      'INVALID_CONFIG',
    );
  });
});

describe('produce, list offsets and delete records', () => {
  it('assigns consecutive offsets and reports earliest/latest/by-time offsets', async () => {
    await admin.createTopics({ topics: [{ topic: 'offsets', numPartitions: 1 }], waitForLeaders: true });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      const r = await producer.send({ topic: 'offsets', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `m${i * 10 + j}` })) });
      expect(r[0]?.errorCode).toBe(0);
      expect(r[0]?.baseOffset).toBe(String(i * 10));
    }
    const offsets = await admin.fetchTopicOffsets('offsets');
    expect(offsets[0]).toMatchObject({ partition: 0, low: '0', high: '50', offset: '50' });
    const byTime = await admin.fetchTopicOffsetsByTimestamp('offsets', t0 - 1000);
    expect(byTime[0]?.offset).toBe('0');
    const future = await admin.fetchTopicOffsetsByTimestamp('offsets', Date.now() + 3_600_000);
    // No record that late: kafkajs maps "not found" (-1) to the latest offset.
    expect(['-1', '50']).toContain(future[0]?.offset);

    await admin.deleteTopicRecords({ topic: 'offsets', partitions: [{ partition: 0, offset: '20' }] });
    const afterDelete = await admin.fetchTopicOffsets('offsets');
    expect(afterDelete[0]).toMatchObject({ low: '20', high: '50' });
    await expectKafkaError(
      admin.deleteTopicRecords({ topic: 'offsets', partitions: [{ partition: 0, offset: '999' }] }),
      'OFFSET_OUT_OF_RANGE',
    );
  });

  it('keeps an idempotent producer exactly-once across its own retries', async () => {
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 1 }], waitForLeaders: true });
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await idem.connect();
    try {
      for (let i = 0; i < 3; i++) await idem.send({ topic: 'idem', messages: [{ value: `i${i}` }, { value: `j${i}` }] });
    } finally {
      await idem.disconnect();
    }
    expect((await admin.fetchTopicOffsets('idem'))[0]?.high).toBe('6');
  });

  it('refuses a batch above max.message.bytes and stays up', async () => {
    await admin.createTopics({
      topics: [{ topic: 'small', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }],
      waitForLeaders: true,
    });
    await expectKafkaError(producer.send({ topic: 'small', acks: 1, messages: [{ value: 'x'.repeat(5000) }] }), 'MESSAGE_TOO_LARGE');
    const ok = await producer.send({ topic: 'small', acks: 1, messages: [{ value: 'fits' }] });
    expect(ok[0]?.baseOffset).toBe('0');
  });

  it('auto-creates a topic on produce when allowed', async () => {
    const auto = kafka.producer({ allowAutoTopicCreation: true });
    await auto.connect();
    try {
      await auto.send({ topic: 'auto-created', messages: [{ value: 'hello' }] });
    } finally {
      await auto.disconnect();
    }
    const meta = await admin.fetchTopicMetadata({ topics: ['auto-created'] });
    expect(meta.topics[0]?.partitions).toHaveLength(2); // num.partitions=2
  });
});

describe('round trip through a kafkajs consumer group', () => {
  it('delivers every produced message once, in order per partition', async () => {
    await admin.createTopics({ topics: [{ topic: 'roundtrip', numPartitions: 3 }], waitForLeaders: true });
    const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
    for (let i = 0; i < sent.length; i += 50) await producer.send({ topic: 'roundtrip', acks: -1, messages: sent.slice(i, i + 50) });

    const consumer = kafka.consumer({ groupId: 'roundtrip-group', maxWaitTimeInMs: 200 });
    const got: { partition: number; offset: number; key: string; value: string }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'roundtrip', fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, offset: Number(message.offset), key: String(message.key), value: String(message.value) });
            if (got.length >= sent.length) resolve();
          },
        });
      });
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${got.length} of ${sent.length} consumed`)), 30_000))]);
    } finally {
      await consumer.disconnect();
    }
    expect(got).toHaveLength(sent.length);
    expect(new Set(got.map((m) => m.value))).toEqual(new Set(sent.map((m) => m.value)));
    for (let p = 0; p < 3; p++) {
      const offsets = got.filter((m) => m.partition === p).map((m) => m.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });
});

describe('fetch by topic id (v17)', () => {
  it('returns records with watermarks and wakes a long poll when data arrives', async () => {
    await admin.createTopics({ topics: [{ topic: 'fetchme', numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic: 'fetchme', acks: -1, messages: [{ key: 'k', value: 'first' }] });

    const consumer = new Consumer({ clientId: 'fetcher', groupId: 'unused-fetch-group', bootstrapBrokers: [broker.bootstrap], retries: 1 });
    try {
      const meta = await new Promise<Awaited<ReturnType<typeof consumer.metadata>>>((resolve, reject) =>
        consumer.metadata({ topics: ['fetchme'] }, (err, r) => (err ? reject(err) : resolve(r!))),
      );
      const topicId = meta.topics.get('fetchme')?.id;
      expect(topicId).toBeTruthy();
      const node = [...meta.brokers.keys()][0] ?? 0;
      type FetchResult = Awaited<ReturnType<typeof consumer.fetch>>;
      const fetchAt = (offset: number, maxWaitTime: number) =>
        new Promise<FetchResult>((resolve, reject) => consumer.fetch({
          node,
          maxWaitTime,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [
            {
              topicId: String(topicId),
              partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }],
            },
          ],
        }, (err, r) => (err ? reject(err) : resolve(r!))));

      const first = await fetchAt(0, 100);
      const p0 = first.responses[0]?.partitions[0];
      expect(p0?.errorCode).toBe(0);
      expect(p0?.highWatermark).toBe(1n);
      expect(p0?.logStartOffset).toBe(0n);
      expect(p0?.records?.[0]?.records[0]?.value?.toString()).toBe('first');

      // Nothing at offset 1 yet: the fetch parks until the produce below lands.
      const started = Date.now();
      const parked = fetchAt(1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      await producer.send({ topic: 'fetchme', acks: 1, messages: [{ value: 'second' }] });
      const woke = await parked;
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(5_000);
      expect(woke.responses[0]?.partitions[0]?.records?.[0]?.records[0]?.value?.toString()).toBe('second');

      // A long poll with no data returns after max wait with an empty result.
      const idleStart = Date.now();
      const idle = await fetchAt(2, 500);
      expect(Date.now() - idleStart).toBeGreaterThanOrEqual(400);
      expect(idle.responses[0]?.partitions[0]?.errorCode).toBe(0);

      const out = await fetchAt(99, 100).then(
        () => null,
        (err: unknown) => err,
      );
      // The client raises partition errors; the response it carries shows the code and watermarks.
      const failed = out as { response?: { responses: { partitions: { errorCode: number; highWatermark: bigint }[] }[] } } | null;
      expect(failed?.response?.responses[0]?.partitions[0]).toMatchObject({ errorCode: 1, highWatermark: 2n }); // OFFSET_OUT_OF_RANGE
    } finally {
      await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
    }
  });
});

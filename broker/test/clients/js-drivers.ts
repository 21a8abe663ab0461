import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
// kafkajs is CommonJS; its default export works under both vitest and plain Node ESM.
import kafkajsPkg, { type Kafka as KafkaClient } from 'kafkajs';
// @ts-expect-error kafkajs-snappy ships no type declarations
import SnappyCodec from 'kafkajs-snappy';
import type { AdminOutcome, ClientDriver, ConsumedMessage, GroupMember } from './driver.js';

const { CompressionTypes, CompressionCodecs, Kafka, logLevel } = kafkajsPkg;

(CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = SnappyCodec;

const KAFKAJS_CODECS: Record<string, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
};

function kafkajs(bootstrap: string): KafkaClient {
  return new Kafka({ clientId: 'chronik-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** In-process clients read by joining the group and waiting for `count` messages. */
async function consumeAsMember(driver: ClientDriver, bootstrap: string, topic: string, group: string, count: number, timeoutMs: number): Promise<ConsumedMessage[]> {
  const member = await driver.joinGroup(bootstrap, topic, group);
  try {
    await waitFor(() => member.messages().length >= count, timeoutMs);
  } finally {
    await member.stop();
  }
  return [...member.messages()];
}

export const kafkajsDriver: ClientDriver = {
  name: 'kafkajs',
  compressions: Object.keys(KAFKAJS_CODECS),
  async produce(bootstrap, topic, messages, opts) {
    const producer = kafkajs(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 50) {
        await producer.send({
          topic,
          acks: -1,
          compression: KAFKAJS_CODECS[opts.compression],
          messages: messages.slice(i, i + 50).map((m) => ({ key: m.key, value: m.value, partition: m.partition })),
        });
      }
    } finally {
      await producer.disconnect();
    }
  },
  consume(bootstrap, topic, group, count, timeoutMs) {
    return consumeAsMember(this, bootstrap, topic, group, count, timeoutMs);
  },
  async joinGroup(bootstrap, topic, group): Promise<GroupMember> {
    const consumer = kafkajs(bootstrap).consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
    const owned = new Set<number>();
    const messages: ConsumedMessage[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      owned.clear();
      for (const p of e.payload.memberAssignment[topic] ?? []) owned.add(p);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ partition, message }) => {
        messages.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' });
      },
    });
    return { owned: () => owned, messages: () => messages, stop: () => consumer.disconnect() };
  },
  async admin(bootstrap, topic, partitions): Promise<AdminOutcome> {
    const admin = kafkajs(bootstrap).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
      const created = await admin.fetchTopicMetadata({ topics: [topic] });
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
      const retention = configs.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? null;
      await admin.createPartitions({ topicPartitions: [{ topic, count: partitions + 2 }] });
      const grown = await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopics({ topics: [topic] });
      const left = await admin.listTopics();
      return {
        partitionsAfterCreate: created.topics[0]?.partitions.length ?? 0,
        retentionMs: retention,
        partitionsAfterGrow: grown.topics[0]?.partitions.length ?? 0,
        deleted: !left.includes(topic),
      };
    } finally {
      await admin.disconnect();
    }
  },
};

type PlatformaticCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const platformaticDriver: ClientDriver = {
  name: '@platformatic/kafka',
  compressions: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  async produce(bootstrap, topic, messages, opts) {
    const producer = new Producer({
      clientId: 'chronik-test',
      bootstrapBrokers: [bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      compression: opts.compression as PlatformaticCompression,
      retries: 8,
    });
    try {
      for (let i = 0; i < messages.length; i += 50) {
        await producer.send({
          messages: messages.slice(i, i + 50).map((m) => ({ topic, key: m.key ?? undefined, value: m.value, partition: m.partition })),
        });
      }
    } finally {
      await producer.close();
    }
  },
  consume(bootstrap, topic, group, count, timeoutMs) {
    return consumeAsMember(this, bootstrap, topic, group, count, timeoutMs);
  },
  async joinGroup(bootstrap, topic, group): Promise<GroupMember> {
    const consumer = new Consumer({
      clientId: 'chronik-test',
      groupId: group,
      bootstrapBrokers: [bootstrap],
      deserializers: stringDeserializers,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTime: 500,
    });
    const messages: ConsumedMessage[] = [];
    const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 });
    stream.on('data', (m) => {
      messages.push({ partition: m.partition, offset: Number(m.offset), key: m.key ?? null, value: m.value });
    });
    const owned = (): ReadonlySet<number> => new Set((consumer.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions));
    return {
      owned,
      messages: () => messages,
      async stop() {
        await stream.close();
        await consumer.close();
      },
    };
  },
  async admin(bootstrap, topic, partitions): Promise<AdminOutcome> {
    const admin = new Admin({ clientId: 'chronik-test', bootstrapBrokers: [bootstrap] });
    try {
      await admin.createTopics({ topics: [topic], partitions, replicas: 1, configs: [{ name: 'retention.ms', value: '3600000' }] });
      const created = await admin.metadata({ topics: [topic] });
      const described = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic }] });
      const retention = described[0]?.configs.find((c) => c.name === 'retention.ms')?.value ?? null;
      await admin.createPartitions({ topics: [{ name: topic, count: partitions + 2 }] });
      const grown = await admin.metadata({ topics: [topic], forceUpdate: true });
      await admin.deleteTopics({ topics: [topic] });
      const all = await admin.metadata({ topics: [], forceUpdate: true });
      return {
        partitionsAfterCreate: created.topics.get(topic)?.partitionsCount ?? 0,
        retentionMs: retention,
        partitionsAfterGrow: grown.topics.get(topic)?.partitionsCount ?? 0,
        deleted: !all.topics.has(topic),
      };
    } finally {
      await admin.close();
    }
  },
};

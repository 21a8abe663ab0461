/**
 * A data dir of the single broker from before replication (its image in __meta/, each
 * partition's segments in <topic>-<p>/) is imported by the broker that starts on it: the topics
 * come back with their ids and configs and every record stays readable at its offset; new
 * writes continue after them; the import happens once; a cluster of several voters refuses such
 * a dir with a message that says what to do.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyMetadataState, newPartitionImage, type MetadataState, type TopicImage } from '../../src/cluster/metadata-state.js';
import { metadataDir, saveMetadata } from '../../src/cluster/metadata-store.js';
import { buildRecordBatch } from '../../src/kafka/protocol/records.js';
import { createLogManager } from '../../src/log/index.js';
import type { LogConfig } from '../../src/log/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { tmpDataDir } from '../helpers/tmp.js';

const logConfig: LogConfig = {
  segmentBytes: 4096,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 1024,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

const topicId = randomUUID();

/** What the single broker left: two partitions of `orders` with records, and its image. */
async function writeLegacyDir(dataDir: string): Promise<Map<number, string[]>> {
  const logs = createLogManager({ dataDir, logger: silentLogger() });
  const written = new Map<number, string[]>();
  for (const p of [0, 1]) {
    const log = await logs.open('orders', p, logConfig);
    const values: string[] = [];
    for (let b = 0; b < 30; b++) {
      const batch = [0, 1, 2].map((r) => `p${p}-b${b}-r${r}-${'x'.repeat(60)}`);
      log.append(buildRecordBatch({ records: batch.map((value) => ({ value, timestamp: Date.now() })) }), 0, Date.now());
      values.push(...batch);
    }
    written.set(p, values);
  }
  await logs.close();
  const topic: TopicImage = {
    name: 'orders',
    topicId,
    partitions: 2,
    replicationFactor: 1,
    internal: false,
    configs: { 'retention.ms': '123456789' },
    seq: 1,
    partitionImages: [newPartitionImage([0]), newPartitionImage([0])],
  };
  const state: MetadataState = { ...emptyMetadataState('legacy-cluster-id-0001'), topics: new Map([['orders', topic]]), nextProducerId: 7000, nextTopicSeq: 2 };
  mkdirSync(metadataDir(dataDir), { recursive: true });
  await saveMetadata(dataDir, state);
  return written;
}

async function readAll(bootstrap: string, partition: number, count: number): Promise<{ offset: number; value: string }[]> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `legacy-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const seen: { offset: number; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition: p, message }) => {
        if (p === partition) seen.push({ offset: Number(message.offset), value: message.value?.toString() ?? '' });
      },
    });
    const until = Date.now() + 30_000;
    while (seen.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

let broker: BrokerProcess | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('a single-broker data dir from before replication', () => {
  it('is imported once: topics keep their ids and configs, records their offsets, and writes continue after them', async () => {
    const dataDir = tmpDataDir('chronik-legacy-');
    const written = await writeLegacyDir(dataDir);
    broker = await startBrokerProcess({ dataDir });
    expect(broker.logs()).toContain('imported the topics of a single-broker data dir');

    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['orders'] });
      expect(md.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1]);
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }], includeSynonyms: false });
      expect(configs.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('123456789');
      const offsets = await admin.fetchTopicOffsets('orders');
      expect(offsets.map((o) => Number(o.high)).sort()).toEqual([90, 90]);
    } finally {
      await admin.disconnect();
    }
    const before = await readAll(broker.bootstrap, 0, 90);
    expect(before.map((r) => r.value)).toEqual(written.get(0));
    expect(before.map((r) => r.offset)).toEqual(before.map((_, i) => i));

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const sent = await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'after-import', partition: 1 }] });
    await producer.disconnect();
    expect(sent[0]?.baseOffset).toBe('90');

    // A restart neither imports again nor loses anything.
    await broker.restart();
    expect(broker.logs().split('imported the topics of a single-broker data dir').length - 1).toBe(1);
    const p1 = await readAll(broker.bootstrap, 1, 91);
    expect(p1.map((r) => r.value)).toEqual([...(written.get(1) ?? []), 'after-import']);
    expect(existsSync(path.join(dataDir, '__meta', 'imported-into-raft.json'))).toBe(true);
  });

  it('is refused by a broker started as one of several voters, with a message saying what to do', async () => {
    const dataDir = tmpDataDir('chronik-legacy-');
    await writeLegacyDir(dataDir);
    const raft = await freePort();
    const other = await freePort();
    const err = await startBrokerProcess({
      dataDir,
      readyTimeoutMs: 15_000,
      args: ['--node-id', '0', '--raft-listen', `127.0.0.1:${raft}`, '--initial-voters', `0@127.0.0.1:${raft},1@127.0.0.1:${other}`],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(err)).toContain('topics of a single-broker Chronik');
    expect(String(err)).toContain('start this broker alone first');
    // Nothing was claimed or changed: the partition dirs still hold only their segments.
    expect(existsSync(path.join(dataDir, 'orders-0', 'partition.identity'))).toBe(false);
  });
});

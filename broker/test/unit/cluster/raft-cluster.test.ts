import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { createLogManager } from '../../../src/log/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { closeSingleNodes, startSingleNode } from '../../helpers/single-node.js';
import { tmpDataDir } from '../../helpers/tmp.js';

afterEach(async () => {
  await closeSingleNodes();
});

async function start(dataDir = tmpDataDir(), defaults: Record<string, string> = {}) {
  const node = await startSingleNode(dataDir, { 'node.id': '1', 'num.partitions': '2', 'log.retention.ms': '3600000', ...defaults });
  return { cluster: node.cluster, dataDir, stop: () => node.close() };
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof KafkaError ? err.code : -999;
  }
}

describe('the raft cluster of one broker', () => {
  it('creates topics with broker defaults and keeps them, their ids and their data across restarts', async () => {
    const a = await start();
    const t = await a.cluster.createTopic({ name: 'orders', partitions: -1, replicationFactor: -1, configs: { 'retention.ms': '1000' } });
    expect(t.partitions).toBe(2);
    expect(t.topicId).toMatch(/^[0-9a-f-]{36}$/);
    await a.cluster.partition('orders', 1)?.append(buildRecordBatch({ records: [{ key: 'k', value: 'v' }] }), -1);
    const clusterId = a.cluster.clusterId;
    await a.stop();

    const b = await start(a.dataDir);
    expect(b.cluster.clusterId).toBe(clusterId);
    expect(b.cluster.topic('orders')).toMatchObject({ name: 'orders', topicId: t.topicId, partitions: 2, replicationFactor: 1, configs: { 'retention.ms': '1000' } });
    expect(b.cluster.topicById(t.topicId)?.name).toBe('orders');
    expect(b.cluster.partition('orders', 1)?.highWatermark()).toBe(1);
    expect(b.cluster.partition('orders', 2)).toBeUndefined();
  });

  it('rejects bad topic specs with the matching Kafka error codes', async () => {
    const { cluster } = await start();
    await cluster.createTopic({ name: 'a.b', partitions: 1, replicationFactor: 1, configs: {} });
    const spec = { name: 'x', partitions: 1, replicationFactor: 1, configs: {} };
    expect(await codeOf(cluster.createTopic({ ...spec, name: 'a.b' }))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(await codeOf(cluster.createTopic({ ...spec, name: 'a_b' }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(await codeOf(cluster.createTopic({ ...spec, name: 'bad name' }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(await codeOf(cluster.createTopic({ ...spec, partitions: 0 }))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(cluster.createTopic({ ...spec, replicationFactor: 3 }))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(await codeOf(cluster.createTopic({ ...spec, configs: { 'no.such': '1' } }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(cluster.createTopic({ ...spec, configs: { 'retention.ms': 'soon' } }))).toBe(ErrorCode.INVALID_CONFIG);
    // validateOnly checks everything but creates nothing.
    await cluster.createTopic({ ...spec, name: 'dry' }, true);
    expect(cluster.topic('dry')).toBeUndefined();
    expect(cluster.topics().map((t) => t.name)).toEqual(['a.b']);
  });

  it('alters configs (replace and incremental) and falls back to broker defaults', async () => {
    const { cluster } = await start();
    await cluster.createTopic({ name: 't', partitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } });
    expect(cluster.topicConfig('t', 'retention.ms')).toBe('3600000');
    expect(cluster.topicConfig('t', 'segment.bytes')).toBe('1073741824');
    await cluster.alterTopicConfigs('t', { 'retention.ms': '5000' }, true);
    expect(cluster.topic('t')?.configs).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '5000' });
    await cluster.alterTopicConfigs('t', { 'cleanup.policy': null }, true);
    expect(cluster.topic('t')?.configs).toEqual({ 'retention.ms': '5000' });
    await cluster.alterTopicConfigs('t', { 'max.message.bytes': '100' }, false);
    expect(cluster.topic('t')?.configs).toEqual({ 'max.message.bytes': '100' });
    expect(await codeOf(cluster.alterTopicConfigs('t', { 'retention.ms': 'x' }, true))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(cluster.alterTopicConfigs('nope', {}, true))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // The new max.message.bytes applies to the next append at once.
    const big = buildRecordBatch({ records: [{ key: null, value: 'x'.repeat(200) }] });
    expect(await codeOf(cluster.partition('t', 0)!.append(big, 1))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('grows partitions but never shrinks them', async () => {
    const { cluster } = await start();
    await cluster.createTopic({ name: 't', partitions: 1, replicationFactor: 1, configs: {} });
    await cluster.createPartitions('t', 3);
    expect(cluster.topic('t')?.partitions).toBe(3);
    expect(cluster.partition('t', 2)?.highWatermark()).toBe(0);
    expect(await codeOf(cluster.createPartitions('t', 2))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(cluster.createPartitions('t', 3))).toBe(ErrorCode.INVALID_PARTITIONS);
  });

  it('deletes a topic with its data, so a topic re-created under the same name starts empty', async () => {
    const { cluster, dataDir } = await start();
    const first = await cluster.createTopic({ name: 'gone', partitions: 1, replicationFactor: 1, configs: {} });
    await cluster.partition('gone', 0)?.append(buildRecordBatch({ records: [{ key: null, value: 'v' }] }), 1);
    await cluster.deleteTopic('gone');
    expect(cluster.topic('gone')).toBeUndefined();
    expect(cluster.partition('gone', 0)).toBeUndefined();
    expect((await readdir(dataDir)).filter((d) => d.startsWith('gone-'))).toEqual([]);
    expect(await codeOf(cluster.deleteTopic('gone'))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const again = await cluster.createTopic({ name: 'gone', partitions: 1, replicationFactor: 1, configs: {} });
    expect(again.topicId).not.toBe(first.topicId);
    expect(cluster.partition('gone', 0)?.logEndOffset()).toBe(0);
  });

  it('applies retention by time, moving the log start past whole old segments', async () => {
    const { cluster } = await start();
    await cluster.createTopic({ name: 'old', partitions: 1, replicationFactor: 1, configs: { 'retention.ms': '1000', 'segment.bytes': '200' } });
    const p = cluster.partition('old', 0)!;
    for (let i = 0; i < 10; i++) {
      await p.append(buildRecordBatch({ records: [{ key: null, value: `ancient-${i}`, timestamp: 1_000 + i }] }), 1);
    }
    expect(await cluster.applyRetention(Date.now())).toBeGreaterThan(0);
    // The raft log was compacted up to the first segment kept: a snapshot covers what went.
    expect(cluster.replica('old', 0)!.storage.snapshot().index).toBeGreaterThan(0);
    expect(p.logStartOffset()).toBeGreaterThan(0);
    expect(p.highWatermark()).toBe(10);
  });

  it('never serves leftover data of a deleted topic to a new topic of the same name', async () => {
    const dataDir = tmpDataDir();
    const logger = silentLogger();
    // A crash after the metadata delete but before the directory removal leaves this behind.
    const manager = await createLogManager({ dataDir, logger });
    const ghost = await manager.open('ghost', 0, {
      segmentBytes: 1 << 20, segmentMs: 3_600_000, retentionMs: -1, retentionBytes: -1, indexIntervalBytes: 4096, cleanupPolicy: 'delete', timestampType: 'CreateTime',
    });
    ghost.append(buildRecordBatch({ records: [{ key: null, value: 'stale' }] }), 0, Date.now());
    await ghost.sync();
    await manager.close();

    const { cluster } = await start(dataDir);
    await cluster.createTopic({ name: 'ghost', partitions: 1, replicationFactor: 1, configs: {} });
    expect(cluster.partition('ghost', 0)?.logEndOffset()).toBe(0);
  });

  it('answers a creation once every partition is open here and has a leader', async () => {
    const { cluster } = await start();
    await cluster.createTopic({ name: 'wide', partitions: 40, replicationFactor: 1, configs: {} });
    for (let i = 0; i < 40; i++) expect(cluster.partitionView('wide', i)?.leader).toBe(1);
    await cluster.createPartitions('wide', 80);
    expect(cluster.partition('wide', 79)?.isLeader()).toBe(true);
  });
});

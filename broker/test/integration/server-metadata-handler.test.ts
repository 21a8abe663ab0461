/** Metadata and DescribeCluster handler semantics against a small in-memory Cluster. */
import { describe, expect, it } from 'vitest';
import type { Cluster, CreateTopicSpec, TopicInfo } from '../../src/cluster/types.js';
import { brokerConfigOf, type BrokerConfig } from '../../src/config/index.js';
import { describeClusterApi } from '../../src/kafka/apis/describe-cluster.js';
import { AUTHORIZED_OPERATIONS_OMITTED, metadataApi } from '../../src/kafka/apis/metadata.js';
import { decodeMessage, encodeMessage } from '../../src/kafka/protocol/codec.js';
import { ErrorCode, KafkaError } from '../../src/kafka/protocol/errors.js';
import { DescribeClusterRequest, MetadataRequest } from '../../src/kafka/protocol/messages/index.js';
import { ZERO_UUID, type MessageDef } from '../../src/kafka/protocol/schema.js';
import type { MessageBody, RequestContext } from '../../src/kafka/server/handler.js';
import type { ReplicatedPartition } from '../../src/replication/types.js';
import { silentLogger } from '../../src/observability/logger.js';

/** The body the server would hand the handler: `partial` through the codec at `version`. */
function wire(def: MessageDef, version: number, partial: MessageBody): MessageBody {
  return decodeMessage(def, version, encodeMessage(def, version, partial)).value;
}

function fakePartition(topic: string, partition: number): ReplicatedPartition {
  return {
    topic,
    partition,
    isLeader: () => true,
    leaderEpoch: () => 4,
    logStartOffset: () => 0,
    logEndOffset: () => 0,
    highWatermark: () => 0,
    lastStableOffset: () => 0,
    append: () => Promise.reject(new Error('unused')),
    read: () => Promise.reject(new Error('unused')),
    waitForData: () => Promise.resolve(),
    abortedTransactions: () => [],
    endOffsetForEpoch: () => null,
  };
}

function fakeCluster(defaults: Record<string, string> = {}): Cluster & { created: CreateTopicSpec[] } {
  const topics = new Map<string, TopicInfo>();
  const add = (name: string, partitions: number, internal = false) =>
    topics.set(name, { name, topicId: `00000000-0000-0000-0000-${String(topics.size + 1).padStart(12, '0')}`, partitions, replicationFactor: 1, internal, configs: {} });
  add('orders', 2);
  add('__consumer_offsets', 1, true);
  const created: CreateTopicSpec[] = [];
  return {
    created,
    clusterId: 'test-cluster',
    nodeId: 5,
    brokers: () => [{ nodeId: 5, host: 'h', port: 9092, rack: 'r1' }],
    controllerId: () => 5,
    topics: () => [...topics.values()],
    topic: (name) => topics.get(name),
    topicById: (id) => [...topics.values()].find((t) => t.topicId === id),
    partition: (topic, p) => (topics.has(topic) && p < (topics.get(topic)?.partitions ?? 0) ? fakePartition(topic, p) : undefined),
    createTopic: async (spec) => {
      created.push(spec);
      add(spec.name, spec.partitions === -1 ? Number(defaults['num.partitions'] ?? 1) : spec.partitions);
      return topics.get(spec.name) as TopicInfo;
    },
    deleteTopic: async () => undefined,
    createPartitions: async () => undefined,
    alterTopicConfigs: async () => undefined,
    topicConfig: () => undefined,
    partitionLeader: () => 5,
    partitionView: (topic, p) => (topics.has(topic) && p < (topics.get(topic)?.partitions ?? 0) ? { leader: 5, leaderEpoch: 4, replicas: [5], isr: [5], offline: [] } : undefined),
    placement: () => () => ({ ok: true, assignments: [] }),
  };
}

function config(settings: Record<string, string> = {}): BrokerConfig {
  return brokerConfigOf({ 'node.id': '5', 'log.dirs': '/tmp/x', 'chronik.kafka.advertised': 'h:9092', 'broker.rack': 'r1', ...settings });
}

function ctx(apiVersion: number): RequestContext {
  return { apiKey: 3, apiVersion, correlationId: 1, clientId: 'test', connectionId: 1, remoteAddress: '127.0.0.1:1', signal: new AbortController().signal };
}

type TopicOut = { errorCode: number; name: string | null; topicId: string; isInternal: boolean; partitions: MessageBody[]; topicAuthorizedOperations: number };

async function metadata(cluster: Cluster, version: number, request: MessageBody, defaults: Record<string, string> = {}) {
  const handler = metadataApi.bind({ cluster, config: config(defaults), logger: silentLogger() });
  const res = (await handler.handle(wire(MetadataRequest, version, request), ctx(version))) as MessageBody;
  return { res, topics: res['topics'] as TopicOut[] };
}

describe('Metadata handler', () => {
  it('describes brokers, cluster id, controller and all topics (v1+ null list, v0 empty list)', async () => {
    const cluster = fakeCluster();
    const { res, topics } = await metadata(cluster, 12, { topics: null });
    expect(res).toMatchObject({ clusterId: 'test-cluster', controllerId: 5, brokers: [{ nodeId: 5, host: 'h', port: 9092, rack: 'r1' }], clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED });
    expect(topics.map((t) => t.name).sort()).toEqual(['__consumer_offsets', 'orders']);
    const orders = topics.find((t) => t.name === 'orders') as TopicOut;
    expect(orders).toMatchObject({ errorCode: 0, isInternal: false, topicId: '00000000-0000-0000-0000-000000000001', topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED });
    expect(orders.partitions).toEqual([
      { errorCode: 0, partitionIndex: 0, leaderId: 5, leaderEpoch: 4, replicaNodes: [5], isrNodes: [5], offlineReplicas: [] },
      { errorCode: 0, partitionIndex: 1, leaderId: 5, leaderEpoch: 4, replicaNodes: [5], isrNodes: [5], offlineReplicas: [] },
    ]);
    expect(topics.find((t) => t.name === '__consumer_offsets')?.isInternal).toBe(true);
    expect((await metadata(cluster, 0, { topics: [] })).topics).toHaveLength(2);
    expect((await metadata(cluster, 1, { topics: [] })).topics).toHaveLength(0);
  });

  it('reports unknown and invalid topics per topic, and auto-creates only when allowed', async () => {
    const cluster = fakeCluster({ 'num.partitions': '3' });
    const noCreate = await metadata(cluster, 12, { topics: [{ name: 'missing', topicId: ZERO_UUID }, { name: 'bad name!', topicId: ZERO_UUID }, { name: 'orders', topicId: ZERO_UUID }], allowAutoTopicCreation: false });
    expect(noCreate.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['bad name!', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['orders', 0],
    ]);
    expect(cluster.created).toEqual([]);

    const created = await metadata(cluster, 12, { topics: [{ name: 'fresh', topicId: ZERO_UUID }], allowAutoTopicCreation: true }, { 'num.partitions': '3' });
    expect(created.topics[0]).toMatchObject({ name: 'fresh', errorCode: 0 });
    expect(created.topics[0]?.partitions).toHaveLength(3);
    expect(cluster.created).toEqual([{ name: 'fresh', partitions: -1, replicationFactor: -1, configs: {} }]);

    // Before v4 auto-creation is implied by the request; the broker switch still wins.
    const v3 = await metadata(cluster, 3, { topics: [{ name: 'old-client' }] });
    expect(v3.topics[0]).toMatchObject({ name: 'old-client', errorCode: 0 });
    const disabled = await metadata(cluster, 3, { topics: [{ name: 'nope' }] }, { 'auto.create.topics.enable': 'false' });
    expect(disabled.topics[0]).toMatchObject({ name: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  });

  it('resolves topics by id in v10+ and reports unknown ids', async () => {
    const cluster = fakeCluster();
    const { topics } = await metadata(cluster, 12, { topics: [{ name: null, topicId: '00000000-0000-0000-0000-000000000001' }, { name: null, topicId: '11111111-1111-1111-1111-111111111111' }] });
    expect(topics[0]).toMatchObject({ name: 'orders', errorCode: 0 });
    expect(topics[1]).toMatchObject({ name: null, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, topicId: '11111111-1111-1111-1111-111111111111' });
  });

  it('answers each requested topic once and fills authorized operations when asked', async () => {
    const cluster = fakeCluster();
    const { topics } = await metadata(cluster, 12, { topics: [{ name: 'orders' }, { name: 'orders' }], includeTopicAuthorizedOperations: true });
    expect(topics).toHaveLength(1);
    expect(topics[0]?.topicAuthorizedOperations).toBeGreaterThan(0);
  });
});

describe('DescribeCluster handler', () => {
  it('describes the brokers and rejects controller endpoints', async () => {
    const handler = describeClusterApi.bind({ cluster: fakeCluster() });
    const res = await handler.handle(wire(DescribeClusterRequest, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }), ctx(1));
    expect(res).toMatchObject({
      errorCode: 0,
      clusterId: 'test-cluster',
      controllerId: 5,
      endpointType: 1,
      brokers: [{ brokerId: 5, host: 'h', port: 9092, rack: 'r1' }],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    await expect(handler.handle(wire(DescribeClusterRequest, 1, { endpointType: 2 }), ctx(1))).rejects.toMatchObject({ code: 114 });
    await expect(handler.handle(wire(DescribeClusterRequest, 1, { endpointType: 3 }), ctx(1))).rejects.toMatchObject({ code: 115 });
    await expect(handler.handle(wire(DescribeClusterRequest, 1, { endpointType: 2 }), ctx(1))).rejects.toBeInstanceOf(KafkaError);
  });
});

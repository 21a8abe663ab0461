import { describe, expect, it } from 'vitest';
import {
  allocateProducerIds,
  alterTopicConfigs,
  createPartitions,
  createTopic,
  createTopics,
  deleteTopic,
  registerBroker,
  reportPartitionState,
  setMaintenance,
  type CommandResult,
  type ControllerContext,
  type RegisterBrokerCommand,
} from '../../../src/cluster/controller-commands.js';
import type { MetadataRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { applyAll, cluster, withTopic } from './fixtures.js';

function context(defaults: Record<string, string> = {}): ControllerContext {
  let n = 0;
  return { brokerDefaults: defaults, newTopicId: () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}` };
}

function ok<T>(r: CommandResult<T>): { records: readonly MetadataRecord[]; value: T } {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r;
}

function errorOf<T>(r: CommandResult<T>): { code: number; message: string } {
  if (r.ok) throw new Error('expected an error');
  return { code: r.error.code, message: r.error.message };
}

function commit<T>(s: MetadataState, r: CommandResult<T>): MetadataState {
  return applyAll(s, ok(r).records);
}

const spec = (name: string, partitions = -1, replicationFactor = -1, configs: Record<string, string> = {}) => ({ name, partitions, replicationFactor, configs });

describe('createTopic', () => {
  const s = cluster({ 1: 'a', 2: 'b', 3: 'c', 4: 'a' });

  it('places the partitions and takes -1 from the broker defaults, RF min(3, brokers) when unset', () => {
    const r = ok(createTopic(s, spec('orders', -1, -1, { 'retention.ms': ' 1000 ' }), context({ 'num.partitions': '6' })));
    expect(r.value).toMatchObject({ name: 'orders', partitions: 6, replicationFactor: 3, configs: { 'retention.ms': '1000' } });
    expect(r.value.topicId).toBe('00000000-0000-4000-8000-000000000001');
    const next = commit(s, createTopic(s, spec('orders', -1, -1), context({ 'num.partitions': '6' })));
    const parts = next.topics.get('orders')!.partitionImages;
    expect(parts).toHaveLength(6);
    for (const p of parts) expect(new Set(p.replicas.map((id) => s.brokers.get(id)!.rack)).size).toBe(3);
    expect(ok(createTopic(cluster([1, 2]), spec('t'), context())).value.replicationFactor).toBe(2);
    expect(ok(createTopic(s, spec('t'), context({ 'default.replication.factor': '2' }))).value.replicationFactor).toBe(2);
  });

  it('keeps a given topic id (an import) when it is a UUID no other topic has', () => {
    const id = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const r = ok(createTopic(s, { ...spec('kept', 2, 1), topicId: id }, context()));
    expect(r.value.topicId).toBe(id);
    const next = commit(s, createTopic(s, { ...spec('kept', 2, 1), topicId: id }, context()));
    expect(errorOf(createTopic(next, { ...spec('other', 1, 1), topicId: id }, context()))).toEqual({
      code: ErrorCode.INVALID_REQUEST,
      message: `topic id ${id} already belongs to topic 'kept'`,
    });
    expect(errorOf(createTopic(s, { ...spec('bad', 1, 1), topicId: 'not-a-uuid' }, context())).message).toContain('is not a UUID');
  });

  it('refuses with the Kafka error naming the problem', () => {
    const withOrders = commit(s, createTopic(s, spec('orders', 1, 1), context()));
    expect(errorOf(createTopic(withOrders, spec('orders', 1, 1), context()))).toEqual({
      code: ErrorCode.TOPIC_ALREADY_EXISTS,
      message: "Topic 'orders' already exists",
    });
    const dotted = commit(s, createTopic(s, spec('a.b', 1, 1), context()));
    expect(errorOf(createTopic(dotted, spec('a_b', 1, 1), context()))).toMatchObject({ code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: /collides with existing topic 'a.b'/ });
    expect(errorOf(createTopic(s, spec('bad name', 1, 1), context())).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(errorOf(createTopic(s, spec('t', 0, 1), context()))).toEqual({
      code: ErrorCode.INVALID_PARTITIONS,
      message: 'Number of partitions must be between 1 and 10000, got 0',
    });
    expect(errorOf(createTopic(s, spec('t', 1, 5), context()))).toEqual({
      code: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: 'Replication factor 5 is larger than the 4 available brokers',
    });
    expect(errorOf(createTopic(s, spec('t', 1, 0), context())).code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(errorOf(createTopic(s, spec('t', 1, 1, { 'retention.ms': 'soon' }), context()))).toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
      message: /retention.ms/,
    });
    expect(errorOf(createTopic(s, spec('t', 1, 1, { 'no.such': '1' }), context())).message).toBe('Unknown topic config name: no.such');
  });

  it('takes explicit assignments, checking their brokers', () => {
    const r = ok(createTopic(s, { ...spec('t'), assignments: [[1, 2], [3, 4]] }, context()));
    expect(r.value).toMatchObject({ partitions: 2, replicationFactor: 2 });
    expect(r.value.partitionImages.map((p) => p.replicas)).toEqual([[1, 2], [3, 4]]);
    expect(errorOf(createTopic(s, { ...spec('t', 2), assignments: [[1]] }, context())).code).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorOf(createTopic(s, { ...spec('t'), assignments: [[1, 2], [3]] }, context()))).toMatchObject({
      code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: 'Partition 1 is assigned to [3]: every partition needs 2 replicas',
    });
    expect(errorOf(createTopic(s, { ...spec('t'), assignments: [[1, 9]] }, context())).message).toMatch(/broker 9 is not registered/);
    expect(errorOf(createTopic(s, { ...spec('t'), assignments: [[1, 1]] }, context())).message).toMatch(/a broker appears twice/);
    const leaving = applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 4, state: 'decommissioning' });
    expect(errorOf(createTopic(leaving, { ...spec('t'), assignments: [[4]] }, context())).message).toMatch(/broker 4 is decommissioning/);
  });

  it('validates a batch against its own earlier topics and keeps failed ones out of the records', () => {
    const { records, results } = createTopics(s, [spec('x.y', 4, 2), spec('x_y', 1, 1), spec('z', 4, 2), spec('w', 1, 9)], context());
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', ErrorCode.INVALID_TOPIC_EXCEPTION, 'ok', ErrorCode.INVALID_REPLICATION_FACTOR]);
    expect(records.map((r) => r.type === 'create-topic' && r.name)).toEqual(['x.y', 'z']);
    const next = applyAll(s, records);
    // Placement saw x.y when placing z: the 16 replicas spread 4 per broker.
    const counts = [1, 2, 3, 4].map((id) => [...next.topics.values()].flatMap((t) => t.partitionImages).filter((p) => p.replicas.includes(id)).length);
    expect(counts).toEqual([4, 4, 4, 4]);
  });
});

describe('deleteTopic, createPartitions, alterTopicConfigs', () => {
  const base = withTopic(cluster([1, 2, 3]), 'orders', [[1, 2], [2, 3]]);

  it('deletes by name or id and refuses unknown and internal topics', () => {
    const id = base.topics.get('orders')!.topicId;
    expect(ok(deleteTopic(base, { name: 'orders' })).records).toEqual([{ type: 'delete-topic', name: 'orders' }]);
    expect(ok(deleteTopic(base, { topicId: id })).value).toEqual({ name: 'orders', topicId: id });
    expect(errorOf(deleteTopic(base, { name: 'nope' }))).toEqual({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: "Topic 'nope' does not exist" });
    expect(errorOf(deleteTopic(base, { topicId: 'x' })).code).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    const internal = commit(base, createTopic(base, { ...spec('__consumer_offsets', 1, 1), internal: true }, context()));
    expect(errorOf(deleteTopic(internal, { name: '__consumer_offsets' })).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('places new partitions with the topic replication factor', () => {
    const result = createPartitions(base, { name: 'orders', totalCount: 5 });
    const rec = ok(result).records[0];
    if (rec?.type !== 'create-partitions') throw new Error('expected create-partitions');
    expect(rec.assignments).toHaveLength(3);
    for (const a of rec.assignments) expect(new Set(a).size).toBe(2);
    expect(commit(base, result).topics.get('orders')!.partitions).toBe(5);
    expect(ok(createPartitions(base, { name: 'orders', totalCount: 3, assignments: [[3, 1]] })).records[0]).toMatchObject({ assignments: [[3, 1]] });
  });

  it('refuses a shrink, an unknown topic and bad assignments', () => {
    expect(errorOf(createPartitions(base, { name: 'orders', totalCount: 2 }))).toEqual({
      code: ErrorCode.INVALID_PARTITIONS,
      message: "Topic 'orders' already has 2 partitions",
    });
    expect(errorOf(createPartitions(base, { name: 'orders', totalCount: 1 })).message).toMatch(/can only grow, not become 1/);
    expect(errorOf(createPartitions(base, { name: 'orders', totalCount: 10_001 })).code).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(errorOf(createPartitions(base, { name: 'x', totalCount: 3 })).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(errorOf(createPartitions(base, { name: 'orders', totalCount: 4, assignments: [[1, 2]] }))).toEqual({
      code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: '1 assignments given for 2 new partitions',
    });
    expect(errorOf(createPartitions(base, { name: 'orders', totalCount: 3, assignments: [[1]] })).message).toMatch(/every partition needs 2 replicas/);
    const small = applyMetadataRecord(base, { type: 'set-broker-state', nodeId: 3, state: 'decommissioning' });
    expect(ok(createPartitions(small, { name: 'orders', totalCount: 3 })).records).toHaveLength(1);
    const tiny = applyMetadataRecord(small, { type: 'set-broker-state', nodeId: 2, state: 'decommissioning' });
    expect(errorOf(createPartitions(tiny, { name: 'orders', totalCount: 3 })).code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  });

  it('replaces or merges topic configs', () => {
    const s = commit(base, alterTopicConfigs(base, 'orders', { 'retention.ms': '10', 'cleanup.policy': 'compact' }, false));
    expect(ok(alterTopicConfigs(s, 'orders', { 'retention.ms': null, 'segment.ms': '5' }, true)).value).toEqual({
      'cleanup.policy': 'compact',
      'segment.ms': '5',
    });
    expect(ok(alterTopicConfigs(s, 'orders', { 'segment.ms': '5' }, false)).value).toEqual({ 'segment.ms': '5' });
    expect(errorOf(alterTopicConfigs(s, 'orders', { 'no.such': null }, true)).code).toBe(ErrorCode.INVALID_CONFIG);
    expect(errorOf(alterTopicConfigs(s, 'orders', { 'segment.ms': '0' }, true)).message).toMatch(/must be at least 1/);
    expect(errorOf(alterTopicConfigs(s, 'x', {}, true)).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('broker commands', () => {
  const reg = (over: Partial<RegisterBrokerCommand> = {}): RegisterBrokerCommand => ({
    clusterId: 'cluster-1',
    nodeId: 9,
    incarnationId: 'i-1',
    kafka: { host: 'h9', port: 9092 },
    raft: { host: 'h9', port: 9093 },
    admin: null,
    rack: null,
    ...over,
  });

  it('registers idempotently; a new incarnation updates the addresses and keeps state', () => {
    const s0 = cluster([1]);
    const s1 = commit(s0, registerBroker(s0, reg()));
    expect(s1.brokers.get(9)).toMatchObject({ state: 'active', kafka: { host: 'h9', port: 9092 } });
    expect(ok(registerBroker(s1, reg())).records).toEqual([]);
    const s2 = commit(s1, setMaintenance(s1, 9, true));
    const r = ok(registerBroker(s2, reg({ incarnationId: 'i-2', kafka: { host: 'new', port: 1 }, rack: 'r' })));
    expect(r.value).toMatchObject({ maintenance: true, rack: 'r', kafka: { host: 'new', port: 1 }, incarnationId: 'i-2' });
    expect(errorOf(registerBroker(s1, reg({ kafka: { host: 'other', port: 9092 } }))).code).toBe(ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  });

  it('refuses another cluster and malformed registrations, naming the field', () => {
    const s = cluster([1]);
    expect(errorOf(registerBroker(s, reg({ clusterId: 'other' }))).code).toBe(ErrorCode.INCONSISTENT_CLUSTER_ID);
    expect(errorOf(registerBroker(s, reg({ nodeId: -1 }))).message).toMatch(/nodeId must be an integer/);
    expect(errorOf(registerBroker(s, reg({ raft: { host: '', port: 1 } }))).message).toBe('Broker 9: raft.host must be a non-empty string');
    expect(errorOf(registerBroker(s, reg({ admin: { host: 'h', port: 70000 } }))).message).toBe('Broker 9: admin.port must be 1-65535, got 70000');
    expect(errorOf(registerBroker(s, reg({ incarnationId: '' }))).code).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorOf(registerBroker(s, reg({ rack: '' }))).message).toMatch(/rack/);
  });

  it('hands out producer-id blocks that follow each other', () => {
    let s = cluster([1, 2]);
    const a = ok(allocateProducerIds(s, { nodeId: 1 }));
    expect(a.value).toEqual({ firstProducerId: 0, size: 1000 });
    s = applyAll(s, a.records);
    expect(ok(allocateProducerIds(s, { nodeId: 2, blockSize: 10 })).value).toEqual({ firstProducerId: 1000, size: 10 });
    expect(errorOf(allocateProducerIds(s, { nodeId: 3 })).code).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
    expect(errorOf(allocateProducerIds(s, { nodeId: 1, blockSize: 0 })).code).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('sets maintenance idempotently, and turning it off always works', () => {
    let s = cluster([1, 2], [1]);
    expect(ok(setMaintenance(s, 2, false)).records).toEqual([]);
    s = commit(s, setMaintenance(s, 2, true));
    expect(s.brokers.get(2)!.maintenance).toBe(true);
    expect(errorOf(setMaintenance(s, 5, true)).code).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
    s = commit(s, setMaintenance(s, 2, false));
    expect(s.brokers.get(2)!.maintenance).toBe(false);
    s = applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 2, state: 'removed' });
    expect(errorOf(setMaintenance(s, 2, true)).message).toBe('Broker 2 has been removed');
  });
});

describe('reportPartitionState', () => {
  const s = withTopic(cluster([1, 2, 3]), 't', [[1, 2, 3]]);
  const topicId = s.topics.get('t')!.topicId;
  const report = (leader: number, leaderEpoch: number, isr: number[], over: object = {}) => ({ topic: 't', topicId, partition: 0, leader, leaderEpoch, isr, ...over });

  it('records a newer report, nothing for a repeat, and fences an older one', () => {
    const s1 = commit(s, reportPartitionState(s, report(2, 1, [2, 1])));
    expect(s1.topics.get('t')!.partitionImages[0]).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 1] });
    expect(ok(reportPartitionState(s1, report(2, 1, [2, 1]))).records).toEqual([]);
    expect(errorOf(reportPartitionState(s1, report(3, 0, [3]))).code).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(errorOf(reportPartitionState(s1, report(3, 1, [3]))).code).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  });

  it('refuses reports for topics and partitions that are gone', () => {
    expect(errorOf(reportPartitionState(s, report(1, 1, [1], { topicId: 'old' }))).code).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(errorOf(reportPartitionState(s, report(1, 1, [1], { partition: 4 }))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(errorOf(reportPartitionState(s, report(1, 1, [1], { topic: 'x' }))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

/**
 * The coordinator module's public surface: consumer groups, committed offsets and producer ids.
 * The Kafka APIs that expose them (kafka/apis/) use the interfaces exported here.
 *
 * Start-up: open (or create) `__consumer_offsets`, replay it to rebuild offsets and groups (groups
 * come back Empty with their offsets and generation), open the producer-id allocator, then serve.
 */
import type { Cluster } from '../cluster/types.js';
import type { BrokerConfig } from '../config/index.js';
import { GroupCoordinator, groupConfig, type CoordinatorLogger, type GroupConfig } from './group-coordinator.js';
import type { GroupMembership } from './group-membership.js';
import type { GroupOffsets } from './group-offsets.js';
import { OffsetsTopicStore } from './offsets-topic-store.js';
import { ProducerIdAllocator } from './producer-ids.js';

export { ProducerStateTable, type SequenceCheck, type ProducerBatch } from './producer-state.js';
export { GroupCoordinator, type GroupConfig, type GroupOverview } from './group-coordinator.js';
export type { GroupMembership } from './group-membership.js';
export type { GroupOffsets } from './group-offsets.js';
export { AUTHORIZED_OPERATIONS_OMITTED, type FetchedOffset, type PartitionError } from './group-types.js';
export { OFFSETS_TOPIC, partitionForKey, javaHashCode } from './group-partition.js';

/** A broker as FindCoordinator names it. */
export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Hands out producer ids (fsync-backed blocks in production). */
export interface ProducerIdSource {
  allocate(): Promise<number>;
}

export interface CoordinatorOptions {
  readonly cluster: Cluster;
  readonly config: BrokerConfig;
  readonly logger: CoordinatorLogger;
}

export interface Coordinator {
  /** The group coordinator itself (admin API, tests). */
  readonly groups: GroupCoordinator;
  readonly membership: GroupMembership;
  readonly offsets: GroupOffsets;
  readonly producerIds: ProducerIdSource;
  /** The broker coordinating `key` (a group or transactional id), or null when it is not this one's. */
  coordinatorFor(key: string, keyType: number): CoordinatorNode | null;
  close(): Promise<void>;
}

/** The broker settings the coordinator reads. */
export interface CoordinatorSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly group: GroupConfig;
}

export function coordinatorSettings(config: BrokerConfig): CoordinatorSettings {
  const s = config.settings;
  return {
    offsetsTopicPartitions: s.get('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: s.get('offsets.topic.replication.factor'),
    offsetsTopicSegmentBytes: s.get('offsets.topic.segment.bytes'),
    offsetsRetentionCheckIntervalMs: s.get('offsets.retention.check.interval.ms'),
    group: groupConfig(s),
  };
}

export async function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  const { cluster, config, logger } = opts;
  const settings = coordinatorSettings(config);
  const started = Date.now();

  const store = await OffsetsTopicStore.open({
    cluster,
    partitions: settings.offsetsTopicPartitions,
    replicationFactor: Math.min(settings.offsetsTopicReplicationFactor, Math.max(cluster.brokers().length, 1)),
    segmentBytes: settings.offsetsTopicSegmentBytes,
    logger,
  });
  const groups = new GroupCoordinator({
    store,
    config: settings.group,
    logger,
    partitionExists: (topic, partition) => {
      const t = cluster.topic(topic);
      return t !== undefined && Number.isInteger(partition) && partition >= 0 && partition < t.partitions;
    },
  });
  const replayed = await store.replay((key, value) => groups.applyRecord(key, value));
  groups.finishLoading();
  const producerIds = await ProducerIdAllocator.open(config.dataDir, config.nodeId);
  logger.info(
    { groups: groups.groupCount(), records: replayed.records, skipped: replayed.skipped, ms: Date.now() - started },
    'coordinator loaded',
  );

  const self = () => cluster.brokers().find((b) => b.nodeId === cluster.nodeId);
  const coordinatorFor = (key: string): CoordinatorNode | null => {
    // Transactional ids map like group ids; either way the owner is the partition leader.
    if (!store.owns(key)) return null;
    const b = self();
    return b === undefined ? { nodeId: cluster.nodeId, host: config.advertisedHost, port: config.advertisedPort } : b;
  };

  let expiring = false;
  const retention = setInterval(() => {
    if (expiring) return;
    expiring = true;
    groups
      .expireOffsets()
      .then((n) => {
        if (n > 0) logger.info({ expired: n }, 'expired committed offsets');
      })
      .catch((err: unknown) => logger.error({ err }, 'offset expiry failed'))
      .finally(() => {
        expiring = false;
      });
  }, settings.offsetsRetentionCheckIntervalMs).unref();

  return {
    groups,
    membership: groups.membership,
    offsets: groups.offsets,
    producerIds,
    coordinatorFor,
    close() {
      clearInterval(retention);
      groups.close();
      return Promise.resolve();
    },
  };
}

/**
 * The coordinator module's public surface: consumer groups, committed offsets and producer ids,
 * wired to the Kafka APIs that expose them.
 *
 * Start-up: open (or create) `__consumer_offsets`, replay it to rebuild offsets and groups (groups
 * come back Empty with their offsets and generation), open the producer-id allocator, then serve.
 */
import type { Cluster } from '../cluster/types.js';
import type { BrokerConfig } from '../config/index.js';
import { createFindCoordinatorHandler } from '../kafka/apis/find-coordinator.js';
import {
  createDeleteGroupsHandler,
  createDescribeGroupsHandler,
  createHeartbeatHandler,
  createJoinGroupHandler,
  createLeaveGroupHandler,
  createListGroupsHandler,
  createSyncGroupHandler,
} from '../kafka/apis/groups.js';
import { createOffsetCommitHandler, createOffsetDeleteHandler, createOffsetFetchHandler } from '../kafka/apis/offsets.js';
import { createInitProducerIdHandler } from '../kafka/apis/producers.js';
import { ALL_APIS } from '../kafka/protocol/messages/index.js';
import type { ApiDef } from '../kafka/protocol/schema.js';
import type { ApiHandler, Handler } from '../kafka/server/handler.js';
import { GroupCoordinator, groupConfig, type CoordinatorLogger, type GroupConfig } from './group-coordinator.js';
import { OffsetsTopicStore } from './offsets-topic-store.js';
import { ProducerIdAllocator } from './producer-ids.js';

export { ProducerStateTable, type SequenceCheck, type ProducerBatch } from './producer-state.js';
export { GroupCoordinator, type GroupConfig, type GroupOverview } from './group-coordinator.js';
export { OFFSETS_TOPIC, partitionForKey, javaHashCode } from './group-partition.js';

export interface CoordinatorOptions {
  readonly cluster: Cluster;
  readonly config: BrokerConfig;
  readonly logger: CoordinatorLogger;
  /** Message definitions to bind to; defaults to the protocol's full set. */
  readonly apis?: readonly ApiDef[];
}

export interface Coordinator {
  readonly handlers: ApiHandler[];
  /** The group coordinator itself (admin API, tests). */
  readonly groups: GroupCoordinator;
  close(): Promise<void>;
}

/** The broker settings the coordinator reads. */
export interface CoordinatorSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly group: GroupConfig;
}

export function coordinatorSettings(config: BrokerConfig): CoordinatorSettings {
  const s = config.settings;
  return {
    offsetsTopicPartitions: s.get('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: s.get('offsets.topic.replication.factor'),
    offsetsRetentionCheckIntervalMs: s.get('offsets.retention.check.interval.ms'),
    group: groupConfig(s),
  };
}

/** Versions served per api key (the message definitions may know more or fewer). */
const SERVED: ReadonlyArray<{ apiKey: number; min: number; max: number }> = [
  { apiKey: 8, min: 0, max: 9 }, // OffsetCommit
  { apiKey: 9, min: 0, max: 9 }, // OffsetFetch
  { apiKey: 10, min: 0, max: 6 }, // FindCoordinator
  { apiKey: 11, min: 0, max: 9 }, // JoinGroup
  { apiKey: 12, min: 0, max: 4 }, // Heartbeat
  { apiKey: 13, min: 0, max: 5 }, // LeaveGroup
  { apiKey: 14, min: 0, max: 5 }, // SyncGroup
  { apiKey: 15, min: 0, max: 5 }, // DescribeGroups
  { apiKey: 16, min: 0, max: 5 }, // ListGroups
  { apiKey: 22, min: 0, max: 5 }, // InitProducerId
  { apiKey: 42, min: 0, max: 2 }, // DeleteGroups
  { apiKey: 47, min: 0, max: 0 }, // OffsetDelete
];

export async function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  const { cluster, config, logger } = opts;
  const settings = coordinatorSettings(config);
  const started = Date.now();

  const store = await OffsetsTopicStore.open({
    cluster,
    partitions: settings.offsetsTopicPartitions,
    replicationFactor: Math.min(settings.offsetsTopicReplicationFactor, Math.max(cluster.brokers().length, 1)),
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
  const handlersByKey = new Map<number, Handler>([
    [8, createOffsetCommitHandler({ groups })],
    [9, createOffsetFetchHandler({ groups })],
    [
      10,
      createFindCoordinatorHandler({
        coordinatorFor: (key) => {
          // Transactional ids map like group ids; either way the owner is the partition leader.
          if (!store.owns(key)) return null;
          const b = self();
          return b === undefined ? { nodeId: cluster.nodeId, host: config.advertisedHost, port: config.advertisedPort } : b;
        },
      }),
    ],
    [11, createJoinGroupHandler({ groups })],
    [12, createHeartbeatHandler({ groups })],
    [13, createLeaveGroupHandler({ groups })],
    [14, createSyncGroupHandler({ groups })],
    [15, createDescribeGroupsHandler({ groups })],
    [16, createListGroupsHandler({ groups })],
    [22, createInitProducerIdHandler({ producerIds, logger })],
    [42, createDeleteGroupsHandler({ groups })],
    [47, createOffsetDeleteHandler({ groups })],
  ]);

  const apis = opts.apis ?? ALL_APIS;
  const handlers: ApiHandler[] = [];
  for (const s of SERVED) {
    const def = apis.find((a) => a.apiKey === s.apiKey);
    const handle = handlersByKey.get(s.apiKey);
    if (def === undefined || handle === undefined) {
      logger.warn({ apiKey: s.apiKey }, 'no message definition for a coordinator api; it is not served');
      continue;
    }
    const minVersion = Math.max(def.minVersion, s.min);
    const maxVersion = Math.min(def.maxVersion, s.max);
    if (minVersion > maxVersion) continue;
    handlers.push({ api: { ...def, minVersion, maxVersion }, handle });
  }

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
    handlers,
    groups,
    close() {
      clearInterval(retention);
      groups.close();
      return Promise.resolve();
    },
  };
}

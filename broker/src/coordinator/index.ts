/**
 * The coordinator module's public surface: consumer groups, committed offsets and producer ids,
 * wired to the Kafka APIs that expose them.
 *
 * Start-up: open (or create) `__consumer_offsets`, replay it to rebuild offsets and groups (groups
 * come back Empty with their offsets and generation), open the producer-id allocator, then serve.
 */
import type { Cluster } from '../cluster/types.js';
import type { BrokerConfig } from '../config.js';
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
import { DEFAULT_GROUP_CONFIG, GroupCoordinator, type CoordinatorLogger, type GroupConfig } from './group-coordinator.js';
import { DEFAULT_OFFSETS_TOPIC_PARTITIONS } from './group-partition.js';
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

/** The broker settings the coordinator reads, in Kafka's names, with Kafka's defaults. */
export interface CoordinatorSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly group: GroupConfig;
}

function intSetting(defaults: Readonly<Record<string, string>>, key: string, fallback: number, min: number): number {
  const raw = defaults[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`broker config ${key}=${raw} must be an integer >= ${min}`);
  return n;
}

export function coordinatorSettings(config: BrokerConfig): CoordinatorSettings {
  const d = config.defaults;
  const minSession = intSetting(d, 'group.min.session.timeout.ms', DEFAULT_GROUP_CONFIG.minSessionTimeoutMs, 0);
  const maxSession = intSetting(d, 'group.max.session.timeout.ms', DEFAULT_GROUP_CONFIG.maxSessionTimeoutMs, 0);
  if (maxSession < minSession) throw new Error(`group.max.session.timeout.ms (${maxSession}) is below group.min.session.timeout.ms (${minSession})`);
  return {
    offsetsTopicPartitions: intSetting(d, 'offsets.topic.num.partitions', DEFAULT_OFFSETS_TOPIC_PARTITIONS, 1),
    offsetsTopicReplicationFactor: intSetting(d, 'offsets.topic.replication.factor', 3, 1),
    offsetsRetentionCheckIntervalMs: intSetting(d, 'offsets.retention.check.interval.ms', 600_000, 1),
    group: {
      minSessionTimeoutMs: minSession,
      maxSessionTimeoutMs: maxSession,
      initialRebalanceDelayMs: intSetting(d, 'group.initial.rebalance.delay.ms', DEFAULT_GROUP_CONFIG.initialRebalanceDelayMs, 0),
      maxGroupSize: intSetting(d, 'group.max.size', DEFAULT_GROUP_CONFIG.maxGroupSize, 1),
      offsetMetadataMaxBytes: intSetting(d, 'offset.metadata.max.bytes', DEFAULT_GROUP_CONFIG.offsetMetadataMaxBytes, 0),
      offsetsRetentionMs: intSetting(d, 'offsets.retention.minutes', DEFAULT_GROUP_CONFIG.offsetsRetentionMs / 60_000, 1) * 60_000,
    },
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

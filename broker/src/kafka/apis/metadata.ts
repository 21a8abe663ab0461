import type { BrokerConfig } from '../../config/index.js';
import type { Cluster, TopicInfo } from '../../cluster/types.js';
import { validateTopicName } from '../../cluster/topic-names.js';
import type { Logger } from '../../observability/logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ZERO_UUID, type ApiDef } from '../protocol/schema.js';
import type { ApiHandler, MessageBody } from '../server/handler.js';

/** "No authorized operations were computed" in Kafka's encoding (INT32 min). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** Where a partition lives, as Metadata reports it. */
export interface PartitionPlacement {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
}

/**
 * Optional addition a multi-broker Cluster can implement so Metadata reports real replica sets.
 * Without it, a partition this broker hosts is reported with this broker as its only replica.
 */
export interface PlacementAwareCluster extends Cluster {
  partitionPlacement(topic: string, partition: number): PartitionPlacement | undefined;
}

function isPlacementAware(cluster: Cluster): cluster is PlacementAwareCluster {
  return typeof (cluster as Partial<PlacementAwareCluster>).partitionPlacement === 'function';
}

export interface MetadataHandlerOptions {
  readonly api: ApiDef;
  readonly cluster: Cluster;
  readonly config: BrokerConfig;
  readonly logger: Logger;
}

interface RequestedTopic {
  readonly name: string | null;
  readonly topicId: string;
}

export function createMetadataHandler(options: MetadataHandlerOptions): ApiHandler {
  const { api, cluster, config, logger } = options;
  const autoCreateEnabled = config.settings.get('auto.create.topics.enable');

  return {
    api,
    handle: async (request, ctx) => {
      const version = ctx.apiVersion;
      const requested = readRequestedTopics(request, version);
      // Before v4 every Metadata request implicitly allowed auto-creation.
      const allowAutoCreate = version < 4 ? true : request['allowAutoTopicCreation'] === true;
      const includeTopicOps = version >= 8 && request['includeTopicAuthorizedOperations'] === true;

      const topics: MessageBody[] = [];
      if (requested === null) {
        for (const t of cluster.topics()) topics.push(describeTopic(cluster, t, includeTopicOps));
      } else {
        for (const req of requested) {
          const topic = await resolveTopic(req, allowAutoCreate && autoCreateEnabled, includeTopicOps);
          // The response's name is nullable only from v12; older versions carry an empty name.
          if (topic['name'] === null && version < 12) topic['name'] = '';
          topics.push(topic);
        }
      }

      return {
        throttleTimeMs: 0,
        brokers: cluster.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterId: cluster.clusterId,
        controllerId: cluster.controllerId(),
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  };

  async function resolveTopic(req: RequestedTopic, autoCreate: boolean, includeOps: boolean): Promise<MessageBody> {
    if (req.name === null || req.name === '') {
      if (req.topicId !== ZERO_UUID) {
        const byId = cluster.topicById(req.topicId);
        if (byId) return describeTopic(cluster, byId, includeOps);
        return topicError(ErrorCode.UNKNOWN_TOPIC_ID, null, req.topicId);
      }
      if (req.name === null) return topicError(ErrorCode.INVALID_REQUEST, null, ZERO_UUID);
    }
    const name = req.name;
    const existing = cluster.topic(name);
    if (existing) return describeTopic(cluster, existing, includeOps);
    try {
      validateTopicName(name);
    } catch (err) {
      if (err instanceof KafkaError) return topicError(err.code, name, ZERO_UUID);
      throw err;
    }
    if (!autoCreate) return topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, ZERO_UUID);
    try {
      const created = await cluster.createTopic({ name, partitions: -1, replicationFactor: -1, configs: {} });
      logger.info({ topic: name, partitions: created.partitions }, 'auto-created topic on Metadata request');
      return describeTopic(cluster, created, includeOps);
    } catch (err) {
      if (err instanceof KafkaError) {
        if (err.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
          // Another request created it meanwhile.
          const raced = cluster.topic(name);
          if (raced) return describeTopic(cluster, raced, includeOps);
          return topicError(ErrorCode.LEADER_NOT_AVAILABLE, name, ZERO_UUID);
        }
        logger.warn({ topic: name, code: err.code, err: err.message }, 'auto-create failed');
        return topicError(err.code, name, ZERO_UUID);
      }
      throw err;
    }
  }
}

/** null means "all topics" (v0 empty list, v1+ null list). */
function readRequestedTopics(request: MessageBody, version: number): RequestedTopic[] | null {
  const raw = request['topics'];
  if (raw === null || raw === undefined) return null;
  if (!Array.isArray(raw)) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Metadata: topics is not an array');
  if (version === 0 && raw.length === 0) return null;
  const out: RequestedTopic[] = [];
  const seen = new Set<string>();
  for (const item of raw as unknown[]) {
    const t = (item ?? {}) as Record<string, unknown>;
    const name = typeof t['name'] === 'string' ? t['name'] : null;
    const topicId = typeof t['topicId'] === 'string' ? t['topicId'] : ZERO_UUID;
    // Kafka answers each distinct topic once.
    const key = name !== null ? `n:${name}` : `i:${topicId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name, topicId });
  }
  return out;
}

function topicError(code: number, name: string | null, topicId: string): MessageBody {
  return { errorCode: code, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}

function describeTopic(cluster: Cluster, topic: TopicInfo, includeOps: boolean): MessageBody {
  const partitions: MessageBody[] = [];
  for (let p = 0; p < topic.partitions; p++) partitions.push(describePartition(cluster, topic, p));
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions,
    // Without an authorizer every operation is allowed; report "not computed" unless asked.
    topicAuthorizedOperations: includeOps ? ALL_TOPIC_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/**
 * Topic operations bit set (AclOperation codes): READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
 * DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
 */
const ALL_TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);

function describePartition(cluster: Cluster, topic: TopicInfo, partitionIndex: number): MessageBody {
  if (isPlacementAware(cluster)) {
    const placement = cluster.partitionPlacement(topic.name, partitionIndex);
    if (placement) {
      return {
        errorCode: placement.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex,
        leaderId: placement.leaderId,
        leaderEpoch: placement.leaderEpoch,
        replicaNodes: [...placement.replicas],
        isrNodes: [...placement.isr],
        offlineReplicas: [...placement.offline],
      };
    }
  }
  const local = cluster.partition(topic.name, partitionIndex);
  if (local && local.isLeader()) {
    return {
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: cluster.nodeId,
      leaderEpoch: local.leaderEpoch(),
      replicaNodes: [cluster.nodeId],
      isrNodes: [cluster.nodeId],
      offlineReplicas: [],
    };
  }
  return {
    errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
    partitionIndex,
    leaderId: -1,
    leaderEpoch: -1,
    replicaNodes: local ? [cluster.nodeId] : [],
    isrNodes: [],
    offlineReplicas: [],
  };
}

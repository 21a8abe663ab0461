/**
 * Metadata (3): the brokers, the cluster id and controller, and every requested topic with its
 * partitions, leaders and replicas. Unknown topics are created on the way when both the broker
 * (auto.create.topics.enable) and the request allow it.
 *
 * Versions: v0 asks for all topics with an empty list, v1+ with a null one; before v4 every
 * request implicitly allows auto-creation; v8+ reports authorized operations when asked (there is
 * no authorizer: everything is allowed); v10+ names topics by id as well; only v12+ may answer
 * with a null topic name, older versions get "".
 *
 * Errors, per topic: UNKNOWN_TOPIC_OR_PARTITION (3), INVALID_TOPIC_EXCEPTION (17), UNKNOWN_TOPIC_ID
 * (100), INVALID_REQUEST (42) for neither a name nor an id, LEADER_NOT_AVAILABLE (5) for a topic
 * being created or a partition without a leader here, and what auto-creation failed with.
 */
import type { Cluster, TopicInfo } from '../../cluster/types.js';
import { isReservedInternalTopic, validateTopicName } from '../../cluster/topic-names.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { MetadataRequest, MetadataResponse, type BodyOf, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { defineApi, type ApiServices } from './api.js';
import { clientControllerId } from './controller-id.js';

/** "No authorized operations were computed" in Kafka's encoding (INT32 min). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

type Response = ResponseBodyOf<typeof MetadataResponse>;
type TopicOut = ElementOf<Response['topics']>;
type PartitionOut = ElementOf<TopicOut['partitions']>;
type RequestedTopic = ElementOf<NonNullable<BodyOf<typeof MetadataRequest>['topics']>>;

/**
 * Topic operations bit set (AclOperation codes): READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
 * DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
 */
const ALL_TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);

export const metadataApi = defineApi({
  name: 'Metadata',
  request: MetadataRequest,
  response: MetadataResponse,
  versions: { min: 0, max: 12 },
  // Only the Cluster view: Metadata reads no partition data.
  create: ({ cluster, config, logger }: { readonly cluster: Cluster } & Pick<ApiServices, 'config' | 'logger'>) => {
    const autoCreateEnabled = config.settings.get('auto.create.topics.enable');

    async function resolveTopic(req: RequestedTopic, autoCreate: boolean, includeOps: boolean): Promise<TopicOut> {
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
      if (!autoCreate || isReservedInternalTopic(name)) return topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, ZERO_UUID);
      try {
        const created = await cluster.createTopic({ name, partitions: -1, replicationFactor: -1, configs: {} });
        logger.info({ topic: name, partitions: created.partitions }, 'auto-created topic on Metadata request');
        return describeTopic(cluster, created, includeOps);
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        if (err.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
          // Another request created it meanwhile.
          const raced = cluster.topic(name);
          return raced ? describeTopic(cluster, raced, includeOps) : topicError(ErrorCode.LEADER_NOT_AVAILABLE, name, ZERO_UUID);
        }
        logger.warn({ topic: name, code: err.code, err: err.message }, 'auto-create failed');
        return topicError(err.code, name, ZERO_UUID);
      }
    }

    return async (req, ctx) => {
      const version = ctx.apiVersion;
      // null means "all topics" (v0: an empty list).
      const all = req.topics === null || (version === 0 && req.topics.length === 0);
      // Before v4 there is no flag and it reads as true: every request allowed auto-creation.
      const allowAutoCreate = req.allowAutoTopicCreation;
      const includeTopicOps = req.includeTopicAuthorizedOperations;

      const topics: TopicOut[] = [];
      if (all || req.topics === null) {
        for (const t of cluster.topics()) topics.push(describeTopic(cluster, t, includeTopicOps));
      } else {
        for (const r of distinct(req.topics)) {
          const topic = await resolveTopic(r, allowAutoCreate && autoCreateEnabled, includeTopicOps);
          // The response's name is nullable only from v12; older versions carry an empty name.
          topics.push(topic.name === null && version < 12 ? { ...topic, name: '' } : topic);
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: cluster.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterId: cluster.clusterId,
        controllerId: clientControllerId(cluster),
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    };
  },
});

/** Kafka answers each distinct topic once. */
function distinct(topics: readonly RequestedTopic[]): RequestedTopic[] {
  const seen = new Set<string>();
  return topics.filter((t) => {
    const key = t.name !== null ? `n:${t.name}` : `i:${t.topicId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function topicError(code: number, name: string | null, topicId: string): TopicOut {
  return { errorCode: code, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}

function describeTopic(cluster: Cluster, topic: TopicInfo, includeOps: boolean): TopicOut {
  const partitions: PartitionOut[] = [];
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

function describePartition(cluster: Cluster, topic: TopicInfo, partitionIndex: number): PartitionOut {
  const view = cluster.partitionView(topic.name, partitionIndex);
  if (!view) {
    return { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, partitionIndex, leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] };
  }
  return {
    errorCode: view.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex,
    leaderId: view.leader,
    leaderEpoch: view.leader < 0 ? -1 : view.leaderEpoch,
    replicaNodes: [...view.replicas],
    isrNodes: [...view.isr],
    offlineReplicas: [...view.offline],
  };
}

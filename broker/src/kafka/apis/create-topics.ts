/**
 * CreateTopics (19): creates each topic on its own, with a message naming what was wrong. -1
 * partitions or replication factor take the broker's num.partitions / default.replication.factor;
 * explicit replica assignments must cover partitions 0..n-1 once each. validateOnly checks
 * everything and creates nothing.
 *
 * Versions: v5+ answers with the topic's partition count, replication factor and configs; v7+
 * with its topic id.
 *
 * Errors, per topic: TOPIC_ALREADY_EXISTS (36), INVALID_TOPIC_EXCEPTION (17), INVALID_PARTITIONS
 * (37), INVALID_REPLICATION_FACTOR (38), INVALID_REPLICA_ASSIGNMENT (39), INVALID_CONFIG (40),
 * INVALID_REQUEST (42) for a topic or config named twice, or both a count and assignments.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { CreateTopicsRequest, CreateTopicsResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { defineApi, type ApiServices } from './api.js';
import { describeTopicConfigs } from './configs-common.js';
import { duplicates, errorOutcome } from './data-common.js';

type CreatableTopicResult = ElementOf<ResponseBodyOf<typeof CreateTopicsResponse>['topics']>;

export const createTopicsApi = defineApi({
  name: 'CreateTopics',
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  versions: { min: 0, max: 7 },
  create: ({ cluster, config, logger }: Pick<ApiServices, 'cluster' | 'config' | 'logger'>) => async (req, ctx) => {
    const dup = duplicates(req.topics.map((t) => t.name));
    const topics: CreatableTopicResult[] = [];
    // One at a time: topics in one request may collide with each other ('.' vs '_').
    for (const t of req.topics) {
      try {
        if (dup.has(t.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Topic '${t.name}' appears more than once in the request`);
        let partitions = t.numPartitions;
        let rf = t.replicationFactor;
        if (t.assignments.length > 0) {
          if (partitions !== -1 || rf !== -1) {
            throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replica assignments were given; use one or the other');
          }
          const seen = new Set<number>();
          for (const a of t.assignments) {
            if (seen.has(a.partitionIndex) || a.partitionIndex < 0 || a.partitionIndex >= t.assignments.length) {
              throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Assignments must cover partitions 0..${t.assignments.length - 1} once each`);
            }
            seen.add(a.partitionIndex);
            if (a.brokerIds.length !== 1 || a.brokerIds[0] !== config.nodeId) {
              throw new KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `Partition ${a.partitionIndex} is assigned to [${a.brokerIds.join(',')}]; the only broker is ${config.nodeId}`,
              );
            }
          }
          partitions = t.assignments.length;
          rf = 1;
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) continue;
          if (c.name in configs) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Config ${c.name} appears more than once`);
          configs[c.name] = c.value;
        }
        const info = await cluster.createTopic({ name: t.name, partitions, replicationFactor: rf, configs }, req.validateOnly);
        const described =
          ctx.apiVersion >= 5 && !req.validateOnly
            ? describeTopicConfigs(cluster, info.name, { keys: null, includeSynonyms: false, includeDocumentation: false }).map((c) => ({
                name: c.name,
                value: c.value,
                readOnly: c.readOnly,
                configSource: c.configSource,
                isSensitive: c.isSensitive,
              }))
            : null;
        topics.push({
          name: info.name,
          topicId: req.validateOnly ? ZERO_UUID : info.topicId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: info.partitions,
          replicationFactor: info.replicationFactor,
          configs: described,
        });
      } catch (err) {
        const e = errorOutcome(err, logger, `CreateTopics ${t.name}`);
        topics.push({ name: t.name, topicId: ZERO_UUID, errorCode: e.code, errorMessage: e.message, numPartitions: -1, replicationFactor: -1, configs: null });
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});

/**
 * Topic administration: CreateTopics (19) v0-7, DeleteTopics (20) v0-6 and CreatePartitions
 * (37) v0-3. Each topic succeeds or fails on its own with a message naming the problem.
 */
import type { CreateTopicsRequest as CreateTopicsRequestDef, DeleteTopicsRequest as DeleteTopicsRequestDef, CreatePartitionsRequest as CreatePartitionsRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/schema.js';
import type { Handler, MessageBody, RequestContext } from '../server/handler.js';
import { describeTopicConfigs } from './configs.js';
import { asBody, asRequest, duplicates, errorOutcome, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

interface CreateTopicsRequest {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: { partitionIndex: number; brokerIds: number[] }[];
    configs: { name: string; value: string | null }[];
  }[];
  timeoutMs: number;
  validateOnly: boolean;
}
/** Breaks the build if the CreateTopicsRequest definition stops decoding into this shape. */
type CreateTopicsRequestChecked = Expect<DecodesAs<BodyOf<typeof CreateTopicsRequestDef>, CreateTopicsRequest>>;

interface CreatableTopicResult {
  name: string;
  topicId: string;
  errorCode: number;
  errorMessage: string | null;
  numPartitions: number;
  replicationFactor: number;
  configs: { name: string; value: string | null; readOnly: boolean; configSource: number; isSensitive: boolean }[] | null;
}

export function createCreateTopicsHandler(deps: DataDeps): Handler {
  const { cluster, config, logger } = deps;
  return async (body: MessageBody, ctx: RequestContext): Promise<MessageBody> => {
    const req = asRequest<CreateTopicsRequest>(body);
    const dup = duplicates(req.topics.map((t) => t.name));
    const topics: CreatableTopicResult[] = [];
    // One at a time: topics in one request may collide with each other ('.' vs '_').
    for (const t of req.topics) {
      const fail = (code: number, message: string): CreatableTopicResult => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: code,
        errorMessage: message,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      try {
        if (dup.has(t.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Topic '${t.name}' appears more than once in the request`);
        let partitions = t.numPartitions;
        let rf = t.replicationFactor;
        if (t.assignments.length > 0) {
          if (partitions !== -1 || rf !== -1) {
            throw new KafkaError(
              ErrorCode.INVALID_REQUEST,
              'Both numPartitions or replicationFactor and replica assignments were given; use one or the other',
            );
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
        let described: CreatableTopicResult['configs'] = null;
        if (ctx.apiVersion >= 5 && !req.validateOnly) {
          described = describeTopicConfigs(cluster, info.name, { keys: null, includeSynonyms: false, includeDocumentation: false }).map(
            (c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: c.isSensitive }),
          );
        }
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
        topics.push(fail(e.code, e.message));
      }
    }
    return asBody({ throttleTimeMs: 0, topics });
  };
}

interface DeleteTopicsRequest {
  topicNames: string[];
  topics: { name: string | null; topicId: string }[];
  timeoutMs: number;
}
/** Breaks the build if the DeleteTopicsRequest definition stops decoding into this shape. */
type DeleteTopicsRequestChecked = Expect<DecodesAs<BodyOf<typeof DeleteTopicsRequestDef>, DeleteTopicsRequest>>;

interface DeletableTopicResult {
  name: string | null;
  topicId: string;
  errorCode: number;
  errorMessage: string | null;
}

export function createDeleteTopicsHandler(deps: DataDeps): Handler {
  const { cluster, logger } = deps;
  return async (body: MessageBody, ctx: RequestContext): Promise<MessageBody> => {
    const req = asRequest<DeleteTopicsRequest>(body);
    const wanted =
      ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses: DeletableTopicResult[] = [];
    for (const w of wanted) {
      let name = w.name;
      let topicId = w.topicId;
      try {
        if (name === null || name === '') {
          if (topicId === ZERO_UUID) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Neither a topic name nor a topic id was given');
          const info = cluster.topicById(topicId);
          if (!info) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, `Unknown topic id ${topicId}`);
          name = info.name;
        } else if (topicId !== ZERO_UUID) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Give either a topic name or a topic id for ${name}, not both`);
        } else {
          const info = cluster.topic(name);
          if (!info) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
          topicId = info.topicId;
        }
        await cluster.deleteTopic(name);
        responses.push({ name, topicId, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const e = errorOutcome(err, logger, `DeleteTopics ${name ?? topicId}`);
        responses.push({ name, topicId, errorCode: e.code, errorMessage: e.message });
      }
    }
    return asBody({ throttleTimeMs: 0, responses });
  };
}

interface CreatePartitionsRequest {
  topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[];
  timeoutMs: number;
  validateOnly: boolean;
}
/** Breaks the build if the CreatePartitionsRequest definition stops decoding into this shape. */
type CreatePartitionsRequestChecked = Expect<DecodesAs<BodyOf<typeof CreatePartitionsRequestDef>, CreatePartitionsRequest>>;

export function createCreatePartitionsHandler(deps: DataDeps): Handler {
  const { cluster, config, logger } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<CreatePartitionsRequest>(body);
    const dup = duplicates(req.topics.map((t) => t.name));
    const results: { name: string; errorCode: number; errorMessage: string | null }[] = [];
    for (const t of req.topics) {
      try {
        if (dup.has(t.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Topic '${t.name}' appears more than once in the request`);
        const current = cluster.topic(t.name);
        if (!current) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${t.name}' does not exist`);
        if (t.assignments !== null) {
          if (t.assignments.length !== t.count - current.partitions) {
            throw new KafkaError(
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              `${t.assignments.length} assignments given for ${t.count - current.partitions} new partitions`,
            );
          }
          for (const a of t.assignments) {
            if (a.brokerIds.length !== 1 || a.brokerIds[0] !== config.nodeId) {
              throw new KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `Assignment [${a.brokerIds.join(',')}] is not possible; the only broker is ${config.nodeId}`,
              );
            }
          }
        }
        await cluster.createPartitions(t.name, t.count, req.validateOnly);
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const e = errorOutcome(err, logger, `CreatePartitions ${t.name}`);
        results.push({ name: t.name, errorCode: e.code, errorMessage: e.message });
      }
    }
    return asBody({ throttleTimeMs: 0, results });
  };
}

/**
 * CreatePartitions (37): grows topics to a new partition count (never shrinks), each topic on its
 * own. Explicit assignments must give one per new partition, each naming this broker only.
 * validateOnly checks and creates nothing.
 *
 * Versions: v2+ is the flexible encoding; the fields are the same throughout.
 *
 * Errors, per topic: UNKNOWN_TOPIC_OR_PARTITION (3), INVALID_PARTITIONS (37) for a count not above
 * the current one, INVALID_REPLICA_ASSIGNMENT (39), INVALID_REQUEST (42) for a topic named twice.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { CreatePartitionsRequest, CreatePartitionsResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { duplicates, errorOutcome } from './data-common.js';

type Result = ElementOf<ResponseBodyOf<typeof CreatePartitionsResponse>['results']>;

export const createPartitionsApi = defineApi({
  name: 'CreatePartitions',
  request: CreatePartitionsRequest,
  response: CreatePartitionsResponse,
  versions: { min: 0, max: 3 },
  create: ({ cluster, config, logger }: Pick<ApiServices, 'cluster' | 'config' | 'logger'>) => async (req) => {
    const dup = duplicates(req.topics.map((t) => t.name));
    const results: Result[] = [];
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
    return { throttleTimeMs: 0, results };
  },
});

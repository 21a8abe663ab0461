/**
 * DeleteTopics (20): deletes each topic on its own, by name or (v6+) by topic id, with its
 * partition logs.
 *
 * Versions: v0-5 name topics in topicNames; v6+ in topics, each with a name or an id (not both).
 *
 * Errors, per topic: UNKNOWN_TOPIC_OR_PARTITION (3), UNKNOWN_TOPIC_ID (100), INVALID_REQUEST (42)
 * for neither or both of name and id, and what deletion failed with (internal topics:
 * INVALID_TOPIC_EXCEPTION 17).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { DeleteTopicsRequest, DeleteTopicsResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { defineApi, type ApiServices } from './api.js';
import { errorOutcome } from './data-common.js';

type DeletableTopicResult = ElementOf<ResponseBodyOf<typeof DeleteTopicsResponse>['responses']>;

export const deleteTopicsApi = defineApi({
  name: 'DeleteTopics',
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  versions: { min: 0, max: 6 },
  create: ({ cluster, logger }: Pick<ApiServices, 'cluster' | 'logger'>) => async (req, ctx) => {
    const wanted = ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
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
    return { throttleTimeMs: 0, responses };
  },
});

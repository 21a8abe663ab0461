/**
 * OffsetDelete (47): deletes a group's committed offsets for partitions of topics the group no
 * longer consumes (tombstones stored before the answer).
 *
 * Versions: the specification has one.
 *
 * Errors: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), GROUP_ID_NOT_FOUND (69), NON_EMPTY_GROUP (68)
 * when an active group's subscription is unknown, COORDINATOR_NOT_AVAILABLE (15) when storing
 * fails; per partition GROUP_SUBSCRIBED_TO_TOPIC (86).
 */
import { OffsetDeleteRequest, OffsetDeleteResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { byTopic } from './group-common.js';

export const offsetDeleteApi = defineApi({
  name: 'OffsetDelete',
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  versions: { min: 0, max: 0 },
  create: ({ offsets }: Pick<ApiServices, 'offsets'>) => async (req) => {
    const r = await offsets.deleteOffsets(
      req.groupId,
      req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex }))),
    );
    return {
      errorCode: r.errorCode,
      throttleTimeMs: 0,
      topics: byTopic(r.partitions, (p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
    };
  },
});

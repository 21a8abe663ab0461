/**
 * OffsetCommit (8): stores committed offsets for a group, durably before answering. A group that
 * does not use group management (generation -1) may commit freely; otherwise the member and
 * generation must be current.
 *
 * Versions: v1+ carry the member and generation; v2-4 an explicit retention time; v6+ the leader
 * epoch of each offset; v7+ group.instance.id. To a consumer-protocol group (KIP-848) the
 * generation is the member epoch: v9+ answer a stale one with STALE_MEMBER_EPOCH (113), older
 * versions with ILLEGAL_GENERATION.
 *
 * Errors, per partition: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), COORDINATOR_NOT_AVAILABLE
 * (15), ILLEGAL_GENERATION (22), UNKNOWN_MEMBER_ID (25), REBALANCE_IN_PROGRESS (27),
 * FENCED_INSTANCE_ID (82), OFFSET_METADATA_TOO_LARGE (12), UNKNOWN_TOPIC_OR_PARTITION (3),
 * INVALID_COMMIT_OFFSET_SIZE (28).
 */
import { OffsetCommitRequest, OffsetCommitResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { byTopic } from './group-common.js';

export const offsetCommitApi = defineApi({
  name: 'OffsetCommit',
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  versions: { min: 0, max: 9 },
  // Fields a version lacks arrive as their defaults: generation and retention -1, no member, no
  // instance id, leader epoch -1; which is what the coordinator takes as "not given".
  create: ({ offsets }: Pick<ApiServices, 'offsets'>) => async (req, ctx) => {
    const errors = await offsets.commitOffsets({
      apiVersion: ctx.apiVersion,
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: req.retentionTimeMs,
      partitions: req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
        })),
      ),
    });
    return { throttleTimeMs: 0, topics: byTopic(errors, (e) => ({ partitionIndex: e.partition, errorCode: e.errorCode })) };
  },
});

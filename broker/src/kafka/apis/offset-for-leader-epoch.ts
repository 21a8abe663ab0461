/**
 * OffsetForLeaderEpoch (23): the end offset of a leader epoch, so a consumer (or a follower) can
 * detect truncation. Leader epochs are the partition's raft terms. For the current epoch the end
 * offset is the log end (for replicas) or the high watermark (for consumers); an older epoch ends
 * where the next epoch the log holds begins (the term history), answered with the largest epoch
 * at or below the one asked; one older than every epoch the log holds is answered with itself and
 * the earliest epoch's start; a later or negative epoch is unknown and answered with -1 / -1, as
 * Kafka answers an epoch it has never seen.
 *
 * Versions: v2+ checks the current leader epoch; v3+ says who asks (replicaId, -1 for consumers).
 *
 * Errors, per partition: UNKNOWN_TOPIC_OR_PARTITION (3), NOT_LEADER_OR_FOLLOWER (6),
 * FENCED_LEADER_EPOCH (74), UNKNOWN_LEADER_EPOCH (76).
 */
import { ErrorCode } from '../protocol/errors.js';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { leaderEpochError } from './data-common.js';

type EpochEndOffset = ElementOf<ElementOf<ResponseBodyOf<typeof OffsetForLeaderEpochResponse>['topics']>['partitions']>;

export const offsetForLeaderEpochApi = defineApi({
  name: 'OffsetForLeaderEpoch',
  request: OffsetForLeaderEpochRequest,
  response: OffsetForLeaderEpochResponse,
  versions: { min: 0, max: 4 },
  create: ({ cluster }: Pick<ApiServices, 'cluster'>) => async (req) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((rp): EpochEndOffset => {
        const fail = (errorCode: number): EpochEndOffset => ({ errorCode, partition: rp.partition, leaderEpoch: -1, endOffset: -1 });
        const p = cluster.partition(t.topic, rp.partition);
        if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (!p.isLeader()) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        const epochError = leaderEpochError(rp.currentLeaderEpoch, p.leaderEpoch());
        if (epochError) return fail(epochError.code);
        const current = p.leaderEpoch();
        const unknown: EpochEndOffset = { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: -1, endOffset: -1 };
        if (rp.leaderEpoch < 0 || rp.leaderEpoch > current) return unknown;
        if (rp.leaderEpoch < current) {
          // An older epoch ends where the next one the log holds begins (the term history).
          const found = p.endOffsetForEpoch(rp.leaderEpoch);
          if (found === null) return unknown;
          if (found.epoch < current) return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: found.epoch, endOffset: found.endOffset };
        }
        // Consumers compare against what they may have read, so answer with the committed end.
        const endOffset = req.replicaId >= 0 ? p.logEndOffset() : p.highWatermark();
        return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: current, endOffset };
      }),
    })),
  }),
});

/**
 * DeleteRecords (21): moves each partition's log start offset forward (offset -1 means the high
 * watermark) and answers with the new low watermark. Whole segments below it are deleted by the
 * log; reads below it fail from then on.
 *
 * Versions: all served versions carry the same fields (v2 is the flexible encoding).
 *
 * Errors, per partition: INVALID_REQUEST (42) for a partition named twice,
 * UNKNOWN_TOPIC_OR_PARTITION (3), NOT_LEADER_OR_FOLLOWER (6), OFFSET_OUT_OF_RANGE (1) beyond the
 * high watermark, REQUEST_TIMED_OUT (7).
 */
import { ErrorCode } from '../protocol/errors.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { duplicates, errorOutcome, withTimeout } from './data-common.js';

export const deleteRecordsApi = defineApi({
  name: 'DeleteRecords',
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  versions: { min: 0, max: 2 },
  create: ({ cluster, logger }: Pick<ApiServices, 'cluster' | 'logger'>) => async (req) => {
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        const dup = duplicates(t.partitions.map((p) => String(p.partitionIndex)));
        const partitions = await Promise.all(
          t.partitions.map(async (rp) => {
            const fail = (errorCode: number) => ({ partitionIndex: rp.partitionIndex, lowWatermark: -1, errorCode });
            if (dup.has(String(rp.partitionIndex))) return fail(ErrorCode.INVALID_REQUEST);
            const p = cluster.partition(t.name, rp.partitionIndex);
            if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            if (!p.isLeader()) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
            try {
              const lowWatermark = await withTimeout(p.deleteRecordsBefore(rp.offset), req.timeoutMs, `DeleteRecords on ${t.name}-${rp.partitionIndex}`);
              logger.info({ topic: t.name, partition: rp.partitionIndex, lowWatermark }, 'records deleted');
              return { partitionIndex: rp.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
            } catch (err) {
              return fail(errorOutcome(err, logger, `DeleteRecords on ${t.name}-${rp.partitionIndex}`).code);
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});

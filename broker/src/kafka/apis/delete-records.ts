/**
 * DeleteRecords (api key 21), versions 0-2: moves each partition's log start offset forward
 * (offset -1 means the high watermark) and answers with the new low watermark.
 */
import type { DeleteRecordsRequest as DeleteRecordsRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import { asBody, asRequest, duplicates, errorOutcome, withTimeout, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

interface DeleteRecordsRequest {
  topics: { name: string; partitions: { partitionIndex: number; offset: number }[] }[];
  timeoutMs: number;
}
/** Breaks the build if the DeleteRecordsRequest definition stops decoding into this shape. */
type DeleteRecordsRequestChecked = Expect<DecodesAs<BodyOf<typeof DeleteRecordsRequestDef>, DeleteRecordsRequest>>;

interface DeleteRecordsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; lowWatermark: number; errorCode: number }[] }[];
}

export function createDeleteRecordsHandler(deps: DataDeps): Handler {
  const { cluster, logger } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<DeleteRecordsRequest>(body);
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
              const lowWatermark = await withTimeout(
                p.deleteRecordsBefore(rp.offset),
                req.timeoutMs,
                `DeleteRecords on ${t.name}-${rp.partitionIndex}`,
              );
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
    const response: DeleteRecordsResponse = { throttleTimeMs: 0, topics };
    return asBody(response);
  };
}

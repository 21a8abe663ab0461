/**
 * OffsetForLeaderEpoch (api key 23), versions 0-4. Every partition has had one leader epoch (0)
 * so far: its end offset is the log end offset; any later epoch is unknown (-1, -1), which is
 * how Kafka answers an epoch it has never seen.
 */
import type { OffsetForLeaderEpochRequest as OffsetForLeaderEpochRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import { asBody, asRequest, leaderEpochError, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

interface OffsetForLeaderEpochRequest {
  replicaId: number;
  topics: { topic: string; partitions: { partition: number; currentLeaderEpoch: number; leaderEpoch: number }[] }[];
}
/** Breaks the build if the OffsetForLeaderEpochRequest definition stops decoding into this shape. */
type OffsetForLeaderEpochRequestChecked = Expect<DecodesAs<BodyOf<typeof OffsetForLeaderEpochRequestDef>, OffsetForLeaderEpochRequest>>;

interface EpochEndOffset {
  errorCode: number;
  partition: number;
  leaderEpoch: number;
  endOffset: number;
}

interface OffsetForLeaderEpochResponse {
  throttleTimeMs: number;
  topics: { topic: string; partitions: EpochEndOffset[] }[];
}

export function createOffsetForLeaderEpochHandler(deps: DataDeps): Handler {
  const { cluster } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<OffsetForLeaderEpochRequest>(body);
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((rp): EpochEndOffset => {
        const fail = (errorCode: number): EpochEndOffset => ({ errorCode, partition: rp.partition, leaderEpoch: -1, endOffset: -1 });
        const p = cluster.partition(t.topic, rp.partition);
        if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (!p.isLeader()) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        const epochError = leaderEpochError(rp.currentLeaderEpoch, p.leaderEpoch());
        if (epochError) return fail(epochError.code);
        const current = p.leaderEpoch();
        if (rp.leaderEpoch < 0 || rp.leaderEpoch > current) return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: -1, endOffset: -1 };
        // Consumers compare against what they may have read, so answer with the committed end.
        const endOffset = req.replicaId >= 0 ? p.logEndOffset() : p.highWatermark();
        return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: current, endOffset };
      }),
    }));
    const response: OffsetForLeaderEpochResponse = { throttleTimeMs: 0, topics };
    return asBody(response);
  };
}

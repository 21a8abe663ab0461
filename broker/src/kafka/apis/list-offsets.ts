/**
 * ListOffsets (api key 2), versions 0-9: latest (-1), earliest (-2), max timestamp (-3),
 * earliest local (-4), latest tiered (-5, no tiered storage: not found) and by timestamp.
 * Version 0 answers in the old shape (a list of offsets).
 */
import type { ListOffsetsRequest as ListOffsetsRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { DataPartition } from '../../replication/types.js';
import type { Handler, MessageBody, RequestContext } from '../server/handler.js';
import { asBody, asRequest, duplicates, errorOutcome, leaderEpochError, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;

interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: {
    name: string;
    partitions: { partitionIndex: number; currentLeaderEpoch: number; timestamp: number; maxNumOffsets: number }[];
  }[];
}
/** Breaks the build if the ListOffsetsRequest definition stops decoding into this shape. */
type ListOffsetsRequestChecked = Expect<DecodesAs<BodyOf<typeof ListOffsetsRequestDef>, ListOffsetsRequest>>;

interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  oldStyleOffsets: number[];
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: ListOffsetsPartitionResponse[] }[];
}

function failed(partitionIndex: number, code: number): ListOffsetsPartitionResponse {
  return { partitionIndex, errorCode: code, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
}

async function lookup(p: DataPartition, timestamp: number, readCommitted: boolean): Promise<{ offset: number; timestamp: number }> {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: readCommitted ? p.lastStableOffset() : p.highWatermark(), timestamp: -1 };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return { offset: p.logStartOffset(), timestamp: -1 };
    case MAX_TIMESTAMP:
      return p.maxTimestamp() ?? { offset: -1, timestamp: -1 };
    case LATEST_TIERED_TIMESTAMP:
      return { offset: -1, timestamp: -1 };
    default:
      if (timestamp < 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown special timestamp ${timestamp}`);
      return (await p.offsetForTimestamp(timestamp)) ?? { offset: -1, timestamp: -1 };
  }
}

export function createListOffsetsHandler(deps: DataDeps): Handler {
  const { cluster, logger } = deps;
  return async (body: MessageBody, ctx: RequestContext): Promise<MessageBody> => {
    const req = asRequest<ListOffsetsRequest>(body);
    const readCommitted = req.isolationLevel === 1;
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        const dupPartitions = duplicates(t.partitions.map((p) => String(p.partitionIndex)));
        const partitions = await Promise.all(
          t.partitions.map(async (rp): Promise<ListOffsetsPartitionResponse> => {
            if (dupPartitions.has(String(rp.partitionIndex))) return failed(rp.partitionIndex, ErrorCode.INVALID_REQUEST);
            try {
              const p = cluster.partition(t.name, rp.partitionIndex);
              if (!p) return failed(rp.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              if (!p.isLeader()) return failed(rp.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER);
              const epochError = leaderEpochError(rp.currentLeaderEpoch, p.leaderEpoch());
              if (epochError) return failed(rp.partitionIndex, epochError.code);
              const found = await lookup(p, rp.timestamp, readCommitted);
              return {
                partitionIndex: rp.partitionIndex,
                errorCode: ErrorCode.NONE,
                oldStyleOffsets: ctx.apiVersion === 0 && found.offset >= 0 ? [found.offset] : [],
                timestamp: found.timestamp,
                offset: found.offset,
                leaderEpoch: found.offset >= 0 ? p.leaderEpoch() : -1,
              };
            } catch (err) {
              return failed(rp.partitionIndex, errorOutcome(err, logger, `ListOffsets on ${t.name}-${rp.partitionIndex}`).code);
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    const response: ListOffsetsResponse = { throttleTimeMs: 0, topics };
    return asBody(response);
  };
}

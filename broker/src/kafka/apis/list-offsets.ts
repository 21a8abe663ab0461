/**
 * ListOffsets (2): an offset per partition by timestamp: latest (-1), earliest (-2), max
 * timestamp (-3), earliest local (-4), latest tiered (-5: no tiered storage, so not found), or
 * the first offset at or after a timestamp (-1 when there is none).
 *
 * Versions: v0 answers in the old shape (a list of offsets); v2+ carries the isolation level
 * (read_committed: latest is the last stable offset, and a lookup by timestamp or the max
 * timestamp finds nothing at or past it, as in Kafka); v4+ checks the current leader epoch.
 *
 * Errors, per partition: INVALID_REQUEST (42) for a partition named twice or an unknown special
 * timestamp, UNKNOWN_TOPIC_OR_PARTITION (3), NOT_LEADER_OR_FOLLOWER (6), FENCED_LEADER_EPOCH (74),
 * UNKNOWN_LEADER_EPOCH (76).
 */
import type { DataPartition } from '../../replication/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ListOffsetsRequest, ListOffsetsResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { duplicates, errorOutcome, leaderEpochError } from './data-common.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;

type PartitionOut = ElementOf<ElementOf<ResponseBodyOf<typeof ListOffsetsResponse>['topics']>['partitions']>;

function failed(partitionIndex: number, code: number): PartitionOut {
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
      return stableOnly(p.maxTimestamp(), p, readCommitted);
    case LATEST_TIERED_TIMESTAMP:
      return { offset: -1, timestamp: -1 };
    default:
      if (timestamp < 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown special timestamp ${timestamp}`);
      return stableOnly(await p.offsetForTimestamp(timestamp), p, readCommitted);
  }
}

/** A found offset, or "none" when read_committed may not see it yet. */
function stableOnly(found: { offset: number; timestamp: number } | null, p: DataPartition, readCommitted: boolean): { offset: number; timestamp: number } {
  if (found === null || (readCommitted && found.offset >= p.lastStableOffset())) return { offset: -1, timestamp: -1 };
  return found;
}

export const listOffsetsApi = defineApi({
  name: 'ListOffsets',
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  versions: { min: 0, max: 9 },
  create: ({ cluster, logger }: Pick<ApiServices, 'cluster' | 'logger'>) => async (req) => {
    const readCommitted = req.isolationLevel === 1;
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        const dupPartitions = duplicates(t.partitions.map((p) => String(p.partitionIndex)));
        const partitions = await Promise.all(
          t.partitions.map(async (rp): Promise<PartitionOut> => {
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
                oldStyleOffsets: found.offset >= 0 ? [found.offset] : [],
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
    return { throttleTimeMs: 0, topics };
  },
});

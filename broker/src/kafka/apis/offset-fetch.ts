/**
 * OffsetFetch (9): a group's committed offsets, for the partitions asked or (null list) all it
 * has; a partition without one answers -1. requireStable (v7+, read_committed consumers) asks to
 * wait out pending transactional offsets: a partition whose offset a transaction still holds
 * answers UNSTABLE_OFFSET_COMMIT (88), and the client retries.
 *
 * Versions: v0-1 have no "all topics" form and no top-level error (a coordinator error goes on
 * every partition); v2+ answer with a top-level error; v5+ with each offset's leader epoch; v8+
 * batch groups.
 *
 * v9+ carry the member id and epoch of a consumer-protocol member (KIP-848), which must be
 * current: STALE_MEMBER_EPOCH (113) or UNKNOWN_MEMBER_ID (25) per group otherwise.
 *
 * Errors: NOT_COORDINATOR (16), at the top level, per group (v8+) or per partition (v0-1);
 * UNSTABLE_OFFSET_COMMIT (88) per partition.
 */
import type { FetchedOffset } from '../../coordinator/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { OffsetFetchRequest, OffsetFetchResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { byTopic } from './group-common.js';

function partitionsOut(offsets: readonly FetchedOffset[]) {
  return byTopic(offsets, (o) => ({
    partitionIndex: o.partition,
    committedOffset: o.offset,
    committedLeaderEpoch: o.leaderEpoch,
    metadata: o.metadata,
    errorCode: o.errorCode,
  }));
}

export const offsetFetchApi = defineApi({
  name: 'OffsetFetch',
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  versions: { min: 0, max: 9 },
  create: ({ offsets }: Pick<ApiServices, 'offsets'>) => {
    const fetchOne = (
      groupId: string,
      topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
      requireStable: boolean,
      member: { memberId: string | null; memberEpoch: number } | null = null,
    ) => offsets.fetchOffsets(groupId, topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })), requireStable, member);

    return async (req, ctx) => {
      const v = ctx.apiVersion;
      if (v >= 8) {
        const groups = [];
        for (const g of req.groups) {
          const r = await fetchOne(g.groupId, g.topics, req.requireStable, v >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : null);
          groups.push({ groupId: g.groupId, topics: partitionsOut(r.offsets), errorCode: r.errorCode });
        }
        return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
      }
      // v0-1 have no "all topics" form; a null list only exists from v2.
      const topics = v >= 2 ? req.topics : (req.topics ?? []);
      const r = await fetchOne(req.groupId, topics, req.requireStable);
      // Before v2 there is no top-level error: a coordinator error goes on every partition.
      const perPartition =
        v < 2 && r.errorCode !== ErrorCode.NONE
          ? (topics ?? []).map((t) => ({
              name: t.name,
              partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
            }))
          : partitionsOut(r.offsets);
      return { throttleTimeMs: 0, topics: perPartition, errorCode: r.errorCode, groups: [] };
    };
  },
});

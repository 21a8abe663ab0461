/**
 * Committed offsets on the wire: OffsetCommit (8) 0-9, OffsetFetch (9) 0-9 (v8+ batches groups),
 * OffsetDelete (47) 0. Translation only; the rules live in the GroupCoordinator.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import type { FetchedOffset, GroupCoordinator, PartitionError } from '../../coordinator/group-coordinator.js';

export interface OffsetApiDeps {
  readonly groups: GroupCoordinator;
}

function body<T>(b: MessageBody): T {
  return b as unknown as T;
}

function out<T extends object>(r: T): MessageBody {
  return r as unknown as MessageBody;
}

/** Groups results by topic in first-seen order, as the responses nest them. */
function byTopic<P extends { topic: string }, R>(items: readonly P[], map: (p: P) => R): { name: string; partitions: R[] }[] {
  const topics = new Map<string, R[]>();
  for (const p of items) {
    let list = topics.get(p.topic);
    if (list === undefined) topics.set(p.topic, (list = []));
    list.push(map(p));
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}

interface OffsetCommitRequest {
  groupId: string;
  /** Named GenerationId in older editions of the specification, GenerationIdOrMemberEpoch now. */
  generationIdOrMemberEpoch?: number;
  generationId?: number;
  memberId: string;
  groupInstanceId: string | null;
  retentionTimeMs: number;
  topics: {
    name: string;
    partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[];
  }[];
}

export function createOffsetCommitHandler(deps: OffsetApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<OffsetCommitRequest>(raw);
    const v = ctx.apiVersion;
    const generationId = v >= 1 ? (req.generationIdOrMemberEpoch ?? req.generationId ?? -1) : -1;
    const errors: PartitionError[] = await deps.groups.commitOffsets({
      groupId: req.groupId,
      generationId,
      memberId: v >= 1 ? req.memberId : '',
      groupInstanceId: v >= 7 ? (req.groupInstanceId ?? null) : null,
      retentionTimeMs: v >= 2 && v <= 4 && typeof req.retentionTimeMs === 'number' ? req.retentionTimeMs : -1,
      partitions: req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 && typeof p.committedLeaderEpoch === 'number' ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata ?? null,
        })),
      ),
    });
    return out({
      throttleTimeMs: 0,
      topics: byTopic(errors, (e) => ({ partitionIndex: e.partition, errorCode: e.errorCode })),
    });
  };
}

interface FetchTopic {
  name: string;
  partitionIndexes: number[];
}

interface OffsetFetchRequest {
  groupId: string;
  topics: FetchTopic[] | null;
  groups: { groupId: string; memberId: string | null; memberEpoch: number; topics: FetchTopic[] | null }[];
  requireStable: boolean;
}

function partitionsOut(offsets: readonly FetchedOffset[], withEpoch: boolean) {
  return byTopic(offsets, (o) => ({
    partitionIndex: o.partition,
    committedOffset: o.offset,
    committedLeaderEpoch: withEpoch ? o.leaderEpoch : -1,
    metadata: o.metadata,
    errorCode: o.errorCode,
  }));
}

export function createOffsetFetchHandler(deps: OffsetApiDeps): Handler {
  const fetchOne = (groupId: string, topics: FetchTopic[] | null) =>
    deps.groups.fetchOffsets(groupId, topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })));

  return async (raw, ctx) => {
    const req = body<OffsetFetchRequest>(raw);
    const v = ctx.apiVersion;
    // requireStable (v7+) asks to wait out pending transactional offsets; without transactions
    // there are none, so every committed offset is already stable.
    if (v >= 8) {
      const groups = [];
      for (const g of req.groups) {
        const r = await fetchOne(g.groupId, g.topics ?? null);
        groups.push({ groupId: g.groupId, topics: partitionsOut(r.offsets, true), errorCode: r.errorCode });
      }
      return out({ throttleTimeMs: 0, groups });
    }
    // v0-1 have no "all topics" form; a null list only exists from v2.
    const topics = v >= 2 ? (req.topics ?? null) : (req.topics ?? []);
    const r = await fetchOne(req.groupId, topics);
    const response: Record<string, unknown> = {
      throttleTimeMs: 0,
      topics: partitionsOut(r.offsets, v >= 5),
      errorCode: r.errorCode,
    };
    // Before v2 there is no top-level error: a coordinator error goes on every partition.
    if (v < 2 && r.errorCode !== ErrorCode.NONE) {
      response.topics = (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
      }));
    }
    return out(response);
  };
}

interface OffsetDeleteRequest {
  groupId: string;
  topics: { name: string; partitions: { partitionIndex: number }[] }[];
}

export function createOffsetDeleteHandler(deps: OffsetApiDeps): Handler {
  return async (raw) => {
    const req = body<OffsetDeleteRequest>(raw);
    const r = await deps.groups.deleteOffsets(
      req.groupId,
      req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex }))),
    );
    return out({
      errorCode: r.errorCode,
      throttleTimeMs: 0,
      topics: byTopic(r.partitions, (p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
    });
  };
}

/**
 * Committed offsets: OffsetCommit (with the member and generation checks of group management),
 * OffsetFetch, OffsetDelete and retention. Offsets live with their group, under its lock, and are
 * appended to the store BEFORE the request is answered.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { Group, offsetMapKey, parseOffsetMapKey } from './group.js';
import { storeErrorCode, type GroupContext } from './group-context.js';
import type { ConsumerGroups } from './consumer-groups.js';
import type { GroupMembership } from './group-membership.js';
import {
  NON_EMPTY_GROUP,
  type CoordinatorRecord,
  type FetchedOffset,
  type OffsetCommitRequest,
  type PartitionError,
  type TxnOffsetCommitRequest,
} from './group-types.js';
import { encodeKey, encodeOffsetValue, type OffsetValue } from './offsets-records.js';

export class GroupOffsets {
  /** The KIP-848 side: offsets of consumer-protocol groups are checked against member epochs. */
  consumerGroups: ConsumerGroups | null = null;

  constructor(
    private readonly ctx: GroupContext,
    private readonly membership: GroupMembership,
    private readonly partitionExists: (topic: string, partition: number) => boolean,
  ) {}

  async commitOffsets(req: OffsetCommitRequest): Promise<PartitionError[]> {
    const all = (code: number): PartitionError[] => req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: code }));
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    {
      const owner = this.ctx.store.ownership(req.groupId);
      if (owner !== ErrorCode.NONE) return all(owner);
    }
    return this.ctx.lock.run(req.groupId, async () => {
      let group = this.ctx.groups.get(req.groupId);
      if (group === undefined) {
        // Only a group that does not use Kafka's group management (generation -1) may be created by a commit.
        if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
        group = new Group(req.groupId, this.ctx.scheduler.now());
        this.ctx.groups.set(req.groupId, group);
      }
      const check = this.checkCommitMembership(group, req);
      if (check !== ErrorCode.NONE) return all(check);
      const member = group.members.get(req.memberId);
      if (member !== undefined) this.membership.refreshSession(group, member);
      else if (group.consumer !== null) this.consumerGroups?.touchClassic(group, req.memberId);

      const now = this.ctx.scheduler.now();
      const errors = new Map<number, number>();
      const accepted: Array<{ index: number; value: OffsetValue }> = [];
      req.partitions.forEach((p, index) => {
        const metadata = p.metadata ?? '';
        if (Buffer.byteLength(metadata, 'utf8') > this.ctx.config.offsetMetadataMaxBytes) {
          errors.set(index, ErrorCode.OFFSET_METADATA_TOO_LARGE);
        } else if (!this.partitionExists(p.topic, p.partition)) {
          errors.set(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else {
          accepted.push({
            index,
            value: {
              offset: p.offset,
              leaderEpoch: p.leaderEpoch,
              metadata,
              commitTimestamp: now,
              expireTimestamp: req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : -1,
            },
          });
        }
      });
      if (accepted.length > 0) {
        const records = accepted.map(({ index, value }) => {
          const p = req.partitions[index]!;
          return { key: encodeKey({ type: 'offset', group: req.groupId, topic: p.topic, partition: p.partition }), value: encodeOffsetValue(value) };
        });
        try {
          await this.ctx.store.append(req.groupId, records);
          for (const { index, value } of accepted) {
            const p = req.partitions[index]!;
            group.offsets.set(offsetMapKey(p.topic, p.partition), value);
          }
        } catch (e) {
          const code = storeErrorCode(e);
          this.ctx.log.warn({ groupId: req.groupId, err: e }, 'failed to store committed offsets');
          for (const { index } of accepted) errors.set(index, code);
        }
      }
      return req.partitions.map((p, i) => ({ topic: p.topic, partition: p.partition, errorCode: errors.get(i) ?? ErrorCode.NONE }));
    });
  }

  /**
   * TxnOffsetCommit: the offsets are written as a transactional batch of the producer and stay
   * pending (invisible to OffsetFetch, which answers UNSTABLE_OFFSET_COMMIT for them when asked
   * for stable offsets) until the transaction's marker reaches the group's partition. A group
   * that does not exist yet is created; with a member id (v3+) the member and generation must be
   * current.
   */
  async commitTxnOffsets(req: TxnOffsetCommitRequest): Promise<PartitionError[]> {
    const all = (code: number): PartitionError[] => req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: code }));
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    {
      const owner = this.ctx.store.ownership(req.groupId);
      if (owner !== ErrorCode.NONE) return all(owner);
    }
    return this.ctx.lock.run(req.groupId, async () => {
      let group = this.ctx.groups.get(req.groupId);
      if (group === undefined) {
        group = new Group(req.groupId, this.ctx.scheduler.now());
        this.ctx.groups.set(req.groupId, group);
      }
      if (group.state === 'Dead') return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (group.consumer !== null && this.consumerGroups !== null) {
        if (req.memberId !== '' || req.generationId >= 0) {
          const check = this.consumerGroups.checkCommit(group, req.memberId, req.generationId, ErrorCode.ILLEGAL_GENERATION);
          if (check !== ErrorCode.NONE) return all(check === ErrorCode.FENCED_MEMBER_EPOCH ? ErrorCode.ILLEGAL_GENERATION : check);
        }
      } else {
        if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) return all(ErrorCode.FENCED_INSTANCE_ID);
        if (req.memberId !== '' && !group.members.has(req.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
        if (req.generationId >= 0 && req.generationId !== group.generation) return all(ErrorCode.ILLEGAL_GENERATION);
      }
      const now = this.ctx.scheduler.now();
      const errors = new Map<number, number>();
      const accepted: Array<{ index: number; value: OffsetValue }> = [];
      req.partitions.forEach((p, index) => {
        const metadata = p.metadata ?? '';
        if (Buffer.byteLength(metadata, 'utf8') > this.ctx.config.offsetMetadataMaxBytes) errors.set(index, ErrorCode.OFFSET_METADATA_TOO_LARGE);
        else if (!this.partitionExists(p.topic, p.partition)) errors.set(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        else accepted.push({ index, value: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp: -1 } });
      });
      if (accepted.length > 0) {
        const records = accepted.map(({ index, value }) => {
          const p = req.partitions[index]!;
          return { key: encodeKey({ type: 'offset', group: req.groupId, topic: p.topic, partition: p.partition }), value: encodeOffsetValue(value) };
        });
        try {
          await this.ctx.store.append(req.groupId, records, { producerId: req.producerId, producerEpoch: req.producerEpoch });
          const pending = group.pendingTxnOffsets.get(req.producerId) ?? new Map<string, OffsetValue>();
          for (const { index, value } of accepted) {
            const p = req.partitions[index]!;
            pending.set(offsetMapKey(p.topic, p.partition), value);
          }
          group.pendingTxnOffsets.set(req.producerId, pending);
        } catch (e) {
          const code = e instanceof KafkaError && e.code === ErrorCode.INVALID_PRODUCER_EPOCH ? ErrorCode.PRODUCER_FENCED : storeErrorCode(e);
          this.ctx.log.warn({ groupId: req.groupId, err: e }, 'failed to store transactional offsets');
          for (const { index } of accepted) errors.set(index, code);
        }
      }
      return req.partitions.map((p, i) => ({ topic: p.topic, partition: p.partition, errorCode: errors.get(i) ?? ErrorCode.NONE }));
    });
  }

  private checkCommitMembership(group: Group, req: OffsetCommitRequest): number {
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.consumer !== null && this.consumerGroups !== null) {
      // OffsetCommit v9+ knows STALE_MEMBER_EPOCH; before, a stale epoch reads as a stale generation.
      return this.consumerGroups.checkCommit(group, req.memberId, req.generationId, (req.apiVersion ?? 9) >= 9 ? ErrorCode.STALE_MEMBER_EPOCH : ErrorCode.ILLEGAL_GENERATION);
    }
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (req.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    // The member has the new generation from JoinGroup but not its assignment yet: let it retry.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (!group.members.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  /** Committed offsets; `topics` null = everything the group has. Unknown ones come back as -1. */
  async fetchOffsets(
    groupId: string,
    topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly number[] }> | null,
    requireStable = false,
    member: { readonly memberId: string | null; readonly memberEpoch: number } | null = null,
  ): Promise<{ errorCode: number; offsets: FetchedOffset[] }> {
    {
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) return { errorCode: owner, offsets: [] };
    }
    return this.ctx.lock.run(groupId, () => {
      const group = this.ctx.groups.get(groupId);
      // OffsetFetch v9 from a consumer-protocol member: its epoch must be current.
      if (member !== null && member.memberEpoch >= 0 && group?.consumer != null && this.consumerGroups !== null) {
        const check = this.consumerGroups.checkCommit(group, member.memberId ?? '', member.memberEpoch, ErrorCode.STALE_MEMBER_EPOCH);
        if (check !== ErrorCode.NONE) return { errorCode: check, offsets: [] };
      }
      const offsets: FetchedOffset[] = [];
      if (topics === null) {
        if (group !== undefined) {
          for (const [key, v] of group.offsets) {
            const { topic, partition } = parseOffsetMapKey(key);
            if (requireStable && group.hasPendingTxnOffset(key)) {
              offsets.push({ topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
              continue;
            }
            offsets.push({ topic, partition, offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: ErrorCode.NONE });
          }
        }
      } else {
        for (const t of topics) {
          for (const partition of t.partitions) {
            const mapKey = offsetMapKey(t.name, partition);
            if (requireStable && group?.hasPendingTxnOffset(mapKey) === true) {
              offsets.push({ topic: t.name, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
              continue;
            }
            const v = group?.offsets.get(mapKey);
            offsets.push(
              v === undefined
                ? { topic: t.name, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
                : { topic: t.name, partition, offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: ErrorCode.NONE },
            );
          }
        }
      }
      return { errorCode: ErrorCode.NONE, offsets };
    });
  }

  /** OffsetDelete: refused per partition for topics an active consumer group subscribes to. */
  async deleteOffsets(
    groupId: string,
    partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>,
  ): Promise<{ errorCode: number; partitions: PartitionError[] }> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, partitions: [] };
    {
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) return { errorCode: owner, partitions: [] };
    }
    return this.ctx.lock.run(groupId, async () => {
      const group = this.ctx.groups.get(groupId);
      if (group === undefined || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
      let subscribed = new Set<string>();
      if (group.consumer !== null && this.consumerGroups !== null) {
        // A consumer-protocol group: its members' subscriptions are known to the coordinator.
        subscribed = this.consumerGroups.subscribedTopicNames(group);
      } else if (group.state !== 'Empty') {
        const topics = group.subscribedTopics();
        if (topics === null) return { errorCode: NON_EMPTY_GROUP, partitions: [] };
        subscribed = topics;
      }
      const results: PartitionError[] = [];
      const tombstones: CoordinatorRecord[] = [];
      const deleting: string[] = [];
      for (const p of partitions) {
        if (subscribed.has(p.topic)) {
          results.push({ ...p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
          continue;
        }
        results.push({ ...p, errorCode: ErrorCode.NONE });
        const key = offsetMapKey(p.topic, p.partition);
        if (group.offsets.has(key)) {
          deleting.push(key);
          tombstones.push({ key: encodeKey({ type: 'offset', group: groupId, topic: p.topic, partition: p.partition }), value: null });
        }
      }
      if (tombstones.length > 0) {
        try {
          await this.ctx.store.append(groupId, tombstones);
        } catch (e) {
          return { errorCode: storeErrorCode(e), partitions: [] };
        }
        for (const k of deleting) group.offsets.delete(k);
      }
      return { errorCode: ErrorCode.NONE, partitions: results };
    });
  }

  /**
   * A topic was deleted: every group coordinated here forgets its committed offsets of it (and
   * transactional ones still pending), as Kafka does, so a topic created again under the same
   * name is read from auto.offset.reset and not from offsets of records that are gone. An Empty
   * group left without offsets goes too, as on expiry. Each group's work is queued under its
   * lock at once, so a commit to a new topic of the same name, which can only come later, is
   * never undone by it. Returns the offsets removed.
   */
  async deleteOffsetsOfTopics(topics: ReadonlySet<string>): Promise<number> {
    if (topics.size === 0) return 0;
    const ofTopics = (key: string): boolean => topics.has(parseOffsetMapKey(key).topic);
    const work = [...this.ctx.groups.keys()].filter((groupId) => this.ctx.store.owns(groupId)).map((groupId) =>
      this.ctx.lock.run(groupId, async () => {
        const group = this.ctx.groups.get(groupId);
        if (group === undefined) return 0;
        const dead = [...group.offsets.keys()].filter(ofTopics);
        const pending = [...group.pendingTxnOffsets.values()].some((p) => [...p.keys()].some(ofTopics));
        if (dead.length === 0 && !pending) return 0;
        const removeGroup = group.state === 'Empty' && group.offsets.size === dead.length && group.pendingTxnOffsets.size === 0;
        const records = dead.map((k) => this.ctx.offsetTombstone(groupId, k));
        if (removeGroup) records.push(this.ctx.groupTombstone(groupId));
        if (records.length > 0) {
          try {
            await this.ctx.store.append(groupId, records);
          } catch (e) {
            this.ctx.log.warn({ groupId, err: e }, 'failed to delete the offsets of deleted topics');
            return 0;
          }
        }
        for (const k of dead) group.offsets.delete(k);
        for (const p of group.pendingTxnOffsets.values()) for (const k of [...p.keys()]) if (ofTopics(k)) p.delete(k);
        if (removeGroup) this.membership.dropGroup(group);
        return dead.length;
      }),
    );
    return (await Promise.all(work)).reduce((a, b) => a + b, 0);
  }

  /**
   * Deletes offsets past their retention: explicit expireTimestamp (OffsetCommit v2-4), else
   * offsets.retention of an Empty group counted from when it became Empty (or from the commit
   * for groups that never used group management). Empty groups left without offsets are removed.
   */
  async expireOffsets(): Promise<number> {
    let expired = 0;
    for (const groupId of [...this.ctx.groups.keys()]) {
      if (!this.ctx.store.owns(groupId)) continue;
      expired += await this.ctx.lock.run(groupId, async () => {
        const group = this.ctx.groups.get(groupId);
        if (group === undefined || group.state !== 'Empty') return 0;
        const now = this.ctx.scheduler.now();
        const retention = this.ctx.config.offsetsRetentionMs;
        const dead: string[] = [];
        for (const [k, v] of group.offsets) {
          const base = group.protocolType === null ? v.commitTimestamp : Math.max(group.stateTimestamp, v.commitTimestamp);
          const expiresAt = v.expireTimestamp >= 0 ? v.expireTimestamp : base + retention;
          if (expiresAt <= now) dead.push(k);
        }
        // Like Kafka, an Empty group with no offsets left has nothing worth keeping.
        const removeGroup = group.offsets.size === dead.length;
        if (dead.length === 0 && !removeGroup) return 0;
        const records = dead.map((k) => this.ctx.offsetTombstone(groupId, k));
        if (removeGroup) records.push(this.ctx.groupTombstone(groupId));
        try {
          await this.ctx.store.append(groupId, records);
        } catch (e) {
          this.ctx.log.warn({ groupId, err: e }, 'failed to expire offsets');
          return 0;
        }
        for (const k of dead) group.offsets.delete(k);
        if (removeGroup) this.membership.dropGroup(group);
        return dead.length;
      });
    }
    return expired;
  }
}

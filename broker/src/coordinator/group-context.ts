/**
 * What the two halves of the group coordinator share: the groups, the per-group lock every
 * operation runs under, the store, the clock and the settings, and how a group is persisted.
 * Membership (group-membership.ts) and committed offsets (group-offsets.ts) each own their rules.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { parseOffsetMapKey, type Group, type GroupMember } from './group.js';
import { KeyedLock } from './keyed-lock.js';
import type { CoordinatorLogger, CoordinatorRecord, GroupConfig, GroupStore, Scheduler } from './group-types.js';
import { encodeGroupValue, encodeKey, type GroupValue } from './offsets-records.js';

/** Storage failures as Kafka reports them to group clients. */
export function storeErrorCode(e: unknown): number {
  if (e instanceof KafkaError) {
    switch (e.code) {
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      case ErrorCode.NOT_COORDINATOR:
        return ErrorCode.NOT_COORDINATOR;
      case ErrorCode.MESSAGE_TOO_LARGE:
      case ErrorCode.RECORD_LIST_TOO_LARGE:
        return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
      default:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

export class GroupContext {
  readonly groups = new Map<string, Group>();
  readonly lock = new KeyedLock();

  constructor(
    readonly store: GroupStore,
    readonly scheduler: Scheduler,
    readonly config: GroupConfig,
    readonly log: CoordinatorLogger,
  ) {}

  private groupValue(group: Group, assignment: (m: GroupMember) => Buffer): GroupValue {
    const protocol = group.protocolName ?? '';
    return {
      protocolType: group.protocolType,
      generation: group.generation,
      protocol: group.protocolName,
      leader: group.leaderId,
      stateTimestamp: group.stateTimestamp,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscription: m.metadataFor(protocol),
        assignment: assignment(m),
      })),
    };
  }

  /** The record that stores a group's metadata with the given member assignments. */
  groupRecord(group: Group, assignment: (m: GroupMember) => Buffer): CoordinatorRecord {
    return { key: encodeKey({ type: 'group', group: group.groupId }), value: encodeGroupValue(this.groupValue(group, assignment)) };
  }

  /** Stores the group as it is now, with the assignments its members hold. */
  persistGroup(group: Group): Promise<void> {
    return this.store.append(group.groupId, [this.groupRecord(group, (m) => m.assignment)]);
  }

  /** The record that deletes one committed offset (`mapKey` as group.offsets keys it). */
  offsetTombstone(groupId: string, mapKey: string): CoordinatorRecord {
    return { key: encodeKey({ type: 'offset', group: groupId, ...parseOffsetMapKey(mapKey) }), value: null };
  }

  /** The record that deletes a group's metadata. */
  groupTombstone(groupId: string): CoordinatorRecord {
    return { key: encodeKey({ type: 'group', group: groupId }), value: null };
  }
}

/**
 * KIP-848 consumer groups: ConsumerGroupHeartbeat and ConsumerGroupDescribe, next to the classic
 * protocol in the same table of groups (a group is one or the other; a consumer group may have
 * classic members).
 *
 * A member joins with epoch 0 (v1: with the member id it generated; v0: the coordinator makes
 * one), then heartbeats with the epoch it was given. Whatever the assignment depends on (members,
 * subscriptions, the subscribed topics' partitions) bumps the group epoch; the target assignment
 * for it comes from a server-side assignor (assignors.ts: uniform, or range; a member may ask for
 * one, the most asked-for wins). Each member then moves to its target incrementally: first it
 * gives up what it must revoke (its epoch stays until it has, within its rebalance timeout, or it
 * is fenced), then it gets its new partitions once their previous owners released them, and its
 * epoch becomes the target's. A member that stops heartbeating for the session timeout leaves;
 * epoch -1 leaves at once, -2 (a static member) leaves its partitions waiting for its instance id.
 *
 * Conversions, as Kafka 4.x offers them: a consumer-protocol member joining an empty classic
 * group makes it a consumer group (its committed offsets stay), and a classic JoinGroup to an
 * empty consumer group makes it classic again. Groups with members migrate online as
 * group.consumer.migration.policy allows: a consumer-protocol member joining a classic group
 * whose members all use the "consumer" embedded protocol upgrades it, the classic members staying
 * in it (their subscriptions read from their JoinGroup metadata, their partitions from their
 * assignment); the coordinator then serves their JoinGroup/SyncGroup/Heartbeat/LeaveGroup from
 * the consumer group's state, with the server-side assignor's assignment. When the last
 * consumer-protocol member leaves a group of classic members, it becomes classic again and
 * rebalances. What cannot migrate is refused (ConsumerGroupHeartbeat: GROUP_ID_NOT_FOUND with the
 * reason; JoinGroup of another protocol type or an unreadable subscription:
 * INCONSISTENT_GROUP_PROTOCOL).
 *
 * The group's epoch and each member (subscription, epoch, assigned partitions) are stored in
 * __consumer_offsets as they change, so the coordinator elected after a failover takes the
 * members over: it computes a new target from what they hold, and they carry on with their
 * epochs instead of being fenced (one whose latest record did not make it is fenced and rejoins).
 */
import { ErrorCode } from '../kafka/protocol/errors.js';
import { ASSIGNORS, isAssignorName, type Assignment, type AssignorName } from './assignors.js';
import {
  assignmentSize,
  cloneAssignment,
  ConsumerGroupState,
  ConsumerMember,
  hasPartition,
  type ClassicMemberInfo,
  intersect,
  minus,
  sameAssignment,
  STATIC_LEAVE_EPOCH,
  union,
} from './consumer-group.js';
import type { MigrationPolicy } from '../config/registry.js';
import { Group, GroupMember, type JoinResult, type SyncResult } from './group.js';
import { storeErrorCode, type GroupContext } from './group-context.js';
import type { GroupMembership } from './group-membership.js';
import type { HeartbeatRequest, JoinRequest, LeavingMember, SyncRequest } from './group-types.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, type ConsumerSubscription, type NamedPartitions } from './embedded-protocol.js';
import { encodeConsumerGroupValue, encodeConsumerMemberValue, encodeGroupValue, encodeKey, type ConsumerMemberValue } from './offsets-records.js';

/** The topics a consumer group may subscribe to, by name and by id. */
export interface TopicCatalog {
  byName(name: string): { readonly topicId: string; readonly partitions: number; readonly internal: boolean } | undefined;
  byId(topicId: string): { readonly name: string; readonly partitions: number } | undefined;
  names(): readonly string[];
}

export interface ConsumerGroupConfig {
  /** group.consumer.session.timeout.ms */
  readonly sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms */
  readonly heartbeatIntervalMs: number;
  /** group.consumer.assignors: the first is the default. */
  readonly assignors: readonly AssignorName[];
  /** group.consumer.max.size */
  readonly maxSize: number;
  /** group.consumer.migration.policy: online conversions of groups with members (default bidirectional, as Kafka 4.0). */
  readonly migrationPolicy?: MigrationPolicy;
}

export interface WireTopicPartitions {
  readonly topicId: string;
  readonly partitions: readonly number[];
}

export interface ConsumerHeartbeatRequest {
  readonly version: number;
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly topicPartitions: readonly WireTopicPartitions[] | null;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface ConsumerHeartbeatResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly assignment: readonly WireTopicPartitions[] | null;
}

export interface DescribedAssignment {
  readonly topicPartitions: ReadonlyArray<{ readonly topicId: string; readonly topicName: string; readonly partitions: readonly number[] }>;
}

export interface DescribedConsumerGroup {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly groupId: string;
  readonly groupState: string;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignorName: string;
  readonly members: ReadonlyArray<{
    readonly memberId: string;
    readonly instanceId: string | null;
    readonly rackId: string | null;
    readonly memberEpoch: number;
    readonly clientId: string;
    readonly clientHost: string;
    readonly subscribedTopicNames: readonly string[];
    readonly subscribedTopicRegex: string | null;
    /** The member speaks the classic protocol (it is in the group since an online upgrade or joined it so). */
    readonly classic: boolean;
    readonly assignment: DescribedAssignment;
    readonly targetAssignment: DescribedAssignment;
  }>;
}

const LEAVE_EPOCH = -1;

function toWire(a: Assignment): WireTopicPartitions[] {
  return [...a]
    .filter(([, s]) => s.size > 0)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([topicId, s]) => ({ topicId, partitions: [...s].sort((p, q) => p - q) }));
}

function fromWire(w: readonly WireTopicPartitions[]): Assignment {
  const a: Assignment = new Map();
  for (const t of w) {
    const set = a.get(t.topicId) ?? new Set<number>();
    for (const p of t.partitions) set.add(p);
    a.set(t.topicId, set);
  }
  return a;
}

/** Compiles a subscription regex (Kafka uses RE2/J; the common subset reads the same in JavaScript), or null if invalid. */
function compile(regex: string): RegExp | null {
  try {
    return new RegExp(`^(?:${regex})$`);
  } catch {
    return null;
  }
}

/** What is stored of a member. */
function memberValue(m: ConsumerMember): ConsumerMemberValue {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    subscribedTopicNames: [...m.subscribedTopicNames],
    subscribedTopicRegex: m.subscribedTopicRegex,
    serverAssignor: m.serverAssignor,
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    state: m.state,
    assigned: toWire(m.assigned),
    pendingRevocation: toWire(m.pendingRevocation),
    classic: m.classic === null ? null : { sessionTimeoutMs: m.classic.sessionTimeoutMs, protocolName: m.classic.protocolName, protocols: m.classic.protocols },
  };
}

function classicJoinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

function classicSyncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

type Failure = { readonly errorCode: number; readonly errorMessage: string };

export class ConsumerGroups {
  /** The classic side, which owns the timers of classic groups (set by the coordinator). */
  membership: GroupMembership | null = null;

  constructor(
    private readonly ctx: GroupContext,
    private readonly catalog: TopicCatalog,
    private readonly config: ConsumerGroupConfig,
    private readonly newMemberId: () => string,
  ) {}

  private fail(errorCode: number, errorMessage: string, memberId: string | null = null): ConsumerHeartbeatResult {
    return { errorCode, errorMessage, memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }

  /** Checks the request's shape (Kafka's rules); null when it may be served. */
  private invalid(req: ConsumerHeartbeatRequest): Failure | null {
    const bad = (errorMessage: string): Failure => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });
    if (req.memberEpoch === 0) {
      if (req.version >= 1 && req.memberId === '') return bad('MemberId must be set by the member (ConsumerGroupHeartbeat v1)');
      if (req.rebalanceTimeoutMs === -1) return bad('RebalanceTimeoutMs must be provided when (re-)joining');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return bad('SubscribedTopicNames or SubscribedTopicRegex must be set when (re-)joining');
      if (req.topicPartitions === null || req.topicPartitions.length > 0) return bad('TopicPartitions must be empty when (re-)joining');
    } else if (req.memberEpoch > 0 || req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) {
      if (req.memberId === '') return bad('MemberId can not be empty');
      if (req.memberEpoch === STATIC_LEAVE_EPOCH && req.instanceId === null) return bad('InstanceId can not be null for a static member leaving');
    } else {
      return bad(`MemberEpoch ${req.memberEpoch} is invalid`);
    }
    if (req.rebalanceTimeoutMs !== -1 && req.rebalanceTimeoutMs <= 0) return bad('RebalanceTimeoutMs must be positive');
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '' && compile(req.subscribedTopicRegex) === null) {
      return { errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, errorMessage: `SubscribedTopicRegex ${req.subscribedTopicRegex} is not a valid regular expression` };
    }
    if (req.serverAssignor !== null && !(isAssignorName(req.serverAssignor) && this.config.assignors.includes(req.serverAssignor))) {
      return { errorCode: ErrorCode.UNSUPPORTED_ASSIGNOR, errorMessage: `ServerAssignor ${req.serverAssignor} is not supported (${this.config.assignors.join(', ')})` };
    }
    return null;
  }

  async heartbeat(req: ConsumerHeartbeatRequest): Promise<ConsumerHeartbeatResult> {
    if (req.groupId === '') return this.fail(ErrorCode.INVALID_GROUP_ID, 'GroupId can not be empty');
    const invalid = this.invalid(req);
    if (invalid !== null) return this.fail(invalid.errorCode, invalid.errorMessage);
    const owner = this.ctx.store.ownership(req.groupId);
    if (owner !== ErrorCode.NONE) return this.fail(owner, 'this broker does not coordinate the group now');
    return this.ctx.lock.run(req.groupId, () => this.doHeartbeat(req));
  }

  private doHeartbeat(req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const now = this.ctx.scheduler.now();
    let group = this.ctx.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberEpoch !== 0) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`);
      group = new Group(req.groupId, now);
      this.ctx.groups.set(req.groupId, group);
    }
    if (group.state === 'Dead') return this.fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the group is being removed');
    if (group.consumer === null) {
      if (group.members.size > 0) {
        const refused = this.upgradeRefusal(group);
        if (refused !== null) return this.fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group: ${refused}`);
        if (req.memberEpoch !== 0) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`);
        this.upgrade(group);
      } else {
        if (group.state !== 'Empty') {
          return this.fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group: it has classic-protocol members`);
        }
        if (now < group.classicRejoinUntil) {
          // Its classic members are on their way back (their first JoinGroup ends the wait). When
          // they may be upgraded online, the member is asked to retry (retriable for every client)
          // rather than refused for good: it joins the group they form again.
          if (this.upgradeAllowed() && group.protocolType === 'consumer') {
            return this.fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `Group ${req.groupId}: its classic-protocol members are rejoining after a coordinator change; retry`);
          }
          return this.fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group: its classic-protocol members are rejoining after a coordinator change`);
        }
        if (req.memberEpoch !== 0) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`);
        this.convertToConsumer(group);
      }
    }
    const cg = group.consumer as ConsumerGroupState;
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) return this.leave(group, cg, req);

    let member: ConsumerMember;
    let joined = false;
    let before = '';
    if (req.memberEpoch === 0) {
      const m = this.join(group, cg, req);
      if ('errorCode' in m) return this.fail(m.errorCode, m.errorMessage);
      member = m;
      joined = true;
    } else {
      const m = cg.members.get(req.memberId);
      if (m === undefined) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`, req.memberId);
      if (m.classic !== null) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} of group ${req.groupId} uses the classic protocol`, req.memberId);
      const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
      const retryOfLost = req.memberEpoch === m.previousMemberEpoch && owned !== null && assignmentSize(minus(owned, m.assigned)) === 0;
      if (m.memberEpoch === STATIC_LEAVE_EPOCH || (req.memberEpoch !== m.memberEpoch && !retryOfLost)) {
        return this.fail(ErrorCode.FENCED_MEMBER_EPOCH, `member ${req.memberId} has epoch ${m.memberEpoch}, not ${req.memberEpoch}`, req.memberId);
      }
      before = JSON.stringify(memberValue(m));
      if (this.update(m, req)) this.bumpEpoch(group, cg, `member ${m.memberId} changed its subscription`);
      member = m;
    }
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    this.refreshSession(group, member);
    this.refreshTarget(group, cg);
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
    this.reconcile(group, cg, member, owned);
    if (cg.members.size === 0 && group.state !== 'Empty') group.transition('Empty', now);
    else if (cg.members.size > 0 && group.state !== 'Stable') group.transition('Stable', now);
    if (JSON.stringify(memberValue(member)) !== before) this.persistMember(group, member);
    const send = joined || member.assignmentChanged || (owned !== null && !sameAssignment(owned, member.assigned) && member.state !== 'unrevoked');
    member.assignmentChanged = false;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignment: send ? toWire(member.assigned) : null,
    };
  }

  private convertToConsumer(group: Group): void {
    group.consumer = new ConsumerGroupState(this.config.assignors[0] ?? 'uniform');
    group.protocolType = 'consumer';
    group.protocolName = null;
    group.leaderId = null;
    // The classic record is overwritten with one without members, not deleted: replaying a group
    // tombstone drops the group's offsets too, and they stay with the group.
    void this.ctx.store
      .append(group.groupId, [this.emptyClassicRecord(group), this.record(group)])
      .catch((e: unknown) => this.ctx.log.warn({ groupId: group.groupId, err: e }, 'failed to store the consumer group'));
    this.ctx.log.info({ groupId: group.groupId }, 'group uses the consumer rebalance protocol');
  }

  /** A classic group record without members, so a reload does not see classic members that moved. */
  private emptyClassicRecord(group: Group): { key: Buffer; value: Buffer } {
    const value = encodeGroupValue({ protocolType: group.protocolType, generation: group.generation, protocol: null, leader: null, stateTimestamp: group.stateTimestamp, members: [] });
    return { key: encodeKey({ type: 'group', group: group.groupId }), value };
  }

  private get policy(): MigrationPolicy {
    return this.config.migrationPolicy ?? 'bidirectional';
  }

  /** The subscription a classic member's JoinGroup metadata carries for `protocolName`, or null. */
  private classicSubscription(protocols: readonly { readonly name: string; readonly metadata: Buffer }[], protocolName: string): ConsumerSubscription | null {
    const p = protocols.find((x) => x.name === protocolName);
    return p === undefined ? null : decodeSubscription(p.metadata);
  }

  /** Names to ids (partitions of topics that do not exist, or no longer, are left out). */
  private idsOf(named: readonly NamedPartitions[]): Assignment {
    const a: Assignment = new Map();
    for (const t of named) {
      const topic = this.catalog.byName(t.topic);
      if (topic === undefined) continue;
      const set = a.get(topic.topicId) ?? new Set<number>();
      for (const p of t.partitions) if (p >= 0 && p < topic.partitions) set.add(p);
      a.set(topic.topicId, set);
    }
    return a;
  }

  private namesOf(a: Assignment): NamedPartitions[] {
    const out: NamedPartitions[] = [];
    for (const t of toWire(a)) {
      const name = this.catalog.byId(t.topicId)?.name;
      if (name !== undefined) out.push({ topic: name, partitions: t.partitions });
    }
    return out;
  }

  /**
   * Why a classic group with members cannot become a consumer group now, or null when it can
   * (Kafka's rules for an online upgrade: the policy allows it, every member uses the "consumer"
   * embedded protocol in a form the coordinator reads, and the group fits group.consumer.max.size).
   */
  private upgradeAllowed(): boolean {
    return this.policy === 'bidirectional' || this.policy === 'upgrade';
  }

  private upgradeRefusal(group: Group): string | null {
    if (!this.upgradeAllowed()) {
      return `it has classic-protocol members, and group.consumer.migration.policy=${this.policy} does not allow an online upgrade`;
    }
    if (group.protocolType !== 'consumer') return `its members use protocol type ${group.protocolType ?? '(none)'}, not the consumer embedded protocol`;
    if (group.members.size >= this.config.maxSize) return `it has ${group.members.size} members, and group.consumer.max.size is ${this.config.maxSize}`;
    for (const m of group.members.values()) {
      if (m.protocolType !== 'consumer') return `member ${m.memberId} uses protocol type ${m.protocolType}, not the consumer embedded protocol`;
      const protocolName = group.protocolName ?? m.protocols[0]?.name ?? '';
      if (this.classicSubscription(m.protocols, protocolName) === null) return `the subscription of member ${m.memberId} (protocol ${protocolName}) cannot be read`;
      if (decodeAssignment(m.assignment) === null) return `the assignment of member ${m.memberId} cannot be read`;
    }
    return null;
  }

  /**
   * Online upgrade: the classic group becomes a consumer group with its members in it, as classic
   * members at epoch = the group's generation, holding what their current assignment gives them
   * (also the first target, so nothing moves until the joining member bumps the epoch). A join or
   * sync under way is answered REBALANCE_IN_PROGRESS: the members rejoin into the consumer group.
   */
  private upgrade(group: Group): void {
    const cg = new ConsumerGroupState(this.config.assignors[0] ?? 'uniform');
    cg.groupEpoch = group.generation;
    cg.assignmentEpoch = group.generation;
    const classics = [...group.members.values()];
    const protocolOf = new Map(classics.map((m) => [m.memberId, group.protocolName ?? m.protocols[0]?.name ?? '']));
    this.membership?.detachClassic(group);
    for (const gm of classics) {
      const protocolName = protocolOf.get(gm.memberId) ?? '';
      const sub = this.classicSubscription(gm.protocols, protocolName) as ConsumerSubscription;
      const m = new ConsumerMember(gm.memberId, gm.groupInstanceId, null, gm.clientId, gm.clientHost, gm.rebalanceTimeoutMs, sub.topics, null, null);
      m.classic = { sessionTimeoutMs: gm.sessionTimeoutMs, protocolName, protocols: gm.protocols };
      m.memberEpoch = group.generation;
      m.assigned = this.idsOf(decodeAssignment(gm.assignment) ?? []);
      m.assignmentChanged = false;
      cg.members.set(m.memberId, m);
      if (m.instanceId !== null) cg.staticMembers.set(m.instanceId, m.memberId);
      cg.target.set(m.memberId, cloneAssignment(m.assigned));
    }
    group.consumer = cg;
    group.protocolType = 'consumer';
    group.protocolName = null;
    group.leaderId = null;
    group.transition('Stable', this.ctx.scheduler.now());
    const records = [this.emptyClassicRecord(group), this.record(group)];
    for (const m of cg.members.values()) {
      records.push({ key: encodeKey({ type: 'consumer-member', group: group.groupId, member: m.memberId }), value: encodeConsumerMemberValue(memberValue(m)) });
      this.refreshSession(group, m);
    }
    void this.ctx.store.append(group.groupId, records).catch((e: unknown) => this.ctx.log.warn({ groupId: group.groupId, err: storeErrorCode(e) }, 'failed to store the upgraded consumer group'));
    this.ctx.log.info({ groupId: group.groupId, epoch: cg.groupEpoch, classicMembers: cg.members.size }, 'classic group with members upgraded to a consumer group');
  }

  /**
   * Online downgrade, after the last consumer-protocol member left a group whose members left
   * are all classic: it becomes a classic group again, at generation = the newest epoch its
   * members know, with the partitions they hold, and rebalances (their heartbeats answer
   * REBALANCE_IN_PROGRESS, they rejoin, and a leader assigns as usual). False when it stays.
   */
  private maybeDowngrade(group: Group, cg: ConsumerGroupState): boolean {
    if (cg.members.size === 0 || this.membership === null) return false;
    for (const m of cg.members.values()) if (m.classic === null) return false;
    if (this.policy !== 'bidirectional' && this.policy !== 'downgrade') {
      this.ctx.log.info({ groupId: group.groupId, policy: this.policy }, 'consumer group of classic members stays a consumer group: the migration policy does not allow an online downgrade');
      return false;
    }
    let generation = 0;
    for (const m of cg.members.values()) generation = Math.max(generation, m.memberEpoch);
    const records: Array<{ key: Buffer; value: Buffer | null }> = [];
    for (const m of cg.members.values()) {
      this.clearTimers(m);
      records.push({ key: encodeKey({ type: 'consumer-member', group: group.groupId, member: m.memberId }), value: null });
    }
    records.push({ key: encodeKey({ type: 'consumer-group', group: group.groupId }), value: null });
    group.consumer = null;
    group.protocolType = 'consumer';
    group.protocolName = null;
    group.generation = generation;
    for (const m of cg.members.values()) {
      const info = m.classic as ClassicMemberInfo;
      const gm = new GroupMember(m.memberId, m.instanceId, m.clientId, m.clientHost, info.sessionTimeoutMs, m.rebalanceTimeoutMs, 'consumer', info.protocols);
      gm.assignment = encodeAssignment(this.namesOf(m.assigned));
      group.members.set(gm.memberId, gm);
      if (gm.groupInstanceId !== null) group.staticMembers.set(gm.groupInstanceId, gm.memberId);
    }
    group.leaderId = group.members.keys().next().value ?? null;
    records.push(this.ctx.groupRecord(group, (m) => m.assignment));
    void this.ctx.store.append(group.groupId, records).catch((e: unknown) => this.ctx.log.warn({ groupId: group.groupId, err: storeErrorCode(e) }, 'failed to store the downgraded classic group'));
    this.ctx.log.info({ groupId: group.groupId, generation, members: group.members.size }, 'consumer group of classic members downgraded to a classic group');
    this.membership.rebalanceDowngraded(group, 'the last consumer-protocol member left; the group is classic again');
    return true;
  }

  /** After a member went (left, timed out, fenced): a new target, and the group's next form. */
  private afterRemoval(group: Group, cg: ConsumerGroupState, removed: ConsumerMember): void {
    this.refreshTarget(group, cg);
    if (removed.classic === null && this.maybeDowngrade(group, cg)) return;
    if (cg.members.size === 0) group.transition('Empty', this.ctx.scheduler.now());
  }

  /** The record that stores a consumer group (its type and epoch). */
  record(group: Group): { key: Buffer; value: Buffer } {
    const cg = group.consumer as ConsumerGroupState;
    return { key: encodeKey({ type: 'consumer-group', group: group.groupId }), value: encodeConsumerGroupValue({ groupEpoch: cg.groupEpoch }) };
  }

  private join(group: Group, cg: ConsumerGroupState, req: ConsumerHeartbeatRequest): ConsumerMember | Failure {
    const memberId = req.memberId !== '' ? req.memberId : this.newMemberId();
    const rejoining = cg.members.get(memberId);
    let inherited: ConsumerMember | undefined;
    if (req.instanceId !== null) {
      const boundId = cg.staticMembers.get(req.instanceId);
      const bound = boundId === undefined ? undefined : cg.members.get(boundId);
      if (bound !== undefined && bound.memberId !== memberId) {
        if (bound.memberEpoch !== STATIC_LEAVE_EPOCH) {
          return { errorCode: ErrorCode.UNRELEASED_INSTANCE_ID, errorMessage: `instance id ${req.instanceId} is still used by member ${bound.memberId}` };
        }
        inherited = bound;
      }
    }
    if (rejoining === undefined && inherited === undefined && cg.members.size >= this.config.maxSize) {
      return { errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, errorMessage: `group ${req.groupId} has reached its maximum size ${this.config.maxSize}` };
    }
    const m = new ConsumerMember(
      memberId,
      req.instanceId,
      req.rackId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.subscribedTopicNames ?? [],
      req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex,
      req.serverAssignor,
    );
    if (inherited !== undefined) {
      // A static member back under a new member id takes over its place: same partitions, no rebalance.
      this.clearTimers(inherited);
      cg.members.delete(inherited.memberId);
      this.forgetMember(group, inherited.memberId);
      m.assigned = inherited.assigned;
      m.memberEpoch = inherited.previousMemberEpoch >= 0 ? cg.assignmentEpoch : 0;
      m.previousMemberEpoch = inherited.previousMemberEpoch;
      const target = cg.target.get(inherited.memberId);
      cg.target.delete(inherited.memberId);
      if (target !== undefined) cg.target.set(memberId, target);
      cg.members.set(memberId, m);
      if (req.instanceId !== null) cg.staticMembers.set(req.instanceId, memberId);
      if (!this.sameSubscription(inherited, m)) this.bumpEpoch(group, cg, `static member ${req.instanceId} rejoined with another subscription`);
      return m;
    }
    if (rejoining !== undefined) this.removeMember(group, cg, rejoining, 'member rejoined');
    cg.members.set(memberId, m);
    if (req.instanceId !== null) cg.staticMembers.set(req.instanceId, memberId);
    this.bumpEpoch(group, cg, `member ${memberId} joined`);
    return m;
  }

  private sameSubscription(a: ConsumerMember, b: ConsumerMember): boolean {
    return a.subscribedTopicNames.join('\u0000') === b.subscribedTopicNames.join('\u0000') && a.subscribedTopicRegex === b.subscribedTopicRegex && a.serverAssignor === b.serverAssignor;
  }

  /** Applies what the heartbeat changed; true when the assignment depends on it. */
  private update(m: ConsumerMember, req: ConsumerHeartbeatRequest): boolean {
    let changed = false;
    if (req.subscribedTopicNames !== null && req.subscribedTopicNames.join('\u0000') !== m.subscribedTopicNames.join('\u0000')) {
      m.subscribedTopicNames = req.subscribedTopicNames;
      changed = true;
    }
    if (req.subscribedTopicRegex !== null) {
      const regex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
      if (regex !== m.subscribedTopicRegex) {
        m.subscribedTopicRegex = regex;
        changed = true;
      }
    }
    if (req.serverAssignor !== null && req.serverAssignor !== m.serverAssignor) {
      m.serverAssignor = req.serverAssignor;
      changed = true;
    }
    if (req.rackId !== null) m.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    return changed;
  }

  private leave(group: Group, cg: ConsumerGroupState, req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const m = cg.members.get(req.memberId);
    if (m === undefined) return this.fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${req.memberId} is not in group ${req.groupId}`, req.memberId);
    if (req.memberEpoch === STATIC_LEAVE_EPOCH && m.instanceId !== null) {
      // Its partitions wait for the instance to come back (or for its session to expire).
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = STATIC_LEAVE_EPOCH;
      this.refreshSession(group, m);
      this.persistMember(group, m);
    } else {
      this.removeMember(group, cg, m, 'member left');
      this.afterRemoval(group, cg, m);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  private removeMember(group: Group, cg: ConsumerGroupState, m: ConsumerMember, reason: string): void {
    this.clearTimers(m);
    cg.members.delete(m.memberId);
    cg.target.delete(m.memberId);
    if (m.instanceId !== null && cg.staticMembers.get(m.instanceId) === m.memberId) cg.staticMembers.delete(m.instanceId);
    this.forgetMember(group, m.memberId);
    this.bumpEpoch(group, cg, `${reason}: ${m.memberId}`);
  }

  /** Stores a member as it is now (in the background: a lost write only fences it later). */
  private persistMember(group: Group, m: ConsumerMember): void {
    const key = encodeKey({ type: 'consumer-member', group: group.groupId, member: m.memberId });
    void this.ctx.store.append(group.groupId, [{ key, value: encodeConsumerMemberValue(memberValue(m)) }]).catch((e: unknown) => {
      this.ctx.log.warn({ groupId: group.groupId, memberId: m.memberId, err: storeErrorCode(e) }, 'failed to store a consumer group member');
    });
  }

  private forgetMember(group: Group, memberId: string): void {
    const key = encodeKey({ type: 'consumer-member', group: group.groupId, member: memberId });
    void this.ctx.store.append(group.groupId, [{ key, value: null }]).catch((e: unknown) => {
      this.ctx.log.warn({ groupId: group.groupId, memberId, err: storeErrorCode(e) }, 'failed to remove a consumer group member record');
    });
  }

  private bumpEpoch(group: Group, cg: ConsumerGroupState, reason: string): void {
    cg.groupEpoch++;
    this.ctx.log.info({ groupId: group.groupId, groupEpoch: cg.groupEpoch, reason }, 'consumer group epoch bumped');
    void this.ctx.store.append(group.groupId, [this.record(group)]).catch((e: unknown) => {
      this.ctx.log.warn({ groupId: group.groupId, err: storeErrorCode(e) }, 'failed to store the consumer group epoch');
    });
  }

  /** Names of the existing topics some member of the group subscribes to (OffsetDelete refuses them). */
  subscribedTopicNames(group: Group): Set<string> {
    const out = new Set<string>();
    for (const m of group.consumer?.members.values() ?? []) {
      for (const id of this.subscribedTopics(m).keys()) {
        const name = this.catalog.byId(id)?.name;
        if (name !== undefined) out.add(name);
      }
    }
    return out;
  }

  /** Topic id -> partitions of what a member subscribes to now. */
  private subscribedTopics(m: ConsumerMember): Map<string, number> {
    const out = new Map<string, number>();
    for (const name of m.subscribedTopicNames) {
      const t = this.catalog.byName(name);
      if (t !== undefined) out.set(t.topicId, t.partitions);
    }
    if (m.subscribedTopicRegex !== null) {
      const re = compile(m.subscribedTopicRegex);
      if (re !== null) {
        for (const name of this.catalog.names()) {
          const t = this.catalog.byName(name);
          if (t !== undefined && !t.internal && re.test(name)) out.set(t.topicId, t.partitions);
        }
      }
    }
    return out;
  }

  /** Bumps the epoch if the subscribed topics changed, and computes the target of a new epoch. */
  private refreshTarget(group: Group, cg: ConsumerGroupState): void {
    const perMember = new Map<string, Map<string, number>>();
    const all = new Map<string, number>();
    for (const m of cg.members.values()) {
      const topics = this.subscribedTopics(m);
      perMember.set(m.memberId, topics);
      for (const [id, n] of topics) all.set(id, n);
    }
    const fingerprint = [...all]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, n]) => `${id}:${n}`)
      .join(',');
    if (fingerprint !== cg.topicsFingerprint) {
      if (cg.assignmentEpoch === cg.groupEpoch && cg.members.size > 0) this.bumpEpoch(group, cg, 'the subscribed topics changed');
      cg.topicsFingerprint = fingerprint;
    }
    if (cg.groupEpoch <= cg.assignmentEpoch) return;
    const votes = new Map<string, number>();
    for (const m of cg.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let assignor: AssignorName = this.config.assignors[0] ?? 'uniform';
    let best = 0;
    for (const [name, n] of votes) if (isAssignorName(name) && n > best) [assignor, best] = [name, n];
    cg.target = ASSIGNORS[assignor]({
      members: [...cg.members.values()].map((m) => ({ memberId: m.memberId, topics: new Set((perMember.get(m.memberId) ?? new Map()).keys()), current: m.assigned })),
      topics: all,
    });
    cg.assignor = assignor;
    cg.assignmentEpoch = cg.groupEpoch;
    this.ctx.log.info({ groupId: group.groupId, epoch: cg.assignmentEpoch, assignor, members: cg.members.size }, 'consumer group target assignment computed');
  }

  /** Whether no member other than `except` holds or still has to revoke the partition. */
  private free(cg: ConsumerGroupState, except: ConsumerMember, topicId: string, partition: number): boolean {
    for (const o of cg.members.values()) {
      if (o === except) continue;
      if (hasPartition(o.assigned, topicId, partition) || hasPartition(o.pendingRevocation, topicId, partition)) return false;
    }
    return true;
  }

  /** Moves `m` toward its target as far as it can now (Kafka's current-assignment rules). */
  private reconcile(group: Group, cg: ConsumerGroupState, m: ConsumerMember, owned: Assignment | null): void {
    if (m.state === 'unrevoked') {
      if (owned === null || assignmentSize(intersect(owned, m.pendingRevocation)) > 0) return;
      m.pendingRevocation = new Map();
      this.clearRebalanceTimer(m);
      m.state = 'stable';
    }
    const target = cg.target.get(m.memberId) ?? new Map<string, Set<number>>();
    if (m.memberEpoch === cg.assignmentEpoch && m.state === 'stable') return;
    const revoke = minus(m.assigned, target);
    if (assignmentSize(revoke) > 0) {
      m.assigned = intersect(m.assigned, target);
      m.pendingRevocation = revoke;
      m.state = 'unrevoked';
      m.assignmentChanged = true;
      this.startRebalanceTimer(group, cg, m);
      return;
    }
    const wanted = minus(target, m.assigned);
    const available: Assignment = new Map();
    let unreleased = 0;
    for (const [t, s] of wanted) {
      for (const p of s) {
        if (this.free(cg, m, t, p)) {
          const set = available.get(t) ?? new Set<number>();
          set.add(p);
          available.set(t, set);
        } else unreleased++;
      }
    }
    if (assignmentSize(available) > 0) {
      m.assigned = union(m.assigned, available);
      m.assignmentChanged = true;
    }
    if (m.memberEpoch !== cg.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = cg.assignmentEpoch;
    }
    m.state = unreleased > 0 ? 'unreleased' : 'stable';
  }

  // ---------------------------------------------------------------- timers

  refreshSession(group: Group, m: ConsumerMember): void {
    if (m.sessionTimer !== null) this.ctx.scheduler.clearTimer(m.sessionTimer);
    const epoch = ++m.timerEpoch;
    // A classic member keeps the session timeout of its JoinGroup.
    m.sessionTimer = this.ctx.scheduler.setTimer(m.classic?.sessionTimeoutMs ?? this.config.sessionTimeoutMs, () => {
      void this.ctx.lock.run(group.groupId, () => {
        const cg = group.consumer;
        if (this.ctx.groups.get(group.groupId) !== group || cg === null || cg.members.get(m.memberId) !== m || m.timerEpoch !== epoch) return;
        this.removeMember(group, cg, m, 'session timed out');
        this.afterRemoval(group, cg, m);
      });
    });
  }

  private startRebalanceTimer(group: Group, cg: ConsumerGroupState, m: ConsumerMember): void {
    this.clearRebalanceTimer(m);
    m.rebalanceTimer = this.ctx.scheduler.setTimer(m.rebalanceTimeoutMs, () => {
      void this.ctx.lock.run(group.groupId, () => {
        if (this.ctx.groups.get(group.groupId) !== group || group.consumer !== cg || cg.members.get(m.memberId) !== m || m.state !== 'unrevoked') return;
        this.removeMember(group, cg, m, 'did not revoke its partitions within its rebalance timeout');
        this.afterRemoval(group, cg, m);
      });
    });
  }

  private clearRebalanceTimer(m: ConsumerMember): void {
    if (m.rebalanceTimer !== null) this.ctx.scheduler.clearTimer(m.rebalanceTimer);
    m.rebalanceTimer = null;
  }

  private clearTimers(m: ConsumerMember): void {
    if (m.sessionTimer !== null) this.ctx.scheduler.clearTimer(m.sessionTimer);
    m.sessionTimer = null;
    m.timerEpoch++;
    this.clearRebalanceTimer(m);
  }

  /** Stops the timers of a group's members (it is dropped, unloaded or converted). */
  release(group: Group): void {
    for (const m of group.consumer?.members.values() ?? []) this.clearTimers(m);
  }

  /** A classic JoinGroup to this consumer group: it becomes classic again if it has no members. */
  convertToClassicIfEmpty(group: Group): boolean {
    const cg = group.consumer;
    if (cg === null) return true;
    if (cg.members.size > 0) return false;
    group.consumer = null;
    group.protocolType = null;
    void this.ctx.store
      .append(group.groupId, [{ key: encodeKey({ type: 'consumer-group', group: group.groupId }), value: null }])
      .catch((e: unknown) => this.ctx.log.warn({ groupId: group.groupId, err: e }, 'failed to remove the consumer group record'));
    this.ctx.log.info({ groupId: group.groupId }, 'empty consumer group becomes a classic group');
    return true;
  }

  // ---------------------------------------------------------------- classic members of consumer groups

  /**
   * A classic JoinGroup to a consumer group (under the group's lock). `isNew`: the member id was
   * just handed out (or the client sent none), so the member may be created. The member is
   * answered at once, as a follower (no leader: the coordinator's assignor assigns), with its
   * member epoch as the generation; its partitions come in SyncGroup.
   */
  /** Whether a classic JoinGroup can be served inside a consumer group at all (checked before a member id is handed out). */
  classicProtocolSupported(req: JoinRequest): boolean {
    return req.protocolType === 'consumer' && req.protocols.some((p) => decodeSubscription(p.metadata) !== null);
  }

  classicJoin(group: Group, req: JoinRequest, memberId: string, isNew: boolean): JoinResult {
    const cg = group.consumer as ConsumerGroupState;
    const refuse = (errorCode: number, why: string): JoinResult => {
      this.ctx.log.info({ groupId: group.groupId, memberId, errorCode, why }, 'classic JoinGroup to a consumer group refused');
      return classicJoinError(memberId, errorCode);
    };
    if (req.protocolType !== 'consumer') return refuse(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `protocol type ${req.protocolType} is not the consumer embedded protocol`);
    // Any of its protocols will do: their metadata all carry the same subscription, and the
    // coordinator assigns; the name only tells the client which of its assignors was "chosen".
    let chosen: { readonly name: string; readonly metadata: Buffer } | undefined;
    let sub: ConsumerSubscription | null = null;
    for (const p of req.protocols) {
      sub = decodeSubscription(p.metadata);
      if (sub !== null) {
        chosen = p;
        break;
      }
    }
    if (chosen === undefined || sub === null) return refuse(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'no protocol carries a readable consumer subscription');
    let m = cg.members.get(memberId);
    if (m !== undefined && m.classic === null) return refuse(ErrorCode.UNKNOWN_MEMBER_ID, 'the member id is a consumer-protocol member');
    const before = m === undefined ? '' : JSON.stringify(memberValue(m));
    if (m === undefined) {
      if (!isNew) return refuse(ErrorCode.UNKNOWN_MEMBER_ID, 'unknown member id');
      if (req.groupInstanceId !== null) {
        const boundId = cg.staticMembers.get(req.groupInstanceId);
        const bound = boundId === undefined ? undefined : cg.members.get(boundId);
        if (bound !== undefined) {
          // A restarted static classic member replaces its previous incarnation (which is fenced).
          if (bound.classic === null) return refuse(ErrorCode.FENCED_INSTANCE_ID, `instance id ${req.groupInstanceId} is used by a consumer-protocol member`);
          this.removeMember(group, cg, bound, `static member ${req.groupInstanceId} rejoined with a new member id`);
        }
      }
      if (cg.members.size >= this.config.maxSize) return refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, `the group has reached group.consumer.max.size ${this.config.maxSize}`);
      m = new ConsumerMember(memberId, req.groupInstanceId, null, req.clientId, req.clientHost, req.rebalanceTimeoutMs, sub.topics, null, null);
      cg.members.set(memberId, m);
      if (m.instanceId !== null) cg.staticMembers.set(m.instanceId, memberId);
      this.bumpEpoch(group, cg, `classic member ${memberId} joined`);
    } else {
      if (m.instanceId !== null && req.groupInstanceId !== m.instanceId) return refuse(ErrorCode.FENCED_INSTANCE_ID, 'another instance id');
      if (sub.topics.join('\u0000') !== m.subscribedTopicNames.join('\u0000')) {
        m.subscribedTopicNames = sub.topics;
        this.bumpEpoch(group, cg, `classic member ${memberId} changed its subscription`);
      }
    }
    m.classic = { sessionTimeoutMs: req.sessionTimeoutMs, protocolName: chosen.name, protocols: req.protocols };
    // It rejoined: a rejoin deadline is met (a revocation still pending keeps its own timer).
    if (m.state !== 'unrevoked') this.clearRebalanceTimer(m);
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    this.refreshSession(group, m);
    this.refreshTarget(group, cg);
    // What it still owns: an eager client gave up everything before rejoining, a cooperative one
    // lists what it kept. A second pass goes on to the new partitions once the revocation is done.
    const owned = this.idsOf(sub.ownedPartitions);
    this.reconcile(group, cg, m, owned);
    if (m.state === 'unrevoked') this.reconcile(group, cg, m, owned);
    if (JSON.stringify(memberValue(m)) !== before) this.persistMember(group, m);
    return {
      errorCode: ErrorCode.NONE,
      generationId: m.memberEpoch,
      protocolType: 'consumer',
      protocolName: chosen.name,
      leader: '',
      skipAssignment: false,
      memberId,
      members: [],
    };
  }

  /** A classic SyncGroup to a consumer group: the member's current assignment, as the server computed it. */
  classicSync(group: Group, req: SyncRequest): SyncResult {
    const cg = group.consumer as ConsumerGroupState;
    const m = cg.members.get(req.memberId);
    if (m === undefined || m.classic === null) return classicSyncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (m.instanceId !== null && req.groupInstanceId !== null && req.groupInstanceId !== m.instanceId) return classicSyncError(ErrorCode.FENCED_INSTANCE_ID);
    if (req.generationId !== m.memberEpoch) return classicSyncError(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== 'consumer') || (req.protocolName !== null && req.protocolName !== m.classic.protocolName)) {
      return classicSyncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    this.refreshSession(group, m);
    m.assignmentChanged = false;
    return { errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: m.classic.protocolName, assignment: encodeAssignment(this.namesOf(m.assigned)) };
  }

  /** A classic Heartbeat to a consumer group: REBALANCE_IN_PROGRESS when the member has something to change. */
  classicHeartbeat(group: Group, req: HeartbeatRequest): number {
    const cg = group.consumer as ConsumerGroupState;
    const m = cg.members.get(req.memberId);
    if (m === undefined || m.classic === null) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (m.instanceId !== null && req.groupInstanceId !== null && req.groupInstanceId !== m.instanceId) return ErrorCode.FENCED_INSTANCE_ID;
    if (req.generationId !== m.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
    this.refreshSession(group, m);
    this.refreshTarget(group, cg);
    if (!this.classicMustRejoin(cg, m)) return ErrorCode.NONE;
    // Told to rejoin, it has its rebalance timeout to do so, as Kafka does: heartbeats alone do
    // not keep partitions others wait for.
    if (m.rebalanceTimer === null) this.startClassicRejoinTimer(group, cg, m);
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }

  private startClassicRejoinTimer(group: Group, cg: ConsumerGroupState, m: ConsumerMember): void {
    const timer = this.ctx.scheduler.setTimer(m.rebalanceTimeoutMs, () => {
      void this.ctx.lock.run(group.groupId, () => {
        if (this.ctx.groups.get(group.groupId) !== group || group.consumer !== cg || cg.members.get(m.memberId) !== m || m.rebalanceTimer !== timer) return;
        m.rebalanceTimer = null;
        this.removeMember(group, cg, m, 'classic member did not rejoin within its rebalance timeout');
        this.afterRemoval(group, cg, m);
      });
    });
    m.rebalanceTimer = timer;
  }

  /**
   * Whether a classic member must rejoin to move on: its target has a newer epoch, it holds
   * partitions it must give up, it was not told its latest assignment, or a partition it waits
   * for has been released. A member only waiting for partitions still held elsewhere stays put.
   */
  private classicMustRejoin(cg: ConsumerGroupState, m: ConsumerMember): boolean {
    if (m.assignmentChanged || m.state === 'unrevoked' || m.memberEpoch !== cg.assignmentEpoch) return true;
    if (m.state !== 'unreleased') return false;
    for (const [t, ps] of minus(cg.target.get(m.memberId) ?? new Map<string, Set<number>>(), m.assigned)) {
      for (const p of ps) if (this.free(cg, m, t, p)) return true;
    }
    return false;
  }

  /** One member of a LeaveGroup to a consumer group (a classic member leaving, or an admin removal). */
  classicLeave(group: Group, l: LeavingMember): number {
    const cg = group.consumer as ConsumerGroupState;
    let memberId = l.memberId;
    if (l.groupInstanceId !== null) {
      const bound = cg.staticMembers.get(l.groupInstanceId);
      if (bound === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== bound) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = bound;
    }
    const m = cg.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, cg, m, `member left (LeaveGroup${l.reason ? `: ${l.reason}` : ''})`);
    this.afterRemoval(group, cg, m);
    return ErrorCode.NONE;
  }

  /** An offset commit of a classic member counts as a sign of life, as in a classic group. */
  touchClassic(group: Group, memberId: string): void {
    const m = group.consumer?.members.get(memberId);
    if (m !== undefined && m.classic !== null) this.refreshSession(group, m);
  }

  // ---------------------------------------------------------------- offsets of consumer groups

  /**
   * The member check of an offset commit to a consumer group: the member must exist with this
   * epoch (an older epoch is STALE_MEMBER_EPOCH from OffsetCommit v9, ILLEGAL_GENERATION before);
   * a commit without member (epoch -1) only while the group has no members.
   */
  checkCommit(group: Group, memberId: string, memberEpoch: number, staleCode: number): number {
    const cg = group.consumer as ConsumerGroupState;
    if (memberEpoch < 0 && memberId === '') return cg.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    const m = cg.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (m.classic !== null) {
      // A classic member commits with its generation (its member epoch), and knows only ILLEGAL_GENERATION.
      if (memberEpoch !== m.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
      return ErrorCode.NONE;
    }
    if (memberEpoch !== m.memberEpoch) return memberEpoch < m.memberEpoch ? staleCode : ErrorCode.FENCED_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- ConsumerGroupDescribe

  async describe(groupIds: readonly string[]): Promise<DescribedConsumerGroup[]> {
    const out: DescribedConsumerGroup[] = [];
    for (const groupId of groupIds) {
      const none = (errorCode: number, errorMessage: string | null): DescribedConsumerGroup => ({
        errorCode,
        errorMessage,
        groupId,
        groupState: '',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: '',
        members: [],
      });
      if (groupId === '') {
        out.push(none(ErrorCode.INVALID_GROUP_ID, 'GroupId can not be empty'));
        continue;
      }
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) {
        out.push(none(owner, null));
        continue;
      }
      out.push(
        await this.ctx.lock.run(groupId, () => {
          const group = this.ctx.groups.get(groupId);
          if (group === undefined || group.state === 'Dead') return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found`);
          const cg = group.consumer;
          if (cg === null) return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group`);
          const described = (a: Assignment): DescribedAssignment => ({
            topicPartitions: toWire(a).map((t) => ({ topicId: t.topicId, topicName: this.catalog.byId(t.topicId)?.name ?? '', partitions: t.partitions })),
          });
          return {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            groupId,
            groupState: cg.stateName(),
            groupEpoch: cg.groupEpoch,
            assignmentEpoch: cg.assignmentEpoch,
            assignorName: cg.assignor,
            members: [...cg.members.values()].map((m) => ({
              memberId: m.memberId,
              instanceId: m.instanceId,
              rackId: m.rackId,
              memberEpoch: m.memberEpoch,
              clientId: m.clientId,
              clientHost: m.clientHost,
              subscribedTopicNames: [...m.subscribedTopicNames],
              subscribedTopicRegex: m.subscribedTopicRegex,
              classic: m.classic !== null,
              assignment: described(m.assigned),
              targetAssignment: described(cg.target.get(m.memberId) ?? new Map()),
            })),
          };
        }),
      );
    }
    return out;
  }

  /** A group read back from the store (at load) that is a consumer group, at `groupEpoch`. */
  restore(group: Group, groupEpoch: number): void {
    const cg = this.restoredState(group);
    cg.groupEpoch = groupEpoch;
    cg.assignmentEpoch = groupEpoch;
  }

  private restoredState(group: Group): ConsumerGroupState {
    if (group.consumer === null) {
      group.consumer = new ConsumerGroupState(this.config.assignors[0] ?? 'uniform');
      group.protocolType = 'consumer';
    }
    return group.consumer;
  }

  /** A member record read back at load (log order; null: the member left). */
  restoreMember(group: Group, memberId: string, v: ConsumerMemberValue | null): void {
    // A member's tombstone written with a downgrade must not make the group a consumer group again.
    if (v === null && group.consumer === null) return;
    const cg = this.restoredState(group);
    const old = cg.members.get(memberId);
    if (old !== undefined) {
      cg.members.delete(memberId);
      if (old.instanceId !== null && cg.staticMembers.get(old.instanceId) === memberId) cg.staticMembers.delete(old.instanceId);
    }
    if (v === null) return;
    const m = new ConsumerMember(memberId, v.instanceId, v.rackId, v.clientId, v.clientHost, v.rebalanceTimeoutMs, v.subscribedTopicNames, v.subscribedTopicRegex, v.serverAssignor);
    m.memberEpoch = v.memberEpoch;
    m.previousMemberEpoch = v.previousMemberEpoch;
    m.state = v.state;
    m.assigned = fromWire(v.assigned);
    m.pendingRevocation = fromWire(v.pendingRevocation);
    m.assignmentChanged = false;
    m.classic = v.classic === null ? null : { sessionTimeoutMs: v.classic.sessionTimeoutMs, protocolName: v.classic.protocolName, protocols: v.classic.protocols };
    cg.members.set(memberId, m);
    if (m.instanceId !== null) cg.staticMembers.set(m.instanceId, memberId);
  }

  /**
   * The load is complete: the restored members' sessions start now, and a new epoch's target is
   * computed from what they hold (the target itself is not stored), which they move to as usual.
   */
  resume(group: Group): void {
    const cg = group.consumer;
    if (cg === null || cg.members.size === 0) return;
    let epoch = cg.groupEpoch;
    for (const m of cg.members.values()) epoch = Math.max(epoch, m.memberEpoch, m.previousMemberEpoch);
    cg.groupEpoch = epoch;
    cg.assignmentEpoch = epoch;
    for (const m of cg.members.values()) {
      this.refreshSession(group, m);
      if (m.state === 'unrevoked') this.startRebalanceTimer(group, cg, m);
    }
    this.bumpEpoch(group, cg, 'a new coordinator took the group over');
    this.refreshTarget(group, cg);
    group.transition('Stable', this.ctx.scheduler.now());
  }

  /** A snapshot of a member's assignment (tests). */
  assignmentOf(groupId: string, memberId: string): Assignment | undefined {
    const m = this.ctx.groups.get(groupId)?.consumer?.members.get(memberId);
    return m === undefined ? undefined : cloneAssignment(m.assigned);
  }
}

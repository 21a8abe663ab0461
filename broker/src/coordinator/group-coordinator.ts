/**
 * The group coordinator: group membership (group-membership.ts) and committed offsets
 * (group-offsets.ts) over one shared table of groups (group-context.ts), plus replay of the
 * store at start-up and the views the admin API reads.
 */
import { randomUUID } from 'node:crypto';
import { GROUP_STATES, Group, offsetMapKey, parseOffsetMapKey, type GroupState } from './group.js';
import { GroupContext } from './group-context.js';
import { GroupMembership } from './group-membership.js';
import { GroupOffsets } from './group-offsets.js';
import { DEFAULT_GROUP_CONFIG, realScheduler, type CoordinatorLogger, type GroupCoordinatorOptions, type GroupOverview } from './group-types.js';
import type { ConsumerGroupValue, ConsumerMemberValue, CoordinatorKey, GroupValue, OffsetValue } from './offsets-records.js';
import { ConsumerGroups, type ConsumerGroupConfig, type TopicCatalog } from './consumer-groups.js';

/** The consumer-protocol side (KIP-848) when the coordinator should serve it. */
export interface ConsumerProtocolOptions {
  readonly catalog: TopicCatalog;
  readonly config: ConsumerGroupConfig;
}

export * from './group-types.js';
export type { CommittedOffset, JoinMemberInfo, JoinResult, MemberProtocol, SyncResult, GroupState } from './group.js';
export { GroupMembership } from './group-membership.js';
export { GroupOffsets } from './group-offsets.js';

const silentLogger: CoordinatorLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class GroupCoordinator {
  private readonly ctx: GroupContext;
  readonly membership: GroupMembership;
  readonly offsets: GroupOffsets;
  /** KIP-848 consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe). */
  readonly consumerGroups: ConsumerGroups;
  /** During replay: groups whose latest stored metadata still listed members. */
  private readonly loadedWithMembers = new Set<string>();

  constructor(opts: GroupCoordinatorOptions & { readonly consumerProtocol?: ConsumerProtocolOptions }) {
    this.ctx = new GroupContext(opts.store, opts.scheduler ?? realScheduler, { ...DEFAULT_GROUP_CONFIG, ...opts.config }, opts.logger ?? silentLogger);
    this.membership = new GroupMembership(this.ctx, opts.newMemberId ?? ((clientId) => `${clientId}-${randomUUID()}`));
    const cp = opts.consumerProtocol ?? {
      catalog: { byName: () => undefined, byId: () => undefined, names: () => [] },
      config: { sessionTimeoutMs: 45_000, heartbeatIntervalMs: 5000, assignors: ['uniform', 'range'], maxSize: 2_147_483_647 },
    };
    this.consumerGroups = new ConsumerGroups(this.ctx, cp.catalog, cp.config, () => randomUUID());
    this.membership.consumerGroups = this.consumerGroups;
    this.consumerGroups.membership = this.membership;
    this.offsets = new GroupOffsets(this.ctx, this.membership, opts.partitionExists ?? (() => true));
    this.offsets.consumerGroups = this.consumerGroups;
  }

  readonly join: GroupMembership['join'] = (req) => this.membership.join(req);
  readonly sync: GroupMembership['sync'] = (req) => this.membership.sync(req);
  readonly heartbeat: GroupMembership['heartbeat'] = (req) => this.membership.heartbeat(req);
  readonly leave: GroupMembership['leave'] = (groupId, leaving) => this.membership.leave(groupId, leaving);
  readonly describe: GroupMembership['describe'] = (groupIds) => this.membership.describe(groupIds);
  readonly list: GroupMembership['list'] = (states) => this.membership.list(states);
  readonly deleteGroups: GroupMembership['deleteGroups'] = (groupIds) => this.membership.deleteGroups(groupIds);
  readonly commitOffsets: GroupOffsets['commitOffsets'] = (req) => this.offsets.commitOffsets(req);
  readonly fetchOffsets: GroupOffsets['fetchOffsets'] = (groupId, topics, requireStable, member) => this.offsets.fetchOffsets(groupId, topics, requireStable, member);
  readonly deleteOffsets: GroupOffsets['deleteOffsets'] = (groupId, partitions) => this.offsets.deleteOffsets(groupId, partitions);
  readonly expireOffsets: GroupOffsets['expireOffsets'] = () => this.offsets.expireOffsets();
  readonly deleteOffsetsOfTopics: GroupOffsets['deleteOffsetsOfTopics'] = (topics) => this.offsets.deleteOffsetsOfTopics(topics);

  /** A record of a transactional offset commit read back at load: pending until its marker. */
  applyTxnRecord(producerId: number, key: CoordinatorKey, value: OffsetValue | GroupValue | ConsumerGroupValue | ConsumerMemberValue | null): void {
    if (key.type !== 'offset' || value === null) return;
    let group = this.ctx.groups.get(key.group);
    if (group === undefined) {
      group = new Group(key.group, this.ctx.scheduler.now());
      this.ctx.groups.set(key.group, group);
    }
    const pending = group.pendingTxnOffsets.get(producerId) ?? new Map<string, OffsetValue>();
    pending.set(offsetMapKey(key.topic, key.partition), value as OffsetValue);
    group.pendingTxnOffsets.set(producerId, pending);
  }

  /**
   * A producer's transaction ended on an offsets partition (its marker is committed there): its
   * pending offsets in the groups `which` selects (that partition's) take effect or go.
   */
  completeTransaction(producerId: number, commit: boolean, which: (groupId: string) => boolean): number {
    let n = 0;
    for (const g of this.ctx.groups.values()) {
      if (!which(g.groupId)) continue;
      const pending = g.pendingTxnOffsets.get(producerId);
      if (pending === undefined) continue;
      g.pendingTxnOffsets.delete(producerId);
      if (commit) for (const [k, v] of pending) g.offsets.set(k, v);
      n += pending.size;
    }
    return n;
  }

  /**
   * Applies one record read back from the store at start-up (in log order). Groups come back
   * Empty, keeping their protocol type, generation and offsets; members must rejoin.
   */
  applyRecord(key: CoordinatorKey, value: OffsetValue | GroupValue | ConsumerGroupValue | ConsumerMemberValue | null): void {
    const now = this.ctx.scheduler.now();
    let group = this.ctx.groups.get(key.group);
    if (key.type === 'consumer-member') {
      if (group === undefined) {
        if (value === null) return;
        group = new Group(key.group, now);
        this.ctx.groups.set(key.group, group);
      }
      this.consumerGroups.restoreMember(group, key.member, value as ConsumerMemberValue | null);
      this.loadedWithMembers.delete(key.group);
      return;
    }
    if (key.type === 'consumer-group') {
      if (value === null) {
        if (group !== undefined) {
          group.consumer = null;
          group.protocolType = null;
        }
        return;
      }
      if (group === undefined) {
        group = new Group(key.group, now);
        this.ctx.groups.set(key.group, group);
      }
      this.consumerGroups.restore(group, (value as ConsumerGroupValue).groupEpoch);
      this.loadedWithMembers.delete(key.group);
      return;
    }
    if (key.type === 'offset') {
      if (value === null) {
        group?.offsets.delete(offsetMapKey(key.topic, key.partition));
        return;
      }
      if (group === undefined) {
        group = new Group(key.group, now);
        this.ctx.groups.set(key.group, group);
      }
      group.offsets.set(offsetMapKey(key.topic, key.partition), value as OffsetValue);
      return;
    }
    if (value === null) {
      if (group !== undefined) {
        group.offsets.clear();
        this.ctx.groups.delete(key.group);
      }
      return;
    }
    const g = value as GroupValue;
    if (group === undefined) {
      group = new Group(key.group, now);
      this.ctx.groups.set(key.group, group);
    }
    group.consumer = null;
    group.protocolType = g.protocolType;
    group.generation = g.generation;
    group.stateTimestamp = g.stateTimestamp;
    group.loadedSessionMs = g.members.reduce((ms, m) => Math.max(ms, m.sessionTimeoutMs), 0);
    if (g.members.length > 0) this.loadedWithMembers.add(key.group);
    else this.loadedWithMembers.delete(key.group);
  }

  /**
   * After replay (of everything, or of the groups `which` selects: one partition's): a group
   * whose members were lost with the restart or the coordinator move starts a new generation.
   */
  finishLoading(which: (groupId: string) => boolean = () => true): void {
    const now = this.ctx.scheduler.now();
    for (const g of this.ctx.groups.values()) {
      if (!which(g.groupId)) continue;
      g.protocolName = null;
      g.leaderId = null;
      g.state = 'Empty';
      if (g.consumer !== null) {
        this.consumerGroups.resume(g);
        continue;
      }
      // A group that still had members when the broker stopped became Empty only now, so offset
      // retention counts from now; one stored as Empty keeps the time it became Empty.
      if (this.loadedWithMembers.has(g.groupId)) {
        g.stateTimestamp = now;
        g.classicRejoinUntil = now + g.loadedSessionMs;
      }
    }
    for (const id of [...this.loadedWithMembers]) if (which(id)) this.loadedWithMembers.delete(id);
  }

  /** Forgets the groups `which` selects (this broker stopped coordinating them); returns how many. */
  unload(which: (groupId: string) => boolean): number {
    for (const id of [...this.loadedWithMembers]) if (which(id)) this.loadedWithMembers.delete(id);
    for (const g of this.ctx.groups.values()) if (which(g.groupId)) this.consumerGroups.release(g);
    return this.membership.unload(which);
  }

  /** The state of a group, or undefined (for tests and the admin API). */
  groupState(groupId: string): GroupState | undefined {
    return this.ctx.groups.get(groupId)?.state;
  }

  groupCount(): number {
    return this.ctx.groups.size;
  }

  /** Every group with its state and committed offsets, for the admin API (lag = high watermark - offset). */
  overview(): GroupOverview[] {
    return [...this.ctx.groups.values()].map((g) => ({
      groupId: g.groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      generation: g.generation,
      members: g.members.size,
      offsets: [...g.offsets].map(([k, v]) => ({ ...parseOffsetMapKey(k), offset: v.offset })),
    }));
  }

  static isGroupState(s: string): s is GroupState {
    return (GROUP_STATES as readonly string[]).includes(s);
  }

  /** Stops all timers and answers every waiting JoinGroup/SyncGroup with a retriable error. */
  close(): void {
    for (const g of this.ctx.groups.values()) this.consumerGroups.release(g);
    this.membership.close();
  }
}

/**
 * Group membership in the classic protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup),
 * following the behaviour of Kafka's group coordinator:
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
 *   CompletingRebalance --leader's SyncGroup--> Stable --join / leave / expiry--> PreparingRebalance
 *   any --last member gone--> Empty; DeleteGroups: Empty --> Dead (removed)
 *
 * Every operation on a group, including timer callbacks, runs under that group's lock, so joins,
 * syncs, heartbeats, commits and expiries never interleave. Requests that wait for a rebalance
 * (JoinGroup, SyncGroup) register a waiter under the lock and wait outside it. Group metadata is
 * stored (after the leader's assignment, when a group becomes Empty, on static-member
 * replacement) BEFORE the request is answered.
 */
import { ErrorCode } from '../kafka/protocol/errors.js';
import { Group, GroupMember, type JoinResult, type SyncResult } from './group.js';
import { storeErrorCode, type GroupContext } from './group-context.js';
import type { ConsumerGroups } from './consumer-groups.js';
import { encodeKey } from './offsets-records.js';
import {
  NON_EMPTY_GROUP,
  type GroupDescription,
  type GroupListing,
  type HeartbeatRequest,
  type JoinRequest,
  type LeaveResult,
  type LeavingMember,
  type SyncRequest,
} from './group-types.js';

/** An answer now, or a wait that must happen outside the group lock. */
type JoinOutcome = JoinResult | { readonly wait: Promise<JoinResult> };
type SyncOutcome = SyncResult | { readonly wait: Promise<SyncResult> };

function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

/** A member as its JoinGroup describes it. */
function joiningMember(memberId: string, groupInstanceId: string | null, req: JoinRequest): GroupMember {
  return new GroupMember(memberId, groupInstanceId, req.clientId, req.clientHost, req.sessionTimeoutMs, req.rebalanceTimeoutMs, req.protocolType, req.protocols);
}

export class GroupMembership {
  private closed = false;
  /** The KIP-848 side, for groups that use the consumer protocol (set by the coordinator). */
  consumerGroups: ConsumerGroups | null = null;

  constructor(
    private readonly ctx: GroupContext,
    private readonly newMemberId: (clientId: string) => string,
  ) {}

  // ---------------------------------------------------------------- JoinGroup

  async join(req: JoinRequest): Promise<JoinResult> {
    if (req.groupId === '') return joinError(req.memberId, ErrorCode.INVALID_GROUP_ID);
    {
      const owner = this.ctx.store.ownership(req.groupId);
      if (owner !== ErrorCode.NONE) return joinError(req.memberId, owner);
    }
    if (req.sessionTimeoutMs < this.ctx.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.ctx.config.maxSessionTimeoutMs) {
      return joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (this.closed) return joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // The waiter is wrapped so the lock is released before the rebalance completes.
    const r = await this.ctx.lock.run(req.groupId, () => this.doJoin(req));
    return 'wait' in r ? r.wait : r;
  }

  private async doJoin(req: JoinRequest): Promise<JoinOutcome> {
    const now = this.ctx.scheduler.now();
    let group = this.ctx.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== '') return joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      // Checked before creating anything, so a bad request leaves no empty group behind.
      if (req.protocolType === '' || req.protocols.length === 0) return joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      group = new Group(req.groupId, now);
      this.ctx.groups.set(req.groupId, group);
    }
    if (group.state === 'Dead') return joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // Classic members are back: from here the group's own members keep the other protocol out.
    group.classicRejoinUntil = 0;
    // An empty consumer group becomes classic again; one with members serves the classic member
    // inside it (online migration), its assignment coming from the coordinator's assignor.
    if (group.consumer !== null && !(this.consumerGroups?.convertToClassicIfEmpty(group) ?? false)) {
      const cgs = this.consumerGroups;
      if (cgs === null || !cgs.classicProtocolSupported(req)) return joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      if (req.memberId === '' && req.requireKnownMemberId) {
        const id = this.newMemberId(req.clientId);
        this.addPendingMember(group, id, req.sessionTimeoutMs);
        return joinError(id, ErrorCode.MEMBER_ID_REQUIRED);
      }
      const pending = group.pendingMembers.has(req.memberId);
      if (pending) {
        this.ctx.scheduler.clearTimer(group.pendingMembers.get(req.memberId));
        group.pendingMembers.delete(req.memberId);
      }
      const memberId = req.memberId !== '' ? req.memberId : this.newMemberId(req.clientId);
      return cgs.classicJoin(group, req, memberId, req.memberId === '' || pending);
    }
    const joiningId = req.memberId !== '' ? req.memberId : undefined;
    if (!group.supportsProtocols(req.protocolType, req.protocols, joiningId)) {
      return joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }

    if (req.memberId === '') {
      if (req.groupInstanceId !== null) return this.joinStaticUnknown(group, req);
      if (group.members.size >= this.ctx.config.maxGroupSize) return joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
      const newId = this.newMemberId(req.clientId);
      if (req.requireKnownMemberId) {
        this.addPendingMember(group, newId, req.sessionTimeoutMs);
        return joinError(newId, ErrorCode.MEMBER_ID_REQUIRED);
      }
      return this.addMemberAndRebalance(group, newId, req);
    }

    if (group.pendingMembers.has(req.memberId)) {
      this.ctx.scheduler.clearTimer(group.pendingMembers.get(req.memberId));
      group.pendingMembers.delete(req.memberId);
      if (group.members.size >= this.ctx.config.maxGroupSize) return joinError(req.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED);
      return this.addMemberAndRebalance(group, req.memberId, req);
    }
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) return joinError(req.memberId, ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(req.memberId);
    if (member === undefined) return joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    if (member.groupInstanceId !== null && req.groupInstanceId !== member.groupInstanceId) {
      return joinError(req.memberId, ErrorCode.FENCED_INSTANCE_ID);
    }

    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndWait(group, member, req);
      case 'CompletingRebalance':
        if (member.sameProtocols(req.protocols)) return this.currentGenerationResult(group, member, false);
        return this.updateMemberAndRebalance(group, member, req, `member ${member.memberId} changed protocols`);
      case 'Stable':
        if (group.leaderId === member.memberId || !member.sameProtocols(req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req, `member ${member.memberId} rejoined`);
        }
        this.refreshSession(group, member);
        return this.currentGenerationResult(group, member, false);
      default:
        return joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  /** A static member (group.instance.id) joining without a member id. */
  private async joinStaticUnknown(group: Group, req: JoinRequest): Promise<JoinOutcome> {
    const instanceId = req.groupInstanceId!;
    const oldId = group.staticMembers.get(instanceId);
    const newId = this.newMemberId(req.clientId);
    if (oldId === undefined) {
      if (group.members.size >= this.ctx.config.maxGroupSize) return joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
      return this.addMemberAndRebalance(group, newId, req);
    }
    const old = group.members.get(oldId)!;
    // The previous incarnation is fenced: whatever it is waiting for ends now.
    this.clearSession(old);
    old.joinWaiter?.(joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    old.syncWaiter?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    old.joinWaiter = null;
    old.syncWaiter = null;
    const replacement = joiningMember(newId, instanceId, req);
    replacement.assignment = old.assignment;
    group.members.delete(oldId);
    group.members.set(newId, replacement);
    group.staticMembers.set(instanceId, newId);
    const wasLeader = group.leaderId === oldId;
    if (wasLeader) group.leaderId = newId;
    this.ctx.log.info({ groupId: group.groupId, instanceId, oldMemberId: oldId, newMemberId: newId }, 'static member rejoined with a new member id');

    switch (group.state) {
      case 'Stable': {
        if (group.selectProtocol() === group.protocolName && replacement.metadataFor(group.protocolName).equals(old.metadataFor(group.protocolName))) {
          this.refreshSession(group, replacement);
          // Persist the new binding (no rebalance needed: nothing the assignment depends on changed).
          try {
            await this.ctx.persistGroup(group);
          } catch (e) {
            // Undo the replacement so the old incarnation keeps the group consistent.
            this.clearSession(replacement);
            group.members.delete(newId);
            group.members.set(oldId, old);
            group.staticMembers.set(instanceId, oldId);
            if (wasLeader) group.leaderId = oldId;
            this.refreshSession(group, old);
            return joinError('', storeErrorCode(e));
          }
          return this.currentGenerationResult(group, replacement, wasLeader);
        }
        return this.waitForJoin(group, replacement, () => this.prepareRebalance(group, `static member ${instanceId} changed metadata`));
      }
      case 'CompletingRebalance':
        return this.waitForJoin(group, replacement, () => this.prepareRebalance(group, `static member ${instanceId} rejoined during sync`));
      case 'PreparingRebalance':
        return this.waitForJoin(group, replacement, () => this.tryCompleteJoin(group));
      default:
        return this.waitForJoin(group, replacement, () => this.prepareRebalance(group, `static member ${instanceId} rejoined`));
    }
  }

  private currentGenerationResult(group: Group, member: GroupMember, skipAssignment: boolean): JoinResult {
    const isLeader = group.leaderId === member.memberId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generation,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: isLeader && skipAssignment,
      memberId: member.memberId,
      members: isLeader ? group.currentMemberMetadata() : [],
    };
  }

  private addPendingMember(group: Group, memberId: string, sessionTimeoutMs: number): void {
    const timer = this.ctx.scheduler.setTimer(sessionTimeoutMs, () => {
      void this.ctx.lock.run(group.groupId, () => {
        if (this.ctx.groups.get(group.groupId) !== group || group.pendingMembers.get(memberId) !== timer) return;
        group.pendingMembers.delete(memberId);
        this.ctx.log.debug({ groupId: group.groupId, memberId }, 'pending member expired before joining');
        if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
      });
    });
    group.pendingMembers.set(memberId, timer);
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinRequest): JoinOutcome {
    const member = joiningMember(memberId, req.groupInstanceId, req);
    group.members.set(memberId, member);
    if (req.groupInstanceId !== null) group.staticMembers.set(req.groupInstanceId, memberId);
    if (group.leaderId === null) group.leaderId = memberId;
    if (group.protocolType === null || group.state === 'Empty') group.protocolType = req.protocolType;
    if (group.initialDelay !== null) group.initialDelay.newMemberAdded = true;
    return this.waitForJoin(group, member, () => {
      if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
      else this.prepareRebalance(group, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
    });
  }

  private updateMember(member: GroupMember, req: JoinRequest): void {
    member.protocols = req.protocols;
    member.protocolType = req.protocolType;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
  }

  private updateMemberAndWait(group: Group, member: GroupMember, req: JoinRequest): JoinOutcome {
    this.updateMember(member, req);
    return this.waitForJoin(group, member, () => this.tryCompleteJoin(group));
  }

  private updateMemberAndRebalance(group: Group, member: GroupMember, req: JoinRequest, reason: string): JoinOutcome {
    this.updateMember(member, req);
    return this.waitForJoin(group, member, () => this.prepareRebalance(group, reason));
  }

  /** Registers the member's join waiter, then runs `next` (which may complete the join at once). */
  private waitForJoin(group: Group, member: GroupMember, next: () => void): { wait: Promise<JoinResult> } {
    const wait = new Promise<JoinResult>((resolve) => {
      // A retried JoinGroup replaces the earlier one; the earlier connection gets a retriable answer.
      member.joinWaiter?.(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
      member.joinWaiter = resolve;
    });
    this.refreshSession(group, member);
    next();
    return { wait };
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.state === 'CompletingRebalance') this.failSyncWaiters(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.cancelJoinTimer(group);
    const wasEmpty = group.state === 'Empty';
    group.transition('PreparingRebalance', this.ctx.scheduler.now());
    this.ctx.log.info({ groupId: group.groupId, generation: group.generation, reason }, 'preparing rebalance');
    if (wasEmpty) {
      // New group: wait group.initial.rebalance.delay.ms (extended while members keep arriving,
      // up to the rebalance timeout) so a starting fleet of consumers lands in one generation.
      const delay = this.ctx.config.initialRebalanceDelayMs;
      group.initialDelay = { remainingMs: Math.max(group.maxRebalanceTimeoutMs() - delay, 0), newMemberAdded: false };
      this.scheduleJoinTimer(group, delay, () => this.onInitialDelayExpired(group));
    } else {
      group.initialDelay = null;
      this.scheduleJoinTimer(group, group.maxRebalanceTimeoutMs(), () => this.completeJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  private onInitialDelayExpired(group: Group): void {
    const d = group.initialDelay;
    if (d !== null && d.newMemberAdded && d.remainingMs > 0) {
      const next = Math.min(this.ctx.config.initialRebalanceDelayMs, d.remainingMs);
      group.initialDelay = { remainingMs: Math.max(d.remainingMs - next, 0), newMemberAdded: false };
      this.scheduleJoinTimer(group, next, () => this.onInitialDelayExpired(group));
      return;
    }
    this.completeJoin(group);
  }

  private scheduleJoinTimer(group: Group, ms: number, fn: () => void): void {
    const epoch = ++group.rebalanceEpoch;
    group.joinTimer = this.ctx.scheduler.setTimer(ms, () => {
      void this.ctx.lock.run(group.groupId, () => {
        if (this.ctx.groups.get(group.groupId) !== group || group.rebalanceEpoch !== epoch || group.state !== 'PreparingRebalance') return;
        group.joinTimer = null;
        fn();
      });
    });
  }

  private cancelJoinTimer(group: Group): void {
    if (group.joinTimer !== null) this.ctx.scheduler.clearTimer(group.joinTimer);
    group.joinTimer = null;
    group.rebalanceEpoch++;
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.initialDelay !== null) return;
    if (group.allMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    this.cancelJoinTimer(group);
    group.initialDelay = null;
    const now = this.ctx.scheduler.now();
    // Dynamic members that did not rejoin in time are gone; static ones keep their place and are
    // removed only by their session timeout (that is the point of static membership).
    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) this.removeMember(group, m);
    }
    if (group.members.size === 0) {
      group.generation++;
      group.protocolName = null;
      group.leaderId = null;
      group.transition('Empty', now);
      this.ctx.log.info({ groupId: group.groupId, generation: group.generation }, 'group is empty');
      void this.ctx.persistGroup(group).catch((e: unknown) => this.ctx.log.warn({ groupId: group.groupId, err: e }, 'failed to store empty group'));
      return;
    }
    const leader = group.leaderId !== null ? group.members.get(group.leaderId) : undefined;
    if (leader === undefined || !leader.awaitingJoin) {
      const joined = [...group.members.values()].find((m) => m.awaitingJoin);
      group.leaderId = (joined ?? group.members.values().next().value!).memberId;
    }
    group.generation++;
    group.protocolName = group.selectProtocol();
    group.transition('CompletingRebalance', now);
    this.ctx.log.info(
      { groupId: group.groupId, generation: group.generation, protocol: group.protocolName, members: group.members.size, leader: group.leaderId },
      'rebalance: members joined',
    );
    for (const m of group.members.values()) {
      const waiter = m.joinWaiter;
      if (waiter === null) continue;
      m.joinWaiter = null;
      waiter(this.currentGenerationResult(group, m, false));
      this.refreshSession(group, m);
    }
  }

  // ---------------------------------------------------------------- SyncGroup

  async sync(req: SyncRequest): Promise<SyncResult> {
    if (req.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID);
    {
      const owner = this.ctx.store.ownership(req.groupId);
      if (owner !== ErrorCode.NONE) return syncError(owner);
    }
    const r = await this.ctx.lock.run(req.groupId, () => this.doSync(req));
    return 'wait' in r ? r.wait : r;
  }

  private async doSync(req: SyncRequest): Promise<SyncOutcome> {
    const group = this.ctx.groups.get(req.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.state === 'Dead') return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.consumer !== null) return this.consumerGroups?.classicSync(group, req) ?? syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(req.memberId);
    if (member === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== group.generation) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'Empty':
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.refreshSession(group, member);
        return this.syncResult(group, member);
      case 'CompletingRebalance': {
        const wait = new Promise<SyncResult>((resolve) => {
          member.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.syncWaiter = resolve;
        });
        this.refreshSession(group, member);
        if (group.leaderId === member.memberId) await this.completeSync(group, req);
        return { wait };
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private syncResult(group: Group, member: GroupMember): SyncResult {
    return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
  }

  /** The leader's assignment: store it, then hand every member its part and become Stable. */
  private async completeSync(group: Group, req: SyncRequest): Promise<void> {
    const assignments = new Map<string, Buffer>();
    for (const a of req.assignments) if (group.members.has(a.memberId)) assignments.set(a.memberId, a.assignment);
    const generation = group.generation;
    const record = this.ctx.groupRecord(group, (m) => assignments.get(m.memberId) ?? Buffer.alloc(0));
    try {
      await this.ctx.store.append(group.groupId, [record]);
    } catch (e) {
      this.ctx.log.warn({ groupId: group.groupId, err: e }, 'failed to store group assignment');
      if (group.state === 'CompletingRebalance' && group.generation === generation) {
        this.failSyncWaiters(group, storeErrorCode(e));
        this.prepareRebalance(group, 'storing the assignment failed');
      }
      return;
    }
    if (group.state !== 'CompletingRebalance' || group.generation !== generation) return;
    for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? Buffer.alloc(0);
    group.transition('Stable', this.ctx.scheduler.now());
    this.ctx.log.info({ groupId: group.groupId, generation }, 'group is stable');
    for (const m of group.members.values()) {
      const waiter = m.syncWaiter;
      if (waiter === null) continue;
      m.syncWaiter = null;
      waiter(this.syncResult(group, m));
    }
  }

  private failSyncWaiters(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      const waiter = m.syncWaiter;
      m.syncWaiter = null;
      waiter?.(syncError(errorCode));
    }
  }

  // ---------------------------------------------------------------- Heartbeat

  async heartbeat(req: HeartbeatRequest): Promise<number> {
    if (req.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    {
      const owner = this.ctx.store.ownership(req.groupId);
      if (owner !== ErrorCode.NONE) return owner;
    }
    return this.ctx.lock.run(req.groupId, () => {
      const group = this.ctx.groups.get(req.groupId);
      if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (group.consumer !== null) return this.consumerGroups?.classicHeartbeat(group, req) ?? ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
      const member = group.members.get(req.memberId);
      if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (req.generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
      switch (group.state) {
        case 'Empty':
          return ErrorCode.UNKNOWN_MEMBER_ID;
        case 'PreparingRebalance':
          this.refreshSession(group, member);
          return ErrorCode.REBALANCE_IN_PROGRESS;
        default:
          this.refreshSession(group, member);
          return ErrorCode.NONE;
      }
    });
  }

  // ---------------------------------------------------------------- LeaveGroup

  async leave(groupId: string, leaving: readonly LeavingMember[]): Promise<LeaveResult> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    {
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) return { errorCode: owner, members: [] };
    }
    return this.ctx.lock.run(groupId, () => {
      const group = this.ctx.groups.get(groupId);
      // Checked per member: the last consumer-protocol member leaving can make the group classic.
      const results = leaving.map((l) => ({
        memberId: l.memberId,
        groupInstanceId: l.groupInstanceId,
        errorCode:
          group === undefined
            ? ErrorCode.UNKNOWN_MEMBER_ID
            : group.consumer !== null
              ? (this.consumerGroups?.classicLeave(group, l) ?? ErrorCode.UNKNOWN_MEMBER_ID)
              : this.leaveOne(group, l),
      }));
      if (group !== undefined && group.state !== 'Dead' && group.consumer === null) {
        if (group.state === 'Stable' || group.state === 'CompletingRebalance') {
          if (results.some((r) => r.errorCode === ErrorCode.NONE)) this.prepareRebalance(group, 'members left');
        } else if (group.state === 'PreparingRebalance') {
          this.tryCompleteJoin(group);
        }
      }
      return { errorCode: ErrorCode.NONE, members: results };
    });
  }

  private leaveOne(group: Group, l: LeavingMember): number {
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    let memberId = l.memberId;
    if (l.groupInstanceId !== null) {
      const bound = group.staticMembers.get(l.groupInstanceId);
      if (bound === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      // An empty member id means "whoever holds this instance id" (admin removal, KIP-345).
      if (memberId !== '' && memberId !== bound) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = bound;
    }
    if (group.pendingMembers.has(memberId)) {
      this.ctx.scheduler.clearTimer(group.pendingMembers.get(memberId));
      group.pendingMembers.delete(memberId);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.ctx.log.info({ groupId: group.groupId, memberId, reason: l.reason ?? null }, 'member left the group');
    this.removeMember(group, member);
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- online migration

  /**
   * The group is becoming a consumer group with its members (an online upgrade): the classic
   * side lets go of them. Timers stop, and a JoinGroup or SyncGroup under way is answered
   * REBALANCE_IN_PROGRESS, so those members rejoin, into the consumer group.
   */
  detachClassic(group: Group): void {
    this.cancelJoinTimer(group);
    group.initialDelay = null;
    for (const t of group.pendingMembers.values()) this.ctx.scheduler.clearTimer(t);
    group.pendingMembers.clear();
    for (const m of group.members.values()) {
      this.clearSession(m);
      m.joinWaiter?.(joinError(m.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
      m.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      m.joinWaiter = null;
      m.syncWaiter = null;
    }
    group.members.clear();
    group.staticMembers.clear();
  }

  /** A consumer group just became classic with members (an online downgrade): they rejoin. */
  rebalanceDowngraded(group: Group, reason: string): void {
    // From Stable, so the rebalance waits for the members (not the initial delay of a new group).
    group.transition('Stable', this.ctx.scheduler.now());
    for (const m of group.members.values()) this.refreshSession(group, m);
    this.prepareRebalance(group, reason);
  }

  // ---------------------------------------------------------------- sessions

  /** Restarts the member's session timer: it showed it is alive (offset commits count too). */
  refreshSession(group: Group, member: GroupMember): void {
    this.clearSession(member);
    const epoch = ++member.sessionEpoch;
    member.sessionTimer = this.ctx.scheduler.setTimer(member.sessionTimeoutMs, () => {
      void this.ctx.lock.run(group.groupId, () => {
        if (this.ctx.groups.get(group.groupId) !== group || group.members.get(member.memberId) !== member || member.sessionEpoch !== epoch) return;
        this.onSessionExpired(group, member);
      });
    });
  }

  private clearSession(member: GroupMember): void {
    if (member.sessionTimer !== null) this.ctx.scheduler.clearTimer(member.sessionTimer);
    member.sessionTimer = null;
    member.sessionEpoch++;
  }

  private onSessionExpired(group: Group, member: GroupMember): void {
    // A member waiting in JoinGroup is alive by definition; the rebalance timeout bounds the wait.
    if (member.awaitingJoin) {
      this.refreshSession(group, member);
      return;
    }
    this.ctx.log.info({ groupId: group.groupId, memberId: member.memberId, generation: group.generation }, 'member session expired');
    this.removeMember(group, member);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group, `member ${member.memberId} expired`);
    else if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
  }

  private removeMember(group: Group, member: GroupMember): void {
    this.clearSession(member);
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
    member.joinWaiter?.(joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    member.syncWaiter?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.joinWaiter = null;
    member.syncWaiter = null;
  }

  // ---------------------------------------------------------------- admin: describe, list, delete

  async describe(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) {
        out.push({ errorCode: owner, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] });
        continue;
      }
      out.push(await this.ctx.lock.run(groupId, () => this.describeOne(groupId)));
    }
    return out;
  }

  private describeOne(groupId: string): GroupDescription {
    const group = this.ctx.groups.get(groupId);
    if (group === undefined) return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
    if (group.consumer !== null) {
      // DescribeGroups on a consumer-protocol group: its state and members, no classic metadata.
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: group.consumer.stateName(),
        protocolType: 'consumer',
        protocolData: '',
        members: [...group.consumer.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.instanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: Buffer.alloc(0),
          memberAssignment: Buffer.alloc(0),
        })),
      };
    }
    const stable = group.state === 'Stable';
    const protocol = group.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? protocol : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataFor(protocol) : Buffer.alloc(0),
        memberAssignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** Groups this broker coordinates; `states` filters case-insensitively (empty = all). */
  list(states: readonly string[] = []): GroupListing[] {
    const wanted = new Set(states.map((s) => s.toLowerCase()));
    const out: GroupListing[] = [];
    for (const g of this.ctx.groups.values()) {
      if (g.state === 'Dead' || !this.ctx.store.owns(g.groupId)) continue;
      const state = g.consumer !== null ? g.consumer.stateName() : g.state;
      if (wanted.size > 0 && !wanted.has(state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: state, groupType: g.consumer !== null ? 'consumer' : 'classic' });
    }
    return out;
  }

  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    const out: Array<{ groupId: string; errorCode: number }> = [];
    for (const groupId of groupIds) {
      if (groupId === '') {
        out.push({ groupId, errorCode: ErrorCode.INVALID_GROUP_ID });
        continue;
      }
      const owner = this.ctx.store.ownership(groupId);
      if (owner !== ErrorCode.NONE) {
        out.push({ groupId, errorCode: owner });
        continue;
      }
      out.push({ groupId, errorCode: await this.ctx.lock.run(groupId, () => this.deleteOne(groupId)) });
    }
    return out;
  }

  private async deleteOne(groupId: string): Promise<number> {
    const group = this.ctx.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== 'Empty') return NON_EMPTY_GROUP;
    const tombstones = [...group.offsets.keys()].map((k) => this.ctx.offsetTombstone(groupId, k));
    tombstones.push(this.ctx.groupTombstone(groupId));
    if (group.consumer !== null) tombstones.push({ key: encodeKey({ type: 'consumer-group', group: groupId }), value: null });
    try {
      await this.ctx.store.append(groupId, tombstones);
    } catch (e) {
      return storeErrorCode(e);
    }
    this.dropGroup(group);
    this.ctx.log.info({ groupId }, 'group deleted');
    return ErrorCode.NONE;
  }

  /** Removes a group with every timer it holds (deleted, or expired with its offsets). */
  dropGroup(group: Group): void {
    this.consumerGroups?.release(group);
    this.cancelJoinTimer(group);
    for (const t of group.pendingMembers.values()) this.ctx.scheduler.clearTimer(t);
    group.pendingMembers.clear();
    for (const m of group.members.values()) this.clearSession(m);
    group.transition('Dead', this.ctx.scheduler.now());
    this.ctx.groups.delete(group.groupId);
  }

  /**
   * Forgets the groups `which` selects, as when this broker stops coordinating their partition:
   * timers stop, and members waiting in JoinGroup/SyncGroup are told NOT_COORDINATOR so they
   * find the new coordinator. Their state stays in the log for the next coordinator to load.
   */
  unload(which: (groupId: string) => boolean): number {
    let n = 0;
    for (const g of [...this.ctx.groups.values()]) {
      if (!which(g.groupId)) continue;
      this.cancelJoinTimer(g);
      for (const t of g.pendingMembers.values()) this.ctx.scheduler.clearTimer(t);
      g.pendingMembers.clear();
      for (const m of g.members.values()) {
        this.clearSession(m);
        m.joinWaiter?.(joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        m.syncWaiter?.(syncError(ErrorCode.NOT_COORDINATOR));
        m.joinWaiter = null;
        m.syncWaiter = null;
      }
      this.ctx.groups.delete(g.groupId);
      n++;
    }
    return n;
  }

  /** Stops all timers and answers every waiting JoinGroup/SyncGroup with a retriable error. */
  close(): void {
    this.closed = true;
    for (const g of this.ctx.groups.values()) {
      this.cancelJoinTimer(g);
      for (const t of g.pendingMembers.values()) this.ctx.scheduler.clearTimer(t);
      g.pendingMembers.clear();
      for (const m of g.members.values()) {
        this.clearSession(m);
        m.joinWaiter?.(joinError(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        m.syncWaiter?.(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
        m.joinWaiter = null;
        m.syncWaiter = null;
      }
    }
  }
}

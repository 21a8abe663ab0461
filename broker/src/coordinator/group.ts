/**
 * The in-memory model of one classic consumer group: members, their supported protocols and
 * assignments, static-member bindings, and the group's committed offsets. The transitions live in
 * group-coordinator.ts; this module only holds state and answers questions about it.
 */
import type { OffsetValue } from './offsets-records.js';
import type { ConsumerGroupState } from './consumer-group.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinMemberInfo {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  readonly members: readonly JoinMemberInfo[];
}

export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export type CommittedOffset = OffsetValue;

const EMPTY = Buffer.alloc(0);

export class GroupMember {
  assignment: Buffer = EMPTY;
  /** Set while the member waits in JoinGroup for the rebalance to complete. */
  joinWaiter: ((r: JoinResult) => void) | null = null;
  /** Set while the member waits in SyncGroup for the leader's assignment. */
  syncWaiter: ((r: SyncResult) => void) | null = null;
  sessionTimer: unknown = null;
  /** Bumped on every session refresh, so a stale timer callback recognises itself. */
  sessionEpoch = 0;

  constructor(
    readonly memberId: string,
    public groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocolType: string,
    public protocols: readonly MemberProtocol[],
  ) {}

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
  }

  /** Same protocols in the same order with the same metadata bytes (Kafka's "matches"). */
  sameProtocols(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const mine = this.protocols[i];
      return mine !== undefined && mine.name === p.name && mine.metadata.equals(p.metadata);
    });
  }

  get awaitingJoin(): boolean {
    return this.joinWaiter !== null;
  }
}

export function offsetMapKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function parseOffsetMapKey(key: string): { topic: string; partition: number } {
  const cut = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
}

export class Group {
  state: GroupState = 'Empty';
  protocolType: string | null = null;
  protocolName: string | null = null;
  generation = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** groupInstanceId -> memberId for static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet, with their expiry timer. */
  readonly pendingMembers = new Map<string, unknown>();
  readonly offsets = new Map<string, CommittedOffset>();
  /**
   * Offsets committed inside a transaction (TxnOffsetCommit), by producer id: they take effect
   * when the producer's commit marker reaches the group's partition, and go with an abort.
   */
  readonly pendingTxnOffsets = new Map<number, Map<string, CommittedOffset>>();
  /**
   * Set while the group uses the consumer rebalance protocol (KIP-848, consumer-groups.ts): then
   * `members` is empty (classic members of a migrated group live in the consumer state, with
   * their classic protocol details), and `state` is only Empty or Stable (for offset retention).
   */
  consumer: ConsumerGroupState | null = null;
  /** The pending rebalance completion timer and its identity. */
  joinTimer: unknown = null;
  rebalanceEpoch = 0;
  /** Set during the initial rebalance delay of a group that was Empty. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null;
  /** When the group entered its current state (offset retention counts from becoming Empty). */
  stateTimestamp: number;
  /**
   * A classic group loaded with members (a restart or a coordinator move) comes back Empty, but
   * its members are still out there and rejoin: the longest of their session timeouts, stored
   * with them, and until when (this coordinator's clock) a consumer-protocol member is refused.
   */
  loadedSessionMs = 0;
  classicRejoinUntil = 0;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now;
  }

  transition(state: GroupState, now: number): void {
    this.state = state;
    this.stateTimestamp = now;
  }

  /** The members' protocols that every member other than `except` supports. */
  private commonProtocols(except?: string): Set<string> | null {
    const sets: Set<string>[] = [];
    for (const m of this.members.values()) {
      if (m.memberId !== except) sets.push(new Set(m.protocols.map((p) => p.name)));
    }
    const [first, ...rest] = sets;
    if (first === undefined) return null;
    return new Set([...first].filter((n) => rest.every((s) => s.has(n))));
  }

  /**
   * Whether a member with this protocol type and protocols may join: an empty group takes any
   * non-empty set; otherwise the type must match and at least one protocol must be supported by
   * every other member.
   */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[], joiningMemberId?: string): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    const others = [...this.members.keys()].filter((id) => id !== joiningMemberId);
    if (others.length === 0) return true;
    if (this.protocolType !== null && this.protocolType !== protocolType) return false;
    const common = this.commonProtocols(joiningMemberId);
    return common !== null && protocols.some((p) => common.has(p.name));
  }

  /**
   * Kafka's selection: among the protocols all members support, each member votes for the first
   * one in its own preference order; the most votes wins (ties go to the leader's preference).
   */
  selectProtocol(): string {
    const common = this.commonProtocols();
    if (common === null || common.size === 0) throw new Error(`group ${this.groupId} has no common protocol`);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => common.has(p.name));
      if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    const leader = (this.leaderId !== null ? this.members.get(this.leaderId) : undefined) ?? [...this.members.values()][0];
    const order = (leader?.protocols ?? []).map((p) => p.name).filter((n) => common.has(n));
    let best = order[0]!;
    for (const name of order) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Members with their metadata for the selected protocol, as the leader receives them. */
  currentMemberMetadata(): JoinMemberInfo[] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }

  /** Whether an offset of this partition waits for a transaction to end. */
  hasPendingTxnOffset(mapKey: string): boolean {
    for (const pending of this.pendingTxnOffsets.values()) if (pending.has(mapKey)) return true;
    return false;
  }

  /** True when `groupInstanceId` is bound to a different member than `memberId`. */
  isStaticMemberFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const bound = this.staticMembers.get(groupInstanceId);
    return bound !== undefined && bound !== memberId;
  }

  /**
   * Topics the members subscribe to, decoded from the "consumer" protocol's subscription
   * (int16 version, then an array of strings), or null when it cannot be known.
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const decoded = decodeSubscriptionTopics(m.metadataFor(this.protocolName));
      if (decoded === null) return null;
      for (const t of decoded) topics.add(t);
    }
    return topics;
  }
}

/** Topic names of a ConsumerProtocolSubscription (any version: they all start the same way). */
export function decodeSubscriptionTopics(buf: Buffer): string[] | null {
  try {
    let pos = 2; // int16 version
    const count = buf.readInt32BE(pos);
    pos += 4;
    if (count < 0 || count > buf.length) return null;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = buf.readInt16BE(pos);
      pos += 2;
      if (len < 0 || pos + len > buf.length) return null;
      topics.push(buf.toString('utf8', pos, pos + len));
      pos += len;
    }
    return topics;
  } catch {
    return null;
  }
}

/**
 * The in-memory model of a KIP-848 consumer group (the "consumer" rebalance protocol): members
 * with their subscriptions, the group epoch (bumped by every change the assignment depends on),
 * the target assignment computed for that epoch by a server-side assignor, and each member's
 * current assignment on its way to the target. The rules are in consumer-groups.ts.
 */
import type { Assignment, AssignorName } from './assignors.js';
import type { MemberProtocol } from './group.js';

/** Where a member stands between its current assignment and its target. */
export type ConsumerMemberState = 'stable' | 'unrevoked' | 'unreleased';

/**
 * A member that speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat) inside a consumer
 * group, after an online upgrade: its generation is its member epoch, its subscription comes from
 * its JoinGroup metadata, and the coordinator's assignor, not a leader, assigns its partitions.
 */
export interface ClassicMemberInfo {
  sessionTimeoutMs: number;
  /** The protocol (assignor name) its JoinGroup was answered with; SyncGroup must name it. */
  protocolName: string;
  protocols: readonly MemberProtocol[];
}

/** The member epoch of a static member that left for now (its partitions wait for it). */
export const STATIC_LEAVE_EPOCH = -2;

export class ConsumerMember {
  memberEpoch = 0;
  previousMemberEpoch = -1;
  state: ConsumerMemberState = 'stable';
  /** What the member may use now (what it was last told). */
  assigned: Assignment = new Map();
  /** Partitions the member must give up before it moves on. */
  pendingRevocation: Assignment = new Map();
  /** The assignment was changed since the member was last told it. */
  assignmentChanged = true;
  sessionTimer: unknown = null;
  rebalanceTimer: unknown = null;
  /** Bumped on every timer change, so a stale timer callback recognises itself. */
  timerEpoch = 0;
  /** Set when the member uses the classic protocol. */
  classic: ClassicMemberInfo | null = null;

  constructor(
    readonly memberId: string,
    public instanceId: string | null,
    public rackId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public subscribedTopicNames: readonly string[],
    public subscribedTopicRegex: string | null,
    public serverAssignor: string | null,
  ) {}
}

export class ConsumerGroupState {
  groupEpoch = 0;
  /** The group epoch the target assignment was computed for. */
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  /** Instance id -> member id of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member id -> target assignment (of `assignmentEpoch`). */
  target = new Map<string, Assignment>();
  /** The assignor of the current target. */
  assignor: AssignorName;
  /** The subscribed topics' ids and partition counts the target was computed from. */
  topicsFingerprint = '';

  constructor(defaultAssignor: AssignorName) {
    this.assignor = defaultAssignor;
  }

  /** Kafka's consumer group states, as ListGroups and ConsumerGroupDescribe name them. */
  stateName(): 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' {
    if (this.members.size === 0) return 'Empty';
    if (this.assignmentEpoch < this.groupEpoch) return 'Assigning';
    for (const m of this.members.values()) if (m.memberEpoch !== this.assignmentEpoch && m.memberEpoch !== STATIC_LEAVE_EPOCH) return 'Reconciling';
    for (const m of this.members.values()) if (m.state !== 'stable') return 'Reconciling';
    return 'Stable';
  }
}

/** Copies an assignment. */
export function cloneAssignment(a: Assignment): Assignment {
  return new Map([...a].map(([t, s]) => [t, new Set(s)]));
}

export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const s of a.values()) n += s.size;
  return n;
}

export function hasPartition(a: Assignment, topicId: string, partition: number): boolean {
  return a.get(topicId)?.has(partition) ?? false;
}

/** `a` without what `b` holds. */
export function minus(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [t, s] of a) {
    const other = b.get(t);
    const left = new Set([...s].filter((p) => !(other?.has(p) ?? false)));
    if (left.size > 0) out.set(t, left);
  }
  return out;
}

/** What `a` and `b` both hold. */
export function intersect(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [t, s] of a) {
    const other = b.get(t);
    if (other === undefined) continue;
    const both = new Set([...s].filter((p) => other.has(p)));
    if (both.size > 0) out.set(t, both);
  }
  return out;
}

export function union(a: Assignment, b: Assignment): Assignment {
  const out = cloneAssignment(a);
  for (const [t, s] of b) {
    const set = out.get(t) ?? new Set<number>();
    for (const p of s) set.add(p);
    out.set(t, set);
  }
  return out;
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  return assignmentSize(minus(a, b)) === 0 && assignmentSize(minus(b, a)) === 0;
}

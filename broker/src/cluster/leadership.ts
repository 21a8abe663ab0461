/**
 * Moving leadership of a raft group away from this broker (Raft's TimeoutNow, through the core's
 * transferLeadership): which voter to hand it to, and the maintenance guard that keeps a broker
 * in maintenance from leading anything.
 *
 * A broker in maintenance still follows (so its restart costs no availability) but leads
 * nothing: the guard, every `intervalMs`, hands each group this broker leads to the best other
 * voter. It also covers leadership won later (an election after some other broker failed, a
 * partition created with this broker as preferred replica): such a win is handed on at the
 * next pass. Leaders elsewhere never hand leadership to a broker in maintenance (see the
 * preferred-leader hand-back), so it stays away until maintenance is turned off.
 *
 * A drain (DrainLeadership) holds the same way for a while (`hold`), on this broker only: the
 * preferred-leader hand-back of the new leaders would otherwise give leadership straight back,
 * at their next check, to a broker drained because it is about to stop. While holding, what a
 * broker was handed by another (that one is draining too: two drains in a row) goes to a third
 * voter, or stays: handing it back would bounce it between the two until their holds end.
 */
import type { Logger } from 'pino';
import type { RaftNode } from '../raft/raft.js';
import { NONE } from '../raft/types.js';
import { nodeIdOf, raftId } from '../replication/raft-partition.js';
import type { MetadataState } from './metadata-state.js';

/** A voter this close (in entries) to the leader's last index may take over at once. */
const CAUGHT_UP_ENTRIES = 64;

/** The core's view a leader needs to pick a successor. */
export type LeaderNode = Pick<RaftNode, 'id' | 'conf' | 'lastIndex' | 'progressOf' | 'transferee' | 'transferLeadership' | 'handedOverBy'>;

/**
 * The voter (node id) to hand leadership to: an eligible other voter that has caught up, the
 * one with the longest log first, then in `preferred` order (the partition's replica list), then
 * the lowest id. null when none qualifies.
 */
export function successorOf(node: LeaderNode, eligible: (nodeId: number) => boolean, preferred: readonly number[] = []): number | null {
  let best: { id: number; match: number; rank: number } | null = null;
  for (const v of node.conf.voters) {
    if (v === node.id) continue;
    const id = nodeIdOf(v);
    if (!eligible(id)) continue;
    const pr = node.progressOf(v);
    if (pr === undefined || pr.match + CAUGHT_UP_ENTRIES < node.lastIndex) continue;
    const at = preferred.indexOf(id);
    const rank = at < 0 ? preferred.length + id : at;
    if (best === null || pr.match > best.match || (pr.match === best.match && rank < best.rank)) best = { id, match: pr.match, rank };
  }
  return best?.id ?? null;
}

/** Starts handing leadership to `to` (node id); false when the core refuses (not leader, not a voter). */
export function handOver(node: LeaderNode, to: number): boolean {
  if (node.transferee === raftId(to)) return true;
  return node.transferLeadership(raftId(to));
}

/** Whether broker `nodeId` may be handed leadership: registered, active, not in maintenance. */
export function mayLead(image: MetadataState, nodeId: number): boolean {
  const b = image.brokers.get(nodeId);
  return b !== undefined && b.state === 'active' && !b.maintenance;
}

/** A group this broker hosts, as the guard sees it. */
export interface LedGroup {
  readonly group: number;
  readonly node: LeaderNode;
  isLeader(): boolean;
  /** The partition's replicas in preference order ([] for the metadata group). */
  preferred(): readonly number[];
  /** For the log. */
  readonly name: string;
}

export interface LeadershipGuardOptions {
  readonly nodeId: number;
  readonly image: () => MetadataState;
  readonly groups: () => Iterable<LedGroup>;
  /** A registered broker this one can reach now. */
  readonly live: (nodeId: number) => boolean;
  readonly wake: (group: number) => void;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

export class LeadershipGuard {
  private timer: NodeJS.Timeout | null = null;
  private holdUntil = 0;

  constructor(private readonly o: LeadershipGuardOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.run(), this.o.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  inMaintenance(): boolean {
    return this.o.image().brokers.get(this.o.nodeId)?.maintenance === true;
  }

  /** Leads nothing for the next `ms` (after a drain), as in maintenance; a later hold extends it. */
  hold(ms: number, now = Date.now()): void {
    this.holdUntil = Math.max(this.holdUntil, now + ms);
  }

  holding(now = Date.now()): boolean {
    return now < this.holdUntil;
  }

  /** How much longer the hold lasts (ms; 0 when not holding). */
  holdRemaining(now = Date.now()): number {
    return Math.max(0, this.holdUntil - now);
  }

  /** One pass: while in maintenance or holding after a drain, every group led here is handed to the best other voter. */
  run(): number {
    const maintenance = this.inMaintenance();
    if (!maintenance && !this.holding()) return 0;
    const image = this.o.image();
    const eligible = (id: number): boolean => id !== this.o.nodeId && this.o.live(id) && mayLead(image, id);
    let handed = 0;
    for (const g of this.o.groups()) {
      if (!g.isLeader() || g.node.transferee !== 0) continue;
      const from = g.node.handedOverBy;
      const to = successorOf(g.node, maintenance || from === NONE ? eligible : (id) => raftId(id) !== from && eligible(id), g.preferred());
      if (to === null || !handOver(g.node, to)) continue;
      handed++;
      this.o.wake(g.group);
      this.o.logger.info({ group: g.name, to }, maintenance ? 'in maintenance: handing leadership over' : 'drained: handing leadership over');
    }
    return handed;
  }
}

/** The groups a broker hosts, as the guard sees them: its partition replicas and the metadata group. */
export function* ledGroupsOf(
  replicas: Iterable<{ readonly group: number; readonly node: LeaderNode; readonly topic: string; readonly partition: number; isLeader(): boolean }>,
  metadata: { readonly group: number; readonly node: LeaderNode; isLeader(): boolean },
  image: () => MetadataState,
): Generator<LedGroup> {
  for (const r of replicas) {
    yield {
      group: r.group,
      node: r.node,
      isLeader: () => r.isLeader(),
      preferred: () => image().topics.get(r.topic)?.partitionImages[r.partition]?.replicas ?? [],
      name: `${r.topic}-${r.partition}`,
    };
  }
  yield { group: metadata.group, node: metadata.node, isLeader: () => metadata.isLeader(), preferred: () => image().metadataVoters, name: 'metadata' };
}

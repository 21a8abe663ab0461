/**
 * Partition replica moves, driven by each partition's Raft leader. The image says where a
 * partition's replicas should be (assign-partition: the target, plus the replicas being removed);
 * the leader brings its group's Raft configuration there one membership step at a time:
 *
 *   1. a learner outside the target leaves (it never had a vote);
 *   2. each target replica joins as a learner;
 *   3. a learner that has caught up (its match within `catchUpEntries` of the last index) is
 *      promoted to voter;
 *   4. once every target replica votes and has caught up, the voters outside the target are
 *      removed, the leader last: if it is one of them it first hands leadership to a target voter;
 *   5. when the committed configuration is exactly the target, the controller is told
 *      (complete-reassignment) and records the move as done, after which the old replicas close
 *      and delete their data.
 *
 * So a partition never has fewer than its target's caught-up voters: nothing is removed before
 * the replacements vote and hold the log. Every step is recomputed from the image and the
 * configuration in force (level-triggered), so a new leader, a new controller or a restarted
 * broker continues where the old one stopped, and a cancelled move (the image's target changed
 * back) unwinds by the same rules.
 */
import type { Logger } from 'pino';
import { ConfChangeOp, Refusal, type ConfState } from '../raft/types.js';
import { nodeIdOf, raftId, type RaftPartition } from '../replication/raft-partition.js';
import { reassignmentInProgress, targetReplicas, type PartitionImage } from './metadata-state.js';

/** What the leader knows of its group, in raft ids. */
export interface MembershipView {
  readonly self: number;
  readonly conf: ConfState;
  /** The image's target replicas (raft ids), preferred leader first. */
  readonly target: readonly number[];
  /** Whether the image records a reassignment in progress (only then is there one to complete). */
  readonly inProgress: boolean;
  /** A member whose log matches the leader's within the catch-up allowance (the leader itself always). */
  caughtUp(id: number): boolean;
}

export type MembershipStep =
  | { readonly kind: 'add-learner' | 'promote' | 'remove'; readonly node: number }
  | { readonly kind: 'transfer'; readonly to: number }
  | { readonly kind: 'complete' }
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'none' };

/** The next membership step toward the target (pure; see the module header for the rules). */
export function planMembershipStep(v: MembershipView): MembershipStep {
  const voters = new Set(v.conf.voters);
  const learners = new Set(v.conf.learners);
  const inTarget = new Set(v.target);
  for (const l of v.conf.learners) if (!inTarget.has(l)) return { kind: 'remove', node: l };
  for (const d of v.target) if (!voters.has(d) && !learners.has(d)) return { kind: 'add-learner', node: d };
  const waiting = v.target.filter((d) => learners.has(d));
  const ready = waiting.find((d) => v.caughtUp(d));
  if (ready !== undefined) return { kind: 'promote', node: ready };
  if (waiting.length > 0) return { kind: 'wait', why: `learners ${waiting.map(nodeIdOf).join(',')} catching up` };
  const extra = v.conf.voters.filter((id) => !inTarget.has(id));
  if (extra.length === 0) return v.inProgress ? { kind: 'complete' } : { kind: 'none' };
  const behind = v.target.filter((d) => !v.caughtUp(d));
  if (behind.length > 0) return { kind: 'wait', why: `voters ${behind.map(nodeIdOf).join(',')} catching up before ${extra.map(nodeIdOf).join(',')} leave` };
  const other = extra.find((id) => id !== v.self);
  if (other !== undefined) return { kind: 'remove', node: other };
  // Only the leader itself is left to go: the preferred target replica takes over.
  return { kind: 'transfer', to: v.target[0] as number };
}

export interface CompletedReassignment {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  /** Node ids of the committed voters, which equal the target. */
  readonly replicas: readonly number[];
}

export interface ReassignmentDriverOptions {
  readonly nodeId: number;
  /** The partition replicas this broker hosts. */
  readonly replicas: () => Iterable<RaftPartition>;
  /** The image's entry for a partition, or undefined when it no longer exists. */
  readonly partitionOf: (topic: string, partition: number) => { readonly topicId: string; readonly image: PartitionImage } | undefined;
  /** A proposal was made to the group's core: run a host turn. */
  readonly wake: (group: number) => void;
  /** Asks the controller to record the reassignment as done. */
  readonly complete: (c: CompletedReassignment) => Promise<void>;
  readonly logger: Logger;
  readonly intervalMs?: number;
  /** A member this close (in entries) to the leader's last index counts as caught up. */
  readonly catchUpEntries?: number;
  /**
   * The image's version: while it stays the same, passes look only at partitions that had work
   * (every FULL_PASS_EVERY-th pass looks at all, for leadership won meanwhile).
   */
  readonly version?: () => number;
}

const DEFAULT_INTERVAL_MS = 200;
const DEFAULT_CATCH_UP_ENTRIES = 64;
const FULL_PASS_EVERY = 5;

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export class ReassignmentDriver {
  private timer: NodeJS.Timeout | null = null;
  /** The last membership change each group's leader proposed here: (term, index). */
  private readonly proposed = new Map<number, { term: number; index: number }>();
  /** Groups whose completion is being reported (one report at a time per group). */
  private readonly reporting = new Set<number>();
  private readonly lastWait = new Map<number, string>();
  /** Partitions led here that had a step to take or wait for at the last pass. */
  private readonly busy = new Map<number, RaftPartition>();
  private lastVersion = -1;
  private passes = 0;

  constructor(private readonly o: ReassignmentDriverOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.run(), this.o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the partitions this broker leads (see `version` for which). */
  run(): void {
    const version = this.o.version?.() ?? -1;
    const full = version < 0 || version !== this.lastVersion || ++this.passes % FULL_PASS_EVERY === 0;
    this.lastVersion = version;
    const candidates = full ? this.o.replicas() : [...this.busy.values()];
    for (const r of candidates) {
      let working = false;
      try {
        working = r.isLeader() && this.drive(r);
      } catch (err) {
        this.o.logger.error({ err, topic: r.topic, partition: r.partition }, 'partition membership step failed');
      }
      if (working) this.busy.set(r.group, r);
      else this.busy.delete(r.group);
    }
  }

  /** Takes the partition's next step; false when it has nothing to do. */
  private drive(r: RaftPartition): boolean {
    const found = this.o.partitionOf(r.topic, r.partition);
    if (!found) return false;
    const node = r.node;
    const conf = node.conf;
    const target = targetReplicas(found.image).map(raftId);
    const inProgress = reassignmentInProgress(found.image);
    // The common case, checked cheaply: nothing to change.
    if (!inProgress && conf.learners.length === 0 && sameSet(conf.voters, target)) return false;
    const lag = this.o.catchUpEntries ?? DEFAULT_CATCH_UP_ENTRIES;
    const step = planMembershipStep({
      self: node.id,
      conf,
      target,
      inProgress,
      caughtUp: (id) => {
        if (id === node.id) return true;
        const pr = node.progressOf(id);
        return pr !== undefined && pr.match + lag >= node.lastIndex;
      },
    });
    const where = { topic: r.topic, partition: r.partition };
    switch (step.kind) {
      case 'none':
        return false;
      case 'wait':
        if (this.lastWait.get(r.group) !== step.why) this.o.logger.debug({ ...where, why: step.why }, 'partition move waiting');
        this.lastWait.set(r.group, step.why);
        return true;
      case 'transfer':
        if (node.transferee === 0 && node.transferLeadership(step.to)) {
          this.o.logger.info({ ...where, to: nodeIdOf(step.to) }, 'leaving the partition: handing leadership to a target replica first');
          this.o.wake(r.group);
        }
        return true;
      case 'complete':
        this.reportComplete(r, found.topicId, conf);
        return true;
      default: {
        const op = step.kind === 'add-learner' ? ConfChangeOp.AddLearner : step.kind === 'promote' ? ConfChangeOp.AddVoter : ConfChangeOp.Remove;
        const index = node.proposeMembershipChange({ op, node: step.node });
        if (index > 0) {
          this.proposed.set(r.group, { term: node.term, index });
          this.lastWait.delete(r.group);
          this.o.logger.info({ ...where, step: step.kind, broker: nodeIdOf(step.node), index }, 'partition membership change proposed');
          this.o.wake(r.group);
        } else if (index === Refusal.InvalidConfChange) {
          this.o.logger.warn({ ...where, step: step.kind, broker: nodeIdOf(step.node), reason: node.lastRefusalReason }, 'partition membership change refused');
        }
        // ConfChangePending / TransferInProgress: the previous step is still committing; next pass.
        return true;
      }
    }
  }

  /**
   * The configuration is the target; once it is committed (an entry of this term is, and so
   * every change this leader proposed), the controller records the move as done.
   */
  private reportComplete(r: RaftPartition, topicId: string, conf: ConfState): void {
    const node = r.node;
    const mine = this.proposed.get(r.group);
    const committed = node.termAt(node.commitIndex) === node.term && (mine === undefined || mine.term !== node.term || node.commitIndex >= mine.index);
    if (!committed || this.reporting.has(r.group)) return;
    this.reporting.add(r.group);
    const done: CompletedReassignment = { topic: r.topic, topicId, partition: r.partition, replicas: conf.voters.map(nodeIdOf) };
    this.o
      .complete(done)
      .then(
        () => {
          this.proposed.delete(r.group);
          this.lastWait.delete(r.group);
          this.o.logger.info({ topic: r.topic, partition: r.partition, replicas: done.replicas }, 'partition move complete');
        },
        (err: unknown) => this.o.logger.debug({ err: (err as Error).message, topic: r.topic, partition: r.partition }, 'reporting a finished partition move failed; retrying'),
      )
      .finally(() => this.reporting.delete(r.group));
  }
}

/**
 * The leader's view of one follower (§5.3 nextIndex/matchIndex, plus the flow control of the
 * thesis §10.2): in Probe it sends one append per heartbeat until it finds where the logs match;
 * in Replicate it streams optimistically with a bounded window of appends in flight; in Snapshot
 * it waits for an InstallSnapshot to land.
 */
export const ProgressState = {
  Probe: 0,
  Replicate: 1,
  Snapshot: 2,
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** Ring buffer of the last index of each append in flight, oldest first. */
export class Inflights {
  private readonly buf: Float64Array;
  private start = 0;
  count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    let slot = this.start + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    this.buf[slot] = lastIndex;
    this.count++;
  }

  /** Frees every append whose last index is <= `index` (they are acknowledged). */
  freeTo(index: number): void {
    while (this.count > 0 && (this.buf[this.start] as number) <= index) {
      this.start++;
      if (this.start === this.capacity) this.start = 0;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.start++;
    if (this.start === this.capacity) this.start = 0;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe: an append is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Snapshot: the index of the snapshot being installed. */
  pendingSnapshot = 0;
  /** Ticks spent in Snapshot state, to retry if the snapshot was lost. */
  snapshotTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Highest ReadIndex round this follower acknowledged in the current term. */
  readRound = 0;
  /** Commit index last sent, so a commit change alone still produces an append. */
  sentCommit = 0;
  /**
   * Highest incarnation the follower has answered with: answers from a lower one come from an
   * earlier life of the follower (before its log lost a tail) and are ignored.
   */
  incarnation = 0;
  readonly inflights: Inflights;

  constructor(
    readonly id: number,
    next: number,
    maxInflight: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
      this.pendingSnapshot = 0;
    } else {
      this.next = this.match + 1;
    }
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /**
   * The follower came back in a new incarnation: its log may have lost entries it acknowledged,
   * so nothing is known to match any more. Probe again from `next` (the rejection's hint when
   * there is one). Lowering match never lowers the commit index, which only moves forward.
   */
  regress(next: number): void {
    this.match = 0;
    this.next = Math.max(1, next);
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  /** A successful append response up to `index`; false if it tells nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (index + 1 > this.next) this.next = index + 1;
    return updated;
  }

  /**
   * A rejection of the append that followed `rejected`. `candidate` is the highest index that may
   * still match. Returns false when the rejection is stale (answers an older append). A rejection
   * at or below `match` is always stale within one incarnation of the follower: a follower never
   * loses what it acknowledged unless its log lost a tail, and then it answers with a new
   * incarnation, which regresses the progress first (see regress()).
   */
  maybeDecreaseTo(rejected: number, candidate: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    const next = Math.max(Math.min(rejected, candidate + 1), this.match + 1);
    // Nothing to try below: probe again on the next heartbeat rather than in a tight loop.
    if (next === this.next) return false;
    this.next = next;
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }
}

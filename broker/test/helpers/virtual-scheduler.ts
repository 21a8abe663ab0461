import type { Scheduler } from '../../src/coordinator/group-coordinator.js';

/** Lets pending promise chains run: `rounds` turns of the event loop. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** A virtual clock for the group coordinator: timers fire only when the test advances time. */
export class VirtualScheduler implements Scheduler {
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(
    private t = 0,
    private readonly settleRounds = 10,
  ) {}

  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(timer: unknown): void {
    this.timers.delete(timer as number);
  }
  /** Fires due timers in time order, letting each callback's work settle before the next. */
  async advance(ms: number): Promise<void> {
    // Requests already issued reach the coordinator (and arm their timers) first.
    await settle(this.settleRounds);
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle(this.settleRounds);
    }
    this.t = end;
    await settle(this.settleRounds);
  }
}

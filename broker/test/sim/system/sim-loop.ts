/**
 * The system simulator's event loop: one virtual clock, a heap of timed callbacks, and per node
 * incarnation a `Timers` (what the raft host, the group commit and the long polls schedule on)
 * whose callbacks stop firing once that incarnation has crashed. After every event the loop
 * yields one real macrotask, so every promise continuation the event started runs before the
 * next event, as on a real event loop where microtasks drain between callbacks.
 */
import type { TimerHandle, Timers } from '../../../src/platform/timers.js';
import type { SeededRandom } from '../../../src/raft/random.js';
import { EventHeap } from '../heap.js';

interface LoopEvent {
  time: number;
  seq: number;
  fn: () => void;
}

export class SimLoop {
  now = 0;
  events = 0;
  private seq = 0;
  private readonly heap = new EventHeap<LoopEvent>();
  private stopped = false;

  /** Runs `fn` at virtual time `time` (never earlier than now); equal times run in call order. */
  at(time: number, fn: () => void): void {
    this.heap.push({ time: time < this.now ? this.now : time, seq: this.seq++, fn });
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs events in time order up to `end`. `afterEach` runs after each event's continuations
   * have settled (the model's checks); an exception from an event or from it ends the run.
   */
  async run(end: number, afterEach: () => void): Promise<void> {
    const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    while (!this.stopped) {
      const ev = this.heap.peek();
      if (ev === undefined || ev.time > end) break;
      this.heap.pop();
      this.now = ev.time;
      this.events++;
      ev.fn();
      await drain();
      afterEach();
    }
    if (!this.stopped) this.now = Math.max(this.now, end);
  }
}

interface SimTimer {
  cancelled: boolean;
}

/**
 * One node incarnation's timers on the shared loop. Intervals run at this node's own rate
 * (`rate` x the asked period, with a little jitter per beat), so nodes tick at different speeds.
 */
export class NodeTimers implements Timers {
  alive = true;

  constructor(
    private readonly loop: SimLoop,
    private readonly rate: number,
    private readonly jitter: SeededRandom,
  ) {}

  now(): number {
    return this.loop.now;
  }

  /** Runs `fn` after `ms` unless this incarnation died meanwhile (disk and network completions). */
  after(ms: number, fn: () => void): void {
    this.loop.at(this.loop.now + ms, () => {
      if (this.alive) fn();
    });
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { cancelled: false };
    this.loop.at(this.loop.now + Math.max(0, ms) * this.rate, () => {
      if (this.alive && !t.cancelled) fn();
    });
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as SimTimer).cancelled = true;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { cancelled: false };
    const period = (): number => Math.max(0.001, ms * this.rate * (0.9 + 0.2 * this.jitter.nextFloat()));
    const fire = (): void => {
      if (!this.alive || t.cancelled) return;
      this.loop.at(this.loop.now + period(), fire);
      fn();
    };
    this.loop.at(this.loop.now + period(), fire);
    return t;
  }

  clearInterval(handle: TimerHandle): void {
    (handle as SimTimer).cancelled = true;
  }

  setImmediate(fn: () => void): void {
    this.loop.at(this.loop.now, () => {
      if (this.alive) fn();
    });
  }
}

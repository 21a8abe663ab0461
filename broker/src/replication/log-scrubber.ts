/**
 * The broker's background read-back of committed log data (chronik.log.scrub.bytes.per.second).
 *
 * Raft keeps every acknowledged entry on a majority, but a replica only learns that its own copy
 * went bad when something reads it: a misdirected write or decayed media can sit unseen in an old
 * segment until the day a consumer, or a follower catching up, needs it, and by then other copies
 * may have gone too. So each broker reads its replicas' committed data back, a bounded number of
 * bytes per second, partition after partition; RaftPartition.scrub checks each batch and hands
 * damage to replica-revival.ts, which cuts the replica's log there and recovers it from peers.
 */
import type { Logger } from 'pino';
import { realTimers, type TimerHandle, type Timers } from '../platform/timers.js';

/** What the scrubber needs of a replica. */
export interface Scrubbable {
  scrub(maxBytes: number): Promise<number>;
}

export interface LogScrubberOptions {
  readonly bytesPerSecond: number;
  readonly replicas: () => readonly Scrubbable[];
  readonly logger: Logger;
  readonly timers?: Timers;
  /** How often a round runs (default 1 s); each gets the bytes of that much time. */
  readonly intervalMs?: number;
}

export class LogScrubber {
  private timer: TimerHandle | null = null;
  private running = false;
  /** Index of the replica the next round starts with: rounds go around the replicas. */
  private next = 0;
  private readonly timers: Timers;
  /** Bytes read back so far (for tests and metrics). */
  scrubbed = 0;

  constructor(private readonly opts: LogScrubberOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  start(): void {
    if (this.timer !== null || this.opts.bytesPerSecond <= 0) return;
    this.timer = this.timers.setInterval(() => void this.round(), this.opts.intervalMs ?? 1000);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: up to a round's bytes, across as many replicas as that reaches. */
  async round(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let budget = Math.max(1, Math.floor((this.opts.bytesPerSecond * (this.opts.intervalMs ?? 1000)) / 1000));
    let read = 0;
    try {
      const replicas = this.opts.replicas();
      for (let visited = 0; visited < replicas.length && budget > 0; visited++) {
        const r = replicas[this.next % replicas.length] as Scrubbable;
        this.next = (this.next + 1) % Math.max(1, replicas.length);
        const n = await r.scrub(budget);
        budget -= n;
        read += n;
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'a scrub round failed; the next one goes on');
    } finally {
      this.running = false;
    }
    this.scrubbed += read;
    return read;
  }
}

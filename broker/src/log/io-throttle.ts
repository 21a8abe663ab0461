/**
 * Keeps background I/O (the cleaner's reads and writes) under a byte rate: after each chunk the
 * caller awaits `consume(bytes)`, which sleeps as long as the chunk is ahead of the budget.
 */
export class IoThrottle {
  private windowStart: number;
  private windowBytes = 0;

  constructor(
    private bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowStart = now();
  }

  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  async consume(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!(this.bytesPerSecond > 0) || !Number.isFinite(this.bytesPerSecond)) return;
    const t = this.now();
    // A fresh window every second, so an idle spell does not bank an unbounded burst.
    if (t - this.windowStart > 1000) {
      this.windowStart = t;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
    const due = (this.windowBytes / this.bytesPerSecond) * 1000 - (t - this.windowStart);
    if (due > 1) await sleep(due, signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

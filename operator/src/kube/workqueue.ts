/**
 * A work queue keyed by object: a key queued many times is processed once; a key being
 * processed is never handed to a second worker (changes during processing queue it again
 * for afterwards). Failures back off per key exponentially; a token bucket bounds the total
 * rate so a burst of objects cannot hammer the API server.
 */
export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Sustained processing rate across all keys, and its burst. */
  ratePerSecond?: number;
  burst?: number;
  now?: () => number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | null) => void)[] = [];
  private tokens: number;
  private lastRefill: number;
  private closed = false;
  private readonly o: Required<WorkQueueOptions>;

  constructor(opts: WorkQueueOptions = {}) {
    this.o = {
      baseDelayMs: opts.baseDelayMs ?? 500,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
      ratePerSecond: opts.ratePerSecond ?? 20,
      burst: opts.burst ?? 50,
      now: opts.now ?? Date.now,
    };
    this.tokens = this.o.burst;
    this.lastRefill = this.o.now();
  }

  /** Keys waiting (ready or delayed), for the queue-depth metric. */
  get depth(): number {
    return this.queued.size + this.timers.size;
  }

  add(key: string): void {
    if (this.closed) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const w = this.waiters.shift();
    if (w) {
      this.queued.delete(key);
      this.processing.add(key);
      w(key);
    } else this.ready.push(key);
  }

  /** Queues the key after a delay; an earlier request for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.add(key);
    if (this.queued.has(key)) return;
    const at = this.o.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Requeues after a failure with per-key exponential backoff. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  private async takeToken(): Promise<void> {
    for (;;) {
      const now = this.o.now();
      this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.o.ratePerSecond);
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.o.ratePerSecond) * 1000)));
    }
  }

  /** The next key to process, or null once the queue is shut down. Call done(key) after. */
  async get(): Promise<string | null> {
    await this.takeToken();
    if (this.closed) return null;
    const key = this.ready.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return key;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirtyWhileProcessing.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(null);
  }
}

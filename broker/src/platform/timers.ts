/**
 * Timers and the monotonic clock of the replication host loop and the log's group commit, as
 * one interface, so the system simulator (broker/test/sim/) can run them on a virtual clock.
 * `realTimers` is Node's own; intervals are unref'd (a ticking host must not keep a process
 * alive), timeouts are not.
 */

/** An opaque timer, for clearTimeout / clearInterval. */
export type TimerHandle = object;

export interface Timers {
  /** Milliseconds on a monotonic clock (performance.now), for measuring durations. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Runs `fn` once the current event-loop turn's callbacks are done (setImmediate). */
  setImmediate(fn: () => void): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setImmediate: (fn) => {
    setImmediate(fn);
  },
};

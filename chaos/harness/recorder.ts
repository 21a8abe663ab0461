/**
 * Writes the history as it happens: one JSON line per event, written with a synchronous write so
 * that every line is on disk as a whole even if the harness itself dies mid-run. Times are
 * milliseconds since the recorder started, from the monotonic clock.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { EventType } from '../checker/history.js';

export interface EventFields {
  readonly value?: unknown;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly error?: string;
}

export class HistoryRecorder {
  private fd: number | undefined;
  private readonly t0 = performance.now();
  private readonly counts = new Map<string, number>();
  private lines = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a');
  }

  now(): number {
    return performance.now() - this.t0;
  }

  record(process: string, type: EventType, f: string, fields: EventFields = {}): void {
    if (this.fd === undefined) return;
    const event = { process, type, f, time: Math.round(this.now() * 1000) / 1000, ...fields };
    writeSync(this.fd, JSON.stringify(event) + '\n');
    this.lines++;
    const key = `${f} ${type}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Runs `fn` as one operation of `process`: invoke, then ok with what fn returns, or info/fail. */
  async op<T extends EventFields>(process: string, f: string, invoke: EventFields, fn: () => Promise<T>, classify: (e: unknown) => 'fail' | 'info' = () => 'info'): Promise<T | undefined> {
    this.record(process, 'invoke', f, invoke);
    try {
      const done = await fn();
      this.record(process, 'ok', f, { ...invoke, ...done });
      return done;
    } catch (e) {
      this.record(process, classify(e), f, { ...invoke, error: describeError(e) });
      return undefined;
    }
  }

  /** Events recorded so far by "f type" ("produce ok": 1234). */
  tally(): ReadonlyMap<string, number> {
    return this.counts;
  }

  get events(): number {
    return this.lines;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const type = (e as { type?: unknown }).type;
    return typeof type === 'string' && type.length > 0 ? `${e.name} ${type}: ${e.message}` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

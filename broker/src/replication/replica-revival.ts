/**
 * Opening a failed partition replica again, from its own disk.
 *
 * A raft group fails on this broker when its storage cannot go on: a write or fsync fails, a
 * truncation leaves the log elsewhere than the core believes, or a stored batch is damaged for
 * good (it fails its CRC on every read). The group then stops taking part: its peers elect
 * without it and the partition runs under-replicated. Left alone it would stay so until the
 * broker restarts; instead, after a backoff, the replica is closed and opened again, which runs
 * exactly what a restart runs: the log's recovery (for damage, a scan of every batch from the
 * segment holding it, cutting at the first bad one) and the lost-tail check (lost-tail.ts): a log
 * that now ends before what the replica may have acknowledged starts a new incarnation that must
 * get those entries back from its peers before it may vote or lead again. The hard-state journal
 * keeps the group's records across the reopen; that is what tells the check what was lost.
 *
 * The backoff doubles with each failure of the same group (from 1 s to a minute) and starts over
 * once the group has gone a while without failing, so a disk that fails every write costs a
 * reopen a minute, not a loop.
 */
import type { Logger } from 'pino';
import { CorruptStoredBatch } from '../log/corrupt-stored-batch.js';
import { realTimers, type TimerHandle, type Timers } from '../platform/timers.js';
import { DivergedEntry } from './partition-raft-storage.js';
import type { RaftHost } from './raft-host.js';
import type { RaftPartition } from './raft-partition.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
/** A group that has not failed for this long starts its backoff over. */
const CALM_RESET_MS = 10 * 60_000;

export interface ReplicaRevivalOptions {
  readonly logger: Logger;
  readonly timers?: Timers;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

interface GroupFailures {
  count: number;
  lastAt: number;
  timer: TimerHandle | null;
}

/** Schedules the reopening of failed groups, one at a time per group, with backoff. */
export class ReplicaRevival {
  private readonly failures = new Map<number, GroupFailures>();
  private readonly timers: Timers;
  private closed = false;
  /** Reopens done (for metrics and tests). */
  revived = 0;

  constructor(private readonly opts: ReplicaRevivalOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  /** Group `group` failed: `reopen` runs after its backoff (unless cancelled or closed first). */
  schedule(group: number, err: Error, reopen: () => Promise<void>): void {
    if (this.closed) return;
    const now = this.timers.now();
    let f = this.failures.get(group);
    if (f && now - f.lastAt > CALM_RESET_MS) f.count = 0;
    if (!f) {
      f = { count: 0, lastAt: now, timer: null };
      this.failures.set(group, f);
    }
    if (f.timer !== null) return;
    const first = this.opts.firstDelayMs ?? FIRST_DELAY_MS;
    const delay = Math.min(this.opts.maxDelayMs ?? MAX_DELAY_MS, first * 2 ** f.count);
    f.count++;
    f.lastAt = now;
    this.opts.logger.warn({ group, err: err.message, inMs: delay, attempt: f.count }, 'raft group failed: its replica is opened again from disk after a pause');
    const entry = f;
    entry.timer = this.timers.setTimeout(() => {
      entry.timer = null;
      if (this.closed) return;
      reopen().then(
        () => {
          this.revived++;
          this.opts.logger.info({ group }, 'replica opened again after its group failed');
        },
        (e: unknown) => this.opts.logger.error({ err: e, group }, 'opening a failed replica again failed; it stays out until the broker restarts'),
      );
    }, delay);
  }

  /** The group was closed for another reason (moved away, deleted): nothing to reopen. */
  cancel(group: number): void {
    const f = this.failures.get(group);
    if (f?.timer) this.timers.clearTimeout(f.timer);
    this.failures.delete(group);
  }

  close(): void {
    this.closed = true;
    for (const group of [...this.failures.keys()]) this.cancel(group);
  }
}

/**
 * Closes a failed replica (its log without the clean-shutdown marker and, for damage, marked to
 * be scanned from the damaged segment) and opens it again with `open`, which must open the
 * same topic-partition with the same options as at start-up.
 */
export async function reopenReplica(old: RaftPartition, err: Error, host: RaftHost, logger: Logger, open: () => Promise<RaftPartition>): Promise<RaftPartition> {
  const log = old.dataLog;
  old.close(false);
  old.storage.close();
  await host.removeGroup(old.group);
  if (err instanceof DivergedEntry) {
    // Valid batches that are not what the leader wrote there: no scan would find them.
    try {
      await log.truncateTo(err.offset);
    } catch (e) {
      logger.warn({ err: e, dir: err.dir, offset: err.offset }, 'cutting a diverged log failed; its reopen scans it instead');
    }
  }
  // Any failure: the reopen scans from the damage, or from the segment the log ends in.
  log.rescanOnClose(err instanceof CorruptStoredBatch || err instanceof DivergedEntry ? err.offset : log.logEndOffset());
  await log.close();
  return open();
}

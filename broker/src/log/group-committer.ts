/**
 * Group commit: one flush round serves every partition that asked for durability since the
 * previous round. In a round each dirty file gets one positioned writev of its buffered bytes and
 * exactly one fsync, all files in parallel; every sync() that arrives while a round runs joins the
 * next round. With many partitions producing at once this turns N fsyncs into one per file per
 * round, and the write syscalls shrink to one per file per round as well.
 */
import { nodeFileSystem, type FileSystem } from '../platform/file-system.js';
import { realTimers, type Timers } from '../platform/timers.js';
import { writevAt } from './files.js';

/** One file's work in a round: write `buffers` at `position` (if any), then fsync. */
export interface FileFlush {
  readonly fd: number;
  readonly buffers: Buffer[];
  readonly position: number;
}

export interface FlushPlan {
  readonly files: FileFlush[];
  /** Directories whose entries changed (files created); each is fsynced once per round. */
  readonly dirs: string[];
}

/** A log that has buffered writes; the committer drives it through one round. */
export interface Flushable {
  /** Synchronously freezes what is pending and says what to write and fsync. */
  prepareFlush(): FlushPlan;
  /** Called once the plan is durable (error null) or failed. */
  completeFlush(error: Error | null): void;
}

export interface GroupCommitStats {
  /** Rounds run. */
  rounds: number;
  /** File fsyncs issued (one per dirty file per round). */
  fileFsyncs: number;
  /** Directory fsyncs issued. */
  dirFsyncs: number;
  /** writev calls issued. */
  writes: number;
  /** Bytes written by rounds. */
  bytes: number;
}

interface Member {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export interface GroupCommitterOptions {
  /** How long a round waits to gather more requests; 0 runs it on the next tick. */
  readonly lingerMs?: number;
  /** Where the members' descriptors live (default: the real file system). */
  readonly fs?: FileSystem;
  readonly timers?: Timers;
}

export class GroupCommitter {
  readonly stats: GroupCommitStats = { rounds: 0, fileFsyncs: 0, dirFsyncs: 0, writes: 0, bytes: 0 };
  /** The file system of every member's descriptors (a log and its committer share one). */
  readonly fs: FileSystem;
  /** The members' clock too (the journal's lazy writes). */
  readonly timers: Timers;
  private lingerMs: number;
  private next = new Map<Flushable, Member>();
  private running = false;
  private armed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: GroupCommitterOptions = {}) {
    this.lingerMs = Math.max(0, opts.lingerMs ?? 0);
    this.fs = opts.fs ?? nodeFileSystem;
    this.timers = opts.timers ?? realTimers;
  }

  setLinger(ms: number): void {
    this.lingerMs = Math.max(0, ms);
  }

  /** Enrols `f` in the next round; resolves when that round made its data durable. */
  request(f: Flushable): Promise<void> {
    let m = this.next.get(f);
    if (!m) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      m = { promise, resolve, reject };
      this.next.set(f, m);
    }
    this.arm();
    return m.promise;
  }

  /** Resolves when no round is running or queued. */
  idle(): Promise<void> {
    if (!this.running && this.next.size === 0) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private arm(): void {
    if (this.running || this.armed) return;
    this.armed = true;
    const run = (): void => {
      this.armed = false;
      void this.round();
    };
    if (this.lingerMs > 0) this.timers.setTimeout(run, this.lingerMs);
    else this.timers.setImmediate(run);
  }

  private async round(): Promise<void> {
    if (this.running || this.next.size === 0) return;
    this.running = true;
    const members = this.next;
    this.next = new Map();
    this.stats.rounds++;

    const plans: { f: Flushable; m: Member; plan: FlushPlan | null; error: Error | null }[] = [];
    for (const [f, m] of members) {
      try {
        plans.push({ f, m, plan: f.prepareFlush(), error: null });
      } catch (err) {
        plans.push({ f, m, plan: null, error: toError(err) });
      }
    }

    const dirs = new Map<string, Promise<void>>();
    await Promise.all(
      plans.map(async (p) => {
        if (!p.plan) return;
        try {
          await Promise.all([
            ...p.plan.files.map((file) => this.flushFile(file)),
            ...p.plan.dirs.map((d) => {
              let done = dirs.get(d);
              if (!done) {
                this.stats.dirFsyncs++;
                done = this.fs.fsyncDir(d);
                dirs.set(d, done);
              }
              return done;
            }),
          ]);
        } catch (err) {
          p.error = toError(err);
        }
      }),
    );

    for (const p of plans) {
      try {
        p.f.completeFlush(p.error);
      } catch (err) {
        p.error ??= toError(err);
      }
      if (p.error) p.m.reject(p.error);
      else p.m.resolve();
    }
    this.running = false;
    if (this.next.size > 0) {
      this.arm();
    } else {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async flushFile(file: FileFlush): Promise<void> {
    let bytes = 0;
    for (const b of file.buffers) bytes += b.length;
    if (bytes > 0) {
      this.stats.writes++;
      this.stats.bytes += bytes;
      await writevAt(file.fd, file.buffers, file.position, this.fs);
    }
    this.stats.fileFsyncs++;
    await this.fs.fsync(file.fd);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

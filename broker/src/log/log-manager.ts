/**
 * The broker's LogManager: opens partition logs under one data directory and owns the group
 * committer they share, so one flush round covers every partition that asked for sync.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { FileSystem } from '../platform/file-system.js';
import type { Timers } from '../platform/timers.js';
import { LogCleaner, type CleanableLog, type CleanerOptions, type CleanerStats } from './cleaner.js';
import { GroupCommitter, type GroupCommitStats } from './group-committer.js';
import type { FilePartitionLog } from './partition-log.js';
import { openPartitionLog } from './recovery.js';
import type { LogConfig, LogManager } from './types.js';

export interface FileLogManagerOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /**
   * Group-commit linger in ms ('log.flush.interval.ms'): how long a round waits to gather more
   * sync() calls. 0 (default) runs it on the next event-loop turn.
   */
  readonly lingerMs?: number;
  readonly now?: () => number;
  /** The file system under the data dir (default: the real one; the system simulator's disk in tests). */
  readonly fs?: FileSystem;
  /** Timers of the group commit (default: Node's). */
  readonly timers?: Timers;
}

/** Topic names are validated upstream; this only refuses names that would escape the data dir. */
function partitionDirName(topic: string, partition: number): string {
  if (topic.length === 0 || topic.includes('/') || topic.includes('\\') || topic === '.' || topic === '..') {
    throw new Error(`invalid topic name for a log directory: ${JSON.stringify(topic)}`);
  }
  if (!Number.isInteger(partition) || partition < 0) throw new Error(`invalid partition ${partition}`);
  return `${topic}-${partition}`;
}

export class FileLogManager implements LogManager {
  readonly dataDir: string;
  readonly committer: GroupCommitter;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly logs = new Map<string, CleanableLog>();
  private readonly opening = new Map<string, Promise<FilePartitionLog>>();
  /** Compacts the open logs whose cleanup.policy says so, once started (startCleaning). */
  readonly cleaner: LogCleaner;

  constructor(opts: FileLogManagerOptions) {
    this.dataDir = opts.dataDir;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.committer = new GroupCommitter({ lingerMs: opts.lingerMs ?? 0, fs: opts.fs, timers: opts.timers });
    this.cleaner = new LogCleaner({ logs: () => [...this.logs.values()], logger: this.logger.child({ component: 'cleaner' }), now: this.now });
  }

  /**
   * Starts the background log cleaner. The partitions' owner calls it once it has set each
   * log's cleanable bound (FilePartitionLog.setCleanableBelow); close() stops it.
   */
  startCleaning(options: Partial<CleanerOptions> = {}): void {
    this.cleaner.start(options);
  }

  /** Counters of the log cleaner (bytes, passes, errors, per-partition dirty ratio). */
  cleanerStats(): CleanerStats {
    return this.cleaner.stats;
  }

  /** Counters of the group committer (rounds, file fsyncs, writes, bytes). */
  stats(): GroupCommitStats {
    return { ...this.committer.stats };
  }

  open(topic: string, partition: number, config: LogConfig): Promise<FilePartitionLog> {
    const name = partitionDirName(topic, partition);
    const existing = this.logs.get(name);
    if (existing) {
      existing.log.updateConfig(config);
      return Promise.resolve(existing.log);
    }
    let p = this.opening.get(name);
    if (!p) {
      p = openPartitionLog({
        dir: path.join(this.dataDir, name),
        config,
        committer: this.committer,
        logger: this.logger.child({ topic, partition }),
        now: this.now(),
      }).then(
        (log) => {
          this.opening.delete(name);
          this.logs.set(name, { topic, partition, log: wrapClose(log, () => this.logs.delete(name)) });
          return log;
        },
        (err: unknown) => {
          this.opening.delete(name);
          throw err;
        },
      );
      this.opening.set(name, p);
    }
    return p;
  }

  /** Open logs, by directory name. */
  openLogs(): FilePartitionLog[] {
    return [...this.logs.values()].map((l) => l.log);
  }

  /** Applies retention to every open log; returns the number of segments deleted. */
  async applyRetention(now = this.now()): Promise<number> {
    let n = 0;
    for (const { log } of this.logs.values()) {
      try {
        n += await log.applyRetention(now);
      } catch (err) {
        this.logger.error({ err, dir: log.dir }, 'retention failed');
      }
    }
    return n;
  }

  async close(): Promise<void> {
    await this.cleaner.stop();
    await Promise.all([...this.opening.values()].map((p) => p.catch(() => undefined)));
    const logs = [...this.logs.values()].map((l) => l.log);
    await Promise.all(logs.map((l) => l.close()));
    this.logs.clear();
  }
}

/** Forget a log in the manager once it is closed or deleted, so a later open() reopens it. */
function wrapClose(log: FilePartitionLog, forget: () => void): FilePartitionLog {
  const close = log.close.bind(log);
  const del = log.delete.bind(log);
  log.close = async () => {
    forget();
    await close();
  };
  log.delete = async () => {
    forget();
    await del();
  };
  return log;
}

export function createLogManager(opts: FileLogManagerOptions): FileLogManager {
  return new FileLogManager(opts);
}

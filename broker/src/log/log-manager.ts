/**
 * The broker's LogManager: opens partition logs under one data directory and owns the group
 * committer they share, so one flush round covers every partition that asked for sync.
 */
import path from 'node:path';
import type { Logger } from 'pino';
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
  private readonly logs = new Map<string, FilePartitionLog>();
  private readonly opening = new Map<string, Promise<FilePartitionLog>>();

  constructor(opts: FileLogManagerOptions) {
    this.dataDir = opts.dataDir;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.committer = new GroupCommitter({ lingerMs: opts.lingerMs ?? 0 });
  }

  /** Counters of the group committer (rounds, file fsyncs, writes, bytes). */
  stats(): GroupCommitStats {
    return { ...this.committer.stats };
  }

  open(topic: string, partition: number, config: LogConfig): Promise<FilePartitionLog> {
    const name = partitionDirName(topic, partition);
    const existing = this.logs.get(name);
    if (existing) {
      existing.updateConfig(config);
      return Promise.resolve(existing);
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
          this.logs.set(name, wrapClose(log, () => this.logs.delete(name)));
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
    return [...this.logs.values()];
  }

  /** Applies retention to every open log; returns the number of segments deleted. */
  async applyRetention(now = this.now()): Promise<number> {
    let n = 0;
    for (const log of this.logs.values()) {
      try {
        n += await log.applyRetention(now);
      } catch (err) {
        this.logger.error({ err, dir: log.dir }, 'retention failed');
      }
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.opening.values()].map((p) => p.catch(() => undefined)));
    const logs = [...this.logs.values()];
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

/**
 * Brokers' raft hosts in one process, each with its own data directory, log manager and
 * hard-state journal, joined by an in-memory network that delivers on a later turn and can
 * drop messages. What runs on each broker is up to the test (`open`).
 */
import path from 'node:path';
import { createLogManager, type FileLogManager } from '../../src/log/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Message } from '../../src/raft/types.js';
import { HardStateJournal } from '../../src/replication/hard-state-journal.js';
import { RaftHost } from '../../src/replication/raft-host.js';
import { removeDir, tmpDataDir } from './tmp.js';

export interface NetBroker<T> {
  readonly id: number;
  readonly dir: string;
  readonly host: RaftHost;
  readonly logs: FileLogManager;
  readonly journal: HardStateJournal;
  readonly app: T;
  up: boolean;
}

export interface OpenContext {
  readonly id: number;
  readonly host: RaftHost;
  readonly logs: FileLogManager;
  readonly journal: HardStateJournal;
}

export interface RaftNetOptions<T> {
  readonly open: (ctx: OpenContext) => Promise<T>;
  readonly close: (app: T) => void | Promise<void>;
  readonly tickMs?: number;
  readonly cacheBytesPerGroup?: number;
}

export class RaftNet<T> {
  readonly brokers = new Map<number, NetBroker<T>>();
  private readonly dirs: string[] = [];
  drop: (from: number, to: number, m: Message) => boolean = () => false;

  constructor(private readonly opts: RaftNetOptions<T>) {}

  async start(id: number, dir?: string): Promise<NetBroker<T>> {
    const dataDir = dir ?? tmpDataDir('chronik-raft-');
    if (!dir) this.dirs.push(dataDir);
    const logger = silentLogger();
    const logs = createLogManager({ dataDir, logger });
    const journal = await HardStateJournal.open(path.join(dataDir, 'raft'), logs.committer, logger);
    const host = new RaftHost({
      nodeId: id,
      logger,
      tickMs: this.opts.tickMs ?? 10,
      ...(this.opts.cacheBytesPerGroup !== undefined ? { cacheBytesPerGroup: this.opts.cacheBytesPerGroup } : {}),
      sink: {
        send: (to, messages) => {
          const target = this.brokers.get(to);
          if (!target?.up) return true;
          const kept = messages.filter((m) => !this.drop(id, to, m));
          if (kept.length > 0) setImmediate(() => target.up && target.host.receive(id, kept));
          return true;
        },
        quiesce: (to, groups) => {
          const target = this.brokers.get(to);
          if (target?.up) setImmediate(() => target.up && target.host.receiveQuiesce(id, groups));
        },
      },
    });
    const app = await this.opts.open({ id, host, logs, journal });
    host.start();
    const b: NetBroker<T> = { id, dir: dataDir, host, logs, journal, app, up: true };
    this.brokers.set(id, b);
    return b;
  }

  /** Stops a broker; what was fsynced stays on disk. */
  async kill(id: number): Promise<void> {
    const b = this.brokers.get(id);
    if (!b || !b.up) return;
    b.up = false;
    // What the transport's liveness beats would tell the others.
    for (const other of this.brokers.values()) if (other.up) other.host.peerDown(id);
    await b.host.stop();
    await this.opts.close(b.app);
    await b.logs.close();
    b.journal.close();
  }

  async restart(id: number): Promise<NetBroker<T>> {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    await this.kill(id);
    return this.start(id, b.dir);
  }

  running(): NetBroker<T>[] {
    return [...this.brokers.values()].filter((b) => b.up);
  }

  async until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const id of this.brokers.keys()) await this.kill(id);
    for (const d of this.dirs) removeDir(d);
  }
}

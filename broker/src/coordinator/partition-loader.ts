/**
 * Loads the partitions of an internal topic (internal-topic.ts) that this broker leads and
 * forgets those it no longer leads: the coordinator of a key is the leader of its partition,
 * loaded when elected (not by replaying everything at start-up), as Kafka's coordinators do.
 *
 * A load waits until everything committed before the election is readable (a new leader's high
 * watermark reaches its log end once its first entry commits), replays the partition up to there,
 * and only then serves it. Work that arrives for a partition while it loads (a transaction marker
 * written to it) is held and run after the replay if the replay did not already cover it.
 */
import type { Cluster } from '../cluster/types.js';
import { realTimers, type Timers } from '../platform/timers.js';
import type { CoordinatorLogger } from './group-types.js';
import type { InternalTopic } from './internal-topic.js';

export interface PartitionLoadHooks {
  /** Replays the partition up to `end` into the coordinator's state. */
  replay(partition: number, end: number, stillLeader: () => boolean): Promise<{ records: number; skipped: number }>;
  /** The replay is done; `epoch` is the leader epoch it was loaded under. Returns how many keys it holds. */
  loaded(partition: number, epoch: number): number;
  /** Forget the partition's state (leadership ended, or the load failed). Returns how many keys went. */
  unload(partition: number): number;
}

const LOAD_POLL_MS = 20;

interface Deferred {
  readonly offset: number;
  readonly run: () => void;
}

export class PartitionLoader {
  private closed = false;
  private readonly deferred = new Map<number, Deferred[]>();

  constructor(
    private readonly topic: InternalTopic,
    private readonly cluster: Cluster,
    private readonly hooks: PartitionLoadHooks,
    private readonly logger: CoordinatorLogger,
    /** The load's polling and timing (a seam for the system simulator's virtual clock). */
    private readonly timers: Timers = realTimers,
  ) {}

  /** Loads what this broker leads now and forgets what it no longer leads. */
  reconcile(): void {
    if (this.closed || !this.topic.exists()) return;
    for (let partition = 0; partition < this.topic.partitions; partition++) {
      const leading = this.topic.leads(partition);
      if (leading && !this.topic.isLoaded(partition) && !this.topic.isLoading(partition)) void this.load(partition);
      else if (!leading && this.topic.isLoaded(partition)) {
        const n = this.hooks.unload(partition);
        this.topic.markUnloaded(partition);
        this.deferred.delete(partition);
        this.logger.info({ topic: this.topic.name, partition, keys: n }, 'no longer leading a coordinator partition; its state moves with it');
      }
    }
  }

  /**
   * Runs `fn` for a change that reached `partition` at `offset`: now when the partition is loaded,
   * after its load when it is loading and the load's replay ends at or before `offset`, never
   * when this broker does not coordinate it.
   */
  whenLoaded(partition: number, offset: number, fn: () => void): void {
    if (this.topic.isLoaded(partition)) fn();
    else if (this.topic.isLoading(partition)) {
      const list = this.deferred.get(partition) ?? [];
      list.push({ offset, run: fn });
      this.deferred.set(partition, list);
    }
  }

  private async load(partition: number): Promise<void> {
    const started = this.timers.now();
    this.topic.markLoading(partition);
    try {
      let p = this.cluster.partition(this.topic.name, partition);
      while (!this.closed && p !== undefined && p.isLeader() && p.highWatermark() < p.logEndOffset()) {
        await new Promise<void>((r) => this.timers.setTimeout(r, LOAD_POLL_MS));
        p = this.cluster.partition(this.topic.name, partition);
      }
      if (this.closed || p === undefined || !p.isLeader()) throw new Error('leadership ended before loading');
      const epoch = p.leaderEpoch();
      const end = p.highWatermark();
      const replayed = await this.hooks.replay(partition, end, () => this.topic.leads(partition));
      if (!this.topic.leads(partition) || p.leaderEpoch() !== epoch) throw new Error('leadership ended while loading');
      const keys = this.hooks.loaded(partition, epoch);
      this.topic.markLoaded(partition);
      const held = this.deferred.get(partition) ?? [];
      this.deferred.delete(partition);
      for (const d of held) if (d.offset >= end) d.run();
      this.logger.info(
        { topic: this.topic.name, partition, epoch, records: replayed.records, skipped: replayed.skipped, keys, ms: Math.round(this.timers.now() - started) },
        'coordinator partition loaded',
      );
    } catch (err) {
      this.hooks.unload(partition);
      this.topic.markUnloaded(partition);
      this.deferred.delete(partition);
      if (!this.closed) this.logger.info({ topic: this.topic.name, partition, reason: err instanceof Error ? err.message : String(err) }, 'coordinator partition not loaded');
    }
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * The single-broker cluster: this broker is the only broker, the controller and the leader of
 * every partition. Metadata changes are records applied by applyMetadataRecord and persisted as
 * an fsynced snapshot before they take effect, so the metadata raft group can later take over
 * the same records.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerConfig, BrokerSettings } from '../config/index.js';
import { ProducerStateTable } from '../coordinator/producer-state.js';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { LogConfig, LogManager } from '../log/types.js';
import { AppendLock } from '../replication/append-lock.js';
import { LocalPartition, type PartitionLimits } from '../replication/local-partition.js';
import type { ProducerStateFactory } from '../replication/producer-state-port.js';
import type { DataPartition } from '../replication/types.js';
import { applyMetadataRecord, type MetadataRecord, type MetadataState } from './metadata-state.js';
import { loadMetadata, saveMetadata } from './metadata-store.js';
import { brokerDefaultFor, topicConfigDefs, validateTopicConfig } from './topic-configs.js';
import { MAX_PARTITIONS_PER_TOPIC } from './topic-limits.js';
import { collisionKey, validateTopicName } from './topic-names.js';
import { placementFor, type Placement } from './placement.js';
import type { BrokerInfo, CreateTopicSpec, DataCluster, PartitionView, TopicInfo } from './types.js';

export { MAX_PARTITIONS_PER_TOPIC };

export interface LocalClusterOptions {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly logManager: LogManager;
  /** Producer-state table per partition; defaults to the coordinator's ProducerStateTable. */
  readonly producerStateFactory?: ProducerStateFactory;
  readonly now?: () => number;
}

export interface LocalCluster extends DataCluster {
  /** One retention pass over every partition (also run every log.retention.check.interval.ms). */
  applyRetention(now?: number): Promise<number>;
  /** Closes every partition log (the LogManager itself belongs to the caller). */
  close(): Promise<void>;
}

const SAFE_INTEGER_LIMIT = 2 ** 53;

function toNumber(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) return fallback;
  return n;
}

class LocalClusterImpl implements LocalCluster {
  readonly nodeId: number;
  private state: MetadataState;
  private readonly partitions = new Map<string, LocalPartition[]>();
  /** Metadata changes run one at a time: validation, persistence and log opening together. */
  private readonly metaLock = new AppendLock();
  private closed = false;
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRunning = false;
  private byId = new Map<string, TopicInfo>();
  private byIdVersion = -1;

  constructor(
    private readonly opts: LocalClusterOptions,
    state: MetadataState,
  ) {
    this.nodeId = opts.config.nodeId;
    this.state = state;
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  brokers(): readonly BrokerInfo[] {
    const c = this.opts.config;
    return [{ nodeId: c.nodeId, host: c.advertisedHost, port: c.advertisedPort, rack: c.rack }];
  }

  controllerId(): number {
    return this.nodeId;
  }

  topics(): readonly TopicInfo[] {
    return [...this.state.topics.values()];
  }

  topic(name: string): TopicInfo | undefined {
    return this.state.topics.get(name);
  }

  topicById(topicId: string): TopicInfo | undefined {
    // Fetch v13+ resolves ids on every request: index them once per metadata version.
    if (this.byIdVersion !== this.state.version) {
      this.byId = new Map([...this.state.topics.values()].map((t) => [t.topicId, t]));
      this.byIdVersion = this.state.version;
    }
    return this.byId.get(topicId);
  }

  partitionView(topic: string, partition: number): PartitionView | undefined {
    const p = this.partitions.get(topic)?.[partition];
    if (p === undefined) return undefined;
    return { leader: this.nodeId, leaderEpoch: p.leaderEpoch(), replicas: [this.nodeId], isr: [this.nodeId], offline: [] };
  }

  placement(): Placement {
    return placementFor(this.state);
  }

  partitionLeader(topic: string, partition: number): number {
    return this.partitions.get(topic)?.[partition] !== undefined ? this.nodeId : -1;
  }

  partition(topic: string, partition: number): DataPartition | undefined {
    return this.partitions.get(topic)?.[partition];
  }

  brokerSettings(): BrokerSettings {
    return this.opts.config.settings;
  }

  autoCreateTopics(): boolean {
    return this.opts.config.settings.get('auto.create.topics.enable');
  }

  topicConfig(name: string, key: string): string | undefined {
    return this.effectiveConfig(this.state.topics.get(name), key);
  }

  /** Topic override, else broker default, for a topic that may not be published yet. */
  private effectiveConfig(t: TopicInfo | undefined, key: string): string | undefined {
    const override = t?.configs[key];
    if (override !== undefined) return override;
    const def = topicConfigDefs.get(key);
    return def ? brokerDefaultFor(def, this.opts.config.settings).value : undefined;
  }

  createTopic(spec: CreateTopicSpec, validateOnly = false): Promise<TopicInfo> {
    return this.metaLock.run(async () => {
      this.ensureOpen();
      validateTopicName(spec.name);
      if (this.state.topics.has(spec.name)) {
        throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists`);
      }
      const key = collisionKey(spec.name);
      for (const other of this.state.topics.keys()) {
        if (collisionKey(other) === key) {
          throw new KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            `Topic '${spec.name}' collides with existing topic '${other}' ('.' and '_' are interchangeable in metric names)`,
          );
        }
      }
      const partitions = spec.partitions === -1 ? this.opts.config.settings.get('num.partitions') : spec.partitions;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
        throw new KafkaError(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${spec.partitions}`,
        );
      }
      const rf =
        spec.replicationFactor === -1 ? (this.opts.config.settings.get('default.replication.factor') ?? 1) : spec.replicationFactor;
      if (rf !== 1) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor ${rf} is not possible: this cluster has 1 broker, so it must be 1`,
        );
      }
      const configs: Record<string, string> = {};
      for (const [k, v] of Object.entries(spec.configs)) configs[k] = validateTopicConfig(k, v);
      const info: TopicInfo = {
        name: spec.name,
        topicId: randomUUID(),
        partitions,
        replicationFactor: rf,
        internal: spec.internal ?? false,
        configs,
      };
      if (validateOnly) return info;
      const assignments = Array.from({ length: partitions }, () => [this.nodeId]);
      await this.commit({ type: 'create-topic', ...info, assignments }, () => this.openPartitions(info, 0, info.partitions, true));
      this.opts.logger.info({ topic: info.name, topicId: info.topicId, partitions }, 'topic created');
      return this.state.topics.get(info.name) ?? info;
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.metaLock.run(async () => {
      this.ensureOpen();
      const t = this.requireTopic(name);
      if (t.internal) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' is internal and cannot be deleted`);
      }
      await this.commit({ type: 'delete-topic', name });
      const parts = this.partitions.get(name) ?? [];
      this.partitions.delete(name);
      // Metadata already says the topic is gone; a failed directory removal is logged, not fatal.
      const results = await Promise.allSettled(parts.map((p) => p.delete()));
      for (const r of results) {
        if (r.status === 'rejected') this.opts.logger.error({ err: r.reason, topic: name }, 'removing a partition directory failed');
      }
      this.opts.logger.info({ topic: name }, 'topic deleted');
    });
  }

  createPartitions(name: string, totalCount: number, validateOnly = false): Promise<void> {
    return this.metaLock.run(async () => {
      this.ensureOpen();
      const t = this.requireTopic(name);
      if (!Number.isInteger(totalCount) || totalCount <= t.partitions) {
        throw new KafkaError(
          ErrorCode.INVALID_PARTITIONS,
          totalCount === t.partitions
            ? `Topic '${name}' already has ${t.partitions} partitions`
            : `Topic '${name}' has ${t.partitions} partitions; the count can only grow, not become ${totalCount}`,
        );
      }
      if (totalCount > MAX_PARTITIONS_PER_TOPIC) {
        throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions may not exceed ${MAX_PARTITIONS_PER_TOPIC}`);
      }
      if (validateOnly) return;
      const assignments = Array.from({ length: totalCount - t.partitions }, () => [this.nodeId]);
      await this.commit({ type: 'create-partitions', name, totalCount, assignments }, () =>
        this.openPartitions({ ...t, partitions: totalCount }, t.partitions, totalCount, true),
      );
      this.opts.logger.info({ topic: name, partitions: totalCount }, 'partitions added');
    });
  }

  alterTopicConfigs(
    name: string,
    configs: Readonly<Record<string, string | null>>,
    incremental: boolean,
    validateOnly = false,
  ): Promise<void> {
    return this.metaLock.run(async () => {
      this.ensureOpen();
      const t = this.requireTopic(name);
      const next: Record<string, string> = incremental ? { ...t.configs } : {};
      for (const [k, v] of Object.entries(configs)) {
        if (v === null) {
          if (!topicConfigDefs.has(k)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${k}`);
          delete next[k];
        } else {
          next[k] = validateTopicConfig(k, v);
        }
      }
      if (validateOnly) return;
      await this.commit({ type: 'set-topic-configs', name, configs: next });
      const logConfig = this.logConfigFor(name);
      for (const p of this.partitions.get(name) ?? []) p.log.updateConfig(logConfig);
    });
  }

  /**
   * Applies retention to every partition once; returns how many segments were deleted. Runs
   * on a timer (log.retention.check.interval.ms) and may be called directly.
   */
  async applyRetention(now = (this.opts.now ?? Date.now)()): Promise<number> {
    let deleted = 0;
    for (const [topic, parts] of this.partitions) {
      for (const p of parts) {
        try {
          deleted += await p.applyRetention(now);
        } catch (err) {
          this.opts.logger.error({ err, topic, partition: p.partition }, 'retention failed');
        }
      }
    }
    if (deleted > 0) this.opts.logger.info({ segments: deleted }, 'retention deleted segments');
    return deleted;
  }

  startRetention(): void {
    const every = this.opts.config.settings.get('log.retention.check.interval.ms');
    this.retentionTimer = setInterval(() => {
      if (this.retentionRunning || this.closed) return;
      this.retentionRunning = true;
      this.applyRetention()
        .catch((err: unknown) => this.opts.logger.error({ err }, 'retention pass failed'))
        .finally(() => {
          this.retentionRunning = false;
        });
    }, every);
    // Retention alone must never keep the process alive.
    this.retentionTimer.unref();
  }

  async close(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    await this.metaLock.run(async () => {
      if (this.closed) return;
      this.closed = true;
      const all = [...this.partitions.values()].flat();
      this.partitions.clear();
      await Promise.all(all.map((p) => p.close()));
    });
  }

  /** Opens the logs of every known topic at start-up. */
  async openAll(): Promise<void> {
    for (const t of this.state.topics.values()) await this.openPartitions(t, 0, t.partitions);
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'The broker is shutting down');
  }

  private requireTopic(name: string): TopicInfo {
    const t = this.state.topics.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
    return t;
  }

  /**
   * Persists the record's resulting state, runs `beforePublish` (opening new partition logs),
   * then makes the state visible. Readers such as Metadata therefore never see a topic or
   * partition whose log is not open yet; the state is published even if `beforePublish`
   * fails, so memory always matches what is on disk.
   */
  private async commit(record: MetadataRecord, beforePublish?: () => Promise<void>): Promise<void> {
    const next = applyMetadataRecord(this.state, record);
    await saveMetadata(this.opts.config.dataDir, next);
    try {
      await beforePublish?.();
    } finally {
      this.state = next;
    }
  }

  /**
   * Opens (creating if needed) partitions [from, to). `fresh` partitions must start empty: data
   * found there is a leftover of a deleted topic of the same name (a crash between the
   * metadata change and the directory removal), so it is removed rather than served.
   */
  private async openPartitions(info: TopicInfo, from: number, to: number, fresh = false): Promise<void> {
    const name = info.name;
    const list = this.partitions.get(name) ?? [];
    this.partitions.set(name, list);
    const logConfig = this.logConfigFor(name, info);
    const factory = this.opts.producerStateFactory ?? (() => new ProducerStateTable());
    const opened = await Promise.all(
      Array.from({ length: to - from }, async (_, i) => {
        const partition = from + i;
        let log = await this.opts.logManager.open(name, partition, logConfig);
        if (fresh && (log.logEndOffset() > 0 || log.logStartOffset() > 0)) {
          this.opts.logger.warn({ topic: name, partition, endOffset: log.logEndOffset() }, 'removing leftover data of a deleted topic');
          await log.delete();
          log = await this.opts.logManager.open(name, partition, logConfig);
        }
        return LocalPartition.open({
          topic: name,
          partition,
          log,
          producerState: factory(name, partition),
          limits: () => this.limitsFor(name),
          logger: this.opts.logger,
          ...(this.opts.now ? { now: this.opts.now } : {}),
        });
      }),
    );
    opened.forEach((p, i) => {
      list[from + i] = p;
    });
  }

  private num(t: TopicInfo | undefined, key: string): number {
    const def = topicConfigDefs.get(key);
    return toNumber(this.effectiveConfig(t, key), def ? Number(def.defaultValue) : 0);
  }

  private limitsFor(name: string): PartitionLimits {
    const t = this.state.topics.get(name);
    const diff = this.num(t, 'message.timestamp.difference.max.ms');
    return {
      maxMessageBytes: this.num(t, 'max.message.bytes'),
      timestampType: this.effectiveConfig(t, 'message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
      timestampDifferenceMaxMs: diff >= SAFE_INTEGER_LIMIT ? Infinity : diff,
    };
  }

  logConfigFor(name: string, t: TopicInfo | undefined = this.state.topics.get(name)): LogConfig {
    return {
      segmentBytes: this.num(t, 'segment.bytes'),
      segmentMs: this.num(t, 'segment.ms'),
      retentionMs: this.num(t, 'retention.ms'),
      retentionBytes: this.num(t, 'retention.bytes'),
      indexIntervalBytes: this.num(t, 'index.interval.bytes'),
      cleanupPolicy: this.effectiveConfig(t, 'cleanup.policy') ?? 'delete',
      timestampType: this.effectiveConfig(t, 'message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    };
  }
}

/** Loads (or creates) the metadata in `<dataDir>/__meta/` and opens every partition log. */
export async function openLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const { state, fresh } = await loadMetadata(opts.config.dataDir, opts.config.nodeId);
  if (fresh) await saveMetadata(opts.config.dataDir, state);
  const cluster = new LocalClusterImpl(opts, state);
  await cluster.openAll();
  cluster.startRetention();
  opts.logger.info({ clusterId: state.clusterId, topics: state.topics.size }, 'cluster metadata loaded');
  return cluster;
}

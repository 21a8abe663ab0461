/**
 * The coordinator module's public surface: consumer groups, committed offsets and producer ids.
 * The Kafka APIs that expose them (kafka/apis/) use the interfaces exported here.
 *
 * Groups live in `__consumer_offsets`; the coordinator of a group is the leader of its partition,
 * which loads the partition's groups when elected (they come back Empty with their offsets and
 * generation) and drops them when it resigns. See offsets-topic-store.ts.
 */
import type { Cluster } from '../cluster/types.js';
import type { BrokerConfig } from '../config/index.js';
import { GroupCoordinator, groupConfig, type CoordinatorLogger, type GroupConfig } from './group-coordinator.js';
import type { GroupMembership } from './group-membership.js';
import type { GroupOffsets } from './group-offsets.js';
import { OFFSETS_TOPIC } from './group-partition.js';
import { OffsetsTopicStore } from './offsets-topic-store.js';
import { ProducerIdAllocator } from './producer-ids.js';

export { ProducerStateTable, type SequenceCheck, type ProducerBatch } from './producer-state.js';
export { GroupCoordinator, type GroupConfig, type GroupOverview } from './group-coordinator.js';
export type { GroupMembership } from './group-membership.js';
export type { GroupOffsets } from './group-offsets.js';
export { AUTHORIZED_OPERATIONS_OMITTED, type FetchedOffset, type PartitionError } from './group-types.js';
export { OFFSETS_TOPIC, partitionForKey, javaHashCode } from './group-partition.js';

/** A broker as FindCoordinator names it. */
export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Hands out producer ids (fsync-backed blocks in production). */
export interface ProducerIdSource {
  allocate(): Promise<number>;
}

export interface CoordinatorOptions {
  readonly cluster: Cluster;
  readonly config: BrokerConfig;
  readonly logger: CoordinatorLogger;
  /**
   * Producer-id blocks from the cluster's metadata (the controller hands them out); without it
   * ids come from this broker's own fsync-backed range.
   */
  readonly producerIdBlocks?: () => Promise<{ firstProducerId: number; size: number }>;
  /** Leadership of partitions changed (the coordinator re-checks which offsets partitions it leads). */
  readonly onLeadershipChange?: (listener: (topic: string, partition: number) => void) => void;
}

export interface Coordinator {
  /** The group coordinator itself (admin API, tests). */
  readonly groups: GroupCoordinator;
  readonly membership: GroupMembership;
  readonly offsets: GroupOffsets;
  readonly producerIds: ProducerIdSource;
  /**
   * The broker coordinating `key` (a group or transactional id): the leader of its offsets
   * partition, anywhere in the cluster; null while there is none (the first call creates the
   * offsets topic).
   */
  coordinatorFor(key: string, keyType: number): Promise<CoordinatorNode | null>;
  close(): Promise<void>;
}

/** The broker settings the coordinator reads. */
export interface CoordinatorSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly group: GroupConfig;
}

export function coordinatorSettings(config: BrokerConfig): CoordinatorSettings {
  const s = config.settings;
  return {
    offsetsTopicPartitions: s.get('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: s.get('offsets.topic.replication.factor'),
    offsetsTopicSegmentBytes: s.get('offsets.topic.segment.bytes'),
    offsetsRetentionCheckIntervalMs: s.get('offsets.retention.check.interval.ms'),
    group: groupConfig(s),
  };
}

/** Producer ids in blocks the controller hands out (unique cluster-wide, durable in metadata). */
class BlockProducerIds implements ProducerIdSource {
  private next = 0;
  private end = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly blocks: () => Promise<{ firstProducerId: number; size: number }>) {}

  allocate(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.next >= this.end) {
        const b = await this.blocks();
        this.next = b.firstProducerId;
        this.end = b.firstProducerId + b.size;
      }
      return this.next++;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

const RECONCILE_EVERY_MS = 1000;
const LOAD_POLL_MS = 20;
/** How long FindCoordinator waits for a leader of the group's partition before answering 15. */
const COORDINATOR_WAIT_MS = 3000;

export async function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  const { cluster, config, logger } = opts;
  const settings = coordinatorSettings(config);

  const store = new OffsetsTopicStore({
    cluster,
    partitions: settings.offsetsTopicPartitions,
    replicationFactor: () => Math.min(settings.offsetsTopicReplicationFactor, Math.max(cluster.brokers().length, 1)),
    segmentBytes: settings.offsetsTopicSegmentBytes,
    logger,
  });
  const groups = new GroupCoordinator({
    store,
    config: settings.group,
    logger,
    partitionExists: (topic, partition) => {
      const t = cluster.topic(topic);
      return t !== undefined && Number.isInteger(partition) && partition >= 0 && partition < t.partitions;
    },
  });
  const producerIds: ProducerIdSource = opts.producerIdBlocks
    ? new BlockProducerIds(opts.producerIdBlocks)
    : await ProducerIdAllocator.open(config.dataDir, config.nodeId);
  let closed = false;

  const leads = (partition: number): boolean => cluster.partition(OFFSETS_TOPIC, partition)?.isLeader() ?? false;
  const inPartition = (partition: number) => (groupId: string) => store.partitionFor(groupId) === partition;

  /** Loads a partition this broker now leads, once everything committed before is readable. */
  const load = async (partition: number): Promise<void> => {
    const started = Date.now();
    store.markLoading(partition);
    try {
      let p = cluster.partition(OFFSETS_TOPIC, partition);
      // A new leader's high watermark reaches its log end once its first entry commits.
      while (!closed && p !== undefined && p.isLeader() && p.highWatermark() < p.logEndOffset()) {
        await new Promise((r) => setTimeout(r, LOAD_POLL_MS));
        p = cluster.partition(OFFSETS_TOPIC, partition);
      }
      if (closed || p === undefined || !p.isLeader()) throw new Error('leadership ended before loading');
      const end = p.highWatermark();
      const replayed = await store.replayPartition(partition, end, (key, value) => groups.applyRecord(key, value), () => leads(partition));
      if (!leads(partition)) throw new Error('leadership ended while loading');
      groups.finishLoading(inPartition(partition));
      store.markLoaded(partition);
      logger.info({ partition, records: replayed.records, skipped: replayed.skipped, ms: Date.now() - started }, 'offsets partition loaded; coordinating its groups');
    } catch (err) {
      groups.unload(inPartition(partition));
      store.markUnloaded(partition);
      if (!closed) logger.info({ partition, reason: err instanceof Error ? err.message : String(err) }, 'offsets partition not loaded');
    }
  };

  /** Loads what this broker leads and forgets what it no longer leads. */
  const reconcile = (): void => {
    if (closed || cluster.topic(OFFSETS_TOPIC) === undefined) return;
    for (let partition = 0; partition < store.partitions; partition++) {
      const leading = leads(partition);
      if (leading && !store.isLoaded(partition) && !store.isLoading(partition)) void load(partition);
      else if (!leading && store.isLoaded(partition)) {
        const n = groups.unload(inPartition(partition));
        store.markUnloaded(partition);
        logger.info({ partition, groups: n }, 'no longer leading an offsets partition; its groups move with it');
      }
    }
  };
  opts.onLeadershipChange?.((topic) => {
    if (topic === OFFSETS_TOPIC) reconcile();
  });
  reconcile();
  const reconciler = setInterval(reconcile, RECONCILE_EVERY_MS);
  reconciler.unref();

  const leaderNode = (key: string): CoordinatorNode | null => {
    const leader = cluster.partitionLeader(OFFSETS_TOPIC, store.partitionFor(key));
    if (leader < 0) return null;
    const b = cluster.brokers().find((x) => x.nodeId === leader);
    if (b !== undefined) return b;
    return leader === cluster.nodeId ? { nodeId: cluster.nodeId, host: config.advertisedHost, port: config.advertisedPort } : null;
  };
  /**
   * The first request for a coordinator creates the offsets topic; the answer waits a little for
   * the partition's leader (elections of new partitions take one round trip), so clients need not
   * back off and retry on a fresh cluster.
   */
  const coordinatorFor = async (key: string): Promise<CoordinatorNode | null> => {
    if (cluster.topic(OFFSETS_TOPIC) === undefined) {
      try {
        await store.ensureTopic();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'creating the offsets topic failed');
        return null;
      }
      reconcile();
    }
    const deadline = Date.now() + COORDINATOR_WAIT_MS;
    for (;;) {
      const node = leaderNode(key);
      // Here, also wait for the partition's groups to load, so the client's next request is served.
      const ready = node !== null && (node.nodeId !== cluster.nodeId || store.isLoaded(store.partitionFor(key)));
      if (ready || closed || Date.now() >= deadline) return node;
      await new Promise((r) => setTimeout(r, LOAD_POLL_MS));
    }
  };

  let expiring = false;
  const retention = setInterval(() => {
    if (expiring) return;
    expiring = true;
    groups
      .expireOffsets()
      .then((n) => {
        if (n > 0) logger.info({ expired: n }, 'expired committed offsets');
      })
      .catch((err: unknown) => logger.error({ err }, 'offset expiry failed'))
      .finally(() => {
        expiring = false;
      });
  }, settings.offsetsRetentionCheckIntervalMs).unref();

  return {
    groups,
    membership: groups.membership,
    offsets: groups.offsets,
    producerIds,
    coordinatorFor,
    close() {
      closed = true;
      clearInterval(retention);
      clearInterval(reconciler);
      groups.close();
      return Promise.resolve();
    },
  };
}

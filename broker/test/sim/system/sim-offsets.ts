/**
 * A broker's group coordinator in the system simulator: the real GroupCoordinator (commit and
 * fetch path, group lock, in-memory offsets), the real OffsetsTopicStore (offsets record
 * encoding, acks=-1 appends, replay) and the real PartitionLoader (load on election, unload on
 * resignation, the broker's load hooks) over the broker's RaftPartition replica of
 * `__consumer_offsets`-0, on the broker incarnation's virtual timers.
 *
 * The only glue is the Cluster the coordinator sees: one internal topic with one partition,
 * this broker's replica of it. Leadership changes reach the loader as they do in the broker
 * (the replica's state-change callback, plus the same once-a-second reconcile).
 */
import type { Logger } from 'pino';
import type { Cluster, TopicInfo } from '../../../src/cluster/types.js';
import { GroupCoordinator, type Scheduler } from '../../../src/coordinator/group-coordinator.js';
import { OFFSETS_TOPIC } from '../../../src/coordinator/group-partition.js';
import { offsetsLoadHooks, OffsetsTopicStore, type ReplayVisitor } from '../../../src/coordinator/offsets-topic-store.js';
import { PartitionLoader } from '../../../src/coordinator/partition-loader.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import type { TimerHandle } from '../../../src/platform/timers.js';
import type { RaftPartition } from '../../../src/replication/raft-partition.js';
import type { NodeTimers } from './sim-loop.js';

/** The raft group of `__consumer_offsets`-0 (the data partitions use 100.., metadata 0). */
export const OFFSETS_RAFT_GROUP = 90;
/** How often the broker re-checks which offsets partitions it leads (index.ts RECONCILE_EVERY_MS). */
const RECONCILE_EVERY_MS = 1000;

export interface OffsetsNode {
  readonly replica: RaftPartition;
  readonly groups: GroupCoordinator;
  readonly loader: PartitionLoader;
  /** Whether this broker has loaded the partition (it serves commits and fetches). */
  loaded(): boolean;
}

export interface OffsetsNodeOptions {
  readonly nodeId: number;
  readonly replica: RaftPartition;
  readonly replicas: readonly number[];
  readonly timers: NodeTimers;
  readonly now: () => number;
  readonly logger: Logger;
  /** Whether a committed (topic, partition) exists (the coordinator refuses others). */
  readonly partitionExists: (topic: string, partition: number) => boolean;
  /** The planted bug 'offsets-lost': loads drop the partition's last offset record. */
  readonly dropLastOnLoad: boolean;
}

export function openOffsetsNode(o: OffsetsNodeOptions): OffsetsNode {
  const cluster = new OffsetsCluster(o.nodeId, o.replica, o.replicas);
  const store = new OffsetsTopicStore({ cluster, partitions: 1, replicationFactor: () => o.replicas.length, logger: o.logger, now: o.now });
  const scheduler: Scheduler = {
    now: o.now,
    setTimer: (ms, fn) => o.timers.setTimeout(fn, ms),
    clearTimer: (t) => o.timers.clearTimeout(t as TimerHandle),
  };
  let members = 0;
  const groups = new GroupCoordinator({
    store,
    scheduler,
    logger: o.logger,
    partitionExists: o.partitionExists,
    newMemberId: (clientId) => `${clientId}-b${o.nodeId}-${members++}`,
  });
  if (o.dropLastOnLoad) plantOffsetsLost(store);
  const loader = new PartitionLoader(store, cluster, offsetsLoadHooks(store, groups), o.logger, o.timers);
  o.replica.onStateChange = () => loader.reconcile();
  o.timers.setInterval(() => loader.reconcile(), RECONCILE_EVERY_MS);
  loader.reconcile();
  return { replica: o.replica, groups, loader, loaded: () => store.isLoaded(0) };
}

/** The cluster as the coordinator of one broker sees it: `__consumer_offsets` with one partition, here. */
class OffsetsCluster implements Cluster {
  readonly clusterId = 'sim';
  private readonly info: TopicInfo;

  constructor(
    readonly nodeId: number,
    private readonly replica: RaftPartition,
    replicas: readonly number[],
  ) {
    this.info = { name: OFFSETS_TOPIC, topicId: '00000000-0000-4000-8000-00000000000f', partitions: 1, replicationFactor: replicas.length, internal: true, configs: { 'cleanup.policy': 'compact' } };
  }

  brokers(): [] {
    return [];
  }
  controllerId(): number {
    return -1;
  }
  topics(): readonly TopicInfo[] {
    return [this.info];
  }
  topic(name: string): TopicInfo | undefined {
    return name === OFFSETS_TOPIC ? this.info : undefined;
  }
  topicById(topicId: string): TopicInfo | undefined {
    return topicId === this.info.topicId ? this.info : undefined;
  }
  partition(topic: string, partition: number): RaftPartition | undefined {
    return topic === OFFSETS_TOPIC && partition === 0 ? this.replica : undefined;
  }
  partitionLeader(topic: string, partition: number): number {
    return topic === OFFSETS_TOPIC && partition === 0 ? (this.replica.leader()?.nodeId ?? -1) : -1;
  }
  partitionView(): undefined {
    return undefined;
  }
  topicConfig(name: string, key: string): string | undefined {
    return name === OFFSETS_TOPIC ? this.info.configs[key] : undefined;
  }
  createTopic(): Promise<TopicInfo> {
    return Promise.reject(new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `${OFFSETS_TOPIC} exists from the start in the simulator`));
  }
  deleteTopic(): Promise<void> {
    return Promise.reject(unsupported());
  }
  createPartitions(): Promise<void> {
    return Promise.reject(unsupported());
  }
  alterTopicConfigs(): Promise<void> {
    return Promise.reject(unsupported());
  }
  placement(): never {
    throw unsupported();
  }
}

function unsupported(): KafkaError {
  return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'not part of the simulated cluster');
}

/**
 * The planted bug 'offsets-lost': a load forgets the newest offset record of the partition (as
 * an off-by-one at the end of a replay would), so the last commit before a coordinator move
 * comes back as the one before it.
 */
function plantOffsetsLost(store: OffsetsTopicStore): void {
  const replay = store.replayPartition.bind(store);
  store.replayPartition = async (partition, end, visit, stillLeader) => {
    let held: Parameters<ReplayVisitor['record']> | null = null;
    const lossy: ReplayVisitor = {
      record: (key, value) => {
        if (held !== null) visit.record(...held);
        held = key.type === 'offset' ? [key, value] : null;
        if (held === null) visit.record(key, value);
      },
      txnRecord: (producerId, key, value) => visit.txnRecord(producerId, key, value),
      marker: (producerId, commit) => visit.marker(producerId, commit),
    };
    return replay(partition, end, lossy, stillLeader);
  };
}

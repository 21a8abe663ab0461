/**
 * The cluster as the API layer sees it. On a single broker it is a local metadata store
 * persisted with fsync; later the metadata raft group implements the same interface.
 */
import type { ReplicatedPartition } from '../replication/types.js';
import type { DataPartition } from '../replication/types.js';
import type { Placement } from './placement.js';
import type { BrokerSettings } from '../config/index.js';

export interface PartitionView {
  /** -1 while there is no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  /** Preferred leader first. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Replicas on brokers that are not live members. */
  readonly offline: readonly number[];
}

export interface BrokerInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface TopicInfo {
  readonly name: string;
  /** Lowercase hyphenated UUID, stable for the topic's life. */
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly internal: boolean;
  /** Only the configs set on the topic; defaults come from the broker config. */
  readonly configs: Readonly<Record<string, string>>;
}

export interface CreateTopicSpec {
  readonly name: string;
  /** -1 means the broker default (num.partitions). */
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
  readonly internal?: boolean;
}

export interface Cluster {
  readonly clusterId: string;
  readonly nodeId: number;
  brokers(): readonly BrokerInfo[];
  controllerId(): number;
  topics(): readonly TopicInfo[];
  topic(name: string): TopicInfo | undefined;
  topicById(topicId: string): TopicInfo | undefined;
  /** The partition if this broker hosts it (leader or follower), else undefined. */
  partition(topic: string, partition: number): ReplicatedPartition | undefined;
  /** Throws KafkaError (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_CONFIG, ...). */
  createTopic(spec: CreateTopicSpec, validateOnly?: boolean): Promise<TopicInfo>;
  deleteTopic(name: string): Promise<void>;
  createPartitions(name: string, totalCount: number, validateOnly?: boolean): Promise<void>;
  /** Replaces (incremental=false) or merges (true; null value deletes) the topic's configs. */
  alterTopicConfigs(name: string, configs: Readonly<Record<string, string | null>>, incremental: boolean, validateOnly?: boolean): Promise<void>;
  /** Effective value of a topic config: topic override, else broker default. */
  topicConfig(name: string, key: string): string | undefined;
  /** Node id of the partition's leader as this broker knows it, or -1 (none, or no such partition). */
  partitionLeader(topic: string, partition: number): number;
  /** Leader, epoch, replicas and ISR of a partition as this broker knows them; undefined if no such partition. */
  partitionView(topic: string, partition: number): PartitionView | undefined;
  /** Where new partitions' replicas would go (rack-aware, spread over the live brokers). */
  placement(): Placement;
}

/**
 * What the data and admin APIs need beyond Cluster: partitions with offset maintenance, and the
 * broker settings behind topic configs. The raft cluster implements it.
 */
export interface DataCluster extends Cluster {
  partition(topic: string, partition: number): DataPartition | undefined;
  /** The broker's settings, the fallback of every topic config. */
  brokerSettings(): BrokerSettings;
  /** auto.create.topics.enable. */
  autoCreateTopics(): boolean;
}

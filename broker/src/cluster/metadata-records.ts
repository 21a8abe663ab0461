/**
 * The records of the metadata log. The controller validates a command and proposes records;
 * every broker applies them in log order with applyMetadataRecord. A record therefore carries
 * everything its effect needs (no lookups of clocks, ids or configs at apply time).
 */

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type BrokerState = 'active' | 'decommissioning' | 'removed';
export const BROKER_STATES: readonly BrokerState[] = ['active', 'decommissioning', 'removed'];

/** A broker announcing itself: first start, or a restart (new incarnation) with maybe new addresses. */
export interface RegisterBrokerRecord {
  readonly type: 'register-broker';
  readonly nodeId: number;
  /** Unique per broker process start; a new one marks a restart. */
  readonly incarnationId: string;
  readonly kafka: Endpoint;
  readonly raft: Endpoint;
  readonly admin: Endpoint | null;
  readonly rack: string | null;
}

export interface SetBrokerStateRecord {
  readonly type: 'set-broker-state';
  readonly nodeId: number;
  readonly state: BrokerState;
}

export interface SetMaintenanceRecord {
  readonly type: 'set-maintenance';
  readonly nodeId: number;
  readonly maintenance: boolean;
}

/** The brokers that should be voters of the metadata group; every other live broker is a learner. */
export interface SetMetadataVotersRecord {
  readonly type: 'set-metadata-voters';
  readonly voters: readonly number[];
}

export interface CreateTopicRecord {
  readonly type: 'create-topic';
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly internal: boolean;
  readonly configs: Readonly<Record<string, string>>;
  /** Replicas of each partition, preferred leader first; one entry per partition. */
  readonly assignments: readonly (readonly number[])[];
}

export interface DeleteTopicRecord {
  readonly type: 'delete-topic';
  readonly name: string;
}

export interface CreatePartitionsRecord {
  readonly type: 'create-partitions';
  readonly name: string;
  readonly totalCount: number;
  /** Replicas of each new partition (totalCount - current count entries). */
  readonly assignments: readonly (readonly number[])[];
}

/** Replaces the topic's whole config override set. */
export interface SetTopicConfigsRecord {
  readonly type: 'set-topic-configs';
  readonly name: string;
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * The replica set of one partition. While a reassignment runs, `replicas` holds the target
 * replicas followed by the ones being removed, `addingReplicas` the target ones not caught up
 * yet and `removingReplicas` the old ones to drop; the target is `replicas - removingReplicas`
 * in order. A finished reassignment has both lists empty. Reordering `replicas` alone changes
 * the preferred leader.
 */
export interface AssignPartitionRecord {
  readonly type: 'assign-partition';
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/**
 * Leadership and ISR as the partition's Raft leader sees them. Leader epoch = Raft term, so
 * a report older than the recorded state is normal (it raced with a newer one) and is a no-op.
 * `topicId` guards against a report for a deleted topic landing on a new one of the same name.
 */
export interface PartitionStateRecord {
  readonly type: 'partition-state';
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/** Producer ids [firstProducerId, firstProducerId + size) belong to `nodeId`. */
export interface ProducerIdBlockRecord {
  readonly type: 'producer-id-block';
  readonly nodeId: number;
  readonly firstProducerId: number;
  readonly size: number;
}

/**
 * A rebalance run's progress as GetRebalanceStatus reports it. It lives in the image, so a new
 * controller after a failover goes on planning rounds of the run the old one started.
 */
export interface RebalanceProgress {
  readonly id: string;
  readonly leadersOnly: boolean;
  /** Bound on concurrent replica moves. */
  readonly maxMoves: number;
  readonly planned: number;
  readonly done: number;
  readonly finished: boolean;
  /**
   * The replica moves of this run started and not yet counted done. A controller taking the run
   * over counts those that finished in between from this list; without it, a move that completed
   * after the old controller's last count would stay planned and never done. Absent in records
   * written before it existed.
   */
  readonly moving?: readonly RunningRebalanceMove[];
}

/** A partition a rebalance is moving, named so that a recreated topic of the same name is not it. */
export interface RunningRebalanceMove {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
}

export interface SetRebalanceRecord {
  readonly type: 'set-rebalance';
  readonly progress: RebalanceProgress;
}

export type MetadataRecord =
  | RegisterBrokerRecord
  | SetBrokerStateRecord
  | SetMaintenanceRecord
  | SetMetadataVotersRecord
  | CreateTopicRecord
  | DeleteTopicRecord
  | CreatePartitionsRecord
  | SetTopicConfigsRecord
  | AssignPartitionRecord
  | PartitionStateRecord
  | ProducerIdBlockRecord
  | SetRebalanceRecord;

export type MetadataRecordType = MetadataRecord['type'];

export const METADATA_RECORD_TYPES: readonly MetadataRecordType[] = [
  'register-broker',
  'set-broker-state',
  'set-maintenance',
  'set-metadata-voters',
  'create-topic',
  'delete-topic',
  'create-partitions',
  'set-topic-configs',
  'assign-partition',
  'partition-state',
  'producer-id-block',
  'set-rebalance',
];

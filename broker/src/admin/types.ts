/**
 * The messages of proto/admin.proto as TypeScript sees them (protobufjs's camelCase names,
 * enums by name, 64-bit integers as numbers). The server answers with these and `chronik ctl`
 * reads them.
 */

export type BrokerStateName =
  | 'BROKER_STATE_UNSPECIFIED'
  | 'BROKER_STATE_JOINING'
  | 'BROKER_STATE_ACTIVE'
  | 'BROKER_STATE_MAINTENANCE'
  | 'BROKER_STATE_DECOMMISSIONING'
  | 'BROKER_STATE_DECOMMISSIONED'
  | 'BROKER_STATE_OFFLINE';

export interface BrokerInfo {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly state: BrokerStateName;
  readonly metadataVoter: boolean;
  readonly leaderCount: number;
  readonly replicaCount: number;
  readonly laggingReplicaCount: number;
  readonly lastHeartbeatAgeMs: number;
  readonly version: string;
}

export interface ClusterStatus {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly respondingBrokerId: number;
  readonly brokers: readonly BrokerInfo[];
  readonly topicCount: number;
  readonly partitionCount: number;
  readonly underReplicatedPartitions: number;
  readonly underMinIsrPartitions: number;
  readonly offlinePartitions: number;
  readonly consumerGroupCount: number;
  readonly totalConsumerLag: number;
  readonly metadataOffset: number;
}

export interface AddBrokerResponse {
  readonly broker: BrokerInfo;
}

export interface DecommissionStatus {
  readonly brokerId: number;
  readonly state: BrokerStateName;
  readonly replicasRemaining: number;
  readonly replicasTotal: number;
  readonly done: boolean;
  readonly blockedReason: string;
  readonly bytesRemaining: number;
  readonly movesInProgress: number;
}

export interface TransferLeadershipResponse {
  readonly leaderId: number;
  readonly done: boolean;
}

export interface DrainLeadershipResponse {
  readonly brokerId: number;
  readonly leadershipsRemaining: number;
  readonly done: boolean;
}

export interface MaintenanceStatus {
  readonly brokerId: number;
  readonly enabled: boolean;
  readonly leadershipsRemaining: number;
  readonly drained: boolean;
}

export interface RebalanceStatus {
  readonly id: string;
  readonly inProgress: boolean;
  readonly movesPlanned: number;
  readonly movesDone: number;
  readonly done: boolean;
}

export interface PartitionInfo {
  readonly topic: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly underReplicated: boolean;
  readonly offline: boolean;
}

export interface ListPartitionsResponse {
  readonly partitions: readonly PartitionInfo[];
}

/** What each RPC answers, by method name. */
export interface AdminResponses {
  GetClusterStatus: ClusterStatus;
  AddBroker: AddBrokerResponse;
  DecommissionBroker: DecommissionStatus;
  GetDecommissionStatus: DecommissionStatus;
  CancelDecommission: DecommissionStatus;
  TransferLeadership: TransferLeadershipResponse;
  DrainLeadership: DrainLeadershipResponse;
  SetMaintenanceMode: MaintenanceStatus;
  Rebalance: RebalanceStatus;
  GetRebalanceStatus: RebalanceStatus;
  ListPartitions: ListPartitionsResponse;
}

/**
 * The operator's view of proto/admin.proto. Field names are the camelCase forms protobufjs
 * produces; enums are their string names. The step machines depend on this interface only.
 */
export type BrokerState =
  | 'BROKER_STATE_UNSPECIFIED'
  | 'BROKER_STATE_JOINING'
  | 'BROKER_STATE_ACTIVE'
  | 'BROKER_STATE_MAINTENANCE'
  | 'BROKER_STATE_DECOMMISSIONING'
  | 'BROKER_STATE_DECOMMISSIONED'
  | 'BROKER_STATE_OFFLINE';

export interface BrokerInfo {
  brokerId: number;
  host: string;
  port: number;
  rack: string;
  state: BrokerState;
  metadataVoter: boolean;
  leaderCount: number;
  replicaCount: number;
  laggingReplicaCount: number;
  lastHeartbeatAgeMs: number;
  version: string;
}

export interface ClusterStatus {
  clusterId: string;
  controllerId: number;
  respondingBrokerId: number;
  brokers: BrokerInfo[];
  topicCount: number;
  partitionCount: number;
  underReplicatedPartitions: number;
  underMinIsrPartitions: number;
  offlinePartitions: number;
  consumerGroupCount: number;
  totalConsumerLag: number;
  metadataOffset: number;
}

export interface DecommissionStatus {
  brokerId: number;
  state: BrokerState;
  replicasRemaining: number;
  replicasTotal: number;
  done: boolean;
  blockedReason: string;
}

export interface MaintenanceStatus {
  brokerId: number;
  enabled: boolean;
  leadershipsRemaining: number;
  drained: boolean;
}

export interface RebalanceStatus {
  id: string;
  inProgress: boolean;
  movesPlanned: number;
  movesDone: number;
  done: boolean;
}

export interface BrokerAdmin {
  getClusterStatus(): Promise<ClusterStatus>;
  addBroker(req: { brokerId: number; host: string; port: number; rack?: string }): Promise<{ broker: BrokerInfo | null }>;
  decommissionBroker(brokerId: number): Promise<DecommissionStatus>;
  getDecommissionStatus(brokerId: number): Promise<DecommissionStatus>;
  cancelDecommission(brokerId: number): Promise<DecommissionStatus>;
  transferLeadership(req: { topic: string; partition: number; targetBrokerId: number }): Promise<{ leaderId: number; done: boolean }>;
  drainLeadership(brokerId: number): Promise<{ brokerId: number; leadershipsRemaining: number; done: boolean }>;
  setMaintenanceMode(brokerId: number, enabled: boolean): Promise<MaintenanceStatus>;
  rebalance(req?: { leadersOnly?: boolean; maxConcurrentMoves?: number }): Promise<RebalanceStatus>;
  getRebalanceStatus(): Promise<RebalanceStatus>;
  close(): void;
}

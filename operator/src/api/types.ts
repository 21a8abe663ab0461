/**
 * The ChronikCluster resource as the operator reads and writes it. The CRD in
 * crds/chronik.io_chronikclusters.yaml is the authority on shape and validation; these types
 * mirror it.
 */
export const GROUP = 'chronik.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ChronikCluster';
export const PLURAL = 'chronikclusters';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface ResourceRequirements {
  limits?: Record<string, string | number>;
  requests?: Record<string, string | number>;
}

export interface ExternalListener {
  type: 'NodePort' | 'LoadBalancer';
  port?: number;
  nodePortBase?: number;
  advertisedHosts?: string[];
  annotations?: Record<string, string>;
}

export interface PodTemplateOverrides {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  affinity?: Record<string, unknown>;
  priorityClassName?: string;
  securityContext?: Record<string, unknown>;
  containerSecurityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
}

export interface ChronikClusterSpec {
  replicas: number;
  paused?: boolean;
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets?: { name: string }[];
  resources?: ResourceRequirements;
  storage: { size: string; storageClassName?: string; reclaimPolicy?: 'Retain' | 'Delete' };
  brokerConfig?: Record<string, string>;
  topicDefaults?: { partitions?: number; replicationFactor?: number; minInsyncReplicas?: number };
  listeners?: { internal?: { port?: number }; external?: ExternalListener };
  rackAwareness?: { topologyKey: string };
  podTemplate?: PodTemplateOverrides;
  podDisruptionBudget?: { enabled?: boolean; maxUnavailable?: number };
  metrics?: { serviceMonitor?: { enabled?: boolean; interval?: string; labels?: Record<string, string> } };
}

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'Settled';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

/** What the operator believes about one broker pod. */
export type BrokerPhase =
  | 'Pending'
  | 'Starting'
  | 'Running'
  | 'Restarting'
  | 'Decommissioning'
  | 'Decommissioned'
  | 'Removing';

export interface BrokerStatus {
  pod: string;
  ordinal: number;
  /** Assigned once by the operator and never reused, so a removed broker's id cannot be confused with a new one. */
  brokerId: number;
  state: BrokerPhase;
  ready: boolean;
  rack?: string;
  configHash?: string;
  /** What the brokers report for it (admin GetClusterStatus), refreshed every pass. */
  brokerState?: string;
  leaders?: number;
  replicas?: number;
  laggingReplicas?: number;
  maintenance?: boolean;
  /** While it is being decommissioned. */
  decommission?: { replicasRemaining: number; replicasTotal: number; blockedReason?: string };
}

export type Phase = 'Pending' | 'Creating' | 'Running' | 'Scaling' | 'Rolling' | 'Paused' | 'Degraded' | 'Failed';

export type OperationType = 'ScaleUp' | 'ScaleDown' | 'Roll';

/** The steps of each operation, in order (orchestration/machine.ts runs them). */
export const OPERATION_STEPS = {
  ScaleUp: ['AssignId', 'ClearStaleClaim', 'RegisterBroker', 'CreatePod', 'WaitPodReady', 'WaitBrokerActive', 'Rebalance', 'WaitRebalance'],
  ScaleDown: ['CheckSafe', 'Decommission', 'WaitDecommissioned', 'RemovePod', 'WaitPodGone', 'ReleaseClaim'],
  Roll: ['EnterMaintenance', 'WaitDrained', 'DeletePod', 'WaitPodReady', 'WaitBrokerActive', 'ExitMaintenance', 'RebalanceLeaders'],
} as const;
export type ScaleUpStep = (typeof OPERATION_STEPS.ScaleUp)[number];
export type ScaleDownStep = (typeof OPERATION_STEPS.ScaleDown)[number];
export type RollStep = (typeof OPERATION_STEPS.Roll)[number];
export type StepOf<T extends OperationType> = (typeof OPERATION_STEPS)[T][number];

interface OperationFields {
  /** The one broker this operation is changing now. */
  brokerId?: number;
  ordinal?: number;
  /** Replica count the operation is heading for. */
  targetReplicas?: number;
  /** Roll: the configuration hash every pod must end up with. */
  targetHash?: string;
  /** Roll: the pod incarnation to replace, so a repeated delete never hits its successor. */
  podUid?: string;
  startedAt: string;
  stepStartedAt: string;
  message?: string;
  /** The step ran past its deadline (the cluster is Degraded until it moves on). */
  overdue?: boolean;
  /** Why the brokers refuse this operation (e.g. the topics' replication factor), while they do. */
  refused?: string;
}

export type Operation =
  | (OperationFields & { type: 'ScaleUp'; step: ScaleUpStep })
  | (OperationFields & { type: 'ScaleDown'; step: ScaleDownStep })
  | (OperationFields & { type: 'Roll'; step: RollStep });

export interface ChronikClusterStatus {
  observedGeneration?: number;
  phase?: Phase;
  replicas?: number;
  readyReplicas?: number;
  selector?: string;
  nextBrokerId?: number;
  statefulSetReplicas?: number;
  /** id@host:port of the metadata group's founding voters, fixed at creation. */
  initialVoters?: string;
  configHash?: string;
  image?: string;
  conditions?: Condition[];
  brokers?: BrokerStatus[];
  operation?: Operation | null;
}

export interface ChronikCluster {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ChronikClusterSpec;
  status?: ChronikClusterStatus;
}

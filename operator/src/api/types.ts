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
}

export type Phase = 'Pending' | 'Creating' | 'Running' | 'Scaling' | 'Rolling' | 'Paused' | 'Degraded' | 'Failed';

export type OperationType = 'ScaleUp' | 'ScaleDown' | 'Roll';

export interface Operation {
  type: OperationType;
  step: string;
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
}

export interface ChronikClusterStatus {
  observedGeneration?: number;
  phase?: Phase;
  replicas?: number;
  readyReplicas?: number;
  selector?: string;
  nextBrokerId?: number;
  statefulSetReplicas?: number;
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

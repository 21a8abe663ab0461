import type { BrokerStatus, Operation } from '../api/types.js';
import type { BrokerAdmin } from '../brokers/types.js';

/** A broker pod as Kubernetes shows it right now. */
export interface PodObservation {
  name: string;
  ordinal: number;
  uid: string;
  ready: boolean;
  /** The config hash the pod was created with (pod annotation). */
  configHash: string | null;
  terminating: boolean;
  /** When the pod last became Ready (its Ready condition's lastTransitionTime), if it is. */
  readySince?: string | null;
}

/**
 * Everything a step may do to the world. Each call must be idempotent: a step whose effect
 * landed but whose progress was not yet recorded runs again after an operator restart.
 */
export interface Ports {
  pods(): Promise<PodObservation[]>;
  /**
   * Publishes the broker-id table and the founding voters, then sets the StatefulSet's
   * replica count.
   */
  setStatefulSetReplicas(replicas: number, brokers: readonly BrokerStatus[], initialVoters: string): Promise<void>;
  /** Deletes the pod only while it is still the incarnation with this uid. */
  deletePod(name: string, uid: string): Promise<void>;
  deleteClaim(ordinal: number): Promise<void>;
  /** Whether the claim of this ordinal exists (also while it is being deleted). */
  claimExists(ordinal: number): Promise<boolean>;
  admin(): BrokerAdmin;
}

/** The part of status the machines own; persisted after every step. */
export interface MachineState {
  brokers: BrokerStatus[];
  nextBrokerId: number;
  statefulSetReplicas: number;
  /** id@host:port of the metadata group's founding voters, fixed when the cluster was created. */
  initialVoters: string;
  operation: Operation | null;
}

export interface MachineInput {
  desiredReplicas: number;
  desiredHash: string;
  /** Advertised host of broker pod N, e.g. its headless DNS name. */
  podHost(ordinal: number): string;
  podName(ordinal: number): string;
  kafkaPort: number;
  raftPort: number;
  reclaimPolicy: 'Retain' | 'Delete';
  /**
   * The brokers' replica.lag.time.max.ms: a follower stays in the ISR this long after it fell
   * behind, so "no partition under-replicated" only means something once a restarted broker
   * has been up at least this long.
   */
  replicaLagTimeMaxMs: number;
  now: string;
}

export interface MachineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface StepResult {
  state: MachineState;
  /** A step completed (state changed): persist, then run the next step at once. */
  progressed: boolean;
  /** Waiting for the world: look again after this long. */
  requeueAfterMs?: number;
  events: MachineEvent[];
  /** Why nothing can start now, for status (not an event: it repeats every poll). */
  waiting?: string;
}

export const POLL_MS = 5_000;

/**
 * The group coordinator's interface types: what callers pass in (requests, configuration,
 * storage and scheduling ports) and what they get back. The behaviour is in group-coordinator.ts.
 */
import { BrokerSettings } from '../config/index.js';
import type { GroupState, MemberProtocol } from './group.js';

/** Not in errors.ts yet; numbers from the protocol specification. */
export const NON_EMPTY_GROUP = 68;
/** Kafka's sentinel for "no authorized operations requested". */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface CoordinatorRecord {
  readonly key: Buffer;
  /** null = tombstone. */
  readonly value: Buffer | null;
}

/** Durable storage of group metadata and offsets (the `__consumer_offsets` topic in production). */
export interface GroupStore {
  /** False when this broker does not coordinate the group now (see `ownership` for why). */
  owns(groupId: string): boolean;
  /**
   * NONE when this broker coordinates the group; NOT_COORDINATOR when another broker does (or
   * none yet); COORDINATOR_LOAD_IN_PROGRESS while this broker loads the group's partition.
   */
  ownership(groupId: string): number;
  /**
   * Appends durably; all records of one group go to its one partition. With `txn`, as a
   * transactional batch of that producer. Throws KafkaError.
   */
  append(groupId: string, records: readonly CoordinatorRecord[], txn?: { readonly producerId: number; readonly producerEpoch: number }): Promise<void>;
}

/** Timers and clock, injectable so the state machine can be tested without waiting. */
export interface Scheduler {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(timer: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, Math.max(0, ms)).unref(),
  clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
};

export interface CoordinatorLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface GroupConfig {
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly initialRebalanceDelayMs: number;
  readonly maxGroupSize: number;
  readonly offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes in ms: offsets of an Empty group older than this are deleted. */
  readonly offsetsRetentionMs: number;
}

/** The group settings from the broker's (their defaults are the registry's). */
export function groupConfig(settings: BrokerSettings): GroupConfig {
  return {
    minSessionTimeoutMs: settings.get('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: settings.get('group.max.session.timeout.ms'),
    initialRebalanceDelayMs: settings.get('group.initial.rebalance.delay.ms'),
    maxGroupSize: settings.get('group.max.size'),
    offsetMetadataMaxBytes: settings.get('offset.metadata.max.bytes'),
    offsetsRetentionMs: settings.get('offsets.retention.minutes') * 60_000,
  };
}

export const DEFAULT_GROUP_CONFIG: GroupConfig = groupConfig(BrokerSettings.defaults());

export interface JoinRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
  readonly clientId: string;
  readonly clientHost: string;
  /** JoinGroup v4+: an unknown member first gets MEMBER_ID_REQUIRED with its id. */
  readonly requireKnownMemberId: boolean;
  readonly reason?: string | null;
}

export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Buffer }>;
}

export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly reason?: string | null;
}

export interface LeaveResult {
  readonly errorCode: number;
  readonly members: ReadonlyArray<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface OffsetCommitPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** -1: the broker's retention applies. */
  readonly retentionTimeMs: number;
  readonly partitions: readonly OffsetCommitPartition[];
  /** The OffsetCommit version (which errors the client knows); the latest when absent. */
  readonly apiVersion?: number;
}

export interface TxnOffsetCommitRequest {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** -1 and '' when not given (before v3): no member check. */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly partitions: readonly OffsetCommitPartition[];
}

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

export interface FetchedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly groupId: string;
  readonly groupState: GroupState | 'Assigning' | 'Reconciling';
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: ReadonlyArray<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Buffer;
    memberAssignment: Buffer;
  }>;
}

export interface GroupOverview {
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly generation: number;
  readonly members: number;
  readonly offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>;
}

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  /** A classic state, or for a consumer-protocol group Empty, Assigning, Reconciling or Stable. */
  readonly groupState: string;
  readonly groupType: 'classic' | 'consumer';
}

export interface GroupCoordinatorOptions {
  readonly store: GroupStore;
  readonly scheduler?: Scheduler;
  readonly config?: Partial<GroupConfig>;
  readonly logger?: CoordinatorLogger;
  /** Whether a topic partition exists (offset commits for unknown ones get UNKNOWN_TOPIC_OR_PARTITION). */
  readonly partitionExists?: (topic: string, partition: number) => boolean;
  readonly newMemberId?: (clientId: string) => string;
}


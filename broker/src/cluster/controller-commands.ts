/**
 * What the controller does with a request before proposing anything: validate it against the
 * current image and turn it into metadata records, or refuse it with the Kafka error a client
 * would get from Kafka. Pure: ids come from the context, the image is never changed, and the
 * records are checked by applying them to a scratch copy (so a batch sees its own effects).
 *
 * `ok: true` with no records means there is nothing to do (an idempotent repeat). The caller
 * proposes the records (unless validate-only) and answers once they are committed.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { Endpoint, MetadataRecord, PartitionStateRecord, RegisterBrokerRecord } from './metadata-records.js';
import { applyMetadataRecord, type BrokerRegistration, type MetadataState, type TopicImage } from './metadata-state.js';
import { eligibleBrokers, placementFor } from './placement.js';
import { topicConfigDefs, validateTopicConfig } from './topic-configs.js';
import { MAX_PARTITIONS_PER_TOPIC, MAX_REPLICATION_FACTOR } from './topic-limits.js';
import { collisionKey, validateTopicName } from './topic-names.js';
import type { CreateTopicSpec } from './types.js';

export type CommandResult<T> =
  | { readonly ok: true; readonly records: readonly MetadataRecord[]; readonly value: T }
  | { readonly ok: false; readonly error: KafkaError };

export interface ControllerContext {
  /** BrokerConfig.defaults: num.partitions, default.replication.factor. */
  readonly brokerDefaults: Readonly<Record<string, string>>;
  /** A fresh topic id (lowercase hyphenated UUID), passed in so the commands stay pure. */
  readonly newTopicId: () => string;
  /** Whether the controller reaches this broker now (placement prefers those); all when absent. */
  readonly isLive?: (nodeId: number) => boolean;
}

export interface CreateTopicCommand extends CreateTopicSpec {
  /** Explicit replicas per partition (index = partition); partitions and replicationFactor must then be -1. */
  readonly assignments?: readonly (readonly number[])[];
  /** The topic id to keep instead of a fresh one (a single-broker data dir being imported). */
  readonly topicId?: string;
}

const TOPIC_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Kafka's producer-id block size. */
export const DEFAULT_PRODUCER_ID_BLOCK = 1000;
const MAX_PRODUCER_ID_BLOCK = 1_000_000;
const INT32_MAX = 2 ** 31 - 1;

function fail<T>(code: number, message: string): CommandResult<T> {
  return { ok: false, error: new KafkaError(code, message) };
}

function done<T>(records: readonly MetadataRecord[], value: T): CommandResult<T> {
  return { ok: true, records, value };
}

/** Runs a validation that throws KafkaError (the topic name and config checks do). */
function attempt<T>(run: () => CommandResult<T>): CommandResult<T> {
  try {
    return run();
  } catch (err) {
    if (err instanceof KafkaError) return { ok: false, error: err };
    throw err;
  }
}

function defaultNumber(defaults: Readonly<Record<string, string>>, key: string): number | undefined {
  const raw = defaults[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The replication factor when the request says -1: `default.replication.factor` if the broker
 * config sets it, else min(3, active brokers).
 */
export function defaultReplicationFactor(state: MetadataState, ctx: ControllerContext): number {
  return defaultNumber(ctx.brokerDefaults, 'default.replication.factor') ?? Math.min(3, Math.max(1, eligibleBrokers(state).length));
}

/** Explicit assignments: equal-length lists of distinct, active brokers. */
function checkAssignments(state: MetadataState, assignments: readonly (readonly number[])[], firstPartition: number, rf?: number): KafkaError | null {
  const width = rf ?? assignments[0]?.length ?? 0;
  for (let i = 0; i < assignments.length; i++) {
    const a = assignments[i] as readonly number[];
    const at = `Partition ${firstPartition + i} is assigned to [${a.join(',')}]`;
    if (a.length === 0) return new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at}: it needs at least one replica`);
    if (a.length !== width) return new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at}: every partition needs ${width} replicas`);
    if (new Set(a).size !== a.length) return new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at}: a broker appears twice`);
    for (const id of a) {
      const b = state.brokers.get(id);
      if (!b || b.state !== 'active') {
        return new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${at}: broker ${id} is ${b ? b.state : 'not registered'}`);
      }
    }
  }
  return null;
}

function checkCollision(state: MetadataState, name: string): KafkaError | null {
  if (state.topics.has(name)) return new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists`);
  const key = collisionKey(name);
  for (const other of state.topics.keys()) {
    if (collisionKey(other) === key) {
      return new KafkaError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${name}' collides with existing topic '${other}' ('.' and '_' are interchangeable in metric names)`,
      );
    }
  }
  return null;
}

/** CreateTopics for one topic. The value is the topic as it will exist (also for validate-only). */
export function createTopic(state: MetadataState, spec: CreateTopicCommand, ctx: ControllerContext): CommandResult<TopicImage> {
  return attempt(() => {
    validateTopicName(spec.name);
    const collision = checkCollision(state, spec.name);
    if (collision) return { ok: false, error: collision };
    let assignments: readonly (readonly number[])[];
    let partitions: number;
    let rf: number;
    if (spec.assignments !== undefined && spec.assignments.length > 0) {
      if (spec.partitions !== -1 || spec.replicationFactor !== -1) {
        return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replica assignments were given; use one or the other');
      }
      if (spec.assignments.length > MAX_PARTITIONS_PER_TOPIC) {
        return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions may not exceed ${MAX_PARTITIONS_PER_TOPIC}`);
      }
      const bad = checkAssignments(state, spec.assignments, 0);
      if (bad) return { ok: false, error: bad };
      assignments = spec.assignments;
      partitions = assignments.length;
      rf = (assignments[0] as readonly number[]).length;
    } else {
      partitions = spec.partitions === -1 ? (defaultNumber(ctx.brokerDefaults, 'num.partitions') ?? 1) : spec.partitions;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
        return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${partitions}`);
      }
      rf = spec.replicationFactor === -1 ? defaultReplicationFactor(state, ctx) : spec.replicationFactor;
      if (!Number.isInteger(rf) || rf < 1 || rf > MAX_REPLICATION_FACTOR) {
        return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor must be between 1 and ${MAX_REPLICATION_FACTOR}, got ${rf}`);
      }
      const placed = placementFor(state, ctx.isLive)(partitions, rf);
      if (!placed.ok) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, placed.message);
      assignments = placed.assignments;
    }
    const configs: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.configs)) configs[k] = validateTopicConfig(k, v);
    if (spec.topicId !== undefined) {
      if (typeof spec.topicId !== 'string' || !TOPIC_ID.test(spec.topicId)) return fail(ErrorCode.INVALID_REQUEST, `topic id ${JSON.stringify(spec.topicId)} is not a UUID`);
      for (const t of state.topics.values()) {
        if (t.topicId === spec.topicId) return fail(ErrorCode.INVALID_REQUEST, `topic id ${spec.topicId} already belongs to topic '${t.name}'`);
      }
    }
    const record: MetadataRecord = {
      type: 'create-topic',
      name: spec.name,
      topicId: spec.topicId ?? ctx.newTopicId(),
      partitions,
      replicationFactor: rf,
      internal: spec.internal ?? false,
      configs,
      assignments: assignments.map((a) => [...a]),
    };
    const next = applyMetadataRecord(state, record);
    return done([record], next.topics.get(spec.name) as TopicImage);
  });
}

/**
 * CreateTopics for a whole request, in order: each topic is validated against the image with
 * the earlier ones of the request already created, so placement spreads across the batch and
 * '.'/'_' collisions inside it are caught. Records of failed topics are left out.
 */
export function createTopics(
  state: MetadataState,
  specs: readonly CreateTopicCommand[],
  ctx: ControllerContext,
): { readonly records: readonly MetadataRecord[]; readonly results: readonly CommandResult<TopicImage>[] } {
  let scratch = state;
  const records: MetadataRecord[] = [];
  const results = specs.map((spec) => {
    const r = createTopic(scratch, spec, ctx);
    if (r.ok) {
      for (const rec of r.records) scratch = applyMetadataRecord(scratch, rec);
      records.push(...r.records);
    }
    return r;
  });
  return { records, results };
}

export type TopicRef = { readonly name: string } | { readonly topicId: string };

/** DeleteTopics for one topic, by name or id. The value names the deleted topic. */
export function deleteTopic(state: MetadataState, ref: TopicRef): CommandResult<{ readonly name: string; readonly topicId: string }> {
  let t: TopicImage | undefined;
  if ('name' in ref) {
    t = state.topics.get(ref.name);
    if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${ref.name}' does not exist`);
  } else {
    t = [...state.topics.values()].find((x) => x.topicId === ref.topicId);
    if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_ID, `No topic has id ${ref.topicId}`);
  }
  if (t.internal) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' is internal and cannot be deleted`);
  return done([{ type: 'delete-topic', name: t.name }], { name: t.name, topicId: t.topicId });
}

/** CreatePartitions: grow to `totalCount`, placing the new partitions (or using the given assignments). */
export function createPartitions(
  state: MetadataState,
  cmd: { readonly name: string; readonly totalCount: number; readonly assignments?: readonly (readonly number[])[] | null },
  isLive?: (nodeId: number) => boolean,
): CommandResult<undefined> {
  const t = state.topics.get(cmd.name);
  if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${cmd.name}' does not exist`);
  const { totalCount } = cmd;
  if (!Number.isInteger(totalCount) || totalCount <= t.partitions) {
    return fail(
      ErrorCode.INVALID_PARTITIONS,
      totalCount === t.partitions
        ? `Topic '${cmd.name}' already has ${t.partitions} partitions`
        : `Topic '${cmd.name}' has ${t.partitions} partitions; the count can only grow, not become ${totalCount}`,
    );
  }
  if (totalCount > MAX_PARTITIONS_PER_TOPIC) {
    return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions may not exceed ${MAX_PARTITIONS_PER_TOPIC}`);
  }
  const added = totalCount - t.partitions;
  let assignments: readonly (readonly number[])[];
  if (cmd.assignments) {
    if (cmd.assignments.length !== added) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${cmd.assignments.length} assignments given for ${added} new partitions`);
    }
    const bad = checkAssignments(state, cmd.assignments, t.partitions, t.replicationFactor);
    if (bad) return { ok: false, error: bad };
    assignments = cmd.assignments;
  } else {
    const placed = placementFor(state, isLive)(added, t.replicationFactor);
    if (!placed.ok) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, placed.message);
    assignments = placed.assignments;
  }
  return done([{ type: 'create-partitions', name: cmd.name, totalCount, assignments: assignments.map((a) => [...a]) }], undefined);
}

/**
 * AlterConfigs (incremental=false: the given set replaces the overrides) and
 * IncrementalAlterConfigs (true: merged; a null value deletes the override).
 */
export function alterTopicConfigs(
  state: MetadataState,
  name: string,
  configs: Readonly<Record<string, string | null>>,
  incremental: boolean,
): CommandResult<Readonly<Record<string, string>>> {
  return attempt(() => {
    const t = state.topics.get(name);
    if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
    const next: Record<string, string> = incremental ? { ...t.configs } : {};
    for (const [k, v] of Object.entries(configs)) {
      if (v === null) {
        if (!topicConfigDefs.has(k)) return fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${k}`);
        delete next[k];
      } else {
        next[k] = validateTopicConfig(k, v);
      }
    }
    return done([{ type: 'set-topic-configs', name, configs: next }], next);
  });
}

export interface RegisterBrokerCommand {
  /** The cluster the broker's data directory belongs to. */
  readonly clusterId: string;
  readonly nodeId: number;
  readonly incarnationId: string;
  readonly kafka: Endpoint;
  readonly raft: Endpoint;
  readonly admin: Endpoint | null;
  readonly rack: string | null;
}

function endpointProblem(e: Endpoint | null | undefined, field: string, optional: boolean): string | null {
  if (e === null || e === undefined) return optional ? null : `${field} is required`;
  if (typeof e.host !== 'string' || e.host.length === 0) return `${field}.host must be a non-empty string`;
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) return `${field}.port must be 1-65535, got ${String(e.port)}`;
  return null;
}

function sameEndpoint(a: Endpoint | null, b: Endpoint | null): boolean {
  return a === null || b === null ? a === b : a.host === b.host && a.port === b.port;
}

function sameRegistration(b: BrokerRegistration, r: RegisterBrokerRecord): boolean {
  return sameEndpoint(b.kafka, r.kafka) && sameEndpoint(b.raft, r.raft) && sameEndpoint(b.admin, r.admin) && b.rack === r.rack;
}

/**
 * A broker announcing itself at start-up. Idempotent: the same incarnation with the same
 * details changes nothing; a new incarnation (a restart) updates addresses and rack and keeps
 * the broker's state and maintenance flag. The value is the registration as it will be.
 */
export function registerBroker(state: MetadataState, cmd: RegisterBrokerCommand): CommandResult<BrokerRegistration> {
  if (cmd.clusterId !== state.clusterId) {
    return fail(ErrorCode.INCONSISTENT_CLUSTER_ID, `Broker ${cmd.nodeId} belongs to cluster ${cmd.clusterId}, this is cluster ${state.clusterId}`);
  }
  if (!Number.isInteger(cmd.nodeId) || cmd.nodeId < 0 || cmd.nodeId > INT32_MAX) {
    return fail(ErrorCode.INVALID_REQUEST, `nodeId must be an integer 0-${INT32_MAX}, got ${cmd.nodeId}`);
  }
  if (typeof cmd.incarnationId !== 'string' || cmd.incarnationId.length === 0) {
    return fail(ErrorCode.INVALID_REQUEST, 'incarnationId must be a non-empty string');
  }
  if (cmd.rack !== null && (typeof cmd.rack !== 'string' || cmd.rack.length === 0)) {
    return fail(ErrorCode.INVALID_REQUEST, 'rack must be null or a non-empty string');
  }
  const problem = endpointProblem(cmd.kafka, 'kafka', false) ?? endpointProblem(cmd.raft, 'raft', false) ?? endpointProblem(cmd.admin, 'admin', true);
  if (problem) return fail(ErrorCode.INVALID_REQUEST, `Broker ${cmd.nodeId}: ${problem}`);
  const record: RegisterBrokerRecord = {
    type: 'register-broker',
    nodeId: cmd.nodeId,
    incarnationId: cmd.incarnationId,
    kafka: { host: cmd.kafka.host, port: cmd.kafka.port },
    raft: { host: cmd.raft.host, port: cmd.raft.port },
    admin: cmd.admin ? { host: cmd.admin.host, port: cmd.admin.port } : null,
    rack: cmd.rack,
  };
  const old = state.brokers.get(cmd.nodeId);
  if (old && old.incarnationId === cmd.incarnationId) {
    if (sameRegistration(old, record)) return done([], old);
    return fail(
      ErrorCode.DUPLICATE_BROKER_REGISTRATION,
      `Broker ${cmd.nodeId} incarnation ${cmd.incarnationId} is already registered with other addresses or rack`,
    );
  }
  return done([record], applyMetadataRecord(state, record).brokers.get(cmd.nodeId) as BrokerRegistration);
}

/** A broker's request for a block of producer ids (InitProducerId hands them out). */
export function allocateProducerIds(
  state: MetadataState,
  cmd: { readonly nodeId: number; readonly blockSize?: number },
): CommandResult<{ readonly firstProducerId: number; readonly size: number }> {
  const b = state.brokers.get(cmd.nodeId);
  if (!b || b.state === 'removed') return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${cmd.nodeId} is not registered`);
  const size = cmd.blockSize ?? DEFAULT_PRODUCER_ID_BLOCK;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PRODUCER_ID_BLOCK) {
    return fail(ErrorCode.INVALID_REQUEST, `blockSize must be 1-${MAX_PRODUCER_ID_BLOCK}, got ${size}`);
  }
  const firstProducerId = state.nextProducerId;
  if (!Number.isSafeInteger(firstProducerId + size)) return fail(ErrorCode.UNKNOWN_SERVER_ERROR, 'Producer ids are exhausted');
  return done([{ type: 'producer-id-block', nodeId: cmd.nodeId, firstProducerId, size }], { firstProducerId, size });
}

/** Maintenance on or off. Turning it off is always possible; turning it on needs a live broker. */
export function setMaintenance(state: MetadataState, nodeId: number, maintenance: boolean): CommandResult<undefined> {
  const b = state.brokers.get(nodeId);
  if (!b) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${nodeId} is not registered`);
  if (b.maintenance === maintenance) return done([], undefined);
  if (maintenance && b.state === 'removed') return fail(ErrorCode.INVALID_REQUEST, `Broker ${nodeId} has been removed`);
  return done([{ type: 'set-maintenance', nodeId, maintenance }], undefined);
}

/**
 * A partition leader's report of its leadership and ISR. Refused when the topic or partition
 * is gone (UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION) or the report is older than what is
 * recorded (FENCED_LEADER_EPOCH), so the reporter learns it is stale; no records when nothing
 * changes. (Applying a stale record anyway is harmless: apply ignores it.)
 */
export function reportPartitionState(state: MetadataState, report: Omit<PartitionStateRecord, 'type'>): CommandResult<undefined> {
  const t = state.topics.get(report.topic);
  if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${report.topic}' does not exist`);
  if (t.topicId !== report.topicId) return fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic '${report.topic}' now has id ${t.topicId}, not ${report.topicId}`);
  const p = t.partitionImages[report.partition];
  if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${report.topic}' has no partition ${report.partition}`);
  if (report.leaderEpoch < p.leaderEpoch || (report.leaderEpoch === p.leaderEpoch && p.leader !== -1 && report.leader !== p.leader)) {
    return fail(
      ErrorCode.FENCED_LEADER_EPOCH,
      `${report.topic}-${report.partition}: leader ${report.leader} epoch ${report.leaderEpoch} is older than leader ${p.leader} epoch ${p.leaderEpoch}`,
    );
  }
  const record: PartitionStateRecord = { type: 'partition-state', ...report, isr: [...report.isr] };
  const next = applyMetadataRecord(state, record);
  return done(next === state ? [] : [record], undefined);
}

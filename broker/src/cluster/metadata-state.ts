/**
 * Cluster metadata as an immutable image changed only by explicit records. The metadata Raft
 * group replicates the records; every broker applies them with this same pure function, so
 * every broker holds the same image at the same log index. The single-broker store persists
 * snapshots of the same image.
 *
 * Unchanged parts of the image are shared between versions (same object), so a diff can skip
 * them by identity.
 */
import type {
  AssignPartitionRecord,
  BrokerState,
  CreatePartitionsRecord,
  CreateTopicRecord,
  Endpoint,
  MetadataRecord,
  PartitionStateRecord,
  ProducerIdBlockRecord,
  RebalanceProgress,
  RegisterBrokerRecord,
  SetBrokerStateRecord,
  SetMaintenanceRecord,
  SetMetadataVotersRecord,
} from './metadata-records.js';
import type { TopicInfo } from './types.js';

export type * from './metadata-records.js';

export interface BrokerRegistration {
  readonly nodeId: number;
  readonly incarnationId: string;
  readonly kafka: Endpoint;
  readonly raft: Endpoint;
  readonly admin: Endpoint | null;
  readonly rack: string | null;
  readonly state: BrokerState;
  /** On: the broker sheds leadership and refuses to take it. Survives restarts. */
  readonly maintenance: boolean;
}

/** One partition's replica set and leadership; its index in TopicImage.partitionImages is its id. */
export interface PartitionImage {
  /** Preferred leader first. During a reassignment: target replicas, then the ones being removed. */
  readonly replicas: readonly number[];
  /** -1 while no leader has been reported. */
  readonly leader: number;
  /** The partition group's Raft term as last reported; 0 before any report. */
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export interface TopicImage extends TopicInfo {
  /**
   * Given in creation order at apply time (every broker applies the same records in the same
   * order, so all agree); the raft group ids of its partitions derive from it.
   */
  readonly seq: number;
  /** Exactly `partitions` entries. */
  readonly partitionImages: readonly PartitionImage[];
}

export interface MetadataState {
  readonly clusterId: string;
  /** Bumped by every record that changed the image; a no-op record leaves the state as it was. */
  readonly version: number;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topics: ReadonlyMap<string, TopicImage>;
  /** Recorded intent: the brokers that should be voters of the metadata group. */
  readonly metadataVoters: readonly number[];
  /** The first producer id not yet handed out in a block. */
  readonly nextProducerId: number;
  /** Sequence number the next created topic gets (see TopicImage.seq). */
  readonly nextTopicSeq: number;
  /** The latest rebalance run, finished or not; null before the first. */
  readonly rebalance: RebalanceProgress | null;
}

export function emptyMetadataState(clusterId: string, metadataVoters: readonly number[] = []): MetadataState {
  return { clusterId, version: 0, brokers: new Map(), topics: new Map(), metadataVoters: [...metadataVoters], nextProducerId: 0, nextTopicSeq: 1, rebalance: null };
}

/**
 * Partitions per topic that the raft group numbering leaves room for. Each partition is a raft
 * group with a cluster-wide id derived from its topic's sequence number, so ids never repeat,
 * not even for a topic deleted and created again under the same name. Group 0 is the metadata.
 */
export const GROUPS_PER_TOPIC = 16384;

export function partitionGroupId(topic: Pick<TopicImage, 'seq'>, partition: number): number {
  return topic.seq * GROUPS_PER_TOPIC + partition;
}

/** The target of a partition's replica set: replicas not being removed, in order. */
export function targetReplicas(p: PartitionImage): readonly number[] {
  return p.removingReplicas.length === 0 ? p.replicas : p.replicas.filter((r) => !p.removingReplicas.includes(r));
}

export function reassignmentInProgress(p: PartitionImage): boolean {
  return p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
}

/** A new partition before any leader report: every replica is empty, so all count as in sync. */
export function newPartitionImage(replicas: readonly number[]): PartitionImage {
  return { replicas: [...replicas], leader: -1, leaderEpoch: 0, isr: [...replicas], addingReplicas: [], removingReplicas: [] };
}

/**
 * Applies one record. Records are validated before they are proposed, so a record that does
 * not fit the state is a bug in the writer: it throws rather than guessing. The exception is
 * partition-state: leaders report concurrently with reassignments and deletions, so a stale or
 * orphaned report is normal and leaves the state unchanged.
 */
export function applyMetadataRecord(state: MetadataState, record: MetadataRecord): MetadataState {
  switch (record.type) {
    case 'register-broker':
      return registerBroker(state, record);
    case 'set-broker-state':
      return setBrokerState(state, record);
    case 'set-maintenance':
      return setMaintenance(state, record);
    case 'set-metadata-voters':
      return setMetadataVoters(state, record);
    case 'create-topic':
      return createTopic(state, record);
    case 'delete-topic': {
      if (!state.topics.has(record.name)) throw new Error(`delete-topic: ${record.name} does not exist`);
      const topics = new Map(state.topics);
      topics.delete(record.name);
      return next(state, { topics });
    }
    case 'create-partitions':
      return createPartitions(state, record);
    case 'set-topic-configs': {
      const t = requireTopic(state, record.name, record.type);
      return withTopic(state, { ...t, configs: { ...record.configs } });
    }
    case 'assign-partition':
      return assignPartition(state, record);
    case 'partition-state':
      return partitionState(state, record);
    case 'producer-id-block':
      return producerIdBlock(state, record);
    case 'set-rebalance':
      return next(state, { rebalance: { ...record.progress } });
  }
}

function next(state: MetadataState, changes: Partial<Omit<MetadataState, 'clusterId' | 'version'>>): MetadataState {
  return { ...state, ...changes, version: state.version + 1 };
}

function withTopic(state: MetadataState, topic: TopicImage): MetadataState {
  const topics = new Map(state.topics);
  topics.set(topic.name, topic);
  return next(state, { topics });
}

function withBroker(state: MetadataState, broker: BrokerRegistration): MetadataState {
  const brokers = new Map(state.brokers);
  brokers.set(broker.nodeId, broker);
  return next(state, { brokers });
}

function requireTopic(state: MetadataState, name: string, where: string): TopicImage {
  const t = state.topics.get(name);
  if (!t) throw new Error(`${where}: topic ${name} does not exist`);
  return t;
}

function requireBroker(state: MetadataState, nodeId: number, where: string): BrokerRegistration {
  const b = state.brokers.get(nodeId);
  if (!b) throw new Error(`${where}: broker ${nodeId} is not registered`);
  return b;
}

/**
 * A replica list must name distinct brokers, none of them removed. Unregistered ids are
 * accepted: apply checks what would corrupt the image, placement checks liveness.
 */
function checkReplicaList(state: MetadataState, list: readonly number[], where: string): void {
  if (list.length === 0) throw new Error(`${where}: empty replica list`);
  if (new Set(list).size !== list.length) throw new Error(`${where}: duplicate broker in replicas [${list.join(',')}]`);
  for (const id of list) {
    if (state.brokers.get(id)?.state === 'removed') throw new Error(`${where}: broker ${id} has been removed`);
  }
}

function checkNewAssignments(state: MetadataState, rf: number, assignments: readonly (readonly number[])[], where: string, firstIndex: number): void {
  assignments.forEach((replicas, i) => {
    const at = `${where} partition ${firstIndex + i}`;
    checkReplicaList(state, replicas, at);
    if (replicas.length !== rf) throw new Error(`${at}: ${replicas.length} replicas, replication factor is ${rf}`);
  });
}

function registerBroker(state: MetadataState, r: RegisterBrokerRecord): MetadataState {
  const old = state.brokers.get(r.nodeId);
  // A removed id that registers again is a new broker reusing the id: it starts active.
  const keep = old && old.state !== 'removed' ? { state: old.state, maintenance: old.maintenance } : { state: 'active' as const, maintenance: false };
  return withBroker(state, {
    nodeId: r.nodeId,
    incarnationId: r.incarnationId,
    kafka: { ...r.kafka },
    raft: { ...r.raft },
    admin: r.admin ? { ...r.admin } : null,
    rack: r.rack,
    ...keep,
  });
}

/** Whether any partition lists the broker as a replica (target, adding or being removed). */
export function hostsReplicas(state: MetadataState, nodeId: number): boolean {
  for (const t of state.topics.values()) {
    for (const p of t.partitionImages) if (p.replicas.includes(nodeId)) return true;
  }
  return false;
}

function setBrokerState(state: MetadataState, r: SetBrokerStateRecord): MetadataState {
  const b = requireBroker(state, r.nodeId, r.type);
  if (b.state === r.state) return state;
  if (b.state === 'removed') throw new Error(`${r.type}: broker ${r.nodeId} has been removed; it must register again`);
  if (r.state === 'removed') {
    if (hostsReplicas(state, r.nodeId)) throw new Error(`${r.type}: broker ${r.nodeId} still hosts replicas`);
    if (state.metadataVoters.includes(r.nodeId)) throw new Error(`${r.type}: broker ${r.nodeId} is still a metadata voter`);
  }
  return withBroker(state, { ...b, state: r.state, maintenance: r.state === 'removed' ? false : b.maintenance });
}

function setMaintenance(state: MetadataState, r: SetMaintenanceRecord): MetadataState {
  const b = requireBroker(state, r.nodeId, r.type);
  if (b.maintenance === r.maintenance) return state;
  if (r.maintenance && b.state === 'removed') throw new Error(`${r.type}: broker ${r.nodeId} has been removed`);
  return withBroker(state, { ...b, maintenance: r.maintenance });
}

function setMetadataVoters(state: MetadataState, r: SetMetadataVotersRecord): MetadataState {
  if (r.voters.length === 0) throw new Error(`${r.type}: empty voter set`);
  if (new Set(r.voters).size !== r.voters.length) throw new Error(`${r.type}: duplicate voter in [${r.voters.join(',')}]`);
  for (const id of r.voters) {
    if (state.brokers.get(id)?.state === 'removed') throw new Error(`${r.type}: broker ${id} has been removed`);
  }
  return next(state, { metadataVoters: [...r.voters] });
}

function createTopic(state: MetadataState, r: CreateTopicRecord): MetadataState {
  if (state.topics.has(r.name)) throw new Error(`create-topic: ${r.name} already exists`);
  if (!Number.isInteger(r.partitions) || r.partitions < 1 || !Number.isInteger(r.replicationFactor) || r.replicationFactor < 1) {
    throw new Error(`create-topic: ${r.name} with ${r.partitions} partitions of ${r.replicationFactor} replicas`);
  }
  if (r.assignments.length !== r.partitions) {
    throw new Error(`create-topic: ${r.name} has ${r.partitions} partitions but ${r.assignments.length} assignments`);
  }
  checkNewAssignments(state, r.replicationFactor, r.assignments, `create-topic ${r.name}`, 0);
  const created = withTopic(state, {
    seq: state.nextTopicSeq,
    name: r.name,
    topicId: r.topicId,
    partitions: r.partitions,
    replicationFactor: r.replicationFactor,
    internal: r.internal,
    configs: { ...r.configs },
    partitionImages: r.assignments.map(newPartitionImage),
  });
  return { ...created, nextTopicSeq: state.nextTopicSeq + 1 };
}

function createPartitions(state: MetadataState, r: CreatePartitionsRecord): MetadataState {
  const t = requireTopic(state, r.name, r.type);
  if (r.totalCount <= t.partitions) throw new Error(`create-partitions: ${r.name} already has ${t.partitions}`);
  if (r.assignments.length !== r.totalCount - t.partitions) {
    throw new Error(`create-partitions: ${r.name} grows by ${r.totalCount - t.partitions} but has ${r.assignments.length} assignments`);
  }
  checkNewAssignments(state, t.replicationFactor, r.assignments, `create-partitions ${r.name}`, t.partitions);
  return withTopic(state, {
    ...t,
    partitions: r.totalCount,
    partitionImages: [...t.partitionImages, ...r.assignments.map(newPartitionImage)],
  });
}

function assignPartition(state: MetadataState, r: AssignPartitionRecord): MetadataState {
  const t = requireTopic(state, r.topic, r.type);
  const old = t.partitionImages[r.partition];
  const where = `${r.type} ${r.topic}-${r.partition}`;
  if (!old) throw new Error(`${where}: the topic has ${t.partitions} partitions`);
  checkReplicaList(state, r.replicas, where);
  for (const [name, list] of [['adding', r.addingReplicas], ['removing', r.removingReplicas]] as const) {
    if (new Set(list).size !== list.length) throw new Error(`${where}: duplicate broker in ${name} replicas`);
    for (const id of list) if (!r.replicas.includes(id)) throw new Error(`${where}: ${name} replica ${id} is not in replicas`);
  }
  for (const id of r.addingReplicas) if (r.removingReplicas.includes(id)) throw new Error(`${where}: broker ${id} is both added and removed`);
  const target = r.replicas.length - r.removingReplicas.length;
  if (target !== t.replicationFactor) throw new Error(`${where}: target has ${target} replicas, replication factor is ${t.replicationFactor}`);
  const p: PartitionImage = {
    replicas: [...r.replicas],
    leader: old.leader,
    leaderEpoch: old.leaderEpoch,
    isr: old.isr.filter((id) => r.replicas.includes(id)),
    addingReplicas: [...r.addingReplicas],
    removingReplicas: [...r.removingReplicas],
  };
  return withPartition(state, t, r.partition, p);
}

function withPartition(state: MetadataState, t: TopicImage, partition: number, p: PartitionImage): MetadataState {
  const partitionImages = [...t.partitionImages];
  partitionImages[partition] = p;
  return withTopic(state, { ...t, partitionImages });
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function partitionState(state: MetadataState, r: PartitionStateRecord): MetadataState {
  const t = state.topics.get(r.topic);
  if (!t || t.topicId !== r.topicId) return state;
  const old = t.partitionImages[r.partition];
  if (!old || !(r.leaderEpoch >= old.leaderEpoch)) return state;
  // One leader per term: a different leader claiming the recorded term is not the real one.
  if (r.leaderEpoch === old.leaderEpoch && old.leader !== -1 && r.leader !== old.leader) return state;
  const isr = [...new Set(r.isr)].filter((id) => old.replicas.includes(id));
  if (r.leaderEpoch === old.leaderEpoch && r.leader === old.leader && sameList(isr, old.isr)) return state;
  return withPartition(state, t, r.partition, { ...old, leader: r.leader, leaderEpoch: r.leaderEpoch, isr });
}

function producerIdBlock(state: MetadataState, r: ProducerIdBlockRecord): MetadataState {
  const b = requireBroker(state, r.nodeId, r.type);
  if (b.state === 'removed') throw new Error(`${r.type}: broker ${r.nodeId} has been removed`);
  if (r.firstProducerId !== state.nextProducerId) {
    throw new Error(`${r.type}: block starts at ${r.firstProducerId}, the next free producer id is ${state.nextProducerId}`);
  }
  if (!(r.size >= 1) || !Number.isSafeInteger(r.firstProducerId + r.size)) throw new Error(`${r.type}: bad block size ${r.size}`);
  return next(state, { nextProducerId: r.firstProducerId + r.size });
}

/**
 * Bytes of the metadata log: one record per Raft entry, and the whole image for a Raft snapshot
 * (and the single-broker store). Format: one version byte, then UTF-8 JSON. Metadata is small
 * and rarely written, so a readable format wins over a compact one; the version byte leaves room
 * to change that. Decoding checks every field and names the bad one; unknown fields are refused,
 * because a broker that skipped a field it does not know would apply a different state.
 */
import {
  anyObj,
  arrayOf,
  bool,
  field,
  int,
  nullable,
  obj,
  oneOf,
  ShapeError,
  str,
  stringMap,
  type Obj,
} from './json-shape.js';
import { BROKER_STATES, METADATA_RECORD_TYPES, type Endpoint, type MetadataRecord, type RunningRebalanceMove, type RebalanceProgress } from './metadata-records.js';
import { imageViolations } from './metadata-invariants.js';
import type { BrokerRegistration, MetadataState, PartitionImage, TopicImage } from './metadata-state.js';

export const METADATA_RECORD_FORMAT = 1;
export const METADATA_IMAGE_FORMAT = 1;

const INT32_MAX = 2 ** 31 - 1;

export class MetadataCodecError extends Error {
  constructor(
    readonly what: 'record' | 'image',
    /** Path of the offending field ('' when the whole input is bad). */
    readonly field: string,
    problem: string,
  ) {
    super(`metadata ${what}${field === '' ? '' : ` field ${field}`}: ${problem}`);
    this.name = 'MetadataCodecError';
  }
}

function frame(version: number, json: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = version;
  body.copy(out, 1);
  return out;
}

function unframe(bytes: Uint8Array, what: 'record' | 'image', version: number): unknown {
  if (bytes.length < 2) throw new MetadataCodecError(what, '', `${bytes.length} bytes is too short`);
  if (bytes[0] !== version) throw new MetadataCodecError(what, '', `unknown format version ${bytes[0]} (this broker reads ${version})`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.length - 1).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MetadataCodecError(what, '', `not valid JSON (${(err as Error).message})`);
  }
}

function checked<T>(what: 'record' | 'image', read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ShapeError) throw new MetadataCodecError(what, err.field, err.problem);
    throw err;
  }
}

const brokerId = (v: unknown, p: string): number => int(v, p, 0, INT32_MAX);
const brokerIds = (v: unknown, p: string): number[] => {
  const ids = arrayOf(v, p, brokerId);
  if (new Set(ids).size !== ids.length) throw new ShapeError(p, `duplicate broker id in [${ids.join(',')}]`);
  return ids;
};
const replicaList = (v: unknown, p: string): number[] => {
  const ids = brokerIds(v, p);
  if (ids.length === 0) throw new ShapeError(p, 'a partition needs at least one replica');
  return ids;
};

function endpoint(v: unknown, p: string): Endpoint {
  const o = obj(v, p, ['host', 'port']);
  return { host: str(o.host, field(p, 'host'), { nonEmpty: true }), port: int(o.port, field(p, 'port'), 1, 65535) };
}

function read<T>(o: Obj, p: string, key: string, reader: (v: unknown, path: string) => T): T {
  return reader(o[key], field(p, key));
}

const RECORD_KEYS: { readonly [K in MetadataRecord['type']]: readonly string[] } = {
  'register-broker': ['nodeId', 'incarnationId', 'kafka', 'raft', 'admin', 'rack'],
  'set-broker-state': ['nodeId', 'state'],
  'set-maintenance': ['nodeId', 'maintenance'],
  'set-metadata-voters': ['voters'],
  'create-topic': ['name', 'topicId', 'partitions', 'replicationFactor', 'internal', 'configs', 'assignments'],
  'delete-topic': ['name'],
  'create-partitions': ['name', 'totalCount', 'assignments'],
  'set-topic-configs': ['name', 'configs'],
  'assign-partition': ['topic', 'partition', 'replicas', 'addingReplicas', 'removingReplicas'],
  'partition-state': ['topic', 'topicId', 'partition', 'leader', 'leaderEpoch', 'isr'],
  'producer-id-block': ['nodeId', 'firstProducerId', 'size'],
  'set-rebalance': ['progress'],
};

const PROGRESS_KEYS = ['id', 'leadersOnly', 'maxMoves', 'planned', 'done', 'finished', 'moving'];
const MOVE_KEYS = ['topic', 'topicId', 'partition'];

function rebalanceMove(v: unknown, p: string): RunningRebalanceMove {
  const o = obj(v, p, MOVE_KEYS);
  return {
    topic: read(o, p, 'topic', name),
    topicId: read(o, p, 'topicId', name),
    partition: read(o, p, 'partition', partitionIndex),
  };
}

function rebalanceProgress(v: unknown, p: string): RebalanceProgress {
  const o = obj(v, p, PROGRESS_KEYS);
  const planned = read(o, p, 'planned', (x, q) => int(x, q, 0));
  const done = read(o, p, 'done', (x, q) => int(x, q, 0));
  if (done > planned) throw new ShapeError(field(p, 'done'), `${done} moves done of ${planned} planned`);
  const moving = o.moving === undefined ? undefined : read(o, p, 'moving', (x, q) => arrayOf(x, q, rebalanceMove));
  if (moving && done + moving.length > planned) {
    throw new ShapeError(field(p, 'moving'), `${moving.length} moves running and ${done} done of ${planned} planned`);
  }
  return {
    id: read(o, p, 'id', (x, q) => str(x, q, { nonEmpty: true })),
    leadersOnly: read(o, p, 'leadersOnly', bool),
    maxMoves: read(o, p, 'maxMoves', (x, q) => int(x, q, 1, INT32_MAX)),
    planned,
    done,
    finished: read(o, p, 'finished', bool),
    ...(moving ? { moving } : {}),
  };
}

function progressJson(r: RebalanceProgress): RebalanceProgress {
  const out: RebalanceProgress = { id: r.id, leadersOnly: r.leadersOnly, maxMoves: r.maxMoves, planned: r.planned, done: r.done, finished: r.finished };
  return r.moving ? { ...out, moving: r.moving.map((m) => ({ topic: m.topic, topicId: m.topicId, partition: m.partition })) } : out;
}

const name = (v: unknown, p: string): string => str(v, p, { nonEmpty: true });
const count = (v: unknown, p: string): number => int(v, p, 1, INT32_MAX);
const partitionIndex = (v: unknown, p: string): number => int(v, p, 0, INT32_MAX);
const assignments = (v: unknown, p: string): number[][] => arrayOf(v, p, replicaList);

/** Parses a decoded record object; exported for callers holding JSON already (tests, tools). */
export function recordFromJson(v: unknown): MetadataRecord {
  return checked('record', () => {
    const type = oneOf(anyObj(v, '').type, 'type', METADATA_RECORD_TYPES);
    const o = obj(v, '', [...RECORD_KEYS[type], 'type']);
    const r = <T>(key: string, reader: (v: unknown, path: string) => T): T => read(o, '', key, reader);
    switch (type) {
      case 'register-broker':
        return {
          type,
          nodeId: r('nodeId', brokerId),
          incarnationId: r('incarnationId', name),
          kafka: r('kafka', endpoint),
          raft: r('raft', endpoint),
          admin: r('admin', (x, p) => nullable(x, p, endpoint)),
          rack: r('rack', (x, p) => nullable(x, p, name)),
        };
      case 'set-broker-state':
        return { type, nodeId: r('nodeId', brokerId), state: r('state', (x, p) => oneOf(x, p, BROKER_STATES)) };
      case 'set-maintenance':
        return { type, nodeId: r('nodeId', brokerId), maintenance: r('maintenance', bool) };
      case 'set-metadata-voters':
        return { type, voters: r('voters', brokerIds) };
      case 'create-topic':
        return {
          type,
          name: r('name', name),
          topicId: r('topicId', name),
          partitions: r('partitions', count),
          replicationFactor: r('replicationFactor', count),
          internal: r('internal', bool),
          configs: r('configs', stringMap),
          assignments: r('assignments', assignments),
        };
      case 'delete-topic':
        return { type, name: r('name', name) };
      case 'create-partitions':
        return { type, name: r('name', name), totalCount: r('totalCount', count), assignments: r('assignments', assignments) };
      case 'set-topic-configs':
        return { type, name: r('name', name), configs: r('configs', stringMap) };
      case 'assign-partition':
        return {
          type,
          topic: r('topic', name),
          partition: r('partition', partitionIndex),
          replicas: r('replicas', replicaList),
          addingReplicas: r('addingReplicas', brokerIds),
          removingReplicas: r('removingReplicas', brokerIds),
        };
      case 'partition-state':
        return {
          type,
          topic: r('topic', name),
          topicId: r('topicId', name),
          partition: r('partition', partitionIndex),
          leader: r('leader', (x, p) => int(x, p, -1, INT32_MAX)),
          leaderEpoch: r('leaderEpoch', (x, p) => int(x, p, 0, INT32_MAX)),
          isr: r('isr', brokerIds),
        };
      case 'producer-id-block':
        return {
          type,
          nodeId: r('nodeId', brokerId),
          firstProducerId: r('firstProducerId', (x, p) => int(x, p, 0)),
          size: r('size', (x, p) => int(x, p, 1, INT32_MAX)),
        };
      case 'set-rebalance':
        return { type, progress: r('progress', rebalanceProgress) };
    }
  });
}

/** Only the record's own fields, so an object carrying extra properties still encodes to a valid entry. */
function canonicalRecord(record: MetadataRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { type: record.type };
  const src = record as unknown as Obj;
  for (const key of RECORD_KEYS[record.type]) out[key] = src[key];
  if (record.type === 'register-broker') {
    out.kafka = endpointJson(record.kafka);
    out.raft = endpointJson(record.raft);
    out.admin = record.admin ? endpointJson(record.admin) : null;
  }
  if (record.type === 'set-rebalance') out.progress = progressJson(record.progress);
  return out;
}

function endpointJson(e: Endpoint): Endpoint {
  return { host: e.host, port: e.port };
}

export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  return frame(METADATA_RECORD_FORMAT, canonicalRecord(record));
}

/** Throws MetadataCodecError naming the bad field. */
export function decodeMetadataRecord(bytes: Uint8Array): MetadataRecord {
  return recordFromJson(unframe(bytes, 'record', METADATA_RECORD_FORMAT));
}

/** The image as plain JSON, brokers by id and topics by name, so equal images give equal bytes. */
export function metadataImageToJson(state: MetadataState): unknown {
  return {
    clusterId: state.clusterId,
    version: state.version,
    nextProducerId: state.nextProducerId,
    nextTopicSeq: state.nextTopicSeq,
    metadataVoters: state.metadataVoters,
    rebalance: state.rebalance ? progressJson(state.rebalance) : null,
    brokers: [...state.brokers.values()]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((b) => ({
        nodeId: b.nodeId,
        incarnationId: b.incarnationId,
        kafka: endpointJson(b.kafka),
        raft: endpointJson(b.raft),
        admin: b.admin ? endpointJson(b.admin) : null,
        rack: b.rack,
        state: b.state,
        maintenance: b.maintenance,
      })),
    topics: [...state.topics.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => ({
        seq: t.seq,
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions,
        replicationFactor: t.replicationFactor,
        internal: t.internal,
        configs: t.configs,
        partitionImages: t.partitionImages.map((p) => ({
          replicas: p.replicas,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          isr: p.isr,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      })),
  };
}

const BROKER_KEYS = ['nodeId', 'incarnationId', 'kafka', 'raft', 'admin', 'rack', 'state', 'maintenance'];
const TOPIC_KEYS = ['seq', 'name', 'topicId', 'partitions', 'replicationFactor', 'internal', 'configs', 'partitionImages'];
const PARTITION_KEYS = ['replicas', 'leader', 'leaderEpoch', 'isr', 'addingReplicas', 'removingReplicas'];

function broker(v: unknown, p: string): BrokerRegistration {
  const o = obj(v, p, BROKER_KEYS);
  return {
    nodeId: read(o, p, 'nodeId', brokerId),
    incarnationId: read(o, p, 'incarnationId', name),
    kafka: read(o, p, 'kafka', endpoint),
    raft: read(o, p, 'raft', endpoint),
    admin: read(o, p, 'admin', (x, q) => nullable(x, q, endpoint)),
    rack: read(o, p, 'rack', (x, q) => nullable(x, q, name)),
    state: read(o, p, 'state', (x, q) => oneOf(x, q, BROKER_STATES)),
    maintenance: read(o, p, 'maintenance', bool),
  };
}

function partitionImage(v: unknown, p: string): PartitionImage {
  const o = obj(v, p, PARTITION_KEYS);
  const replicas = read(o, p, 'replicas', replicaList);
  const subset = (x: unknown, q: string): number[] => {
    const ids = brokerIds(x, q);
    for (const id of ids) if (!replicas.includes(id)) throw new ShapeError(q, `broker ${id} is not one of the replicas [${replicas.join(',')}]`);
    return ids;
  };
  return {
    replicas,
    leader: read(o, p, 'leader', (x, q) => int(x, q, -1, INT32_MAX)),
    leaderEpoch: read(o, p, 'leaderEpoch', (x, q) => int(x, q, 0, INT32_MAX)),
    isr: read(o, p, 'isr', subset),
    addingReplicas: read(o, p, 'addingReplicas', subset),
    removingReplicas: read(o, p, 'removingReplicas', subset),
  };
}

function topic(v: unknown, p: string): TopicImage {
  const o = obj(v, p, TOPIC_KEYS);
  const seq = read(o, p, 'seq', (x, q) => int(x, q, 1, Math.floor(Number.MAX_SAFE_INTEGER / 16384)));
  const topicName = read(o, p, 'name', name);
  const topicId = read(o, p, 'topicId', name);
  const partitions = read(o, p, 'partitions', count);
  const replicationFactor = read(o, p, 'replicationFactor', count);
  const internal = read(o, p, 'internal', bool);
  const configs = read(o, p, 'configs', stringMap);
  const partitionImages = read(o, p, 'partitionImages', (x, q) => arrayOf(x, q, partitionImage));
  if (partitionImages.length !== partitions) {
    throw new ShapeError(field(p, 'partitionImages'), `${partitionImages.length} entries for ${partitions} partitions`);
  }
  return { seq, name: topicName, topicId, partitions, replicationFactor, internal, configs, partitionImages };
}

/** Parses an image from its JSON form (see metadataImageToJson); throws MetadataCodecError. */
export function metadataImageFromJson(v: unknown): MetadataState {
  return checked('image', () => {
    const o = obj(v, '', ['clusterId', 'version', 'nextProducerId', 'nextTopicSeq', 'metadataVoters', 'rebalance', 'brokers', 'topics']);
    const clusterId = read(o, '', 'clusterId', name);
    const version = read(o, '', 'version', (x, q) => int(x, q, 0));
    const nextProducerId = read(o, '', 'nextProducerId', (x, q) => int(x, q, 0));
    const nextTopicSeq = read(o, '', 'nextTopicSeq', (x, q) => int(x, q, 1));
    const metadataVoters = read(o, '', 'metadataVoters', brokerIds);
    // Images written before rebalances were recorded have no such field.
    const rebalance = o.rebalance === undefined ? null : read(o, '', 'rebalance', (x, q) => nullable(x, q, rebalanceProgress));
    const brokers = new Map<number, BrokerRegistration>();
    read(o, '', 'brokers', (x, q) => arrayOf(x, q, broker)).forEach((b, i) => {
      if (brokers.has(b.nodeId)) throw new ShapeError(`brokers[${i}].nodeId`, `broker ${b.nodeId} appears twice`);
      brokers.set(b.nodeId, b);
    });
    const topics = new Map<string, TopicImage>();
    read(o, '', 'topics', (x, q) => arrayOf(x, q, topic)).forEach((t, i) => {
      if (topics.has(t.name)) throw new ShapeError(`topics[${i}].name`, `topic ${t.name} appears twice`);
      topics.set(t.name, t);
    });
    const image = { clusterId, version, brokers, topics, metadataVoters, nextProducerId, nextTopicSeq, rebalance };
    // Well-formed fields can still describe an impossible cluster; such a snapshot is corrupt.
    const broken = imageViolations(image);
    if (broken.length > 0) throw new ShapeError('', `inconsistent image: ${broken.slice(0, 3).join('; ')}`);
    return image;
  });
}

export function encodeMetadataImage(state: MetadataState): Buffer {
  return frame(METADATA_IMAGE_FORMAT, metadataImageToJson(state));
}

/** Throws MetadataCodecError naming the bad field. */
export function decodeMetadataImage(bytes: Uint8Array): MetadataState {
  return metadataImageFromJson(unframe(bytes, 'image', METADATA_IMAGE_FORMAT));
}

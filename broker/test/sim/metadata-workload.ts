/**
 * The metadata state machine under the simulator: clients propose real metadata records, made
 * by the controller commands from the leader's applied image (so they may be stale by the time
 * they commit, as a real controller's could be after a failover), and every replica applies the
 * committed ones with the same pure function, skipping a record that no longer fits exactly as
 * the broker does. Checked after every apply: the image is internally consistent; and every
 * replica that applied an index holds the same image there (by its encoded bytes).
 */
import { createTopic, createPartitions, deleteTopic, registerBroker, reportPartitionState, allocateProducerIds, setMaintenance } from '../../src/cluster/controller-commands.js';
import { decodeMetadataImage, decodeMetadataRecord, encodeMetadataImage, encodeMetadataRecord } from '../../src/cluster/metadata-codec.js';
import { imageViolations } from '../../src/cluster/metadata-invariants.js';
import type { MetadataRecord } from '../../src/cluster/metadata-records.js';
import { applyMetadataRecord, emptyMetadataState, type MetadataState } from '../../src/cluster/metadata-state.js';
import type { SeededRandom } from '../../src/raft/random.js';

export const SIM_CLUSTER = 'sim-cluster';

export function initialImage(): MetadataState {
  return emptyMetadataState(SIM_CLUSTER);
}

/** Applies one committed entry's record; a record that does not fit is skipped (as MetadataMachine does). */
export function applyEntry(image: MetadataState, data: Uint8Array): MetadataState {
  let record: MetadataRecord;
  try {
    record = decodeMetadataRecord(data);
  } catch {
    return image;
  }
  try {
    return applyMetadataRecord(image, record);
  } catch {
    return image;
  }
}

export function violations(image: MetadataState): string[] {
  return imageViolations(image);
}

/** A cheap-to-compare fingerprint of the whole image: its canonical encoding. */
export function fingerprint(image: MetadataState): string {
  return encodeMetadataImage(image).toString('base64');
}

export function encodeImage(image: MetadataState): Uint8Array {
  return encodeMetadataImage(image);
}

export function decodeImage(bytes: Uint8Array): MetadataState {
  return decodeMetadataImage(bytes);
}

function uuid(rng: SeededRandom): string {
  const hex = (n: number): string => Array.from({ length: n }, () => rng.nextInt(16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

/** One client request turned into records at the leader's image (empty when refused). */
export function proposeFrom(image: MetadataState, rng: SeededRandom): MetadataRecord[] {
  const brokers = [...image.brokers.keys()];
  const topics = [...image.topics.values()];
  const ctx = { brokerDefaults: {}, newTopicId: () => uuid(rng) };
  const pick = rng.nextInt(100);
  let result;
  if (pick < 20 || brokers.length < 3) {
    const nodeId = rng.nextInt(5);
    result = registerBroker(image, {
      clusterId: SIM_CLUSTER,
      nodeId,
      incarnationId: `inc-${rng.nextInt(1_000_000)}`,
      kafka: { host: `b${nodeId}`, port: 9092 },
      raft: { host: `b${nodeId}`, port: 9192 },
      admin: null,
      rack: rng.chance(0.5) ? `r${nodeId % 2}` : null,
    });
  } else if (pick < 45) {
    result = createTopic(image, { name: `t${rng.nextInt(12)}`, partitions: 1 + rng.nextInt(4), replicationFactor: 1 + rng.nextInt(3), configs: {} }, ctx);
  } else if (pick < 55 && topics.length > 0) {
    const t = topics[rng.nextInt(topics.length)]!;
    result = createPartitions(image, { name: t.name, totalCount: t.partitions + 1 + rng.nextInt(2) });
  } else if (pick < 62 && topics.length > 0) {
    result = deleteTopic(image, { name: topics[rng.nextInt(topics.length)]!.name });
  } else if (pick < 85 && topics.length > 0) {
    const t = topics[rng.nextInt(topics.length)]!;
    const partition = rng.nextInt(t.partitions);
    const p = t.partitionImages[partition]!;
    const leader = p.replicas[rng.nextInt(p.replicas.length)]!;
    const isr = p.replicas.filter((r) => r === leader || rng.chance(0.7));
    result = reportPartitionState(image, { topic: t.name, topicId: t.topicId, partition, leader, leaderEpoch: p.leaderEpoch + rng.nextInt(3), isr });
  } else if (pick < 93 && brokers.length > 0) {
    result = allocateProducerIds(image, { nodeId: brokers[rng.nextInt(brokers.length)]!, blockSize: 1 + rng.nextInt(1000) });
  } else if (brokers.length > 0) {
    result = setMaintenance(image, brokers[rng.nextInt(brokers.length)]!, rng.chance(0.5));
  } else {
    return [];
  }
  return result.ok ? [...result.records] : [];
}

export function encodeRecord(r: MetadataRecord): Uint8Array {
  return encodeMetadataRecord(r);
}

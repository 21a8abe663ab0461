/** Builders of metadata images for the cluster unit tests, through real records only. */
import type { MetadataRecord, RegisterBrokerRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, emptyMetadataState, type MetadataState } from '../../../src/cluster/metadata-state.js';

export function registration(nodeId: number, rack: string | null = null, incarnationId = `inc-${nodeId}`): RegisterBrokerRecord {
  return {
    type: 'register-broker',
    nodeId,
    incarnationId,
    kafka: { host: `b${nodeId}.local`, port: 9092 },
    raft: { host: `b${nodeId}.local`, port: 9192 },
    admin: null,
    rack,
  };
}

export function applyAll(state: MetadataState, records: readonly MetadataRecord[]): MetadataState {
  return records.reduce(applyMetadataRecord, state);
}

/** Registered brokers (id -> rack) and the metadata voters. */
export function cluster(brokers: Readonly<Record<number, string | null>> | readonly number[], voters?: readonly number[]): MetadataState {
  const entries: [number, string | null][] = Array.isArray(brokers)
    ? (brokers as readonly number[]).map((id) => [id, null])
    : Object.entries(brokers).map(([id, rack]) => [Number(id), rack as string | null]);
  const s = applyAll(emptyMetadataState('cluster-1'), entries.map(([id, rack]) => registration(id, rack)));
  const v = voters ?? entries.slice(0, 3).map(([id]) => id);
  return applyMetadataRecord(s, { type: 'set-metadata-voters', voters: v });
}

let topicSeq = 0;

export function topicId(): string {
  topicSeq++;
  return `00000000-0000-4000-8000-${topicSeq.toString(16).padStart(12, '0')}`;
}

export function withTopic(state: MetadataState, name: string, assignments: readonly (readonly number[])[]): MetadataState {
  return applyMetadataRecord(state, {
    type: 'create-topic',
    name,
    topicId: topicId(),
    partitions: assignments.length,
    replicationFactor: assignments[0]?.length ?? 1,
    internal: false,
    configs: {},
    assignments,
  });
}

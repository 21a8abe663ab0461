/**
 * Cluster metadata as immutable state changed only by explicit records. The single-broker store
 * persists snapshots of it; the metadata raft group will later replicate the same records and
 * apply them with the same pure function on every broker.
 */
import type { TopicInfo } from './types.js';

export interface MetadataState {
  readonly clusterId: string;
  /** Bumped by every applied record; lets callers see that something changed. */
  readonly version: number;
  readonly topics: ReadonlyMap<string, TopicInfo>;
}

export type MetadataRecord =
  | {
      readonly type: 'create-topic';
      readonly name: string;
      readonly topicId: string;
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly internal: boolean;
      readonly configs: Readonly<Record<string, string>>;
    }
  | { readonly type: 'delete-topic'; readonly name: string }
  | { readonly type: 'create-partitions'; readonly name: string; readonly totalCount: number }
  /** Replaces the topic's whole config override set. */
  | { readonly type: 'set-topic-configs'; readonly name: string; readonly configs: Readonly<Record<string, string>> };

export function emptyMetadataState(clusterId: string): MetadataState {
  return { clusterId, version: 0, topics: new Map() };
}

/**
 * Applies one record. Records are validated before they are written, so a record that does not
 * fit the state is a bug in the writer: it throws rather than guessing.
 */
export function applyMetadataRecord(state: MetadataState, record: MetadataRecord): MetadataState {
  const topics = new Map(state.topics);
  switch (record.type) {
    case 'create-topic': {
      if (topics.has(record.name)) throw new Error(`create-topic: ${record.name} already exists`);
      topics.set(record.name, {
        name: record.name,
        topicId: record.topicId,
        partitions: record.partitions,
        replicationFactor: record.replicationFactor,
        internal: record.internal,
        configs: { ...record.configs },
      });
      break;
    }
    case 'delete-topic': {
      if (!topics.delete(record.name)) throw new Error(`delete-topic: ${record.name} does not exist`);
      break;
    }
    case 'create-partitions': {
      const t = topics.get(record.name);
      if (!t) throw new Error(`create-partitions: ${record.name} does not exist`);
      if (record.totalCount <= t.partitions) throw new Error(`create-partitions: ${record.name} already has ${t.partitions}`);
      topics.set(record.name, { ...t, partitions: record.totalCount });
      break;
    }
    case 'set-topic-configs': {
      const t = topics.get(record.name);
      if (!t) throw new Error(`set-topic-configs: ${record.name} does not exist`);
      topics.set(record.name, { ...t, configs: { ...record.configs } });
      break;
    }
  }
  return { clusterId: state.clusterId, version: state.version + 1, topics };
}

/**
 * GroupStore over the internal `__consumer_offsets` topic (internal-topic.ts: replicated,
 * compacted, coordinator = partition leader, loaded on election). Keys are the coordinator keys
 * (offsets-records.ts), deletions are tombstones, so a load reads about one record per live
 * offset and group plus what is newer than the last cleaning.
 *
 * Transactional offset commits (TxnOffsetCommit) are written as transactional batches of the
 * producer; they take effect when the transaction's commit marker reaches the partition, and are
 * dropped by an abort marker, both when they happen and when a load replays them.
 */
import { parseTxnMarker } from '../kafka/protocol/txn-markers.js';
import type { Cluster } from '../cluster/types.js';
import type { CoordinatorLogger, CoordinatorRecord, GroupCoordinator, GroupStore } from './group-coordinator.js';
import { OFFSETS_TOPIC } from './group-partition.js';
import { InternalTopic, type TxnWriter } from './internal-topic.js';
import type { PartitionLoadHooks } from './partition-loader.js';
import {
  CoordinatorRecordError,
  decodeConsumerGroupValue,
  decodeConsumerMemberValue,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  type ConsumerGroupValue,
  type ConsumerMemberValue,
  type CoordinatorKey,
  type GroupValue,
  type OffsetValue,
} from './offsets-records.js';

export type StoredValue = OffsetValue | GroupValue | ConsumerGroupValue | ConsumerMemberValue;

export interface OffsetsTopicOptions {
  readonly cluster: Cluster;
  /** offsets.topic.num.partitions: used until the topic exists, then the topic's count wins. */
  readonly partitions: number;
  /** The replication factor to create the topic with (asked when it is created). */
  readonly replicationFactor: () => number;
  /** segment.bytes of a topic created here (offsets.topic.segment.bytes); the broker default when absent. */
  readonly segmentBytes?: number;
  readonly logger: CoordinatorLogger;
  /** The records' timestamps (default Date.now; the system simulator's virtual clock). */
  readonly now?: () => number;
}

/** What a load hands back, in log order. */
export interface ReplayVisitor {
  record(key: CoordinatorKey, value: StoredValue | null): void;
  /** A record of a transactional offset commit, pending until its producer's marker. */
  txnRecord(producerId: number, key: CoordinatorKey, value: StoredValue | null): void;
  marker(producerId: number, commit: boolean): void;
}

export class OffsetsTopicStore extends InternalTopic implements GroupStore {
  private readonly log: CoordinatorLogger;

  constructor(opts: OffsetsTopicOptions) {
    super({ ...opts, topic: OFFSETS_TOPIC });
    this.log = opts.logger;
  }

  owns(groupId: string): boolean {
    return this.ownership(groupId) === 0;
  }

  override append(groupId: string, records: readonly CoordinatorRecord[], txn?: TxnWriter): Promise<void> {
    return super.append(groupId, records, txn);
  }

  /**
   * Reads one partition from its start to `end` (its high watermark once this broker leads it
   * and everything before is committed), in offset order. `stillLeader` stops a load whose
   * leadership ended.
   */
  async replayPartition(partition: number, end: number, visit: ReplayVisitor, stillLeader: () => boolean): Promise<{ records: number; skipped: number }> {
    let records = 0;
    let skipped = 0;
    await this.replay(
      partition,
      end,
      (header, decoded, batch) => {
        if (header.isControl) {
          const m = parseTxnMarker(batch);
          if (m !== null) visit.marker(m.producerId, m.commit);
          return;
        }
        if (decoded === null) {
          // Not ours (e.g. a compressed batch some client produced): skip it, never refuse to load.
          skipped++;
          this.log.warn({ partition, offset: header.baseOffset }, 'skipping unreadable offsets-topic batch');
          return;
        }
        for (const rec of decoded) {
          try {
            const [k, v] = decodeRecord(rec.key, rec.value);
            if (header.isTransactional && header.producerId >= 0) visit.txnRecord(header.producerId, k, v);
            else visit.record(k, v);
            records++;
          } catch (e) {
            if (!(e instanceof CoordinatorRecordError)) throw e;
            skipped++;
            this.log.warn({ partition, offset: rec.offset, err: e.message }, 'skipping unreadable offsets-topic record');
          }
        }
      },
      stillLeader,
    );
    return { records, skipped };
  }
}

/** Selects the groups whose coordinator key maps to `partition`. */
export function groupsOfPartition(store: OffsetsTopicStore, partition: number): (groupId: string) => boolean {
  return (groupId) => store.partitionFor(groupId) === partition;
}

/**
 * How a load of an offsets partition feeds the group coordinator: records in log order,
 * transactional ones pending until their marker, then groups of that partition come back Empty.
 * One definition, so the system simulator loads partitions exactly as the broker does.
 */
export function offsetsLoadHooks(store: OffsetsTopicStore, groups: GroupCoordinator): PartitionLoadHooks {
  return {
    replay: (partition, end, stillLeader) =>
      store.replayPartition(
        partition,
        end,
        {
          record: (key, value) => groups.applyRecord(key, value),
          txnRecord: (producerId, key, value) => groups.applyTxnRecord(producerId, key, value),
          marker: (producerId, commit) => groups.completeTransaction(producerId, commit, groupsOfPartition(store, partition)),
        },
        stillLeader,
      ),
    loaded: (partition) => {
      groups.finishLoading(groupsOfPartition(store, partition));
      return groups.groupCount();
    },
    unload: (partition) => groups.unload(groupsOfPartition(store, partition)),
  };
}

function decodeRecord(key: Buffer | null, value: Buffer | null): [CoordinatorKey, StoredValue | null] {
  if (key === null) throw new CoordinatorRecordError('record without a key');
  const k = decodeKey(key);
  if (value === null) return [k, null];
  switch (k.type) {
    case 'offset':
      return [k, decodeOffsetValue(value)];
    case 'group':
      return [k, decodeGroupValue(value)];
    case 'consumer-group':
      return [k, decodeConsumerGroupValue(value)];
    case 'consumer-member':
      return [k, decodeConsumerMemberValue(value)];
  }
}

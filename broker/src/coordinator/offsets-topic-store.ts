/**
 * GroupStore over the internal `__consumer_offsets` topic, a replicated partitioned topic like
 * any other. The coordinator of a group is the leader of the group's partition: a broker loads
 * a partition's groups when it becomes its leader (once everything committed before is readable)
 * and forgets them when it stops leading it. Records are appended with acks=-1, so a commit is
 * on a quorum before it is answered. The topic is created on first use (FindCoordinator), with
 * min(offsets.topic.replication.factor, live brokers) replicas. It is compacted
 * (cleanup.policy=compact, see log/cleaner.ts): keys are the coordinator keys, deletions are
 * tombstones, so a load reads about one record per live offset and group plus what is newer
 * than the last cleaning.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { buildRecordBatch, decodeRecords, readBatchHeader, BATCH_HEADER_SIZE } from '../kafka/protocol/records.js';
import type { Cluster } from '../cluster/types.js';
import type { CoordinatorLogger, CoordinatorRecord, GroupStore } from './group-coordinator.js';
import { OFFSETS_TOPIC, partitionForKey } from './group-partition.js';
import {
  CoordinatorRecordError,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  type CoordinatorKey,
  type GroupValue,
  type OffsetValue,
} from './offsets-records.js';

const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** Well below the default max.message.bytes (1 MiB). */
const MAX_BATCH_BYTES = 256 * 1024;

export interface OffsetsTopicOptions {
  readonly cluster: Cluster;
  /** offsets.topic.num.partitions: used until the topic exists, then the topic's count wins. */
  readonly partitions: number;
  /** The replication factor to create the topic with (asked when it is created). */
  readonly replicationFactor: () => number;
  /** segment.bytes of a topic created here (offsets.topic.segment.bytes); the broker default when absent. */
  readonly segmentBytes?: number;
  readonly logger: CoordinatorLogger;
}

export type ReplayVisitor = (key: CoordinatorKey, value: OffsetValue | GroupValue | null) => void;

export class OffsetsTopicStore implements GroupStore {
  /** Partitions whose groups this broker has loaded (it leads them). */
  private readonly loaded = new Set<number>();
  /** Partitions being loaded. */
  private readonly loading = new Set<number>();
  private creating: Promise<void> | null = null;

  constructor(private readonly opts: OffsetsTopicOptions) {}

  private get cluster(): Cluster {
    return this.opts.cluster;
  }

  /** The partition count in use: the topic's once it exists, else the configured one. */
  get partitions(): number {
    const info = this.cluster.topic(OFFSETS_TOPIC);
    return info?.partitions ?? this.opts.partitions;
  }

  /** Creates the topic if it does not exist yet; concurrent callers share one attempt. */
  ensureTopic(): Promise<void> {
    if (this.cluster.topic(OFFSETS_TOPIC) !== undefined) return Promise.resolve();
    this.creating ??= (async () => {
      try {
        await this.cluster.createTopic({
          name: OFFSETS_TOPIC,
          partitions: this.opts.partitions,
          replicationFactor: this.opts.replicationFactor(),
          configs: { 'cleanup.policy': 'compact', ...(this.opts.segmentBytes !== undefined ? { 'segment.bytes': String(this.opts.segmentBytes) } : {}) },
          internal: true,
        });
        this.opts.logger.info({ topic: OFFSETS_TOPIC, partitions: this.opts.partitions }, 'created the offsets topic');
      } catch (e) {
        // Another broker (or an earlier attempt) created it meanwhile.
        if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  partitionFor(groupId: string): number {
    return partitionForKey(groupId, this.partitions);
  }

  private leads(partition: number): boolean {
    return this.cluster.partition(OFFSETS_TOPIC, partition)?.isLeader() ?? false;
  }

  owns(groupId: string): boolean {
    return this.ownership(groupId) === ErrorCode.NONE;
  }

  ownership(groupId: string): number {
    const p = this.partitionFor(groupId);
    if (!this.leads(p)) return ErrorCode.NOT_COORDINATOR;
    if (this.loaded.has(p)) return ErrorCode.NONE;
    return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  isLoaded(partition: number): boolean {
    return this.loaded.has(partition);
  }

  isLoading(partition: number): boolean {
    return this.loading.has(partition);
  }

  markLoading(partition: number): void {
    this.loading.add(partition);
  }

  markLoaded(partition: number): void {
    this.loading.delete(partition);
    this.loaded.add(partition);
  }

  markUnloaded(partition: number): void {
    this.loading.delete(partition);
    this.loaded.delete(partition);
  }

  async append(groupId: string, records: readonly CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const partition = this.partitionFor(groupId);
    const p = this.cluster.partition(OFFSETS_TOPIC, partition);
    if (p === undefined || !p.isLeader() || !this.loaded.has(partition)) {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this broker does not lead ${OFFSETS_TOPIC}-${partition} (group '${groupId}')`);
    }
    const now = Date.now();
    // Several batches in one append (one write, one fsync) so a commit of thousands of partitions
    // stays under the topic's max.message.bytes per batch.
    const batches: Buffer[] = [];
    let chunk: Array<{ key: Buffer; value: Buffer | null; timestamp: number }> = [];
    let chunkBytes = 0;
    for (const r of records) {
      chunk.push({ key: r.key, value: r.value, timestamp: now });
      chunkBytes += r.key.length + (r.value?.length ?? 0) + 32;
      if (chunkBytes >= MAX_BATCH_BYTES) {
        batches.push(buildRecordBatch({ records: chunk }));
        chunk = [];
        chunkBytes = 0;
      }
    }
    if (chunk.length > 0) batches.push(buildRecordBatch({ records: chunk }));
    await p.append(batches.length === 1 ? batches[0]! : Buffer.concat(batches), -1);
  }

  /**
   * Reads one partition from its start to `end` (its high watermark once this broker leads it
   * and everything before is committed), in offset order. `stillLeader` stops a load whose
   * leadership ended.
   */
  async replayPartition(partition: number, end: number, visit: ReplayVisitor, stillLeader: () => boolean): Promise<{ records: number; skipped: number }> {
    let records = 0;
    let skipped = 0;
    const p = this.cluster.partition(OFFSETS_TOPIC, partition);
    if (p === undefined) return { records, skipped };
    let offset = p.logStartOffset();
    while (offset < end && stillLeader()) {
      const read = await p.read(offset, REPLAY_READ_BYTES, 0);
      if (read.records.length === 0 || read.nextOffset <= offset) break;
      let pos = 0;
      while (pos + BATCH_HEADER_SIZE <= read.records.length) {
        const header = readBatchHeader(read.records, pos);
        if (pos + header.sizeInBytes > read.records.length) break;
        if (!header.isControl) {
          let decoded: ReturnType<typeof decodeRecords>['records'];
          try {
            decoded = decodeRecords(read.records, pos).records;
          } catch (e) {
            // Not ours (e.g. a compressed batch some client produced): skip it, never refuse to load.
            skipped++;
            this.opts.logger.warn({ partition, offset: header.baseOffset, err: e instanceof Error ? e.message : String(e) }, 'skipping unreadable offsets-topic batch');
            pos += header.sizeInBytes;
            continue;
          }
          for (const rec of decoded) {
            if (rec.offset < offset || rec.offset >= end) continue;
            try {
              visit(...decodeRecord(rec.key, rec.value));
              records++;
            } catch (e) {
              if (!(e instanceof CoordinatorRecordError)) throw e;
              skipped++;
              this.opts.logger.warn({ partition, offset: rec.offset, err: e.message }, 'skipping unreadable offsets-topic record');
            }
          }
        }
        pos += header.sizeInBytes;
      }
      offset = read.nextOffset;
    }
    return { records, skipped };
  }
}

function decodeRecord(key: Buffer | null, value: Buffer | null): [CoordinatorKey, OffsetValue | GroupValue | null] {
  if (key === null) throw new CoordinatorRecordError('record without a key');
  const k = decodeKey(key);
  if (value === null) return [k, null];
  return [k, k.type === 'offset' ? decodeOffsetValue(value) : decodeGroupValue(value)];
}

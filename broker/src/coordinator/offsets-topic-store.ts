/**
 * GroupStore over the internal `__consumer_offsets` topic: creates the topic on first start,
 * appends coordinator records with acks=-1 (durable before the request is answered), and replays
 * every local partition at start-up. The topic is compacted (cleanup.policy=compact, see
 * log/cleaner.ts): keys are the coordinator keys, deletions are tombstones, so replay reads
 * about one record per live offset and group plus whatever is newer than the last cleaning.
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
  readonly partitions: number;
  readonly replicationFactor: number;
  /** segment.bytes of a topic created here (offsets.topic.segment.bytes); the broker default when absent. */
  readonly segmentBytes?: number;
  readonly logger: CoordinatorLogger;
}

export type ReplayVisitor = (key: CoordinatorKey, value: OffsetValue | GroupValue | null) => void;

export class OffsetsTopicStore implements GroupStore {
  private constructor(
    private readonly cluster: Cluster,
    /** The partition count actually in use (an existing topic wins over the config). */
    readonly partitions: number,
    private readonly log: CoordinatorLogger,
  ) {}

  /** Opens the topic, creating it (internal, compacted) if it does not exist yet. */
  static async open(opts: OffsetsTopicOptions): Promise<OffsetsTopicStore> {
    let info = opts.cluster.topic(OFFSETS_TOPIC);
    if (info === undefined) {
      try {
        info = await opts.cluster.createTopic({
          name: OFFSETS_TOPIC,
          partitions: opts.partitions,
          replicationFactor: opts.replicationFactor,
          configs: { 'cleanup.policy': 'compact', ...(opts.segmentBytes !== undefined ? { 'segment.bytes': String(opts.segmentBytes) } : {}) },
          internal: true,
        });
        opts.logger.info({ topic: OFFSETS_TOPIC, partitions: opts.partitions }, 'created the offsets topic');
      } catch (e) {
        // Another path (a racing broker start, an admin) may have created it meanwhile.
        if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
        info = opts.cluster.topic(OFFSETS_TOPIC);
        if (info === undefined) throw e;
      }
    } else if (info.partitions !== opts.partitions) {
      opts.logger.warn(
        { configured: opts.partitions, actual: info.partitions },
        'offsets.topic.num.partitions differs from the existing offsets topic; using the existing partition count',
      );
    }
    return new OffsetsTopicStore(opts.cluster, info.partitions, opts.logger);
  }

  partitionFor(groupId: string): number {
    return partitionForKey(groupId, this.partitions);
  }

  owns(groupId: string): boolean {
    return this.cluster.partition(OFFSETS_TOPIC, this.partitionFor(groupId))?.isLeader() ?? false;
  }

  async append(groupId: string, records: readonly CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const partition = this.partitionFor(groupId);
    const p = this.cluster.partition(OFFSETS_TOPIC, partition);
    if (p === undefined || !p.isLeader()) {
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

  /** Reads every local partition from its start to its high watermark, in offset order. */
  async replay(visit: ReplayVisitor): Promise<{ records: number; skipped: number }> {
    let records = 0;
    let skipped = 0;
    for (let partition = 0; partition < this.partitions; partition++) {
      const p = this.cluster.partition(OFFSETS_TOPIC, partition);
      if (p === undefined) continue;
      let offset = p.logStartOffset();
      const end = p.highWatermark();
      while (offset < end) {
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
              // Not ours (e.g. a compressed batch some client produced): skip it, never refuse to start.
              skipped++;
              this.log.warn({ partition, offset: header.baseOffset, err: e instanceof Error ? e.message : String(e) }, 'skipping unreadable offsets-topic batch');
              pos += header.sizeInBytes;
              continue;
            }
            for (const rec of decoded) {
              if (rec.offset < offset) continue;
              try {
                visit(...decodeRecord(rec.key, rec.value));
                records++;
              } catch (e) {
                if (!(e instanceof CoordinatorRecordError)) throw e;
                skipped++;
                this.log.warn({ partition, offset: rec.offset, err: e.message }, 'skipping unreadable offsets-topic record');
              }
            }
          }
          pos += header.sizeInBytes;
        }
        offset = read.nextOffset;
      }
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

/**
 * An internal, compacted, replicated topic that a coordinator keeps its state in
 * (`__consumer_offsets`, `__transaction_state`): the coordinator of a key is the leader of the
 * key's partition, which loads the partition's state when it becomes leader (once everything
 * committed before is readable) and forgets it when it stops leading it. Records are appended
 * with acks=-1, so a change is on a quorum before it is answered. The topic is created on first
 * use, with min(configured replication factor, live brokers) replicas.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import {
  buildRecordBatch,
  checkBatch,
  decodeRecords,
  readBatchHeader,
  BATCH_HEADER_SIZE,
  type DecodedRecord,
  type RecordBatchHeader,
} from '../kafka/protocol/records.js';
import type { ReadResult } from '../log/types.js';
import type { Cluster } from '../cluster/types.js';
import type { CoordinatorLogger, CoordinatorRecord } from './group-types.js';
import { partitionForKey } from './group-partition.js';

const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** Reads of one position a load tries before it gives up on a batch that fails its checksum. */
const REPLAY_READ_ATTEMPTS = 5;
/** Well below the default max.message.bytes (1 MiB). */
const MAX_BATCH_BYTES = 256 * 1024;

export interface InternalTopicOptions {
  readonly cluster: Cluster;
  readonly topic: string;
  /** Partitions to create the topic with: used until the topic exists, then the topic's count wins. */
  readonly partitions: number;
  /** The replication factor to create the topic with (asked when it is created). */
  readonly replicationFactor: () => number;
  /** segment.bytes of the topic when created here; the broker default when absent. */
  readonly segmentBytes?: number;
  readonly logger: CoordinatorLogger;
  /** The records' timestamps (default Date.now; the system simulator's virtual clock). */
  readonly now?: () => number;
}

/** A transactional write (the group coordinator's TxnOffsetCommit). */
export interface TxnWriter {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * One batch read back while loading: its header, its records (null for an unreadable batch) and
 * its bytes (a control batch is a marker to parse).
 */
export type BatchVisitor = (header: RecordBatchHeader, records: readonly DecodedRecord[] | null, batch: Buffer) => void;

export class InternalTopic {
  /** Partitions whose state this broker has loaded (it leads them). */
  private readonly loaded = new Set<number>();
  /** Partitions being loaded. */
  private readonly loading = new Set<number>();
  private creating: Promise<void> | null = null;

  constructor(private readonly opts: InternalTopicOptions) {}

  get name(): string {
    return this.opts.topic;
  }

  private get cluster(): Cluster {
    return this.opts.cluster;
  }

  /** The partition count in use: the topic's once it exists, else the configured one. */
  get partitions(): number {
    return this.cluster.topic(this.opts.topic)?.partitions ?? this.opts.partitions;
  }

  exists(): boolean {
    return this.cluster.topic(this.opts.topic) !== undefined;
  }

  /** Creates the topic if it does not exist yet; concurrent callers share one attempt. */
  ensureTopic(): Promise<void> {
    if (this.exists()) return Promise.resolve();
    this.creating ??= (async () => {
      try {
        await this.cluster.createTopic({
          name: this.opts.topic,
          partitions: this.opts.partitions,
          replicationFactor: this.opts.replicationFactor(),
          configs: { 'cleanup.policy': 'compact', ...(this.opts.segmentBytes !== undefined ? { 'segment.bytes': String(this.opts.segmentBytes) } : {}) },
          internal: true,
        });
        this.opts.logger.info({ topic: this.opts.topic, partitions: this.opts.partitions }, 'created an internal topic');
      } catch (e) {
        // Another broker (or an earlier attempt) created it meanwhile.
        if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  partitionFor(key: string): number {
    return partitionForKey(key, this.partitions);
  }

  leads(partition: number): boolean {
    return this.cluster.partition(this.opts.topic, partition)?.isLeader() ?? false;
  }

  /** The leader epoch of a partition this broker leads (the coordinator epoch), else -1. */
  leaderEpoch(partition: number): number {
    const p = this.cluster.partition(this.opts.topic, partition);
    return p !== undefined && p.isLeader() ? p.leaderEpoch() : -1;
  }

  /**
   * NONE when this broker coordinates `key`; NOT_COORDINATOR when another broker does (or none
   * yet); COORDINATOR_LOAD_IN_PROGRESS while this broker loads the key's partition.
   */
  ownership(key: string): number {
    const p = this.partitionFor(key);
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

  /**
   * Appends records of `key` to its partition durably (acks=-1): several batches in one append
   * (one write, one fsync) so thousands of records stay under max.message.bytes per batch.
   * With `txn`, as a transactional batch of that producer (closed later by its marker).
   */
  async append(key: string, records: readonly CoordinatorRecord[], txn?: TxnWriter): Promise<void> {
    if (records.length === 0) return;
    const partition = this.partitionFor(key);
    const p = this.cluster.partition(this.opts.topic, partition);
    if (p === undefined || !p.isLeader() || !this.loaded.has(partition)) {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this broker does not lead ${this.opts.topic}-${partition} (key '${key}')`);
    }
    const now = this.opts.now?.() ?? Date.now();
    const batches: Buffer[] = [];
    let chunk: Array<{ key: Buffer; value: Buffer | null; timestamp: number }> = [];
    let chunkBytes = 0;
    const flush = (): void => {
      batches.push(
        buildRecordBatch({
          records: chunk,
          ...(txn ? { producerId: txn.producerId, producerEpoch: txn.producerEpoch, baseSequence: -1, isTransactional: true } : {}),
        }),
      );
      chunk = [];
      chunkBytes = 0;
    };
    for (const r of records) {
      chunk.push({ key: r.key, value: r.value, timestamp: now });
      chunkBytes += r.key.length + (r.value?.length ?? 0) + 32;
      if (chunkBytes >= MAX_BATCH_BYTES) flush();
    }
    if (chunk.length > 0) flush();
    await p.append(batches.length === 1 ? (batches[0] as Buffer) : Buffer.concat(batches), -1, txn ? { internal: true } : {});
  }

  /**
   * Reads one partition from its start to `end` (its high watermark once this broker leads it
   * and everything before is committed), batch by batch in offset order; records below the
   * read position or at/after `end` are left out. `stillLeader` stops a load whose leadership
   * ended. A batch whose records cannot be decoded (not ours: a compressed batch some client
   * produced) is passed with null records so the caller can skip it, never refuse to load.
   *
   * A batch that fails its checksum is not skipped, and a read that comes back empty below `end`
   * does not end the replay: either would drop committed state (an acknowledged offset commit)
   * without a trace. A flipped bit in one read is read again; a batch that stays unreadable
   * fails the load (throws KafkaError CORRUPT_MESSAGE), and the partition is not served rather
   * than served without it (the loader tries again on its next reconcile).
   */
  async replay(partition: number, end: number, visit: BatchVisitor, stillLeader: () => boolean): Promise<void> {
    const p = this.cluster.partition(this.opts.topic, partition);
    if (p === undefined) return;
    let offset = p.logStartOffset();
    while (offset < end && stillLeader()) {
      const read = await this.readIntact(p, partition, offset, end);
      let pos = 0;
      while (pos + BATCH_HEADER_SIZE <= read.records.length) {
        const header = readBatchHeader(read.records, pos);
        if (pos + header.sizeInBytes > read.records.length) break;
        if (header.lastOffset >= offset && header.baseOffset < end) {
          let decoded: DecodedRecord[] | null;
          try {
            decoded = decodeRecords(read.records, pos).records.filter((r) => r.offset >= offset && r.offset < end);
          } catch {
            decoded = null;
          }
          visit(header, decoded, read.records.subarray(pos, pos + header.sizeInBytes));
        }
        pos += header.sizeInBytes;
      }
      offset = read.nextOffset;
    }
  }

  /**
   * One read of the partition at `offset` (below `end`) that returns something, and whose whole
   * batches before `end` all pass their checksum. An empty read below `end` is a read that went
   * wrong too (the log stops a read at a batch it finds corrupt): the records are there, they
   * are committed, and ending the replay there would serve the partition without them.
   */
  private async readIntact(p: NonNullable<ReturnType<Cluster['partition']>>, partition: number, offset: number, end: number): Promise<ReadResult> {
    let why = '';
    for (let attempt = 1; attempt <= REPLAY_READ_ATTEMPTS; attempt++) {
      const read = await p.read(offset, REPLAY_READ_BYTES, 0);
      why = read.records.length === 0 || read.nextOffset <= offset ? `nothing read at ${offset}, below ${end}` : corruption(read.records, offset, end);
      if (why === '') return read;
      this.opts.logger.warn({ topic: this.opts.topic, partition, offset, attempt, err: why }, 'a read while loading came back short or corrupt; reading again');
    }
    this.opts.logger.error({ topic: this.opts.topic, partition, offset, err: why }, 'a coordinator partition keeps reading back short or corrupt; not loading it');
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${this.opts.topic}-${partition} cannot be read back whole at offset ${offset}: ${why}`);
  }
}

/**
 * Why the read's whole batches that the replay would visit (those ending at or after `from` and
 * starting before `end`) are not intact ('' when they are): framing and CRC. Other findings of
 * the batch check (an unknown codec, odd counts) are left to decoding, which skips what it
 * cannot read.
 */
function corruption(records: Buffer, from: number, end: number): string {
  let pos = 0;
  while (pos + BATCH_HEADER_SIZE <= records.length) {
    const header = readBatchHeader(records, pos);
    if (header.sizeInBytes <= 0 || pos + header.sizeInBytes > records.length) break;
    if (header.lastOffset >= from && header.baseOffset < end) {
      const checked = checkBatch(records, pos, pos + header.sizeInBytes, { compacted: true });
      if (checked instanceof KafkaError && checked.code === ErrorCode.CORRUPT_MESSAGE) return checked.message;
    }
    pos += header.sizeInBytes;
  }
  return '';
}

/**
 * A partition hosted by this broker alone: "committed" means fsynced, so the high watermark is
 * the log's flushed offset. The Raft-backed partition will replace it behind ReplicatedPartition.
 *
 * There are no transactions yet, so the last stable offset is the high watermark and
 * transactional batches are refused.
 */
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { validateBatches, type RecordBatchHeader } from '../kafka/protocol/records.js';
import type { AppendResult, BatchInfo, PartitionLog, ReadResult } from '../log/types.js';
import { AppendLock } from './append-lock.js';
import type { ProducerStatePort } from './producer-state-port.js';
import type { Acks, IsolationLevel, ReplicatedPartition } from './types.js';

/** Topic settings the append path enforces, read on every append so config changes apply at once. */
export interface PartitionLimits {
  readonly maxMessageBytes: number;
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  /** Largest allowed |timestamp - now| for CreateTime batches; Infinity disables the check. */
  readonly timestampDifferenceMaxMs: number;
}

export interface LocalPartitionOptions {
  readonly topic: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly producerState: ProducerStatePort;
  readonly limits: () => PartitionLimits;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Waiter {
  readonly offset: number;
  readonly wake: () => void;
}

const EMPTY: Buffer = Buffer.alloc(0);

export class LocalPartition implements ReplicatedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly log: PartitionLog;
  private readonly producers: ProducerStatePort;
  private readonly limits: () => PartitionLimits;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly lock = new AppendLock();
  private readonly waiters = new Set<Waiter>();
  private hwm: number;
  private closed = false;
  private deleted = false;
  /** Batch with the largest timestamp, for ListOffsets -3 (MAX_TIMESTAMP). */
  private maxTs: { timestamp: number; offset: number } = { timestamp: -1, offset: -1 };

  private constructor(opts: LocalPartitionOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.log = opts.log;
    this.producers = opts.producerState;
    this.limits = opts.limits;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.hwm = opts.log.flushedOffset();
  }

  /** Opens the partition, rebuilding producer state and the max-timestamp marker from the log. */
  static async open(opts: LocalPartitionOptions): Promise<LocalPartition> {
    const p = new LocalPartition(opts);
    const log = opts.log;
    const track = (b: BatchInfo): void => {
      if (b.maxTimestamp > p.maxTs.timestamp) p.maxTs = { timestamp: b.maxTimestamp, offset: b.lastOffset };
    };
    async function* scan(): AsyncIterable<BatchInfo> {
      for await (const b of log.scanBatches(log.logStartOffset())) {
        track(b);
        yield b;
      }
    }
    await opts.producerState.restore(scan());
    return p;
  }

  isLeader(): boolean {
    return !this.closed;
  }

  leaderEpoch(): number {
    return 0;
  }

  logStartOffset(): number {
    return this.log.logStartOffset();
  }

  logEndOffset(): number {
    return this.log.logEndOffset();
  }

  highWatermark(): number {
    return this.hwm;
  }

  /** A single broker's log has one epoch, 0. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } | null {
    return epoch >= 0 ? { epoch: 0, endOffset: this.log.logEndOffset() } : null;
  }

  lastStableOffset(): number {
    return this.hwm;
  }

  /** The batch with the largest timestamp seen (its last offset), or null on an empty log. */
  maxTimestamp(): { timestamp: number; offset: number } | null {
    if (this.maxTs.offset < this.log.logStartOffset()) return null;
    return this.maxTs;
  }

  /** Why this partition no longer serves: deleted (clients drop it) or closed (clients retry elsewhere). */
  private gone(): KafkaError {
    return this.deleted
      ? new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic}-${this.partition} was deleted`)
      : new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition} is closed on this broker`);
  }

  async append(batches: Buffer, acks: Acks): Promise<AppendResult> {
    if (this.closed) throw this.gone();
    const result = await this.lock.run(() => this.appendLocked(batches));
    const synced = this.syncAndAdvance();
    if (acks === 0) {
      synced.catch((err: unknown) => this.logger.error({ err, topic: this.topic, partition: this.partition }, 'fsync after acks=0 append failed'));
      return result;
    }
    await synced;
    return result;
  }

  private appendLocked(batches: Buffer): AppendResult {
    // Re-checked under the lock: a close or delete may have been queued ahead of this append.
    if (this.closed) throw this.gone();
    // Framing, magic and CRC are checked here rather than by callers so that no path (produce,
    // the group coordinator, later raft apply) can put a corrupt batch into the log.
    const split = validateBatches(batches);
    const limits = this.limits();
    const now = this.now();
    for (const b of split) this.checkBatch(b, limits, now);

    let first: AppendResult | undefined;
    let last: AppendResult | undefined;
    for (const h of split) {
      const bytes = batches.subarray(h.position, h.position + h.sizeInBytes);
      const ref = {
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        recordCount: h.recordCount,
        isTransactional: h.isTransactional,
      };
      let r: AppendResult;
      if (h.producerId >= 0) {
        const check = this.producers.check(ref);
        if (check.kind === 'error') throw new KafkaError(check.code, check.message);
        if (check.kind === 'duplicate') {
          // A retry of a batch we already have: answer with the offsets it got the first time.
          r = { baseOffset: check.baseOffset, lastOffset: check.lastOffset, logAppendTime: -1 };
        } else {
          r = this.appendBytes(bytes, now);
          this.producers.record(ref, r.baseOffset, r.lastOffset);
        }
      } else {
        r = this.appendBytes(bytes, now);
      }
      const ts = limits.timestampType === 'LogAppendTime' ? (r.logAppendTime >= 0 ? r.logAppendTime : now) : h.maxTimestamp;
      if (ts > this.maxTs.timestamp) this.maxTs = { timestamp: ts, offset: r.lastOffset };
      first ??= r;
      last = r;
    }
    if (!first || !last) throw new Error('unreachable: no batch appended');
    return { baseOffset: first.baseOffset, lastOffset: last.lastOffset, logAppendTime: last.logAppendTime };
  }

  /** Request bytes are referenced by nothing after the append, so the log may keep them as they are. */
  private appendBytes(bytes: Buffer, now: number): AppendResult {
    return this.log.appendOwned ? this.log.appendOwned(bytes, this.leaderEpoch(), now) : this.log.append(bytes, this.leaderEpoch(), now);
  }

  private checkBatch(h: RecordBatchHeader, limits: PartitionLimits, now: number): void {
    const where = `${this.topic}-${this.partition}`;
    if (h.sizeInBytes > limits.maxMessageBytes) {
      throw new KafkaError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `Record batch of ${h.sizeInBytes} bytes exceeds max.message.bytes ${limits.maxMessageBytes} of ${where}`,
      );
    }
    if (h.isTransactional) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'Transactional produce is not supported by Chronik yet');
    }
    if (h.isControl) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Clients may not produce control batches');
    if (limits.timestampType === 'CreateTime' && Number.isFinite(limits.timestampDifferenceMaxMs)) {
      if (Math.abs(h.maxTimestamp - now) > limits.timestampDifferenceMaxMs) {
        throw new KafkaError(
          ErrorCode.INVALID_TIMESTAMP,
          `Timestamp ${h.maxTimestamp} is more than message.timestamp.difference.max.ms (${limits.timestampDifferenceMaxMs}) from broker time`,
        );
      }
    }
  }

  private async syncAndAdvance(): Promise<void> {
    try {
      await this.log.sync();
    } catch (err) {
      this.logger.error({ err, topic: this.topic, partition: this.partition }, 'log fsync failed');
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `fsync of ${this.topic}-${this.partition} failed`);
    }
    this.advanceHighWatermark(this.log.flushedOffset());
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.hwm) return;
    this.hwm = offset;
    for (const w of this.waiters) if (w.offset < offset) w.wake();
  }

  async read(offset: number, maxBytes: number, isolation: IsolationLevel): Promise<ReadResult> {
    if (this.closed) throw this.gone();
    const start = this.log.logStartOffset();
    const end = this.log.logEndOffset();
    if (offset < start || offset > end) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Offset ${offset} is outside ${this.topic}-${this.partition} range [${start}, ${end}]`,
      );
    }
    const limit = isolation === 1 ? this.lastStableOffset() : this.highWatermark();
    if (offset >= limit) return { records: EMPTY, firstOffset: offset, nextOffset: offset };
    return this.log.read(offset, maxBytes, limit);
  }

  waitForData(offset: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.hwm > offset || this.closed || signal.aborted || timeoutMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { offset, wake: done };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
    });
  }

  /**
   * DeleteRecords: moves the log start to `offset` (-1 = high watermark) and returns the new
   * low watermark. Serialised with appends so it never races an offset assignment.
   */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.lock.run(async () => {
      if (this.closed) throw this.gone();
      const target = offset === -1 ? this.hwm : offset;
      if (target < 0 || target > this.hwm) {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `Cannot delete records before ${offset}: ${this.topic}-${this.partition} high watermark is ${this.hwm}`,
        );
      }
      if (target > this.log.logStartOffset()) await this.log.advanceLogStart(target);
      return this.log.logStartOffset();
    });
  }

  /** Applies retention.ms / retention.bytes; serialised with appends because it moves the log start. */
  applyRetention(now: number): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    return this.lock.run(() => this.log.applyRetention(now));
  }

  /** Offset of the first batch with timestamp >= ts, within the committed log. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const found = await this.log.offsetForTimestamp(ts);
    if (!found || found.offset >= this.hwm) return null;
    return found;
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }

  /** Stops the partition; pending appends finish first, long polls wake. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeAll();
    await this.lock.run(() => undefined);
    await this.log.close();
  }

  /** Closes and removes the partition's data (topic deletion). */
  async delete(): Promise<void> {
    this.closed = true;
    this.deleted = true;
    this.wakeAll();
    await this.lock.run(() => undefined);
    await this.log.delete();
  }
}

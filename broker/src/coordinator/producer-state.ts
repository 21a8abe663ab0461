/**
 * Idempotent-producer state of one partition: for every producer id, its current epoch and the
 * sequence/offset ranges of its last few batches. Pure (no I/O, no clock) so the partition
 * leader, a follower rebuilding from its log, and tests all use the same rules.
 *
 * Rules (Kafka's, from the idempotent producer design, KIP-98 and KIP-360):
 * - A batch whose (epoch, firstSeq, lastSeq) equals one of the last MAX_CACHED_BATCHES batches
 *   of the producer is a retry: it succeeds with the ORIGINAL offsets and is not appended again.
 *   Kafka answers such retries with success rather than DUPLICATE_SEQUENCE_NUMBER (46), which
 *   kafkajs treats as fatal.
 * - Same epoch: firstSeq must be lastSeq + 1 (wrapping from int32 max to 0), otherwise
 *   OUT_OF_ORDER_SEQUENCE_NUMBER (45).
 * - Older epoch than the one we know: INVALID_PRODUCER_EPOCH (47). Since Kafka 2.7 (KIP-588)
 *   Produce reports a stale epoch with 47 for every request version; PRODUCER_FENCED (90) is
 *   for the transaction APIs, so Produce never needs it.
 * - Newer epoch: the producer was re-initialised (InitProducerId bumped the epoch), so its
 *   sequences restart and the first batch must carry sequence 0.
 * - Unknown producer id (no state: never seen, or its batches left the log through retention or
 *   DeleteRecords): any sequence is accepted. This is what Kafka does since 2.5 (KIP-360):
 *   answering UNKNOWN_PRODUCER_ID there would force a healthy producer to reset after every
 *   retention pass, and the check cannot protect anything we no longer remember.
 *
 * Transactions (KIP-98): a transactional batch opens the producer's transaction on this
 * partition (its first offset is kept until a marker closes it, which is what the last stable
 * offset and the aborted-transactions index are computed from); a plain batch from a producer
 * with an open transaction is INVALID_TXN_STATE. A marker (commit or abort control batch) closes
 * the transaction; one with an older producer epoch is INVALID_PRODUCER_EPOCH, one from an older
 * coordinator epoch TRANSACTION_COORDINATOR_FENCED, and one with a newer producer epoch fences
 * the producer's older epoch here (an abort on timeout or on a new producer instance). Producers
 * with an open transaction are never evicted. Batches the brokers write themselves (transactional
 * offset commits) carry no sequence (-1): they open a transaction but are not sequence-checked.
 *
 * Concurrency contract for the caller: `check` and `record` must run in the same synchronous
 * step as the log append (before awaiting durability), so a second in-flight batch of the same
 * producer is checked against the first. A duplicate's original offsets may not be durable yet:
 * wait for them like for a fresh append before answering.
 */
import { ErrorCode } from '../kafka/protocol/errors.js';
import type { BatchInfo } from '../log/types.js';

/** How many recent batches per producer are remembered for duplicate detection (Kafka: 5). */
export const MAX_CACHED_BATCHES = 5;

const INT32_MAX = 0x7fffffff;
const NO_PRODUCER_ID = -1;
const NO_SEQUENCE = -1;

/**
 * The table implements the partition's port (replication/producer-state-port.ts): the batch
 * header fields the sequence check needs, and its verdict.
 */
export type { ProducerBatchRef as ProducerBatch, SequenceCheck } from '../replication/producer-state-port.js';
import type { ProducerBatchRef as ProducerBatch, SequenceCheck } from '../replication/producer-state-port.js';

interface CachedBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first, at most MAX_CACHED_BATCHES. */
  batches: CachedBatch[];
  /** First offset of the producer's open transaction on this partition, or -1. */
  txnFirstOffset: number;
  /** Coordinator epoch of the last marker written for this producer, or -1. */
  coordinatorEpoch: number;
  /** Markers seen for this producer (a transaction verified before one arrived is over). */
  markers: number;
}

/** Serialisable form, for raft snapshots of a partition (log start offset + producer state). */
export interface ProducerStateSnapshot {
  /** 1: before transactions (no txn fields). */
  readonly version: 1 | 2;
  readonly producers: ReadonlyArray<{
    readonly producerId: number;
    readonly epoch: number;
    readonly batches: readonly CachedBatch[];
    readonly txnFirstOffset?: number;
    readonly coordinatorEpoch?: number;
  }>;
}

/** A transaction closed by a marker: who, where it began, and how it ended. */
export interface EndedTransaction {
  readonly producerId: number;
  /** -1 when the producer had no open transaction here (an empty one, or a retried marker). */
  readonly firstOffset: number;
  readonly commit: boolean;
}

/** A transaction marker as the partition writes it (WriteTxnMarkers). */
export interface TxnMarkerRef {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
}

/** Sequence `seq` advanced by `delta`, wrapping past int32 max to 0 like Kafka's producer. */
export function incrementSequence(seq: number, delta: number): number {
  if (seq > INT32_MAX - delta) return delta - (INT32_MAX - seq) - 1;
  return seq + delta;
}

function lastSequenceOf(baseSequence: number, recordCount: number): number {
  return incrementSequence(baseSequence, Math.max(recordCount, 1) - 1);
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (lastSeq === INT32_MAX && nextSeq === 0);
}

/**
 * Producers remembered per partition. Kafka forgets idle producers after producer.id.expiration.ms;
 * without a clock here the table forgets the least recently written ones beyond this many. A
 * forgotten producer is simply "unknown" again, whose next batch is accepted (see above), so the
 * cap bounds memory without failing anyone.
 */
export const DEFAULT_MAX_PRODUCERS = 10_000;

export class ProducerStateTable {
  /** In least-recently-written order (re-inserted on every write), so eviction takes the first. */
  private readonly producers = new Map<number, ProducerEntry>();
  /** Open transactions: producer id -> first offset, oldest first (they open in log order). */
  private readonly open = new Map<number, number>();

  constructor(private readonly maxProducers = DEFAULT_MAX_PRODUCERS) {
    if (!Number.isInteger(maxProducers) || maxProducers < 1) throw new RangeError(`maxProducers must be >= 1, got ${maxProducers}`);
  }

  /** Number of producers with state. */
  get size(): number {
    return this.producers.size;
  }

  /** Decides what to do with a batch; changes nothing (call `record` after appending). */
  check(b: ProducerBatch): SequenceCheck {
    if (b.producerId === NO_PRODUCER_ID) {
      if (b.isTransactional) return { kind: 'error', code: ErrorCode.INVALID_RECORD, message: 'a transactional batch needs a producer id' };
      return { kind: 'append' };
    }
    if (b.baseSequence === NO_SEQUENCE && b.isTransactional && b.internal === true) return this.checkTransaction(b) ?? this.checkEpochOnly(b);
    if (!Number.isInteger(b.baseSequence) || b.baseSequence < 0 || b.baseSequence > INT32_MAX) {
      return {
        kind: 'error',
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${b.producerId}: invalid baseSequence ${b.baseSequence} for an idempotent batch`,
      };
    }
    if (!Number.isInteger(b.producerEpoch) || b.producerEpoch < 0) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${b.producerId}: invalid producerEpoch ${b.producerEpoch}`,
      };
    }
    const entry = this.producers.get(b.producerId);
    if (entry === undefined) return { kind: 'append' };

    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${b.producerId}: epoch ${b.producerEpoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    const txnError = this.checkTransaction(b);
    if (txnError !== null) return txnError;
    const firstSeq = b.baseSequence;
    const lastSeq = lastSequenceOf(firstSeq, b.recordCount);
    if (b.producerEpoch > entry.epoch) {
      if (firstSeq !== 0) {
        return {
          kind: 'error',
          code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `producer ${b.producerId}: new epoch ${b.producerEpoch} must start at sequence 0, got ${firstSeq}`,
        };
      }
      return { kind: 'append' };
    }

    const dup = entry.batches.find((c) => c.firstSeq === firstSeq && c.lastSeq === lastSeq);
    if (dup !== undefined) return { kind: 'duplicate', baseOffset: dup.baseOffset, lastOffset: dup.lastOffset };

    const last = entry.batches[entry.batches.length - 1];
    // An entry without batches exists only after a snapshot of an epoch bump; any start is fine.
    if (last !== undefined && !inSequence(last.lastSeq, firstSeq)) {
      return {
        kind: 'error',
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${b.producerId} epoch ${b.producerEpoch}: expected sequence ${incrementSequence(last.lastSeq, 1)}, got ${firstSeq}`,
      };
    }
    return { kind: 'append' };
  }

  /** A batch that does not fit the producer's open transaction here, or null. */
  private checkTransaction(b: ProducerBatch): SequenceCheck | null {
    const entry = this.producers.get(b.producerId);
    if (entry === undefined || entry.txnFirstOffset < 0) return null;
    if (!b.isTransactional) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_TXN_STATE,
        message: `producer ${b.producerId} has an open transaction on this partition (from offset ${entry.txnFirstOffset}): its batches must be transactional`,
      };
    }
    if (b.producerEpoch > entry.epoch) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_TXN_STATE,
        message: `producer ${b.producerId}: epoch ${b.producerEpoch} writes while the transaction of epoch ${entry.epoch} is still open here`,
      };
    }
    return null;
  }

  private checkEpochOnly(b: ProducerBatch): SequenceCheck {
    const entry = this.producers.get(b.producerId);
    if (entry !== undefined && b.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${b.producerId}: epoch ${b.producerEpoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    return { kind: 'append' };
  }

  /** The entry of `producerId`, created (and the least recently written one evicted) if new. */
  private touch(producerId: number, epoch: number): ProducerEntry {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { epoch, batches: [], txnFirstOffset: -1, coordinatorEpoch: -1, markers: 0 };
      this.producers.set(producerId, entry);
      if (this.producers.size > this.maxProducers) this.evictOne();
    } else {
      this.producers.delete(producerId);
      this.producers.set(producerId, entry);
    }
    return entry;
  }

  /** Forgets the least recently written producer without an open transaction. */
  private evictOne(): void {
    for (const [id, e] of this.producers) {
      if (e.txnFirstOffset >= 0) continue;
      this.producers.delete(id);
      return;
    }
  }

  /** Remembers an appended batch (also used when replaying the log). */
  record(b: ProducerBatch, baseOffset: number, lastOffset: number): void {
    if (b.producerId === NO_PRODUCER_ID) return;
    const entry = this.touch(b.producerId, b.producerEpoch);
    if (b.producerEpoch < entry.epoch) {
      // Only reachable from replayed data over a snapshot taken after it (the leader refuses
      // older epochs): keep the newer epoch, but the transaction this batch belongs to was open
      // here, and the marker that closed it is still to be replayed.
      if (b.isTransactional && entry.txnFirstOffset < 0) {
        entry.txnFirstOffset = baseOffset;
        this.open.set(b.producerId, baseOffset);
      }
      return;
    }
    if (b.producerEpoch > entry.epoch) {
      entry.epoch = b.producerEpoch;
      entry.batches = [];
    }
    if (b.isTransactional && entry.txnFirstOffset < 0) {
      entry.txnFirstOffset = baseOffset;
      this.open.set(b.producerId, baseOffset);
    }
    // Batches the brokers write themselves carry no sequence to remember.
    if (b.baseSequence === NO_SEQUENCE) return;
    const newest = entry.batches[entry.batches.length - 1];
    if (newest !== undefined && baseOffset <= newest.lastOffset) {
      // Already known: a replica replaying its log over a snapshot that covers this batch.
      return;
    }
    entry.batches.push({
      firstSeq: b.baseSequence,
      lastSeq: lastSequenceOf(b.baseSequence, b.recordCount),
      baseOffset,
      lastOffset,
    });
    if (entry.batches.length > MAX_CACHED_BATCHES) entry.batches.shift();
  }

  /**
   * Rebuilds the table from a log's batch headers (start-up, becoming leader). Control batches
   * carry no producer sequences of their own and are skipped.
   */
  async restore(batches: AsyncIterable<BatchInfo>): Promise<void> {
    for await (const info of batches) {
      if (info.isControl || info.producerId === NO_PRODUCER_ID) continue;
      this.record(
        {
          producerId: info.producerId,
          producerEpoch: info.producerEpoch,
          baseSequence: info.baseSequence,
          recordCount: info.lastOffset - info.baseOffset + 1,
          isTransactional: info.isTransactional,
        },
        info.baseOffset,
        info.lastOffset,
      );
    }
  }

  /**
   * Whether a marker may be written now: null if so, else the error. A marker's producer epoch
   * may be newer than the data's (the coordinator bumped it to fence the producer) but never
   * older, and its coordinator epoch never older than the last marker's.
   */
  checkMarker(m: TxnMarkerRef): { code: number; message: string } | null {
    const entry = this.producers.get(m.producerId);
    if (entry === undefined) return null;
    if (m.producerEpoch < entry.epoch) {
      return {
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `marker for producer ${m.producerId} has epoch ${m.producerEpoch}, older than the current ${entry.epoch}`,
      };
    }
    if (m.coordinatorEpoch < entry.coordinatorEpoch) {
      return {
        code: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        message: `marker for producer ${m.producerId} comes from coordinator epoch ${m.coordinatorEpoch}, older than ${entry.coordinatorEpoch}`,
      };
    }
    return null;
  }

  /** Applies a marker written at `offset`: closes the producer's transaction here. */
  endTransaction(m: TxnMarkerRef): EndedTransaction {
    const entry = this.touch(m.producerId, m.producerEpoch);
    if (m.producerEpoch > entry.epoch) {
      entry.epoch = m.producerEpoch;
      entry.batches = [];
    }
    if (m.coordinatorEpoch > entry.coordinatorEpoch) entry.coordinatorEpoch = m.coordinatorEpoch;
    entry.markers++;
    const firstOffset = entry.txnFirstOffset;
    entry.txnFirstOffset = -1;
    this.open.delete(m.producerId);
    return { producerId: m.producerId, firstOffset, commit: m.commit };
  }

  /** Whether the producer has an open transaction on this partition. */
  hasOpenTransaction(producerId: number): boolean {
    return (this.producers.get(producerId)?.txnFirstOffset ?? -1) >= 0;
  }

  /** Markers seen for the producer so far (0 when unknown). */
  markerCount(producerId: number): number {
    return this.producers.get(producerId)?.markers ?? 0;
  }

  /** First offset of the oldest open transaction, or null when none is open. */
  firstOpenOffset(): number | null {
    const first = this.open.values().next();
    return first.done ? null : first.value;
  }

  /** The open transactions, oldest first (for tests and the admin view). */
  openTransactions(): Array<{ producerId: number; firstOffset: number }> {
    return [...this.open].map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
  }

  /** Forgets all state (after log truncation): `restore` from the log afterwards. */
  clear(): void {
    this.producers.clear();
    this.open.clear();
  }

  /** The current epoch of a producer, or undefined if unknown. */
  epochOf(producerId: number): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  snapshot(): ProducerStateSnapshot {
    return {
      version: 2,
      producers: [...this.producers].map(([producerId, e]) => ({
        producerId,
        epoch: e.epoch,
        batches: [...e.batches],
        txnFirstOffset: e.txnFirstOffset,
        coordinatorEpoch: e.coordinatorEpoch,
      })),
    };
  }

  static fromSnapshot(s: ProducerStateSnapshot, maxProducers = DEFAULT_MAX_PRODUCERS): ProducerStateTable {
    if (s.version !== 1 && s.version !== 2) throw new Error(`unsupported producer state snapshot version ${String(s.version)}`);
    const t = new ProducerStateTable(maxProducers);
    const open: Array<[number, number]> = [];
    for (const p of s.producers) {
      const txnFirstOffset = Number.isSafeInteger(p.txnFirstOffset) ? (p.txnFirstOffset as number) : -1;
      const coordinatorEpoch = Number.isSafeInteger(p.coordinatorEpoch) ? (p.coordinatorEpoch as number) : -1;
      t.producers.set(p.producerId, { epoch: p.epoch, batches: p.batches.slice(-MAX_CACHED_BATCHES), txnFirstOffset, coordinatorEpoch, markers: 0 });
      if (txnFirstOffset >= 0) open.push([p.producerId, txnFirstOffset]);
    }
    // Oldest first, as `record` would have opened them.
    open.sort((a, b) => a[1] - b[1]);
    for (const [id, first] of open) t.open.set(id, first);
    return t;
  }
}

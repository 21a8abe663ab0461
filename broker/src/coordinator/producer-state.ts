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
}

/** Serialisable form, for raft snapshots of a partition (log start offset + producer state). */
export interface ProducerStateSnapshot {
  readonly version: 1;
  readonly producers: ReadonlyArray<{
    readonly producerId: number;
    readonly epoch: number;
    readonly batches: readonly CachedBatch[];
  }>;
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

  constructor(private readonly maxProducers = DEFAULT_MAX_PRODUCERS) {
    if (!Number.isInteger(maxProducers) || maxProducers < 1) throw new RangeError(`maxProducers must be >= 1, got ${maxProducers}`);
  }

  /** Number of producers with state. */
  get size(): number {
    return this.producers.size;
  }

  /** Decides what to do with a batch; changes nothing (call `record` after appending). */
  check(b: ProducerBatch): SequenceCheck {
    if (b.producerId === NO_PRODUCER_ID) return { kind: 'append' };
    if (b.isTransactional) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_TXN_STATE,
        message: `producer ${b.producerId}: transactional batches are not supported (transactions are not implemented)`,
      };
    }
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

  /** Remembers an appended batch (also used when replaying the log). */
  record(b: ProducerBatch, baseOffset: number, lastOffset: number): void {
    if (b.producerId === NO_PRODUCER_ID) return;
    let entry = this.producers.get(b.producerId);
    if (entry === undefined) {
      entry = { epoch: b.producerEpoch, batches: [] };
      this.producers.set(b.producerId, entry);
      if (this.producers.size > this.maxProducers) {
        const oldest = this.producers.keys().next();
        if (!oldest.done) this.producers.delete(oldest.value);
      }
    } else {
      this.producers.delete(b.producerId);
      this.producers.set(b.producerId, entry);
    }
    const newest = entry.batches[entry.batches.length - 1];
    if (b.producerEpoch === entry.epoch && newest !== undefined && baseOffset <= newest.lastOffset) {
      // Already known: a replica replaying its log over a snapshot that covers this batch.
      return;
    }
    if (b.producerEpoch > entry.epoch) {
      entry.epoch = b.producerEpoch;
      entry.batches = [];
    } else if (b.producerEpoch < entry.epoch) {
      // Only reachable from replayed or replicated data, which is authoritative; keep the newer epoch.
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

  /** Forgets all state (after log truncation): `restore` from the log afterwards. */
  clear(): void {
    this.producers.clear();
  }

  /** The current epoch of a producer, or undefined if unknown. */
  epochOf(producerId: number): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  snapshot(): ProducerStateSnapshot {
    return {
      version: 1,
      producers: [...this.producers].map(([producerId, e]) => ({ producerId, epoch: e.epoch, batches: [...e.batches] })),
    };
  }

  static fromSnapshot(s: ProducerStateSnapshot, maxProducers = DEFAULT_MAX_PRODUCERS): ProducerStateTable {
    if (s.version !== 1) throw new Error(`unsupported producer state snapshot version ${String(s.version)}`);
    const t = new ProducerStateTable(maxProducers);
    for (const p of s.producers) {
      t.producers.set(p.producerId, { epoch: p.epoch, batches: p.batches.slice(-MAX_CACHED_BATCHES) });
    }
    return t;
  }
}

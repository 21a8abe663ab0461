/**
 * A partition as the Kafka APIs see it: a replicated log with a leader. Today one broker hosts
 * each partition alone and "committed" means fsynced locally; the Raft-backed implementation
 * replaces it without changing this interface.
 */
import type { AppendResult, ReadResult } from '../log/types.js';

export type Acks = -1 | 0 | 1;
export type IsolationLevel = 0 | 1; // READ_UNCOMMITTED, READ_COMMITTED

export interface ReplicatedPartition {
  readonly topic: string;
  readonly partition: number;
  isLeader(): boolean;
  leaderEpoch(): number;
  logStartOffset(): number;
  logEndOffset(): number;
  /** Offset after the last committed (durable on a quorum) record. */
  highWatermark(): number;
  /** Offset below which no transaction is open; equals the high watermark without transactions. */
  lastStableOffset(): number;
  /**
   * Validates and appends CRC-checked batches (producer id/epoch/sequence checks included),
   * resolving when `acks` is satisfied. Throws KafkaError with the partition error code.
   * The partition may keep `batches` (and rewrite its offset fields) instead of copying it:
   * callers pass memory they will not touch again (produce passes the request's own bytes).
   */
  append(batches: Buffer, acks: Acks, opts?: { readonly transactionalId?: string | null; readonly internal?: boolean }): Promise<AppendResult>;
  read(offset: number, maxBytes: number, isolation: IsolationLevel): Promise<ReadResult>;
  /**
   * Resolves when the high watermark (read_committed: the last stable offset) passes `offset`,
   * or on timeout/abort (never rejects).
   */
  waitForData(offset: number, timeoutMs: number, signal: AbortSignal, isolation?: IsolationLevel): Promise<void>;
  /** The aborted transactions overlapping [from, upTo) that a read_committed reader must drop. */
  abortedTransactions(from: number, upTo: number): ReadonlyArray<{ readonly producerId: number; readonly firstOffset: number }>;
  /**
   * OffsetForLeaderEpoch: the largest epoch <= `epoch` this log has and the offset where it
   * ended (the next epoch's start, or the log end for the current one); null if none.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } | null;
}

/**
 * Offset maintenance a partition leader offers beside the data path (DeleteRecords, ListOffsets).
 * Added beside ReplicatedPartition so existing implementers are not forced to change.
 */
export interface PartitionOffsetsAdmin {
  /** Moves the log start to `offset` (-1 = high watermark); resolves to the new log start offset. */
  deleteRecordsBefore(offset: number): Promise<number>;
  /** First committed offset whose timestamp is >= ts, or null. */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  /** The committed batch with the largest timestamp (its last offset), or null when empty. */
  maxTimestamp(): { timestamp: number; offset: number } | null;
}

/** What the transaction coordinator asks of a partition leader (WriteTxnMarkers). */
export interface PartitionTxnAdmin {
  /** Writes a commit or abort marker; resolves with its offset once committed. Throws KafkaError. */
  writeTxnMarker(m: { readonly producerId: number; readonly producerEpoch: number; readonly coordinatorEpoch: number; readonly commit: boolean }): Promise<number>;
}

export type DataPartition = ReplicatedPartition & PartitionOffsetsAdmin & PartitionTxnAdmin;

/** Topic settings the append path enforces, read on every append so config changes apply at once. */
export interface PartitionLimits {
  readonly maxMessageBytes: number;
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  /** Largest allowed |timestamp - now| for CreateTime batches; Infinity disables the check. */
  readonly timestampDifferenceMaxMs: number;
}

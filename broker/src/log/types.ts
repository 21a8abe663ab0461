/**
 * The on-disk partition log. One PartitionLog per (topic, partition) directory; all logs of a
 * broker share one LogManager, whose group committer lets one fsync cover appends to many
 * partitions. The log stores Kafka record batches (magic 2) byte for byte; the replication
 * layer will later write its raft entries through the same segments.
 *
 * Offsets and timestamps are JS numbers (see kafka/protocol/schema.ts).
 */

export interface LogConfig {
  /** segment.bytes: roll a new segment when the active one would exceed this. */
  readonly segmentBytes: number;
  /** segment.ms: roll after this age even if not full. */
  readonly segmentMs: number;
  /** retention.ms; -1 keeps forever. */
  readonly retentionMs: number;
  /** retention.bytes; -1 keeps any size. */
  readonly retentionBytes: number;
  /** index.interval.bytes: one offset-index entry per this many bytes of batches. */
  readonly indexIntervalBytes: number;
  /**
   * cleanup.policy: 'delete', 'compact' or both ('compact,delete' in any order). Retention by
   * time and size applies only with 'delete'; the log cleaner compacts only with 'compact'.
   */
  readonly cleanupPolicy: string;
  /** message.timestamp.type: 'CreateTime' or 'LogAppendTime'. */
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  // Compaction (see cleaner.ts); absent fields take Kafka's defaults (compactionSettings()).
  /** min.cleanable.dirty.ratio: dirty share of the log that makes it worth cleaning (0.5). */
  readonly minCleanableDirtyRatio?: number;
  /** min.compaction.lag.ms: a segment with records younger than this is not cleaned yet (0). */
  readonly minCompactionLagMs?: number;
  /** max.compaction.lag.ms: dirty data older than this is cleaned whatever the ratio (never). */
  readonly maxCompactionLagMs?: number;
  /** delete.retention.ms: how long a tombstone outlives the values it deleted (1 day). */
  readonly deleteRetentionMs?: number;
}

/** Header fields of one record batch, read without decoding its records. */
export interface BatchInfo {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly sizeInBytes: number;
}

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Time the broker stamped for LogAppendTime topics, else -1. */
  readonly logAppendTime: number;
}

export interface ReadResult {
  /** Whole batches, concatenated, starting at the batch that contains the requested offset. */
  readonly records: Buffer;
  readonly firstOffset: number;
  /** Offset after the last batch returned. */
  readonly nextOffset: number;
}

export interface PartitionLog {
  readonly dir: string;
  logStartOffset(): number;
  /** Log end offset: the offset the next appended record gets. */
  logEndOffset(): number;
  /** Offset below which everything is on disk and fsynced. */
  flushedOffset(): number;
  /**
   * Appends batches (one or more, already CRC-checked) as the next offsets: rewrites each
   * batch's baseOffset (and partitionLeaderEpoch) and writes them to the active segment.
   * Written, not yet durable: durability comes from `sync()`.
   */
  append(batches: Buffer, leaderEpoch: number, now: number): AppendResult;
  /**
   * Like `append`, but the caller hands `batches` over: the log may keep that memory (rewriting
   * it in place) until it is on disk instead of copying it, so the caller must neither change nor
   * reuse it afterwards. Produce uses it for request bytes nothing else references. Optional.
   */
  appendOwned?(batches: Buffer, leaderEpoch: number, now: number): AppendResult;
  /**
   * Appends batches that already carry their offsets (a follower copying its leader): they must
   * continue the log exactly. Optional so other implementations need not provide it.
   */
  appendWithOffsets?(batches: Buffer, now: number): AppendResult;
  /** Resolves once everything appended before the call is fsynced (group commit). */
  sync(): Promise<void>;
  /**
   * Reads whole batches from `offset`, stopping before `maxOffset` (exclusive, e.g. the high
   * watermark) and after about `maxBytes` - but always at least one whole batch if any exists.
   */
  read(offset: number, maxBytes: number, maxOffset: number): Promise<ReadResult>;
  /** First offset whose timestamp is >= ts, or null if none (ListOffsets by time). */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  /** Batch headers from `offset` on, for rebuilding producer state and for recovery. */
  scanBatches(fromOffset: number): AsyncIterable<BatchInfo>;
  /** Moves the log start offset forward (DeleteRecords); whole segments below it are deleted. */
  advanceLogStart(offset: number): Promise<void>;
  /** Drops everything at and above `offset` (raft log repair). */
  truncateTo(offset: number): Promise<void>;
  /** Applies retention.ms / retention.bytes; returns how many segments were deleted. */
  applyRetention(now: number): Promise<number>;
  updateConfig(config: LogConfig): void;
  /**
   * Lets the log cleaner rewrite segments wholly below `offset` (and below the flushed offset);
   * 0, the default, allows none. Infinity for a log no raft group reads as its raft log.
   */
  setCleanableBelow?(offset: number): void;
  close(): Promise<void>;
  /** Removes the partition's directory (topic deletion). */
  delete(): Promise<void>;
}

/** The log cleaner's tunables (CleanerOptions in cleaner.ts); broker settings log.cleaner.*. */
export interface CleanerSettings {
  readonly dedupeBufferBytes: number;
  readonly ioBytesPerSecond: number;
  readonly backoffMs: number;
  readonly errorBackoffMs: number;
  readonly maxErrorBackoffMs: number;
}

export interface LogManager {
  /** Opens (recovering if needed) or creates the log in `<dataDir>/<topic>-<partition>`. */
  open(topic: string, partition: number, config: LogConfig): Promise<PartitionLog>;
  /** Starts compacting open logs with cleanup.policy 'compact' in the background (see cleaner.ts). */
  startCleaning?(options?: Partial<CleanerSettings>): void;
  close(): Promise<void>;
}

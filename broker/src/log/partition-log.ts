/**
 * The partition log on disk: a directory of segments, each `.log` + `.index` + `.timeindex`,
 * named by base offset. Appends are synchronous bookkeeping into the active segment's memory
 * buffer; the shared GroupCommitter writes and fsyncs them. See recovery.ts for start-up.
 */
import path from 'node:path';
import type { FileSystem } from '../platform/file-system.js';
import type { Logger } from 'pino';
import { crc32c } from '../kafka/protocol/crc32c.js';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { CorruptStoredBatch } from './corrupt-stored-batch.js';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  RecordBatchError,
  checkBatch,
  decodeRecords,
  readBatchHeader,
  readInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  type RecordBatchHeader,
} from '../kafka/protocol/records.js';
import { BatchReader, type BatchStep } from './batch-reader.js';
import { compactionSettings, deletesByRetention } from './cleanup-policy.js';
import { encodeCheckedJson } from './checked-json.js';
import { CHECKPOINT_FILE, CLEANER_CHECKPOINT_FILE, fsyncDir, fsyncFd, writeFileAtomic, writeFileDurable } from './files.js';
import type { FileFlush, FlushPlan, Flushable, GroupCommitter } from './group-committer.js';
import { writeCleanMarker } from './clean-shutdown.js';
import { Mutex } from './mutex.js';
import { Segment } from './segment.js';
import { commitSwap, type CleanedSegmentWriter, type RewriteProbe } from './segment-rewrite.js';
import { restoreTailState } from './segment-scan.js';
import type { AppendResult, BatchInfo, LogConfig, PartitionLog, ReadResult } from './types.js';

const MAX_RELATIVE_OFFSET = 0x7fffffff;
/** Reads of stored batches before a CRC failure counts as corruption on disk rather than a bad read. */
const STORED_READ_ATTEMPTS = 3;
const MAX_SEGMENT_POSITION = 0x7fffffff;
const EMPTY = Buffer.alloc(0);
/**
 * A read returns at least one batch that holds records when there is one below its limit, even
 * past maxBytes, because a response of only empty batches (compaction leaves a producer's last
 * batch empty) makes some clients (kafkajs) fetch the same offset forever. Up to this many bytes.
 */
const EMPTY_RUN_LIMIT = 16 * 1024 * 1024;

export interface PartitionLogState {
  readonly dir: string;
  readonly segments: Segment[];
  readonly logStartOffset: number;
  readonly recoveryPoint: number;
  /** Where the cleaner's last pass ended (cleaner.checkpoint); 0 when never cleaned. */
  readonly firstDirtyOffset?: number;
}

/** What the cleaner may rewrite now and how dirty the log is (see cleaner.ts). */
export interface CleaningView {
  readonly config: LogConfig;
  /** Segments wholly below `end`, oldest first: the only ones a pass may read or replace. */
  readonly segments: readonly Segment[];
  /** Base offset of the first segment not in `segments`: nothing at or above it is touched. */
  readonly end: number;
  /** Offsets below this were cleaned by an earlier pass. */
  readonly firstDirty: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  /** Timestamp of the oldest dirty batch region (for max.compaction.lag.ms), -1 when unknown. */
  readonly firstDirtyTimestamp: number;
  /** Changes whenever the log is truncated or reset; a rewrite planned before is discarded. */
  readonly generation: number;
}

interface Deferred {
  promise: Promise<void>;
}

export class FilePartitionLog implements PartitionLog, Flushable {
  readonly dir: string;
  /** The group committer's: the committer writes and fsyncs this log's descriptors. */
  readonly fs: FileSystem;
  private config: LogConfig;
  private readonly committer: GroupCommitter;
  private readonly logger: Logger;
  private segments: Segment[];
  private startOffset: number;
  private flushed: number;
  private recoveryPoint: number;
  /** Set by rescanOnClose: the close leaves the log to be scanned from here at the next open. */
  private rescanFrom: number | null = null;
  /** Sealed segments whose last bytes or index files are not yet durable. */
  private sealedPending: Segment[] = [];
  private dirty = false;
  private dirDirty = false;
  /** Promise of the round this log has requested but that has not started. */
  private requested: Promise<void> | null = null;
  /** Promise of the round currently flushing this log. */
  private inflight: Deferred | null = null;
  private roundTarget = 0;
  private roundSegments: Segment[] = [];
  private roundIndexFds: number[] = [];
  private roundSealed: Segment[] = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private cleanerCheckpointChain: Promise<void> = Promise.resolve();
  /**
   * Segments holding offsets at or above this are never deleted by retention or DeleteRecords:
   * raft replication sets it to where its snapshot ends, since everything after that is raft
   * log a lagging follower may still need.
   */
  private deletionFloor = Infinity;
  /**
   * The cleaner rewrites only segments wholly below this: the partition's owner sets it (raft
   * replication: its snapshot offset, since entries after it are raft log that followers read
   * byte for byte; a single replica: Infinity, leaving the flushed offset as the limit). 0 until
   * set, so a log nobody vouches for is never compacted.
   */
  private cleanableBelowOffset = 0;
  private firstDirty: number;
  private generation = 0;
  private cleaning: { readonly abort: AbortController; readonly done: Promise<void>; finish(): void } | null = null;
  /** Closing, deleting or resetting: no new cleaning pass may start. */
  private cleaningBlocked = 0;
  /** Serialises changes of the segment list that await (retention, truncation, cleaner swaps). */
  private readonly mutex = new Mutex();
  private failed: Error | null = null;
  private closed = false;

  constructor(state: PartitionLogState, config: LogConfig, committer: GroupCommitter, logger: Logger) {
    this.dir = state.dir;
    this.segments = state.segments;
    this.startOffset = state.logStartOffset;
    this.recoveryPoint = state.recoveryPoint;
    this.config = config;
    this.committer = committer;
    this.fs = committer.fs;
    this.logger = logger;
    this.flushed = this.logEndOffset();
    this.firstDirty = state.firstDirtyOffset ?? 0;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  logStartOffset(): number {
    return this.startOffset;
  }

  logEndOffset(): number {
    return this.active.nextOffset;
  }

  flushedOffset(): number {
    return this.flushed;
  }

  /** Segment base offsets, oldest first (for tests and admin). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Total bytes in all segments. */
  sizeInBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  private checkWritable(): void {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is closed`);
    if (this.failed) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} failed: ${this.failed.message}`);
    }
  }

  append(batches: Buffer, leaderEpoch: number, now: number): AppendResult {
    return this.appendInternal(batches, leaderEpoch, now, false, false, true);
  }

  appendOwned(batches: Buffer, leaderEpoch: number, now: number): AppendResult {
    return this.appendInternal(batches, leaderEpoch, now, false, true, true);
  }

  /**
   * Writes batches exactly as given (offsets, epoch and timestamps already final, as raft
   * replication decided them); they must continue the log. With `owned` large batches are kept
   * instead of copied.
   */
  appendExact(batches: Buffer, now: number, owned: boolean): AppendResult {
    return this.appendInternal(batches, -1, now, true, owned, false);
  }

  /**
   * Appends batches that already carry their offsets (a follower copying the leader's log):
   * they must continue the log exactly (offsets stay contiguous; recovery relies on it).
   */
  appendWithOffsets(batches: Buffer, now: number): AppendResult {
    return this.appendInternal(batches, -1, now, true, false, true);
  }

  /**
   * Appends batches copied byte for byte from another replica's compacted log: offsets are kept
   * and may skip ahead of the log end (whole batches the cleaner removed), never go back. A roll
   * starts the new segment at the log end, not at the next batch, so consecutive segments stay
   * contiguous (recovery requires it) whatever gap follows.
   */
  appendCopied(batches: Buffer, now: number): AppendResult {
    return this.appendInternal(batches, -1, now, true, false, false, true);
  }

  private appendInternal(
    batches: Buffer,
    leaderEpoch: number,
    now: number,
    keepOffsets: boolean,
    owned: boolean,
    stampTime: boolean,
    gaps = false,
  ): AppendResult {
    this.checkWritable();
    // Framing only: the caller verified CRCs, but sizes must be right or the segment is garbage.
    const positions: number[] = [];
    const deltas: number[] = [];
    let pos = 0;
    let expected = this.logEndOffset();
    while (pos < batches.length) {
      if (batches.length - pos < BATCH_HEADER_SIZE) {
        throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'batchLength', pos, `truncated record batch at ${pos}`);
      }
      const size = batches.readInt32BE(pos + 8) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE || pos + size > batches.length) {
        throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'batchLength', pos, `bad batchLength at ${pos}`);
      }
      const magic = batches.readInt8(pos + 16);
      if (magic !== CURRENT_MAGIC) {
        throw new RecordBatchError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, 'magic', pos, `magic ${magic} at ${pos}`);
      }
      const delta = batches.readInt32BE(pos + 23);
      if (delta < 0) {
        throw new RecordBatchError(ErrorCode.INVALID_RECORD, 'lastOffsetDelta', pos, `negative lastOffsetDelta at ${pos}`);
      }
      if (keepOffsets) {
        const base = readInt64(batches, pos + BatchField.baseOffset);
        if (gaps ? base < expected : base !== expected) {
          throw new KafkaError(
            ErrorCode.INVALID_RECORD,
            `batch base offset ${base} does not continue the log at ${expected} (${this.dir})`,
          );
        }
        expected = base + delta + 1;
      }
      positions.push(pos);
      deltas.push(delta);
      pos += size;
    }
    if (positions.length === 0) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'records', 0, 'no record batch to append');
    }
    const firstBase = keepOffsets ? readInt64(batches, BatchField.baseOffset) : this.logEndOffset();
    const lastOffset = keepOffsets ? expected - 1 : this.logEndOffset() + positions.length - 1 + sum(deltas);
    this.maybeRoll(batches.length, gaps ? this.logEndOffset() : firstBase, lastOffset, now);

    const seg = this.active;
    const { position: filePos, buf, at } = seg.appendBytes(batches, owned);
    const logAppendTime = stampTime && this.config.timestampType === 'LogAppendTime' ? now : -1;
    let offset = firstBase;
    for (let i = 0; i < positions.length; i++) {
      const p = at + positions[i]!;
      const size = (i + 1 < positions.length ? positions[i + 1]! : batches.length) - positions[i]!;
      if (keepOffsets) {
        offset = readInt64(buf, p + BatchField.baseOffset);
      } else {
        setBaseOffset(buf, p, offset);
        setPartitionLeaderEpoch(buf, p, leaderEpoch);
      }
      if (logAppendTime >= 0) setLogAppendTime(buf, p, logAppendTime);
      const maxTimestamp = logAppendTime >= 0 ? logAppendTime : readInt64(buf, p + BatchField.maxTimestamp);
      seg.indexBatch(
        { baseOffset: offset, lastOffset: offset + deltas[i]!, maxTimestamp, size },
        filePos + positions[i]!,
        this.config.indexIntervalBytes,
      );
      offset += deltas[i]! + 1;
    }
    if (seg.createdMs < 0) seg.createdMs = now;
    this.dirty = true;
    return { baseOffset: firstBase, lastOffset: seg.nextOffset - 1, logAppendTime };
  }

  /**
   * Starts a new segment at the log end unless the active one is empty: a replica that copied a
   * snapshot's records begins the entries after them in a segment of their own, as its leader
   * did, so both roll at the same offsets from there on and clean up to the same bound.
   */
  rollSegment(): void {
    this.checkWritable();
    if (!this.active.isEmpty) this.roll(this.logEndOffset());
  }

  private maybeRoll(incoming: number, firstOffset: number, lastOffset: number, now: number): void {
    const seg = this.active;
    if (seg.isEmpty) return;
    const full = seg.size + incoming > Math.min(this.config.segmentBytes, MAX_SEGMENT_POSITION);
    const old = this.config.segmentMs > 0 && seg.createdMs >= 0 && now - seg.createdMs >= this.config.segmentMs;
    const overflow = lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET;
    if (full || old || overflow) this.roll(firstOffset);
  }

  private roll(baseOffset: number): void {
    const old = this.active;
    old.sealed = true;
    old.finalizeTimeIndex();
    this.sealedPending.push(old);
    this.segments.push(Segment.create(this.fs, this.dir, baseOffset));
    this.dirDirty = true;
    this.dirty = true;
    this.logger.debug({ dir: this.dir, baseOffset, previous: old.baseOffset }, 'rolled segment');
  }

  sync(): Promise<void> {
    if (this.failed) {
      return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} failed: ${this.failed.message}`));
    }
    if (this.dirty) {
      this.requested ??= this.committer.request(this);
      return this.requested;
    }
    if (this.requested) return this.requested;
    if (this.inflight) return this.inflight.promise;
    return Promise.resolve();
  }

  prepareFlush(): FlushPlan {
    this.dirty = false;
    const promise = this.requested ?? Promise.resolve();
    this.requested = null;
    this.inflight = { promise };
    this.roundTarget = this.logEndOffset();
    const files: FileFlush[] = [];
    const dirs: string[] = [];
    this.roundSegments = [];
    this.roundIndexFds = [];
    this.roundSealed = [];
    const candidates = [...this.sealedPending];
    if (!candidates.includes(this.active)) candidates.push(this.active);
    for (const seg of candidates) {
      const { position, buffers } = seg.freezePending();
      if (buffers.length > 0 || seg.needsFsync) {
        files.push({ fd: seg.fd, buffers, position });
        this.roundSegments.push(seg);
        seg.needsFsync = false;
      }
      if (seg.sealed && !seg.indexesPersisted) {
        const indexFd = this.fs.openSync(seg.indexPath, 'w');
        const timeFd = this.fs.openSync(seg.timeIndexPath, 'w');
        this.roundIndexFds.push(indexFd, timeFd);
        files.push({ fd: indexFd, buffers: [seg.offsetIndex.serialize()], position: 0 });
        files.push({ fd: timeFd, buffers: [seg.timeIndex.serialize()], position: 0 });
        this.roundSealed.push(seg);
        this.dirDirty = true;
      }
    }
    if (this.dirDirty) {
      dirs.push(this.dir);
      this.dirDirty = false;
    }
    return { files, dirs };
  }

  completeFlush(error: Error | null): void {
    for (const fd of this.roundIndexFds) {
      try {
        this.fs.closeSync(fd);
      } catch {
        // already reported through the round's error, if any
      }
    }
    this.inflight = null;
    if (error) {
      // After a failed fsync the page cache state is unknown (retrying can report success for
      // lost data), so the log refuses further writes until the broker reopens it.
      this.failed = error;
      this.logger.error({ err: error, dir: this.dir }, 'log flush failed; partition log is now read-only');
      return;
    }
    for (const seg of this.roundSegments) seg.commitFrozen();
    for (const seg of this.roundSealed) seg.indexesPersisted = true;
    this.sealedPending = this.sealedPending.filter((s) => !(s.indexesPersisted && !s.hasUnwritten));
    this.flushed = Math.max(this.flushed, this.roundTarget);
    const rp = this.sealedPending[0]?.baseOffset ?? this.active.baseOffset;
    if (rp > this.recoveryPoint) {
      this.recoveryPoint = rp;
      void this.persistCheckpoint().catch((err: unknown) =>
        this.logger.error({ err, dir: this.dir }, 'writing the partition checkpoint failed'),
      );
    }
  }

  /** Waits until nothing is pending or in flight, so files can be cut or removed safely. */
  private async quiesce(): Promise<void> {
    for (;;) {
      if (this.failed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} failed: ${this.failed.message}`);
      if (this.dirty || this.requested || this.sealedPending.length > 0) {
        if (!this.dirty && !this.requested && !this.inflight) {
          // sealed segments waiting for index files with no round asked: ask for one
          this.dirty = true;
        }
        await this.sync();
        continue;
      }
      if (this.inflight) {
        await this.inflight.promise;
        continue;
      }
      return;
    }
  }

  persistCheckpoint(): Promise<void> {
    const run = async (): Promise<void> => {
      const body = encodeCheckedJson({ version: 1, logStartOffset: this.startOffset, recoveryPoint: this.recoveryPoint });
      await writeFileAtomic(path.join(this.dir, CHECKPOINT_FILE), body, this.fs);
    };
    const next = this.checkpointChain.then(run, run);
    this.checkpointChain = next.catch(() => undefined);
    return next;
  }

  private findSegmentIndex(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Like `read`, from any offset still in a segment, even below the log start offset: raft
   * replication ships entries that DeleteRecords has hidden from clients but not yet removed.
   * Unlike `read` (whose consumers check CRCs themselves) every batch's CRC is verified: these
   * bytes go to followers, which store them as they are, and rebuild the raft state at start-up.
   * A batch that fails is read again (one flipped bit in one read must not travel); one that
   * keeps failing is corrupt on disk and the read fails with KAFKA_STORAGE_ERROR.
   */
  async readStored(offset: number, maxBytes: number): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.readChecked(offset, maxBytes, Infinity, this.segments[0]!.baseOffset, true);
      // Nothing below the log end means the batch there did not frame (its length read wrongly).
      const bad = r.records.length === 0 ? (offset < this.logEndOffset() ? 0 : -1) : firstBadCrc(r.records);
      if (bad < 0) return r;
      const at = r.records.length === 0 ? offset : readInt64(r.records, bad + BatchField.baseOffset);
      if (attempt >= STORED_READ_ATTEMPTS) {
        // Where the good batches end, not the bad one's own base offset: that field may be the damage.
        throw new CorruptStoredBatch(this.dir, goodPrefixEnd(r.records, bad, offset), `log ${this.dir}: the batch at offset ${at} fails its CRC or framing on ${attempt} reads`);
      }
      this.logger.warn({ dir: this.dir, offset: at, attempt }, 'a stored batch read back corrupt; reading it again');
    }
  }

  /**
   * Bytes [skip, skip + maxBytes) of the stored batch holding `offset` (the first whose last
   * offset is at or above it, even below the log start), and its header; null when no batch at
   * or above `offset` is stored. For batches too large to copy whole: only headers are read on
   * the way to it and only the asked-for bytes of it, which are not CRC-checked here (the copier
   * checks the batch once it has all of them).
   */
  async readStoredPiece(offset: number, skip: number, maxBytes: number): Promise<{ header: RecordBatchHeader; bytes: Buffer } | null> {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is closed`);
    const lowest = this.segments[0]!.baseOffset;
    if (offset < lowest) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is below ${lowest}, the first stored in ${this.dir}`);
    // Segments are looked up by offset after every await: a cleaner swap may replace them.
    for (let from = offset; ; ) {
      const seg = this.segmentHolding(from);
      if (!seg) return null;
      const found = await seg.withReader(async () => {
        for (let pos = seg.offsetIndex.floor(from).position; ; ) {
          const head = await seg.readRange(pos, BATCH_HEADER_SIZE);
          if (head.length < BATCH_HEADER_SIZE) return null;
          const h = readBatchHeader(head, 0);
          if (h.sizeInBytes < BATCH_HEADER_SIZE) {
            throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir}: the batch at position ${pos} of segment ${seg.baseOffset} does not frame`);
          }
          if (h.lastOffset >= from) {
            const start = Math.min(skip, h.sizeInBytes);
            return { header: h, bytes: await seg.readRange(pos + start, Math.min(maxBytes, h.sizeInBytes - start)) };
          }
          pos += h.sizeInBytes;
        }
      });
      if (found !== null) return found;
      from = seg.nextOffset;
    }
  }

  read(offset: number, maxBytes: number, maxOffset: number): Promise<ReadResult> {
    return this.readChecked(offset, maxBytes, maxOffset, this.startOffset, false);
  }

  /** `checkSkipped`: see readSegment. */
  private async readChecked(offset: number, maxBytes: number, maxOffset: number, lowest: number, checkSkipped: boolean): Promise<ReadResult> {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is closed`);
    const leo = this.logEndOffset();
    if (offset < lowest || offset > leo) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${lowest}, ${leo}] of ${this.dir}`);
    }
    const limit = Math.min(maxOffset, leo);
    if (offset >= limit) return { records: EMPTY, firstOffset: offset, nextOffset: offset };
    const acc: ReadAccumulator = { parts: [], total: 0, first: -1, next: offset, hasRecords: false };
    // Normally one segment answers; only a run of empty batches continues into the next one.
    while (acc.next < limit && !acc.hasRecords && acc.total < EMPTY_RUN_LIMIT) {
      const seg = this.segmentHolding(acc.next);
      if (!seg) break;
      const before = acc.parts.length;
      await seg.withReader(() => this.readSegment(seg, acc, maxBytes, limit, checkSkipped));
      if (acc.parts.length === before) break;
    }
    if (acc.parts.length === 0) return { records: EMPTY, firstOffset: offset, nextOffset: offset };
    return { records: joinParts(acc.parts, acc.total), firstOffset: acc.first, nextOffset: acc.next };
  }

  /** The first segment holding offsets at or above `offset` (segments may hold gaps). */
  private segmentHolding(offset: number): Segment | undefined {
    for (let i = this.findSegmentIndex(offset); i < this.segments.length; i++) {
      const s = this.segments[i]!;
      if (s.nextOffset > offset) return s;
    }
    return undefined;
  }

  /**
   * `checkSkipped` (readStored): a batch left out because its lastOffset lies below the offset
   * asked for is CRC-checked first, and the read stops at it if it fails. The caller checks the
   * batches it gets, not the ones it does not: one flipped bit in a lastOffsetDelta would
   * otherwise drop a batch from the middle of a raft read without a trace.
   */
  private async readSegment(seg: Segment, acc: ReadAccumulator, maxBytes: number, limit: number, checkSkipped: boolean): Promise<void> {
    const offset = acc.next;
    const start = seg.offsetIndex.floor(offset).position;
    const window = Math.min(Math.max(maxBytes + this.config.indexIntervalBytes, 64 * 1024), 8 * 1024 * 1024);
    const reader = new BatchReader(seg, start, window);
    for (;;) {
      const step = await reader.next();
      if (step.kind !== 'batch') break;
      const h = step.header;
      if (h.lastOffset < offset) {
        if (checkSkipped && badStep(step) !== null) break;
        continue;
      }
      if (h.lastOffset >= limit) break;
      if (acc.hasRecords && acc.parts.length > 0 && acc.total + step.bytes.length > maxBytes) break;
      acc.parts.push(step.bytes);
      acc.total += step.bytes.length;
      if (acc.first < 0) acc.first = h.baseOffset;
      acc.next = h.lastOffset + 1;
      if (h.recordCount > 0) acc.hasRecords = true;
      if (acc.hasRecords ? acc.total >= maxBytes : acc.total >= EMPTY_RUN_LIMIT) break;
    }
  }

  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    // Segments are looked up by offset after every await: a cleaner swap may replace them.
    for (let from = this.startOffset; ; ) {
      const seg = this.segmentHolding(from);
      if (!seg) return null;
      from = seg.nextOffset;
      if (seg.maxTimestamp < ts) continue;
      const found = await seg.withReader(async () => {
        const scanFrom = Math.max(seg.timeIndex.scanStartFor(ts), this.startOffset);
        const reader = new BatchReader(seg, seg.offsetIndex.floor(scanFrom).position);
        for (;;) {
          const step = await reader.next();
          if (step.kind !== 'batch') return null;
          const h = step.header;
          // Control batches (raft entries, the cleaner's gap markers) hold no client records.
          if (h.lastOffset < this.startOffset || h.maxTimestamp < ts || h.isControl) continue;
          if (h.compression === 0 && h.timestampType === 0) {
            for (const r of decodeRecords(step.bytes, 0).records) {
              if (r.offset >= this.startOffset && r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp };
            }
            continue;
          }
          return { offset: Math.max(h.baseOffset, this.startOffset), timestamp: h.maxTimestamp };
        }
      });
      if (found) return found;
    }
  }

  async *scanBatches(fromOffset: number): AsyncIterable<BatchInfo> {
    // By offset, segment after segment from the current list: a segment the cleaner replaces
    // while it is being read is finished from the old file, then the scan continues in the new.
    let from = fromOffset;
    for (;;) {
      const seg = this.segmentHolding(from);
      if (!seg) return;
      const reader = new BatchReader(seg, seg.offsetIndex.floor(from).position, 1024 * 1024);
      seg.acquire();
      try {
        for (;;) {
          const step = await reader.next();
          if (step.kind !== 'batch') break;
          const h = step.header;
          if (h.lastOffset < from) continue;
          from = h.lastOffset + 1;
          yield {
            baseOffset: h.baseOffset,
            lastOffset: h.lastOffset,
            partitionLeaderEpoch: h.partitionLeaderEpoch,
            maxTimestamp: h.maxTimestamp,
            producerId: h.producerId,
            producerEpoch: h.producerEpoch,
            baseSequence: h.baseSequence,
            isTransactional: h.isTransactional,
            isControl: h.isControl,
            sizeInBytes: h.sizeInBytes,
          };
        }
      } finally {
        seg.release();
      }
      from = Math.max(from, seg.nextOffset);
    }
  }

  async advanceLogStart(offset: number): Promise<void> {
    this.checkWritable();
    const leo = this.logEndOffset();
    if (offset > leo || offset < 0) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `log start offset ${offset} is outside [0, ${leo}] of ${this.dir}`);
    }
    if (offset <= this.startOffset) return;
    this.startOffset = offset;
    await this.persistCheckpoint();
    await this.mutex.run(() => this.deleteSegmentsBelowStart());
  }

  /** Deletes whole non-active, durable segments whose offsets all lie below the log start. */
  private async deleteSegmentsBelowStart(): Promise<number> {
    let n = 0;
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      const next = this.segments[1]!;
      if (next.baseOffset > Math.min(this.startOffset, this.deletionFloor) || this.sealedPending.includes(seg)) break;
      this.segments.shift();
      seg.deleteFiles();
      n++;
    }
    if (n > 0) await fsyncDir(this.dir, this.fs);
    return n;
  }

  async applyRetention(now: number): Promise<number> {
    this.checkWritable();
    return this.mutex.run(() => this.applyRetentionLocked(now));
  }

  private async applyRetentionLocked(now: number): Promise<number> {
    if (this.closed) return 0;
    // A compacted-only log keeps its segments whatever their age or size (Kafka's rule).
    if (!deletesByRetention(this.config)) return this.deleteSegmentsBelowStart();
    const eligible = (i: number): boolean => {
      const seg = this.segments[i]!;
      return i < this.segments.length - 1 && !this.sealedPending.includes(seg) && this.segments[i + 1]!.baseOffset <= this.deletionFloor;
    };
    let drop = 0;
    if (this.config.retentionMs >= 0) {
      while (eligible(drop) && this.segments[drop]!.largestTimestamp() < now - this.config.retentionMs) drop++;
    }
    if (this.config.retentionBytes >= 0) {
      let size = 0;
      for (let i = drop; i < this.segments.length; i++) size += this.segments[i]!.size;
      while (eligible(drop) && size - this.segments[drop]!.size >= this.config.retentionBytes) {
        size -= this.segments[drop]!.size;
        drop++;
      }
    }
    if (drop === 0) return this.deleteSegmentsBelowStart();
    const removed = this.segments.splice(0, drop);
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    await this.persistCheckpoint();
    for (const seg of removed) seg.deleteFiles();
    await fsyncDir(this.dir, this.fs);
    this.logger.info(
      { dir: this.dir, segments: removed.map((s) => s.baseOffset), logStartOffset: this.startOffset },
      'retention deleted segments',
    );
    return removed.length + (await this.deleteSegmentsBelowStart());
  }

  async truncateTo(offset: number): Promise<void> {
    this.checkWritable();
    await this.mutex.run(() => this.truncateLocked(offset));
  }

  private async truncateLocked(offset: number): Promise<void> {
    await this.quiesce();
    if (offset >= this.logEndOffset()) return;
    // Where the cut goes is found, from checked reads, before anything changes: a refused cut
    // leaves the log as it was.
    let keep = this.segments.length;
    while (keep > 0 && this.segments[keep - 1]!.baseOffset >= offset) keep--;
    const cut = keep > 0 ? await this.cutPoint(this.segments[keep - 1]!, offset) : null;
    this.generation++;
    const before = this.logEndOffset();
    let removed = false;
    // Whole segments at or above the offset go; if that is all of them, start a fresh one there.
    while (this.segments.length > keep) {
      const seg = this.segments.pop()!;
      seg.deleteFiles();
      removed = true;
    }
    if (cut === null) {
      this.segments.push(Segment.create(this.fs, this.dir, offset));
      this.startOffset = Math.min(this.startOffset, offset);
    } else {
      const seg = this.active;
      seg.offsetIndex.truncateTo(cut.nextOffset, cut.position);
      seg.timeIndex.truncateTo(cut.nextOffset);
      await seg.truncateFile(cut.position);
      await fsyncFd(seg.fd, this.fs);
      seg.sealed = false;
      // stale index files of a once-sealed segment must never be trusted again
      for (const f of [seg.indexPath, seg.timeIndexPath]) this.fs.removeSync(f);
      await restoreTailState(seg, this.config.indexIntervalBytes);
      if (seg.isEmpty) seg.createdMs = -1;
    }
    if (removed) await fsyncDir(this.dir, this.fs);
    this.flushed = Math.min(this.flushed, this.logEndOffset());
    this.startOffset = Math.min(this.startOffset, this.logEndOffset());
    if (this.recoveryPoint > this.active.baseOffset) this.recoveryPoint = this.active.baseOffset;
    await this.persistCheckpoint();
    if (this.firstDirty > this.logEndOffset()) await this.markCleaned(this.logEndOffset());
    this.logger.info({ dir: this.dir, offset, from: before, to: this.logEndOffset() }, 'truncated log');
  }

  /**
   * The file position of the first batch in `seg` at or after `offset`, and that batch's base
   * offset (the segment's next offset when none follows). Every batch walked over is checked
   * (framing, CRC) and read again when it fails: the cut is decided by their offset fields, and
   * a bit flipped in one read of a lastOffsetDelta must not move it. An offset inside a batch is
   * refused: the caller (raft log repair) only cuts between entries, which are whole batches, so
   * such a request means it and the log disagree, and cutting elsewhere than asked would leave it
   * believing in entries the log no longer has.
   */
  private async cutPoint(seg: Segment, offset: number): Promise<{ position: number; nextOffset: number }> {
    const floor = seg.offsetIndex.floor(offset);
    let position = floor.position;
    let reader = new BatchReader(seg, position);
    // The offset the next batch should start at; one that does not (a gap compaction left, or a
    // flipped base offset) is read again before it counts.
    let expected = floor.offset;
    for (;;) {
      let step = await reader.next();
      let bad = badStep(step);
      for (let attempt = 1; bad !== null && attempt < STORED_READ_ATTEMPTS; attempt++) {
        this.logger.warn({ dir: this.dir, position, attempt, problem: bad }, 'a stored batch read back corrupt while truncating; reading it again');
        reader = new BatchReader(seg, position);
        step = await reader.next();
        bad = badStep(step);
      }
      if (bad !== null) {
        throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir}: cannot truncate to ${offset}: the batch at position ${position} of segment ${seg.baseOffset} fails on ${STORED_READ_ATTEMPTS} reads (${bad})`);
      }
      if (step.kind !== 'batch') return { position: step.position, nextOffset: seg.nextOffset };
      let h = step.header;
      // The CRC does not cover the base offset: the batch the cut is decided on, and one that
      // leaves a gap or goes back, is read until two reads agree, so a base offset flipped in one
      // read can neither move the cut onto its batch nor walk the cut past the right one.
      if (h.lastOffset >= offset || h.baseOffset !== expected) h = await this.agreedHeader(seg, step.position, step.bytes, offset);
      expected = h.lastOffset + 1;
      if (h.lastOffset >= offset) {
        if (h.baseOffset < offset) {
          throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir}: cannot truncate to ${offset}: it falls inside the batch [${h.baseOffset}, ${h.lastOffset}]; only batch boundaries can be cut`);
        }
        return { position: step.position, nextOffset: h.baseOffset };
      }
      position = reader.nextPosition;
    }
  }

  /** The header of the batch at `position` once two reads return the same bytes (`first` is one). */
  private async agreedHeader(seg: Segment, position: number, first: Buffer, offset: number): Promise<RecordBatchHeader> {
    let prev = Buffer.from(first);
    for (let attempt = 1; attempt <= STORED_READ_ATTEMPTS; attempt++) {
      const step = await new BatchReader(seg, position).next();
      if (step.kind === 'batch' && badStep(step) === null) {
        if (step.bytes.equals(prev)) return step.header;
        prev = Buffer.from(step.bytes);
      }
      this.logger.warn({ dir: this.dir, position, attempt }, 'two reads of the batch a truncation is decided on differ; reading it again');
    }
    throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir}: cannot truncate to ${offset}: no two reads of the batch at position ${position} of segment ${seg.baseOffset} agree`);
  }

  /** See `deletionFloor`; Infinity removes the constraint. */
  setDeletionFloor(offset: number): void {
    this.deletionFloor = offset;
  }

  /**
   * Base offset of the oldest segment that retention (by time or size) would keep, ignoring the
   * deletion floor: where a raft replica compacts to before letting retention delete.
   */
  retentionTarget(now: number): number {
    let drop = 0;
    const can = (i: number): boolean => i < this.segments.length - 1 && !this.sealedPending.includes(this.segments[i]!);
    const retains = deletesByRetention(this.config);
    if (retains && this.config.retentionMs >= 0) {
      while (can(drop) && this.segments[drop]!.largestTimestamp() < now - this.config.retentionMs) drop++;
    }
    if (retains && this.config.retentionBytes >= 0) {
      let size = 0;
      for (let i = drop; i < this.segments.length; i++) size += this.segments[i]!.size;
      while (can(drop) && size - this.segments[drop]!.size >= this.config.retentionBytes) {
        size -= this.segments[drop]!.size;
        drop++;
      }
    }
    let start = this.segments[drop]!.baseOffset;
    // Segments wholly below the log start offset (DeleteRecords) may go as well.
    for (let i = drop; i < this.segments.length - 1 && this.segments[i + 1]!.baseOffset <= this.startOffset; i++) {
      start = this.segments[i + 1]!.baseOffset;
    }
    return start;
  }

  /**
   * Drops every segment and starts empty at `offset` (which may lie beyond the current end): a
   * replica installing a snapshot whose log it does not share.
   */
  async resetTo(offset: number): Promise<void> {
    this.checkWritable();
    await this.stopCleaning();
    await this.mutex.run(async () => {
      await this.quiesce();
      this.generation++;
      for (const seg of this.segments.splice(0)) seg.deleteFiles();
      this.segments.push(Segment.create(this.fs, this.dir, offset));
      this.startOffset = offset;
      this.flushed = offset;
      this.recoveryPoint = offset;
      await fsyncDir(this.dir, this.fs);
      await this.persistCheckpoint();
      await this.markCleaned(offset);
      this.logger.info({ dir: this.dir, offset }, 'reset log');
    }).finally(() => this.cleaningBlocked--);
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  get currentConfig(): LogConfig {
    return this.config;
  }

  /** Flushes, persists indexes and writes the clean-shutdown marker (see recovery.ts). */
  /**
   * Makes the next close leave the log as after a crash, with its recovery point at or below the
   * segment holding `offset`: the open after it scans every batch from there and cuts at the
   * first that fails its CRC or framing (recovery.ts). For a replica that found durable corruption
   * in its log while running, which it then recovers from its peers.
   */
  rescanOnClose(offset: number): void {
    const seg = this.segments[this.findSegmentIndex(offset)]!;
    this.rescanFrom = Math.min(this.rescanFrom ?? Infinity, seg.baseOffset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopCleaning();
    await this.mutex.run(async () => {
      if (this.closed) return;
      if (!this.failed) {
        await this.quiesce();
        if (this.rescanFrom !== null) {
          this.recoveryPoint = Math.min(this.recoveryPoint, this.rescanFrom);
          // No clean marker (open took it): the next open recovers from the checkpoint's point.
          await this.persistCheckpoint();
          this.logger.warn({ dir: this.dir, from: this.recoveryPoint }, 'closed for a rescan: the next open checks every batch from here');
        } else {
          const seg = this.active;
          seg.finalizeTimeIndex();
          await writeIndexFiles(seg);
          await this.persistCheckpoint();
          await writeCleanMarker(this.dir, seg);
        }
      }
      this.closed = true;
      for (const s of this.segments) s.close();
    });
  }

  async delete(): Promise<void> {
    await this.stopCleaning();
    await this.mutex.run(async () => {
      if (!this.closed) {
        try {
          await this.quiesce();
        } catch {
          // deleting anyway
        }
        this.closed = true;
        for (const s of this.segments) s.close();
      }
      await this.fs.remove(this.dir, true);
      await fsyncDir(path.dirname(this.dir), this.fs);
    });
  }

  // ------------------------------------------------------------ the cleaner's interface

  /** See `cleanableBelowOffset`. */
  setCleanableBelow(offset: number): void {
    this.cleanableBelowOffset = offset;
  }

  cleanableBelow(): number {
    return this.cleanableBelowOffset;
  }

  /** Where the last cleaning pass ended. */
  firstDirtyOffset(): number {
    return this.firstDirty;
  }

  /**
   * The segments a pass may rewrite now: durable, sealed, wholly below the owner's bound and the
   * flushed offset, never the active one, and (min.compaction.lag.ms) only those whose newest
   * record is old enough; with the sizes of their cleaned and dirty parts.
   */
  cleaningView(now: number): CleaningView {
    const settings = compactionSettings(this.config);
    const bound = Math.min(this.cleanableBelowOffset, this.flushed);
    const segments: Segment[] = [];
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i]!;
      if (this.segments[i + 1]!.baseOffset > bound) break;
      if (this.sealedPending.includes(seg) || !seg.indexesPersisted) break;
      if (settings.minCompactionLagMs > 0 && seg.largestTimestamp() > now - settings.minCompactionLagMs) break;
      segments.push(seg);
    }
    const end = this.segments[segments.length]!.baseOffset;
    const first = this.segments[0]!.baseOffset;
    const firstDirty = Math.min(Math.max(this.firstDirty, first), end);
    let cleanBytes = 0;
    let dirtyBytes = 0;
    let firstDirtyTimestamp = -1;
    for (const seg of segments) {
      const split = seg.nextOffset <= firstDirty ? seg.size : seg.baseOffset >= firstDirty ? 0 : seg.offsetIndex.floor(firstDirty).position;
      cleanBytes += split;
      dirtyBytes += seg.size - split;
      if (firstDirtyTimestamp < 0 && seg.size - split > 0) firstDirtyTimestamp = seg.timeIndex.first()?.timestamp ?? seg.largestTimestamp();
    }
    return { config: this.config, segments, end, firstDirty, cleanBytes, dirtyBytes, firstDirtyTimestamp, generation: this.generation };
  }

  /**
   * Marks a cleaning pass as running; its signal fires when the log closes, is deleted or reset.
   * Null when the log cannot be cleaned now (closed, failed, or a pass already runs).
   */
  beginCleaning(): AbortSignal | null {
    if (this.closed || this.failed || this.cleaning || this.cleaningBlocked > 0) return null;
    const abort = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((res) => (finish = res));
    this.cleaning = { abort, done, finish };
    return abort.signal;
  }

  endCleaning(): void {
    const c = this.cleaning;
    this.cleaning = null;
    c?.finish();
  }

  /**
   * Aborts a running pass, waits until it has stopped, and keeps new ones from starting: a
   * caller that goes on using the log (resetTo) decrements `cleaningBlocked` when done.
   */
  private async stopCleaning(): Promise<void> {
    this.cleaningBlocked++;
    const c = this.cleaning;
    if (!c) return;
    c.abort.abort();
    await c.done;
  }

  /**
   * Commits a rewrite: `old` (consecutive segments of this log, not the active one) is replaced
   * by the finished writer's segment, on disk (see segment-rewrite.ts) and in memory. False,
   * with nothing changed, when the log moved on since the pass planned it (retention removed one
   * of them, a truncation or reset happened, the pass was aborted); the caller then discards the
   * writer. Readers still inside an old segment finish reading its file.
   */
  replaceSegments(
    old: readonly Segment[],
    writer: CleanedSegmentWriter,
    generation: number,
    signal: AbortSignal,
    probe?: RewriteProbe,
  ): Promise<boolean> {
    return this.mutex.run(async () => {
      if (signal.aborted || this.closed || this.failed || generation !== this.generation || old.length === 0) return false;
      const i = this.segments.indexOf(old[0]!);
      if (i < 0 || i + old.length >= this.segments.length) return false;
      for (let k = 0; k < old.length; k++) {
        const seg = this.segments[i + k]!;
        if (seg !== old[k] || this.sealedPending.includes(seg)) return false;
      }
      const end = this.segments[i + old.length]!.baseOffset;
      const fresh = writer.segment;
      if (fresh.baseOffset !== old[0]!.baseOffset || fresh.nextOffset !== end) {
        throw new Error(`cleaned segment of ${this.dir} covers [${fresh.baseOffset}, ${fresh.nextOffset}), not [${old[0]!.baseOffset}, ${end})`);
      }
      try {
        await commitSwap(this.dir, writer, old.map((s) => s.baseOffset), end, probe);
      } catch (err) {
        // Past the commit point the files may be half swapped; recovery finishes the swap, and
        // until then this log must not touch them (as after a failed fsync).
        this.failed = err instanceof Error ? err : new Error(String(err));
        this.logger.error({ err, dir: this.dir }, 'cleaner swap failed; partition log is now read-only until reopened');
        throw err;
      }
      this.segments.splice(i, old.length, fresh);
      // Their files are gone (the first one's name now holds the new file), so close only.
      for (const s of old) s.close();
      try {
        await writeIndexFiles(fresh);
        await fsyncDir(this.dir, this.fs);
      } catch (err) {
        // The swap itself is durable (recovery rebuilds missing index files by a scan).
        this.failed = err instanceof Error ? err : new Error(String(err));
        this.logger.error({ err, dir: this.dir }, 'writing a cleaned segment\'s index files failed; partition log is now read-only until reopened');
      }
      return true;
    });
  }

  /** Persists where a pass ended, so a restart does not count cleaned data as dirty again. */
  markCleaned(offset: number): Promise<void> {
    this.firstDirty = offset;
    // One write at a time (they share the temp file name); each writes the latest value.
    const run = (): Promise<void> =>
      writeFileAtomic(path.join(this.dir, CLEANER_CHECKPOINT_FILE), encodeCheckedJson({ version: 1, firstDirtyOffset: this.firstDirty }), this.fs);
    const next = this.cleanerCheckpointChain.then(run, run);
    this.cleanerCheckpointChain = next.catch(() => undefined);
    return next;
  }

  /** Appended-but-not-yet-flushed state, for tests. */
  debugState(): { dirty: boolean; sealedPending: number; inflight: boolean } {
    return { dirty: this.dirty, sealedPending: this.sealedPending.length, inflight: this.inflight !== null };
  }
}

interface ReadAccumulator {
  parts: Buffer[];
  total: number;
  first: number;
  next: number;
  hasRecords: boolean;
}

/** Writes and fsyncs a segment's two index files. */
export async function writeIndexFiles(seg: Segment): Promise<void> {
  await writeFileDurable(seg.indexPath, seg.offsetIndex.serialize(), seg.fs);
  await writeFileDurable(seg.timeIndexPath, seg.timeIndex.serialize(), seg.fs);
  seg.indexesPersisted = true;
}

/**
 * The batches as one buffer. They usually lie back to back in one read window (a fresh buffer
 * per read, never reused), so a view over them is returned instead of a copy, which was the
 * largest cost of serving a fetch; only parts from different windows are concatenated.
 */
function joinParts(parts: Buffer[], total: number): Buffer {
  const head = parts[0]!;
  let end = head.byteOffset + head.length;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.buffer !== head.buffer || p.byteOffset !== end) return Buffer.concat(parts, total);
    end += p.length;
  }
  return Buffer.from(head.buffer, head.byteOffset, total);
}

/** Why a step of a walk over a segment cannot be believed (torn framing, bad CRC), or null. */
function badStep(step: BatchStep): string | null {
  if (step.kind === 'end') return null;
  if (step.kind === 'torn') return step.reason;
  const checked = checkBatch(step.bytes, 0, step.bytes.length, { compacted: true });
  return checked instanceof RecordBatchError ? `${checked.field}: ${checked.message}` : null;
}

/** The offset after the last whole batch in `buf` before position `bad` (`from` when none). */
function goodPrefixEnd(buf: Buffer, bad: number, from: number): number {
  let end = from;
  for (let pos = 0; pos + BATCH_HEADER_SIZE <= bad; ) {
    end = Math.max(end, readInt64(buf, pos + BatchField.baseOffset) + buf.readInt32BE(pos + BatchField.lastOffsetDelta) + 1);
    pos += LOG_OVERHEAD + buf.readInt32BE(pos + BatchField.batchLength);
  }
  return end;
}

/** Position of the first whole batch in `buf` whose magic or CRC does not match, or -1. */
function firstBadCrc(buf: Buffer): number {
  let pos = 0;
  while (pos + BATCH_HEADER_SIZE <= buf.length) {
    const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BatchField.batchLength);
    if (end > buf.length || end < pos + BATCH_HEADER_SIZE) return pos;
    // The CRC starts after the magic byte: a flipped magic passes it, and travels to followers.
    if (buf.readInt8(pos + BatchField.magic) !== CURRENT_MAGIC) return pos;
    if (crc32c(buf, pos + BatchField.attributes, end) !== buf.readUInt32BE(pos + BatchField.crc)) return pos;
    pos = end;
  }
  return -1;
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/**
 * One segment of a partition log: the `.log` file of raw batches plus its in-memory indexes.
 * Appends are copied into large in-memory chunks and reach the file only in a group-commit round
 * (one writev per round), so many small appends cost one syscall, not one each. Until a chunk is
 * written, reads are served from it.
 */
import path from 'node:path';
import type { FileSystem } from '../platform/file-system.js';
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  TIME_INDEX_SUFFIX,
  ftruncateFd,
  readAt,
  segmentFileName,
} from './files.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';

const CHUNK_SIZE = 1 << 20;
/**
 * Written chunks are recycled: fresh 1 MiB buffers cost page faults and GC of external memory on
 * every round, which dominated append cost for small batches.
 */
const POOL_LIMIT = 64;
const chunkPool: Buffer[] = [];

function takeChunk(size: number): Buffer {
  if (size <= CHUNK_SIZE) return chunkPool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
  return Buffer.allocUnsafeSlow(size);
}

function returnChunk(chunk: Chunk): void {
  if (chunk.pooled && chunk.buf.length === CHUNK_SIZE && chunkPool.length < POOL_LIMIT) chunkPool.push(chunk.buf);
}

/**
 * Batches at least this large that the caller hands over are kept as their own chunk instead of
 * being copied: at produce rates near disk bandwidth the copy was one of the largest CPU costs,
 * and below this size it is cheap while a kept reference could pin a larger read buffer.
 */
export const ADOPT_MIN_BYTES = 64 * 1024;

interface Chunk {
  /** File position of buf[0]. */
  readonly position: number;
  readonly buf: Buffer;
  used: number;
  /** Handed to a flush round: no more appends into it. */
  frozen: boolean;
  /** From the pool (recycled once written); false for adopted caller memory. */
  readonly pooled: boolean;
}

export interface BatchMeta {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly size: number;
}

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Logical size, including bytes not yet written to the file. */
  size: number;
  /** Bytes known to be written to the file. */
  writtenSize: number;
  /** Offset after the last batch in the segment. */
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** When the segment got its first batch (for segment.ms); -1 while empty. */
  createdMs: number;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  /** No longer the active segment; its index files are written in the next flush round. */
  sealed = false;
  /** Index files on disk match the in-memory indexes. */
  indexesPersisted = false;
  /** Needs an fsync in the next round even without new bytes (e.g. after truncation). */
  needsFsync = false;
  private bytesSinceIndex = 0;
  private chunks: Chunk[] = [];
  private closed = false;

  constructor(
    readonly fs: FileSystem,
    readonly dir: string,
    readonly baseOffset: number,
    readonly fd: number,
    fileSize: number,
    createdMs: number,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    this.indexPath = path.join(dir, segmentFileName(baseOffset, INDEX_SUFFIX));
    this.timeIndexPath = path.join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX));
    this.size = fileSize;
    this.writtenSize = fileSize;
    this.nextOffset = baseOffset;
    this.createdMs = createdMs;
    this.offsetIndex = new OffsetIndex(baseOffset);
    this.timeIndex = new TimeIndex(baseOffset);
  }

  /** Creates a new, empty segment file (fails if it exists). */
  static create(fs: FileSystem, dir: string, baseOffset: number): Segment {
    const file = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const fd = fs.openSync(file, 'wx+');
    return new Segment(fs, dir, baseOffset, fd, 0, -1);
  }

  /** Opens an existing segment file; indexes start empty (load or rebuild them). */
  static open(fs: FileSystem, dir: string, baseOffset: number, now: number): Segment {
    const file = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const fd = fs.openSync(file, 'r+');
    const size = fs.sizeSync(fd);
    return new Segment(fs, dir, baseOffset, fd, size, size > 0 ? now : -1);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  get hasUnwritten(): boolean {
    return this.size > this.writtenSize;
  }

  /**
   * Records a batch's metadata at `position` in the indexes (used both by append and by recovery
   * scans, so both build identical indexes).
   */
  indexBatch(meta: BatchMeta, position: number, indexIntervalBytes: number): void {
    if (meta.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = meta.maxTimestamp;
      this.offsetOfMaxTimestamp = meta.baseOffset;
    }
    if (this.offsetIndex.length === 0 || this.bytesSinceIndex >= indexIntervalBytes) {
      this.offsetIndex.append(meta.baseOffset, position);
      if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += meta.size;
    this.nextOffset = meta.lastOffset + 1;
  }

  /**
   * Copies `batch` (whole batches) to the end of the segment's pending data. The copy lives at
   * `buf[at, at + batch.length)`; the caller may rewrite it synchronously, before any flush round.
   * With `adopt` a large batch is kept as it is (no copy; `buf` is `batch` itself).
   */
  appendBytes(batch: Buffer, adopt = false): { position: number; buf: Buffer; at: number } {
    const position = this.size;
    if (adopt && batch.length >= ADOPT_MIN_BYTES) {
      // Full from the start (used === length), so later appends open a new chunk after it.
      this.chunks.push({ position, buf: batch, used: batch.length, frozen: false, pooled: false });
      this.size += batch.length;
      return { position, buf: batch, at: 0 };
    }
    let tail = this.chunks[this.chunks.length - 1];
    if (!tail || tail.frozen || tail.buf.length - tail.used < batch.length) {
      tail = { position, buf: takeChunk(batch.length), used: 0, frozen: false, pooled: true };
      this.chunks.push(tail);
    }
    const at = tail.used;
    batch.copy(tail.buf, at);
    tail.used += batch.length;
    this.size += batch.length;
    return { position, buf: tail.buf, at };
  }

  /** Freezes pending chunks for a flush round; returns what to write and where. */
  freezePending(): { position: number; buffers: Buffer[] } {
    const buffers: Buffer[] = [];
    for (const c of this.chunks) {
      if (c.frozen) continue;
      c.frozen = true;
      if (c.used > 0) buffers.push(c.buf.subarray(0, c.used));
    }
    return { position: this.writtenSize, buffers };
  }

  /** The frozen chunks are on disk: drop them. */
  commitFrozen(): void {
    while (this.chunks.length > 0 && this.chunks[0]!.frozen) {
      const c = this.chunks.shift()!;
      this.writtenSize = c.position + c.used;
      returnChunk(c);
    }
  }

  /**
   * Reads [position, position+length) clipped to the segment size: the unwritten part is copied
   * from memory first (synchronously, before chunks can be dropped), the rest read from the file.
   */
  async readRange(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (end <= position) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(end - position);
    const fileEnd = Math.min(end, this.writtenSize);
    for (const c of this.chunks) {
      const cEnd = c.position + c.used;
      const from = Math.max(position, c.position);
      const to = Math.min(end, cEnd);
      if (from < to) c.buf.copy(out, from - position, from - c.position, to - c.position);
    }
    if (fileEnd > position) {
      const n = await readAt(this.fd, out, 0, fileEnd - position, position, this.fs);
      if (n < fileEnd - position) return out.subarray(0, n);
    }
    return out;
  }

  /** Cuts the file at `position` (nothing may be pending) and resets what lies above it. */
  async truncateFile(position: number): Promise<void> {
    if (this.chunks.length > 0) throw new Error('truncate with unwritten data');
    await ftruncateFd(this.fd, position, this.fs);
    this.size = position;
    this.writtenSize = position;
    this.indexesPersisted = false;
  }

  /** Resets index state so a scan can rebuild it. */
  resetIndexes(): void {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndex = 0;
    this.nextOffset = this.baseOffset;
  }

  /** Sets the running state a clean open restores from persisted indexes plus a tail scan. */
  restoreState(maxTimestamp: number, offsetOfMax: number, bytesSinceIndex: number): void {
    this.maxTimestamp = maxTimestamp;
    this.offsetOfMaxTimestamp = offsetOfMax;
    this.bytesSinceIndex = bytesSinceIndex;
  }

  /** Adds a final time-index entry so a sealed segment's largest timestamp survives restarts. */
  finalizeTimeIndex(): void {
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
  }

  /** Largest timestamp in the segment (for retention), falling back to the file time if none. */
  largestTimestamp(): number {
    if (this.maxTimestamp >= 0) return this.maxTimestamp;
    try {
      return this.fs.modifiedMsSync(this.logPath);
    } catch {
      return -1;
    }
  }

  /** Reads in progress; a deleted segment keeps its fd open until they finish. */
  private readers = 0;
  private closeWhenIdle = false;

  async withReader<T>(fn: () => Promise<T>): Promise<T> {
    this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Pins the fd open (a closed fd number could be reused by another file). Pair with release(). */
  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.readers === 0 && this.closeWhenIdle) this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.readers > 0) {
      this.closeWhenIdle = true;
      return;
    }
    if (this.closed) return;
    this.closed = true;
    this.fs.closeSync(this.fd);
  }

  /** Removes the segment's files (unlinked at once; the fd closes once no read uses it). */
  deleteFiles(): void {
    this.close();
    for (const f of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try {
        this.fs.unlinkSync(f);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

/**
 * Walks the batches of one segment from a file position, reading the segment through large
 * windows (positioned reads, pending bytes from memory) rather than one read per header.
 * It checks only framing; callers that must trust the bytes (recovery) verify the CRC themselves.
 */
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, readBatchHeader, type RecordBatchHeader } from '../kafka/protocol/records.js';
import type { Segment } from './segment.js';

export type BatchStep =
  | { readonly kind: 'batch'; readonly position: number; readonly header: RecordBatchHeader; readonly bytes: Buffer }
  | { readonly kind: 'torn'; readonly position: number; readonly reason: string }
  | { readonly kind: 'end'; readonly position: number };

const DEFAULT_WINDOW = 256 * 1024;

export class BatchReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly seg: Segment,
    private position: number,
    private readonly windowSize = DEFAULT_WINDOW,
    /** Stop at this position instead of the segment's size (recovery reads the file size). */
    private readonly limit?: number,
  ) {}

  get nextPosition(): number {
    return this.position;
  }

  private end(): number {
    return this.limit ?? this.seg.size;
  }

  /** Ensures `len` bytes at the current position are in the window; false if the segment ends first. */
  private async ensure(len: number): Promise<boolean> {
    const rel = this.position - this.windowStart;
    if (rel >= 0 && rel + len <= this.window.length) return true;
    const end = this.end();
    if (this.position + len > end) return false;
    const want = Math.min(Math.max(this.windowSize, len), end - this.position);
    this.window = await this.seg.readRange(this.position, want);
    this.windowStart = this.position;
    return this.window.length >= len;
  }

  async next(): Promise<BatchStep> {
    const pos = this.position;
    const end = this.end();
    if (pos >= end) return { kind: 'end', position: pos };
    if (!(await this.ensure(LOG_OVERHEAD))) {
      return { kind: 'torn', position: pos, reason: `${end - pos} trailing bytes, too short for a batch length` };
    }
    const rel = pos - this.windowStart;
    const batchLength = this.window.readInt32BE(rel + 8);
    const size = batchLength + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) {
      return { kind: 'torn', position: pos, reason: `batchLength ${batchLength} is below the minimum` };
    }
    if (!(await this.ensure(size))) {
      return { kind: 'torn', position: pos, reason: `batch of ${size} bytes runs past the end (${end - pos} bytes left)` };
    }
    const r = pos - this.windowStart;
    const bytes = this.window.subarray(r, r + size);
    const header = readBatchHeader(bytes, 0);
    this.position = pos + size;
    return { kind: 'batch', position: pos, header, bytes };
  }
}

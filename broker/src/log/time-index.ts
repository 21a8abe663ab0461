/**
 * Sparse time index of one segment: entries (largest timestamp so far, offset of the batch that
 * carried it), appended at the same byte interval as the offset index and only when the maximum
 * grew, so timestamps in it increase strictly. An entry (T, o) promises that no batch appended up
 * to that point has a timestamp above T; a search for the first timestamp >= t may therefore start
 * scanning at the batch `o` of the last entry with T < t. Persisted as 12-byte entries
 * (int64 timestamp, int32 relative offset).
 */
import { readInt64, writeInt64 } from '../kafka/protocol/records.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private ts: number[] = [];
  private rel: number[] = [];

  constructor(readonly baseOffset: number) {}

  get length(): number {
    return this.ts.length;
  }

  maybeAppend(timestamp: number, offset: number): void {
    const n = this.ts.length;
    if (n > 0 && timestamp <= this.ts[n - 1]!) return;
    this.ts.push(timestamp);
    this.rel.push(offset - this.baseOffset);
  }

  lastTimestamp(): number {
    const n = this.ts.length;
    return n === 0 ? -1 : this.ts[n - 1]!;
  }

  first(): { timestamp: number; offset: number } | null {
    if (this.ts.length === 0) return null;
    return { timestamp: this.ts[0]!, offset: this.baseOffset + this.rel[0]! };
  }

  last(): { timestamp: number; offset: number } | null {
    const n = this.ts.length;
    if (n === 0) return null;
    return { timestamp: this.ts[n - 1]!, offset: this.baseOffset + this.rel[n - 1]! };
  }

  /** Offset where a search for the first timestamp >= `target` may start. */
  scanStartFor(target: number): number {
    let lo = 0;
    let hi = this.ts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? this.baseOffset : this.baseOffset + this.rel[found]!;
  }

  /** Drops entries whose offset is at or above `offset`. */
  truncateTo(offset: number): void {
    while (this.rel.length > 0 && this.baseOffset + this.rel[this.rel.length - 1]! >= offset) {
      this.rel.pop();
      this.ts.pop();
    }
  }

  clear(): void {
    this.ts = [];
    this.rel = [];
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.ts.length * TIME_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.ts.length; i++) {
      writeInt64(buf, this.ts[i]!, i * TIME_INDEX_ENTRY_SIZE);
      buf.writeInt32BE(this.rel[i]!, i * TIME_INDEX_ENTRY_SIZE + 8);
    }
    return buf;
  }

  /** Loads a persisted index, or null when it is malformed (the caller rebuilds it). */
  static parse(baseOffset: number, buf: Buffer): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_SIZE !== 0) return null;
    const idx = new TimeIndex(baseOffset);
    for (let p = 0; p < buf.length; p += TIME_INDEX_ENTRY_SIZE) {
      const t = readInt64(buf, p);
      const r = buf.readInt32BE(p + 8);
      const n = idx.ts.length;
      if (r < 0 || (n > 0 && t <= idx.ts[n - 1]!)) return null;
      idx.ts.push(t);
      idx.rel.push(r);
    }
    return idx;
  }
}

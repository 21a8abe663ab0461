/**
 * Sparse offset index of one segment: (offset relative to the segment base -> file position of the
 * batch starting there). Kept in memory while the segment is written; persisted as 8-byte entries
 * (int32 relative offset, int32 position) when the segment is sealed or the log closes cleanly,
 * so a clean restart need not rescan the segment.
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private rel: number[] = [];
  private pos: number[] = [];

  constructor(readonly baseOffset: number) {}

  get length(): number {
    return this.rel.length;
  }

  /** Adds an entry; offsets and positions must grow strictly. */
  append(offset: number, position: number): void {
    const r = offset - this.baseOffset;
    const n = this.rel.length;
    if (n > 0 && (r <= this.rel[n - 1]! || position <= this.pos[n - 1]!)) return;
    this.rel.push(r);
    this.pos.push(position);
  }

  /** Greatest entry at or below `offset`, or the segment start when none. */
  floor(offset: number): { offset: number; position: number } {
    const r = offset - this.baseOffset;
    let lo = 0;
    let hi = this.rel.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= r) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.rel[found]!, position: this.pos[found]! };
  }

  last(): { offset: number; position: number } | null {
    const n = this.rel.length;
    if (n === 0) return null;
    return { offset: this.baseOffset + this.rel[n - 1]!, position: this.pos[n - 1]! };
  }

  /** Drops entries at or above `offset` (or at/after `position`). */
  truncateTo(offset: number, position: number): void {
    while (this.rel.length > 0) {
      const n = this.rel.length - 1;
      if (this.baseOffset + this.rel[n]! < offset && this.pos[n]! < position) break;
      this.rel.pop();
      this.pos.pop();
    }
  }

  clear(): void {
    this.rel = [];
    this.pos = [];
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.rel.length * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.rel.length; i++) {
      buf.writeInt32BE(this.rel[i]!, i * OFFSET_INDEX_ENTRY_SIZE);
      buf.writeInt32BE(this.pos[i]!, i * OFFSET_INDEX_ENTRY_SIZE + 4);
    }
    return buf;
  }

  /**
   * Loads a persisted index, or returns null when it is not trustworthy (bad size, entries not
   * strictly increasing, or a position beyond the log file): the caller then rebuilds it by scanning.
   */
  static parse(baseOffset: number, buf: Buffer, logSize: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return null;
    const idx = new OffsetIndex(baseOffset);
    for (let p = 0; p < buf.length; p += OFFSET_INDEX_ENTRY_SIZE) {
      const r = buf.readInt32BE(p);
      const pos = buf.readInt32BE(p + 4);
      const n = idx.rel.length;
      if (r < 0 || pos < 0 || pos >= logSize) return null;
      if (n > 0 && (r <= idx.rel[n - 1]! || pos <= idx.pos[n - 1]!)) return null;
      idx.rel.push(r);
      idx.pos.push(pos);
    }
    return idx;
  }
}

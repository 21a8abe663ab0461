import { ENTRIES_UNAVAILABLE, type EntriesUnavailable, type RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/**
 * The replica's view of its log: what storage holds, plus an unstable tail (and possibly a
 * snapshot) that has been decided but not yet handed to the host and persisted. Entries are kept
 * as the caller's objects in plain arrays; nothing is copied.
 */
export class RaftLog {
  /** Highest index known to be committed. */
  committed: number;
  private unstableSnap: Snapshot | null = null;
  private unstable: Entry[] = [];
  /** Index of unstable[0]. Below it, storage is authoritative. */
  private offset: number;

  constructor(private readonly storage: RaftStorage) {
    this.offset = storage.lastIndex() + 1;
    this.committed = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    return this.unstableSnap !== null ? this.unstableSnap.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    if (this.unstableSnap !== null) return this.unstableSnap.index;
    return this.storage.lastIndex();
  }

  /** Term at `index`, or -1 when it is compacted away or beyond the last index. */
  term(index: number): number {
    if (index >= this.offset) {
      const i = index - this.offset;
      if (i < this.unstable.length) return (this.unstable[i] as Entry).term;
      if (this.unstableSnap !== null && index === this.unstableSnap.index) return this.unstableSnap.term;
      return -1;
    }
    if (this.unstableSnap !== null) return index === this.unstableSnap.index ? this.unstableSnap.term : -1;
    return this.storage.term(index);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t >= 0 && t === term;
  }

  /** Candidate (lastIndex, lastTerm) is at least as up to date as this log (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Appends one entry at lastIndex + 1 (the leader's fast path). */
  appendOne(e: Entry): void {
    if (this.unstable.length === 0) this.offset = e.index;
    this.unstable.push(e);
  }

  /** Appends entries, replacing any existing entry at entries[0].index and all after it. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const after = (entries[0] as Entry).index - 1;
    if (after < this.committed) {
      throw new Error(`raft log: refusing to overwrite committed entry ${after + 1} (commit ${this.committed})`);
    }
    const end = this.offset + this.unstable.length;
    if (after + 1 === end) {
      // Plain extension of the unstable tail.
      if (this.unstable.length === 0) this.offset = after + 1;
    } else if (after + 1 <= this.offset) {
      // Replaces part of what storage holds; the host will truncate it when it persists these.
      this.offset = after + 1;
      this.unstable = [];
    } else {
      this.unstable.length = after + 1 - this.offset;
    }
    for (let i = 0; i < entries.length; i++) this.unstable.push(entries[i] as Entry);
  }

  /**
   * Entries [lo, hi) up to about maxBytes (at least one), or null when lo is compacted away and a
   * snapshot must be sent instead, or ENTRIES_UNAVAILABLE while storage loads them.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null | EntriesUnavailable {
    if (lo < this.firstIndex()) return null;
    const last = this.lastIndex();
    if (hi > last + 1) hi = last + 1;
    if (lo >= hi) return [];
    let out: Entry[];
    if (lo < this.offset) {
      const fromStorage = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      if (fromStorage === null || fromStorage === ENTRIES_UNAVAILABLE) return fromStorage;
      out = fromStorage;
      if (out.length < Math.min(hi, this.offset) - lo || hi <= this.offset) return out;
      let bytes = 0;
      for (let i = 0; i < out.length; i++) bytes += (out[i] as Entry).data.length;
      for (let idx = this.offset; idx < hi && bytes <= maxBytes; idx++) {
        const e = this.unstable[idx - this.offset] as Entry;
        bytes += e.data.length;
        out.push(e);
      }
      return out;
    }
    const start = lo - this.offset;
    const stop = hi - this.offset;
    if (maxBytes === Infinity) return this.unstable.slice(start, stop);
    let end = start;
    let bytes = 0;
    while (end < stop) {
      bytes += (this.unstable[end] as Entry).data.length;
      end++;
      if (bytes > maxBytes) break;
    }
    return this.unstable.slice(start, end);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft log: commit ${index} beyond last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Largest index <= `index` whose term is <= `term` (or that is unknown): a match candidate. */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t < 0 || t <= term) return i;
      i--;
    }
  }

  // ---- unstable state, handed to the host by Ready ----

  unstableEntries(): Entry[] {
    return this.unstable.length === 0 ? EMPTY : this.unstable.slice();
  }

  unstableSnapshot(): Snapshot | null {
    return this.unstableSnap;
  }

  hasUnstable(): boolean {
    return this.unstable.length > 0 || this.unstableSnap !== null;
  }

  /** The host persisted entries through (index, term); drop them from the unstable tail. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const i = index - this.offset;
    if (i >= this.unstable.length || (this.unstable[i] as Entry).term !== term) return;
    if (i + 1 === this.unstable.length) this.unstable = [];
    else this.unstable.splice(0, i + 1);
    this.offset = index + 1;
  }

  /** Last index known to be persisted, or 0 while a received snapshot is not yet persisted. */
  stableLastIndex(): number {
    if (this.unstableSnap !== null) return 0;
    return this.unstable.length > 0 ? this.offset - 1 : this.lastIndex();
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnap !== null && this.unstableSnap.index === index) this.unstableSnap = null;
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(snap: Snapshot): void {
    this.committed = snap.index;
    this.unstableSnap = snap;
    this.unstable = [];
    this.offset = snap.index + 1;
  }
}

const EMPTY: Entry[] = [];

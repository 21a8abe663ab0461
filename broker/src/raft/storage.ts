import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * What `entries()` answers when the range exists but is not in memory: a disk storage starts
 * loading it and calls the node's `entriesAvailable()` once it can answer synchronously. The core
 * then retries; nothing else changes meanwhile (the follower stays where it is).
 */
export const ENTRIES_UNAVAILABLE: unique symbol = Symbol('raft.entriesUnavailable');
export type EntriesUnavailable = typeof ENTRIES_UNAVAILABLE;

/** A configuration entry still held after the snapshot, as the core needs it on restart. */
export interface StoredConfChange {
  readonly index: number;
  readonly data: Uint8Array;
}

/**
 * What the core reads of durable state. The core never writes: every write is handed to the host in
 * a Ready, so one log writer can persist the Ready of many groups with a single fsync and only then
 * call each group's `advance()`. A disk implementation therefore only needs to answer these reads
 * from what it has written (durable or not yet synced; the core never reads past what it was told
 * was written).
 */
export interface RaftStorage {
  /** Term, vote and commit as last persisted (all 0 for a new replica). */
  hardState(): HardState;
  /** Latest snapshot; a new replica has one at index 0 carrying its initial configuration. */
  snapshot(): Snapshot;
  /** First index still held as an entry (snapshot index + 1). */
  firstIndex(): number;
  /** Last index held (the snapshot index when there are no entries). */
  lastIndex(): number;
  /** Term of entry `index`, the snapshot term for the snapshot index, or -1 if compacted or absent. */
  term(index: number): number;
  /**
   * Entries [lo, hi), stopping early once `maxBytes` of data is exceeded (always at least one).
   * Returns null if `lo` has been compacted away, or {@link ENTRIES_UNAVAILABLE} while a disk
   * storage loads them (never for entries the host has not yet applied: those stay in memory).
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[] | null | EntriesUnavailable;
  /**
   * The ConfChange entries after the snapshot, oldest first. Optional: without it the core scans
   * every stored entry at start-up, which a disk storage holding gigabytes cannot afford.
   */
  confChanges?(): readonly StoredConfChange[];
}

/**
 * The write side a host implements next to the reads (the core itself never calls these). A disk
 * implementation should let the storages of many groups append into one shared writer and make
 * them durable together with a single fsync before any group's `advance()`.
 */
export interface WritableRaftStorage extends RaftStorage {
  /** Appends entries, first discarding any held entry at entries[0].index and after it. */
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  /** Replaces the log with a snapshot received from the leader (keeps entries that continue it). */
  applySnapshot(snap: Snapshot): void;
  /**
   * Log compaction: records the host's state-machine image at `index` (<= applied) with the
   * configuration in force there, and drops the entries it covers.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot;
}

const EMPTY_CONF: ConfState = { voters: [], learners: [] };
const EMPTY_DATA = new Uint8Array(0);

/** In-memory storage for tests, the simulator and the benchmark. */
export class MemoryStorage implements WritableRaftStorage {
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  /** Entries after the snapshot: ents[i] has index snap.index + 1 + i. */
  private ents: Entry[] = [];

  /** `conf` is the bootstrap configuration (founding members); a joining replica passes none. */
  constructor(conf: ConfState = EMPTY_CONF) {
    this.snap = { index: 0, term: 0, conf, data: EMPTY_DATA };
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.snap.index + this.ents.length;
  }

  term(index: number): number {
    const base = this.snap.index;
    if (index === base) return this.snap.term;
    if (index < base || index > base + this.ents.length) return -1;
    return (this.ents[index - base - 1] as Entry).term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | null {
    const base = this.snap.index;
    if (lo <= base) return null;
    const last = base + this.ents.length;
    if (hi > last + 1) hi = last + 1;
    if (lo >= hi) return [];
    let end = lo - base - 1;
    const stop = hi - base - 1;
    let bytes = 0;
    while (end < stop) {
      bytes += (this.ents[end] as Entry).data.length;
      end++;
      if (bytes > maxBytes) break;
    }
    return this.ents.slice(lo - base - 1, end);
  }

  // ---- writes, done by the host while handling a Ready ----

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  /** Appends entries, first replacing any existing entry at entries[0].index and after it. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    const base = this.snap.index;
    if (first <= base) {
      // Part of the batch is already covered by the snapshot: keep only what lies after it.
      const skip = base + 1 - first;
      if (skip >= entries.length) return;
      entries = entries.slice(skip);
      this.ents.length = 0;
    } else if (first > base + this.ents.length + 1) {
      throw new Error(`raft storage: gap, appending ${first} after ${base + this.ents.length}`);
    } else if (first <= base + this.ents.length) {
      this.ents.length = first - base - 1;
    }
    for (let i = 0; i < entries.length; i++) this.ents.push(entries[i] as Entry);
  }

  /** Replaces everything with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.index <= this.snap.index) return;
    const keepFrom = snap.index - this.snap.index;
    // Keep entries after the snapshot only if they continue it (same term at its index).
    if (this.term(snap.index) === snap.term) {
      this.ents = this.ents.slice(keepFrom);
    } else {
      this.ents = [];
    }
    this.snap = snap;
  }

  /** Records a snapshot the host took of its own state machine at `index` (<= applied). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.index) return this.snap;
    const term = this.term(index);
    if (term < 0) throw new Error(`raft storage: snapshot index ${index} beyond last index ${this.lastIndex()}`);
    // Log compaction: entries up to the snapshot index are dropped.
    this.ents = this.ents.slice(index - this.snap.index);
    this.snap = { index, term, conf, data };
    return this.snap;
  }

  /**
   * Drops the entries from `index` on, as a disk that lost its tail would (the simulator's and
   * the tests' fault; a host never calls it). Entries the snapshot covers stay.
   */
  discardFrom(index: number): void {
    const keep = Math.max(0, index - this.snap.index - 1);
    if (keep < this.ents.length) this.ents.length = keep;
  }

  /** Clones the durable image (the simulator keeps one per fsync). */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.hard = this.hard;
    c.snap = this.snap;
    c.ents = this.ents.slice();
    return c;
  }
}

/**
 * Raft storage over a partition's segment files: the raft log IS the partition log. A data entry
 * is exactly one record batch as the leader stamped it, a membership change one control batch,
 * and a new leader's empty entry nothing at all (see control-entries.ts): the raft log is the
 * batches after the snapshot's offset in order, with one empty entry before the first batch of
 * every term. The bytes are written and fsynced once; terms are the batches'
 * partitionLeaderEpoch; where each empty entry sits is also in the hard-state journal, which
 * makes the ones no batch follows durable too (a term's empty entry is otherwise derivable from
 * its first batch).
 *
 * In memory: the term history (first index and offset of every term), the base offsets of recent
 * entries plus one sample every SAMPLE_EVERY entries for older ones, the entries themselves from
 * `cacheStart` on (everything not yet applied is always cached, as the core requires), and the
 * configuration entries. Older entries are read from disk asynchronously: `entries()` answers
 * ENTRIES_UNAVAILABLE, loads them, and calls `onAvailable` so the host wakes the core.
 *
 * Durable state besides the segments: the hard state in the broker's HardStateJournal (with where
 * the log ends, recorded in the round that writes the entries: lost-tail.ts compares it at open),
 * and the snapshot (index, term, configuration, the offset where raft entries begin, state-machine data)
 * in `raft-snapshot.json`, replaced atomically.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { BatchField, CURRENT_MAGIC, LOG_OVERHEAD, readInt64 } from '../kafka/protocol/records.js';
import { encodeCheckedJson, readCheckedJson } from '../log/checked-json.js';
import { CorruptStoredBatch } from '../log/corrupt-stored-batch.js';
import { writeFileAtomic } from '../log/files.js';
import type { AppendResult, ReadResult } from '../log/types.js';
import type { FileSystem } from '../platform/file-system.js';
import {
  ENTRIES_UNAVAILABLE,
  type EntriesUnavailable,
  type StoredConfChange,
  type WritableRaftStorage,
} from '../raft/storage.js';
import { decodeConfChange } from '../raft/membership.js';
import { EntryType, type ConfState, type Entry, type HardState, type Snapshot } from '../raft/types.js';
import { encodeConfEntry, entryFromBatch, isBatchEntry, isNoopEntry, noopEntry, offsetSpan as offsetSpanOf } from './control-entries.js';
import type { HardStateJournal, LogEnd, NoopEntry } from './hard-state-journal.js';
import { gapBatch } from '../log/batch-filter.js';
import { isStagedRecordsFile, readStaged, stagedRecordsFrom, type StagedRecords } from './snapshot-records.js';

/** What the storage needs of a partition log (FilePartitionLog provides it). */
export interface ReplicaLog {
  readonly dir: string;
  /** Where `dir` lives (the snapshot record is written next to the segments). */
  readonly fs: FileSystem;
  logEndOffset(): number;
  appendExact(batches: Buffer, now: number, owned: boolean): AppendResult;
  readStored(offset: number, maxBytes: number): Promise<ReadResult>;
  truncateTo(offset: number): Promise<void>;
  resetTo(offset: number): Promise<void>;
  sync(): Promise<void>;
  logStartOffset(): number;
  /** Appends batches copied from another replica's log: offsets kept, gaps allowed. */
  appendCopied(batches: Buffer, now: number): AppendResult;
  /** Starts a new segment at the log end (unless the active one is empty). */
  rollSegment(): void;
}

export const SNAPSHOT_FILE = 'raft-snapshot.json';
const SAMPLE_EVERY = 64;
/** Recent entries whose offsets are kept exactly (beyond what the cache holds). */
const DENSE_KEEP = 4096;
const SCAN_BYTES = 4 << 20;
/** Scans from an odd-looking batch (see scan) whose reads all differ before the open fails. */
const SCAN_READ_ATTEMPTS = 4;
const LOADED_WINDOWS = 4;
const EMPTY = new Uint8Array(0);

interface SnapshotFile {
  readonly version: 1;
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
  /** Kafka offset of the first raft entry after the snapshot. */
  readonly offset: number;
  readonly data: string;
  /** Written before the log is reset for an installed snapshot; recovery redoes the reset. */
  readonly installing?: boolean;
  /**
   * With `installing`: the log is cut to `from` and continued with the batches staged in `file`
   * (in the log directory, see snapshot-records.ts) up to `offset`; recovery redoes that.
   */
  readonly records?: { readonly from: number; readonly file: string };
}

interface TermStart {
  readonly term: number;
  readonly index: number;
  readonly offset: number;
}

/** One batch seen while opening, for the state machine to rebuild from (producer state, ...). */
export interface StoredBatch {
  readonly index: number;
  readonly entry: Entry;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export interface PartitionRaftStorageOptions {
  readonly group: number;
  readonly log: ReplicaLog;
  readonly journal: HardStateJournal;
  /** Configuration of a brand-new replica (founding members); a joining replica passes none. */
  readonly initialConf: ConfState;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Sees the snapshot the log continues from at open, before any stored entry: the state machine
   * starts from what it carries (the entries it covers are gone from the raft log).
   */
  readonly onSnapshot?: (snap: Snapshot) => void;
  /** Sees every stored entry at open, in order (the state machine rebuilds from them). */
  readonly onStored?: (b: StoredBatch) => void;
  /**
   * The records below the snapshot offset are the partition's (a compacted partition keeps them
   * and a snapshot stands for them): a log that lost some of them starts over rather than
   * resetting to the snapshot offset.
   */
  readonly recordsBelowSnapshot?: boolean;
  /**
   * Cache every entry after the snapshot at open, not only those above the persisted commit: a
   * state machine kept only in memory (the metadata image) replays them all on every start.
   */
  readonly replayFromSnapshot?: boolean;
}

function confOf(v: unknown): ConfState {
  const c = v as { voters?: unknown; learners?: unknown } | null;
  const ids = (x: unknown): number[] => (Array.isArray(x) ? x.filter((n): n is number => Number.isSafeInteger(n) && n > 0) : []);
  return { voters: ids(c?.voters), learners: ids(c?.learners) };
}

async function readSnapshotFile(fs: FileSystem, dir: string): Promise<SnapshotFile | null> {
  const read = await readCheckedJson(path.join(dir, SNAPSHOT_FILE), fs);
  if (read === null) return null;
  const v = (typeof read === 'object' ? read : {}) as Partial<SnapshotFile>;
  if (v.version !== 1 || !Number.isSafeInteger(v.index) || !Number.isSafeInteger(v.term) || !Number.isSafeInteger(v.offset)) {
    throw new Error(`${path.join(dir, SNAPSHOT_FILE)} is not a raft snapshot record`);
  }
  return {
    version: 1,
    index: v.index as number,
    term: v.term as number,
    conf: confOf(v.conf),
    offset: v.offset as number,
    data: typeof v.data === 'string' ? v.data : '',
    ...(v.installing === true ? { installing: true } : {}),
    ...(v.records !== undefined && Number.isSafeInteger(v.records.from) && typeof v.records.file === 'string' && isStagedRecordsFile(v.records.file)
      ? { records: { from: v.records.from, file: v.records.file } }
      : {}),
  };
}

/** A read of raft entries whose uncovered batch fields disagree with the storage (see readEntries). */
class OddRead extends Error {}

function spanOf(e: Entry): number {
  if (!isBatchEntry(e)) return 1;
  const d = e.data;
  return new DataView(d.buffer, d.byteOffset, d.length).getInt32(BatchField.lastOffsetDelta) + 1;
}

function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.length);
}

export class PartitionRaftStorage implements WritableRaftStorage {
  readonly group: number;
  /**
   * Called when entries cannot be read because a stored batch is damaged for good (it fails on
   * every read): the replica must stop serving from this log (see replica-revival.ts).
   */
  onCorrupt: ((err: CorruptStoredBatch) => void) | null = null;
  /** Called when entries that answered ENTRIES_UNAVAILABLE can be read; the host wakes the core. */
  onAvailable: () => void = () => undefined;

  private readonly log: ReplicaLog;
  private readonly journal: HardStateJournal;
  private readonly logger: Logger;
  private readonly now: () => number;
  private snap: Snapshot;
  private snapOffset: number;
  private last: number;
  private nextOffset: number;
  private terms: TermStart[] = [];
  /** Base offsets of entries [denseStart, last]. */
  private dense: number[] = [];
  private denseStart: number;
  /** (index, offset) of every SAMPLE_EVERY-th entry, ascending. */
  private samples: { index: number; offset: number }[] = [];
  /** Entries [cacheStart, last]. */
  private cache: Entry[] = [];
  private cacheStart: number;
  private cacheBytesValue = 0;
  private confs: StoredConfChange[] = [];
  /** The empty entries after the snapshot, by index (they have no batch). */
  private noops = new Map<number, NoopEntry>();
  private loaded: { lo: number; entries: Entry[] }[] = [];
  private loading = new Set<number>();
  private closed = false;
  /** The log end last handed to the journal, and the voter count of the newest ConfChange. */
  private notedEnd: LogEnd | null = null;
  private votersAt: { data: Uint8Array; voters: number } | null = null;

  private constructor(opts: PartitionRaftStorageOptions, snap: Snapshot, snapOffset: number) {
    this.group = opts.group;
    this.log = opts.log;
    this.journal = opts.journal;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.snap = snap;
    this.snapOffset = snapOffset;
    this.last = snap.index;
    this.nextOffset = snapOffset;
    this.denseStart = snap.index + 1;
    this.cacheStart = snap.index + 1;
  }

  /**
   * Opens the replica's raft state from its log directory: the snapshot record (a new replica
   * starts at index 0 with `initialConf` right where the log ends, so data written before raft
   * existed stays readable below it), then one scan of the batches after it.
   */
  static async open(opts: PartitionRaftStorageOptions): Promise<PartitionRaftStorage> {
    let file = await readSnapshotFile(opts.log.fs, opts.log.dir);
    if (file === null) {
      file = { version: 1, index: 0, term: 0, conf: opts.initialConf, offset: opts.log.logEndOffset(), data: '' };
      await writeFileAtomic(path.join(opts.log.dir, SNAPSHOT_FILE), encodeCheckedJson(file), opts.log.fs);
    }
    if (file.installing === true && file.records !== undefined) {
      // A snapshot install stopped while moving its staged records in: do it again.
      opts.logger.warn({ dir: opts.log.dir, from: file.records.from, offset: file.offset }, 'finishing a snapshot install interrupted while moving its copied records in');
      const staged = path.join(opts.log.dir, file.records.file);
      await copyStaged(opts.log, staged, file.records.from, file.offset, file.term, opts.now?.() ?? Date.now());
      file = { ...file, installing: undefined, records: undefined };
      await writeFileAtomic(path.join(opts.log.dir, SNAPSHOT_FILE), encodeCheckedJson(file), opts.log.fs);
      await opts.log.fs.remove(staged, false);
    } else if (file.installing !== true && opts.log.logEndOffset() < file.offset && opts.recordsBelowSnapshot === true) {
      // The log lost records the snapshot stands for (a corrupt or torn segment cut at start-up):
      // they exist nowhere else here. Start over as a replica with an empty raft log where the
      // log now ends; the leader sends its snapshot and the records are copied again, and the
      // lost-tail check keeps this replica from voting as if it had them.
      opts.logger.warn({ dir: opts.log.dir, logEnd: opts.log.logEndOffset(), snapshotOffset: file.offset }, 'the log lost records below its raft snapshot; starting over to copy them from the leader');
      file = { version: 1, index: 0, term: 0, conf: file.conf, offset: opts.log.logEndOffset(), data: '' };
      await writeFileAtomic(path.join(opts.log.dir, SNAPSHOT_FILE), encodeCheckedJson(file), opts.log.fs);
    } else if (file.installing === true || opts.log.logEndOffset() < file.offset) {
      // A snapshot install stopped half way, or the log lost what the snapshot says precedes it.
      await opts.log.resetTo(file.offset);
      file = { ...file, installing: undefined };
      await writeFileAtomic(path.join(opts.log.dir, SNAPSHOT_FILE), encodeCheckedJson({ ...file, installing: undefined }), opts.log.fs);
    }
    // Records staged for a snapshot the replica has not installed: it still has its old log, and
    // the next copy continues the file (snapshot-records.ts), unless its name is of the older form
    // that does not say where its records begin.
    for (const name of await opts.log.fs.readdir(opts.log.dir)) {
      if (isStagedRecordsFile(name) && stagedRecordsFrom(name) === null) await opts.log.fs.remove(path.join(opts.log.dir, name), false);
    }
    const snap: Snapshot = { index: file.index, term: file.term, conf: file.conf, data: Buffer.from(file.data, 'base64') };
    const s = new PartitionRaftStorage(opts, snap, file.offset);
    opts.onSnapshot?.(snap);
    await s.scan(opts.onStored, opts.replayFromSnapshot === true);
    return s;
  }

  /**
   * Rebuilds the in-memory index from the batches after the snapshot, putting each term's empty
   * entry before its first batch (where the journal has it, else derived from the epoch change
   * and recorded now).
   */
  private async scan(onStored: ((b: StoredBatch) => void) | undefined, replayAll: boolean): Promise<void> {
    const hs = this.journal.get(this.group);
    const recorded = this.journal.noops(this.group).filter((n) => n.index > this.snap.index);
    let k = 0;
    let offset = this.snapOffset;
    const end = this.log.logEndOffset();
    let index = this.snap.index;
    let epoch = this.snap.term;
    // Entries above the persisted commit are not applied yet: they must stay in memory.
    const keepFrom = replayAll ? index + 1 : (hs?.commit ?? 0) + 1;
    const addNoop = (n: NoopEntry): void => {
      index = n.index;
      epoch = n.term;
      const e = noopEntry(n.term, n.index);
      this.noops.set(n.index, n);
      this.track(e, n.offset);
      if (index >= keepFrom) this.cacheEntry(e);
      onStored?.({ index, entry: e, baseOffset: n.offset, lastOffset: n.offset - 1 });
    };
    const recordedAt = (at: number): void => {
      while (k < recorded.length && (recorded[k] as NoopEntry).index === index + 1 && (recorded[k] as NoopEntry).offset === at) addNoop(recorded[k++] as NoopEntry);
    };
    // The CRC covers neither a batch's base offset nor its leader epoch, and what this scan makes
    // of them becomes the raft index (and, for a new epoch, a durable empty entry): a batch that
    // leaves a gap, goes back an epoch or starts one the journal does not know of is read again
    // on its own and taken only when both reads agree (one flipped bit in one read must not drop
    // or shift entries or invent a term); when they differ the scan goes on from it afresh.
    let rereads = 0;
    let rereadAt = -1;
    scanning: while (offset < end) {
      const r = await this.log.readStored(offset, SCAN_BYTES);
      if (r.records.length === 0) break;
      let pos = 0;
      while (pos < r.records.length) {
        const size = r.records.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
        const batch = r.records.subarray(pos, pos + size);
        pos += size;
        const base = readInt64(batch, BatchField.baseOffset);
        const lastOffset = base + batch.readInt32BE(BatchField.lastOffsetDelta);
        if (base < offset) continue;
        const batchEpoch = batch.readInt32BE(BatchField.partitionLeaderEpoch);
        const odd = this.oddBatch(base, offset, batchEpoch, epoch, recorded, k, index);
        if (odd !== null) {
          const again = await this.log.readStored(offset, 1);
          const first = again.records.length >= LOG_OVERHEAD ? again.records.subarray(0, again.records.readInt32BE(BatchField.batchLength) + LOG_OVERHEAD) : null;
          if (first === null || !first.equals(batch)) {
            rereads = rereadAt === offset ? rereads + 1 : 1;
            rereadAt = offset;
            if (rereads >= SCAN_READ_ATTEMPTS) {
              throw new Error(`raft storage ${this.log.dir}: no two of ${rereads + 1} reads agree on the batch after offset ${offset} (${odd})`);
            }
            this.logger.warn({ dir: this.log.dir, offset, why: odd }, 'a stored batch read differently twice at start-up; scanning from it again');
            continue scanning;
          }
        }
        recordedAt(base);
        if (batchEpoch > epoch) {
          const derived: NoopEntry = { term: batchEpoch, index: index + 1, offset: base };
          this.journal.putNoop(this.group, derived);
          addNoop(derived);
        }
        index++;
        epoch = batchEpoch;
        const entry = entryFromBatch(batch, index);
        this.track(entry, base);
        if (index >= keepFrom) this.cacheEntry(entry);
        if (this.dense.length > 2 * DENSE_KEEP) {
          // Bound memory while scanning a long log: exact offsets only for the tail.
          const keep = Math.min(keepFrom, index + 1 - DENSE_KEEP);
          if (keep > this.denseStart) {
            this.dense.splice(0, keep - this.denseStart);
            this.denseStart = keep;
          }
        }
        onStored?.({ index, entry, baseOffset: base, lastOffset });
        offset = lastOffset + 1;
      }
      offset = Math.max(offset, r.nextOffset);
    }
    recordedAt(end);
    if (k < recorded.length) {
      // Records of empty entries the log does not continue to (a cut the journal missed): forget them.
      this.logger.warn({ dir: this.log.dir, from: (recorded[k] as NoopEntry).index }, 'dropping recorded empty raft entries past the log end');
      this.journal.truncateNoops(this.group, (recorded[k] as NoopEntry).index);
    }
    this.last = index;
    this.nextOffset = end;
    if (this.cache.length === 0) this.cacheStart = index + 1;
    this.trimDense();
  }

  /**
   * Why a scanned batch needs a second read, or null: it leaves a gap after `next` (compaction
   * makes real ones), carries an older epoch than the entry before it, or a newer one no empty
   * entry recorded in the journal at that place stands for.
   */
  private oddBatch(base: number, next: number, batchEpoch: number, epoch: number, recorded: readonly NoopEntry[], k: number, index: number): string | null {
    if (base !== next) return `starts at ${base} where ${next} was next`;
    if (batchEpoch < epoch) return `carries epoch ${batchEpoch} after ${epoch}`;
    if (batchEpoch > epoch) {
      let known = false;
      for (let i = k; i < recorded.length && !known; i++) {
        const n = recorded[i] as NoopEntry;
        if (n.offset !== base) break;
        known = n.term === batchEpoch && n.index >= index + 1;
      }
      if (!known) return `starts epoch ${batchEpoch} (after ${epoch}) with no empty entry recorded for it`;
    }
    return null;
  }

  /** The partition log's directory. */
  get dir(): string {
    return this.log.dir;
  }

  /** Where the directory lives (the staging of snapshot records writes there too). */
  get fs(): FileSystem {
    return this.log.fs;
  }

  // ------------------------------------------------------------ reads (the core's view)

  hardState(): HardState {
    const hs = this.journal.get(this.group) ?? { term: 0, vote: 0, commit: 0 };
    return hs.commit > this.last ? { ...hs, commit: this.last } : hs;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  term(index: number): number {
    if (index === this.snap.index) return this.snap.term;
    if (index < this.snap.index || index > this.last) return -1;
    if (index >= this.cacheStart) return (this.cache[index - this.cacheStart] as Entry).term;
    const t = this.termStartFor(index);
    return t === null ? -1 : t.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | null | EntriesUnavailable {
    if (lo <= this.snap.index) return null;
    if (hi > this.last + 1) hi = this.last + 1;
    if (lo >= hi) return [];
    if (lo >= this.cacheStart) return this.sliceCache(lo, hi, maxBytes);
    for (const w of this.loaded) {
      const first = w.entries[0];
      if (first === undefined || lo < w.lo || lo >= w.lo + w.entries.length) continue;
      const out: Entry[] = [];
      let bytes = 0;
      for (let i = lo - w.lo; i < w.entries.length && lo + out.length < hi; i++) {
        const e = w.entries[i] as Entry;
        out.push(e);
        bytes += e.data.length;
        if (bytes > maxBytes) break;
      }
      return out;
    }
    this.load(lo, Math.min(hi, this.cacheStart), maxBytes);
    return ENTRIES_UNAVAILABLE;
  }

  confChanges(): readonly StoredConfChange[] {
    return this.confs;
  }

  /** Encoded ConfChange in force at `index` (the latest one at or before it), or null for the snapshot's. */
  confEntryAt(index: number): StoredConfChange | null {
    let found: StoredConfChange | null = null;
    for (const c of this.confs) if (c.index <= index) found = c;
    return found;
  }

  private sliceCache(lo: number, hi: number, maxBytes: number): Entry[] {
    const start = lo - this.cacheStart;
    const stop = hi - this.cacheStart;
    if (maxBytes === Infinity) return this.cache.slice(start, stop);
    let end = start;
    let bytes = 0;
    while (end < stop) {
      bytes += (this.cache[end] as Entry).data.length;
      end++;
      if (bytes > maxBytes) break;
    }
    return this.cache.slice(start, end);
  }

  // ------------------------------------------------------------ offsets

  /** Kafka offset after the last entry (the next entry's base offset). */
  endOffset(): number {
    return this.nextOffset;
  }

  /** Kafka offset where the entries after the snapshot begin. */
  snapshotOffset(): number {
    return this.snapOffset;
  }

  /** Base offset of entry `index` when known without disk I/O, else null. */
  baseOffsetOf(index: number): number | null {
    if (index === this.last + 1) return this.nextOffset;
    if (index === this.snap.index + 1 && index <= this.last + 1) return this.snapOffset;
    if (index < this.denseStart || index > this.last) return null;
    return this.dense[index - this.denseStart] as number;
  }

  /** Offset after entry `index` (0 < index): what a commit index means as a high watermark. */
  offsetAfter(index: number): number | null {
    if (index === this.snap.index) return this.snapOffset;
    return this.baseOffsetOf(index + 1);
  }

  /** The raft index of the entry whose batch starts at `offset`, when known in memory, else null. */
  indexOfOffset(offset: number): number | null {
    if (offset === this.nextOffset) return this.last + 1;
    let lo = 0;
    let hi = this.dense.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const o = this.dense[mid] as number;
      if (o === offset) return this.denseStart + mid;
      if (o < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  /**
   * The raft index of an entry starting at `offset` (a batch boundary, such as a segment's base
   * offset), from memory or by walking the segments from the nearest sample; null if no entry
   * starts there.
   */
  async indexAt(offset: number): Promise<number | null> {
    const known = this.indexOfOffset(offset);
    if (known !== null) return known;
    if (offset < this.snapOffset || offset > this.nextOffset) return null;
    // The last sample at or below the offset, then a walk of at most SAMPLE_EVERY entries.
    let from = { index: this.snap.index + 1, offset: this.snapOffset };
    for (const smp of this.samples) {
      if (smp.offset > offset) break;
      from = smp;
    }
    const { entries } = await this.readEntries(from.index, Number.MAX_SAFE_INTEGER, offset);
    let at = from.offset;
    for (const e of entries) {
      if (at === offset) return e.index;
      if (at > offset) return null;
      at += offsetSpanOf(e);
    }
    return at === offset ? this.last + 1 : null;
  }

  /** Term history: the first raft index and Kafka offset of each term still in the log. */
  termHistory(): readonly TermStart[] {
    return this.terms;
  }

  /**
   * OffsetForLeaderEpoch: the end offset of `epoch` (the start offset of the next higher term
   * present, or the log end for the latest term) and the largest term <= epoch; null when the
   * epoch lies before everything this log holds.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } | null {
    let found = -1;
    for (let i = 0; i < this.terms.length; i++) if ((this.terms[i] as TermStart).term <= epoch) found = i;
    if (found < 0) {
      if (this.snap.term <= epoch && this.snap.index > 0) return { epoch: this.snap.term, endOffset: this.snapOffset };
      // Older than every epoch this log knows (retention took it, or it never led here): as Kafka
      // answers, the epoch asked and where the earliest known one starts. Unknown (-1/-1) would
      // send a validating consumer to its reset policy, to read again what it had read.
      const first = this.snap.index > 0 ? this.snapOffset : this.terms[0]?.offset;
      return epoch >= 0 && first !== undefined ? { epoch, endOffset: first } : null;
    }
    const next = this.terms[found + 1];
    return { epoch: (this.terms[found] as TermStart).term, endOffset: next === undefined ? this.nextOffset : next.offset };
  }

  cachedBytes(): number {
    return this.cacheBytesValue;
  }

  private termStartFor(index: number): TermStart | null {
    let lo = 0;
    let hi = this.terms.length - 1;
    let found: TermStart | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.terms[mid] as TermStart;
      if (t.index <= index) {
        found = t;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  // ------------------------------------------------------------ writes (the host, from a Ready)

  /**
   * Appends entries that continue the log (the host truncates first with `truncateFrom` when
   * they replace a suffix). Batch entries must already carry their final base offset and epoch:
   * the leader stamps them when proposing, and a follower's copy must land on the same offsets.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (first !== this.last + 1) {
      throw new Error(`raft storage ${this.log.dir}: append at ${first} but the log ends at ${this.last} (truncate first)`);
    }
    const now = this.now();
    for (const e of entries) {
      const base = this.nextOffset;
      if (isNoopEntry(e)) {
        const n: NoopEntry = { term: e.term, index: e.index, offset: base };
        this.journal.putNoop(this.group, n);
        this.noops.set(e.index, n);
        this.track(e, base);
        this.cacheEntry(e);
        this.last = e.index;
        continue;
      }
      let bytes: Buffer;
      if (isBatchEntry(e)) {
        bytes = asBuffer(e.data);
        const stamped = readInt64(bytes, BatchField.baseOffset);
        if (stamped !== base || bytes.readInt8(BatchField.magic) !== CURRENT_MAGIC) {
          // The leader's entries before this one match ours by term, yet end elsewhere: a stored
          // batch here is not what it was (a misdirected write left another valid batch in its
          // place). What this term wrote here is cut and fetched again (replica-revival.ts).
          const prev = this.termStartFor(e.index - 1);
          throw new DivergedEntry(this.log.dir, Math.max(this.snapOffset, prev?.offset ?? this.snapOffset), `raft storage ${this.log.dir}: entry ${e.index} carries offset ${stamped}, the log continues at ${base}`);
        }
        if (bytes.readInt32BE(BatchField.batchLength) + LOG_OVERHEAD !== bytes.length) {
          throw new Error(`raft storage ${this.log.dir}: entry ${e.index} is not exactly one record batch`);
        }
      } else {
        bytes = encodeConfEntry(e, base);
      }
      const r = this.log.appendExact(bytes, now, true);
      this.track(e, base);
      this.cacheEntry(e);
      this.last = e.index;
      this.nextOffset = r.lastOffset + 1;
    }
    this.noteEnd();
  }

  /** Where the log ends now, the journal's and so this round's (see lost-tail.ts). */
  end(): LogEnd {
    const newest = this.confs[this.confs.length - 1];
    let voters = this.snap.conf.voters.length;
    if (newest !== undefined) {
      if (this.votersAt?.data !== newest.data) this.votersAt = { data: newest.data, voters: decodeConfChange(newest.data).conf.voters.length };
      voters = this.votersAt.voters;
    }
    return { index: this.last, term: this.term(this.last), voters };
  }

  /**
   * Records the log end in the journal whenever it moved. The host syncs the journal in the same
   * round as the entries, so the record is durable before anything in them is acknowledged.
   */
  noteEnd(): void {
    const e = this.end();
    const n = this.notedEnd;
    if (n !== null && n.index === e.index && n.term === e.term && n.voters === e.voters) return;
    this.notedEnd = e;
    this.journal.putLogEnd(this.group, e);
  }

  setHardState(hs: HardState): void {
    this.journal.put(this.group, hs);
  }

  /** Makes everything appended and the hard state durable (joins the shared group-commit round). */
  async sync(): Promise<void> {
    const end = this.end();
    await Promise.all([this.log.sync(), this.journal.sync()]);
    // The host does not cut or reset a group's log while its sync runs, so `end` is durable now.
    this.journal.putDurableEnd(this.group, end);
  }

  /** A cut below where the log was durable: it is durable only up to the cut (lost-tail.ts). */
  private lowerDurableEnd(): void {
    const d = this.journal.durableEnd(this.group);
    const e = this.end();
    if (d !== null && d.index > e.index) this.journal.putDurableEnd(this.group, e);
  }

  /** Drops entries from `index` on (a follower whose log conflicts with its leader's). */
  async truncateFrom(index: number): Promise<void> {
    if (index > this.last) return;
    if (index <= this.snap.index) throw new Error(`raft storage ${this.log.dir}: truncation at ${index} reaches into the snapshot`);
    const offset = this.baseOffsetOf(index) ?? (await this.locate(index));
    // The journal forgets the cut empty entries in the same round the cut batches go.
    this.journal.truncateNoops(this.group, index);
    for (const i of [...this.noops.keys()]) if (i >= index) this.noops.delete(i);
    await this.log.truncateTo(offset);
    const end = this.log.logEndOffset();
    if (end !== offset) {
      // The entries below `index` must end exactly where the log now does, or the core would go
      // on from entries this log does not hold. The journal still records the end before the cut,
      // so a reopen sees the difference as a lost tail (lost-tail.ts) and recovers it.
      throw new Error(`raft storage ${this.log.dir}: truncation at entry ${index} (offset ${offset}) left the log ending at ${end}`);
    }
    this.last = index - 1;
    this.nextOffset = offset;
    if (this.cacheStart > index) {
      this.cache = [];
      this.cacheStart = index;
      this.cacheBytesValue = 0;
    } else {
      for (const e of this.cache.splice(index - this.cacheStart)) this.cacheBytesValue -= e.data.length;
    }
    if (this.denseStart > index) {
      this.dense = [];
      this.denseStart = index;
    } else this.dense.length = index - this.denseStart;
    while (this.samples.length > 0 && (this.samples[this.samples.length - 1] as { index: number }).index >= index) this.samples.pop();
    while (this.terms.length > 0 && (this.terms[this.terms.length - 1] as TermStart).index >= index) this.terms.pop();
    while (this.confs.length > 0 && (this.confs[this.confs.length - 1] as StoredConfChange).index >= index) this.confs.pop();
    this.loaded = this.loaded.filter((w) => w.lo < index).map((w) => ({ lo: w.lo, entries: w.entries.slice(0, index - w.lo) }));
    this.lowerDurableEnd();
    this.noteEnd();
  }

  /**
   * Installs a snapshot from the leader. Entries that continue it are kept; otherwise the log is
   * reset to start empty at the snapshot's offset, or, with `records` (the records below the
   * snapshot offset copied from another replica, see snapshot-records.ts), cut to where they
   * begin and continued with them up to the snapshot offset.
   */
  async installSnapshot(snap: Snapshot, offset: number, records: StagedRecords | null = null): Promise<void> {
    if (snap.index <= this.snap.index) return;
    const keep = this.term(snap.index) === snap.term && this.baseOffsetOf(snap.index + 1) === offset;
    const file: SnapshotFile = {
      version: 1,
      index: snap.index,
      term: snap.term,
      conf: snap.conf,
      offset,
      data: Buffer.from(snap.data).toString('base64'),
    };
    const where = path.join(this.log.dir, SNAPSHOT_FILE);
    if (keep) {
      await writeFileAtomic(where, encodeCheckedJson(file), this.log.fs);
      this.dropThrough(snap.index);
    } else {
      const moving = records !== null && records.from < offset;
      const marker = moving ? { records: { from: records.from, file: path.basename(records.file) } } : {};
      await writeFileAtomic(where, encodeCheckedJson({ ...file, installing: true, ...marker }), this.log.fs);
      this.journal.truncateNoops(this.group, 0);
      this.noops.clear();
      if (moving) await copyStaged(this.log, records.file, records.from, offset, snap.term, this.now());
      else await this.log.resetTo(offset);
      await writeFileAtomic(where, encodeCheckedJson(file), this.log.fs);
      this.last = snap.index;
      this.nextOffset = offset;
      this.terms = [];
      this.dense = [];
      this.denseStart = snap.index + 1;
      this.samples = [];
      this.cache = [];
      this.cacheBytesValue = 0;
      this.cacheStart = snap.index + 1;
      this.confs = [];
      this.loaded = [];
    }
    if (records !== null) await this.log.fs.remove(records.file, false);
    this.snap = snap;
    this.snapOffset = offset;
    this.lowerDurableEnd();
    this.noteEnd();
  }

  /** Not used for partitions: compaction follows retention through `compactTo`. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    throw new Error(`raft storage ${this.log.dir}: createSnapshot(${index}, ${conf.voters.length} voters, ${data.length} B) is not supported; use compactTo`);
  }

  applySnapshot(snap: Snapshot): void {
    throw new Error(`raft storage ${this.log.dir}: applySnapshot(${snap.index}) must go through installSnapshot`);
  }

  /**
   * Log compaction: records a snapshot at entry `index` (applied) whose successor starts at
   * `offset`, so segments below `offset` may be deleted afterwards.
   */
  async compactTo(index: number, conf: ConfState, data: Uint8Array): Promise<void> {
    if (index <= this.snap.index) return;
    if (index > this.last) throw new Error(`raft storage ${this.log.dir}: compaction at ${index} beyond the last index ${this.last}`);
    const term = this.term(index);
    const offset = this.offsetAfter(index) ?? (await this.locate(index + 1));
    const file: SnapshotFile = { version: 1, index, term, conf, offset, data: Buffer.from(data).toString('base64') };
    await writeFileAtomic(path.join(this.log.dir, SNAPSHOT_FILE), encodeCheckedJson(file), this.log.fs);
    this.snap = { index, term, conf, data };
    this.snapOffset = offset;
    this.dropThrough(index);
  }

  /** Forgets in-memory state for entries the snapshot now covers. */
  private dropThrough(index: number): void {
    this.journal.dropNoopsBelow(this.group, index + 1);
    for (const i of [...this.noops.keys()]) if (i <= index) this.noops.delete(i);
    if (this.cacheStart <= index) {
      const n = Math.min(index + 1 - this.cacheStart, this.cache.length);
      for (const e of this.cache.splice(0, n)) this.cacheBytesValue -= e.data.length;
      this.cacheStart = index + 1;
    }
    if (this.denseStart <= index) {
      this.dense.splice(0, Math.min(index + 1 - this.denseStart, this.dense.length));
      this.denseStart = index + 1;
    }
    while (this.samples.length > 0 && (this.samples[0] as { index: number }).index <= index) this.samples.shift();
    // Keep the term that continues past the snapshot (its start moves to the snapshot boundary).
    while (this.terms.length > 1 && (this.terms[1] as TermStart).index <= index + 1) this.terms.shift();
    this.confs = this.confs.filter((c) => c.index > index);
    this.loaded = this.loaded.filter((w) => w.lo > index);
    if (this.last < index) this.last = index;
  }

  /**
   * Drops cached entries below `index` (they stay on disk). Never beyond what the core may still
   * need from memory: the host passes min(applied + 1, the followers' next indexes).
   */
  trimCache(index: number): void {
    const upTo = Math.min(index, this.last + 1);
    if (upTo <= this.cacheStart) return;
    for (const e of this.cache.splice(0, upTo - this.cacheStart)) this.cacheBytesValue -= e.data.length;
    this.cacheStart = upTo;
    this.trimDense();
  }

  private trimDense(): void {
    const keepFrom = Math.min(this.cacheStart, this.last + 1 - DENSE_KEEP);
    if (keepFrom <= this.denseStart) return;
    this.dense.splice(0, keepFrom - this.denseStart);
    this.denseStart = keepFrom;
  }

  private track(e: Entry, base: number): void {
    const idx = e.index;
    if (idx === this.denseStart + this.dense.length) this.dense.push(base);
    else {
      this.dense = [base];
      this.denseStart = idx;
    }
    if ((idx - this.snap.index - 1) % SAMPLE_EVERY === 0) this.samples.push({ index: idx, offset: base });
    const lastTerm = this.terms[this.terms.length - 1];
    if (lastTerm === undefined || lastTerm.term !== e.term) this.terms.push({ term: e.term, index: idx, offset: base });
    if (e.type === EntryType.ConfChange) this.confs.push({ index: idx, data: e.data });
  }

  private cacheEntry(e: Entry): void {
    if (this.cache.length === 0) this.cacheStart = e.index;
    this.cache.push(e);
    this.cacheBytesValue += e.data.length;
  }

  // ------------------------------------------------------------ disk reads

  /** Base offset of entry `index` from the samples and the log (one walk of at most SAMPLE_EVERY batches). */
  private async locate(index: number): Promise<number> {
    const known = this.baseOffsetOf(index);
    if (known !== null) return known;
    const found = await this.readEntries(index, 1);
    if (found.offset === null) throw new Error(`raft storage ${this.log.dir}: entry ${index} not found on disk`);
    return found.offset;
  }

  private sampleFloor(index: number): { index: number; offset: number } {
    let lo = 0;
    let hi = this.samples.length - 1;
    let found = { index: this.snap.index + 1, offset: this.snapOffset };
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.samples[mid] as { index: number; offset: number };
      if (s.index <= index) {
        found = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * Reads entries from `lo` (up to about maxBytes, at least one) from the segment files. The
   * batch fields no CRC covers are checked against what the storage knows of each index (its
   * term, and its base offset where that is in memory): a read with one of them flipped is taken
   * again, since its bytes would become an entry that differs from every other replica's.
   */
  private async readEntries(lo: number, maxBytes: number, stopAtOffset = Infinity): Promise<{ entries: Entry[]; offset: number | null }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readEntriesOnce(lo, maxBytes, stopAtOffset);
      } catch (err) {
        if (!(err instanceof OddRead) || attempt >= SCAN_READ_ATTEMPTS) throw err;
        this.logger.warn({ dir: this.log.dir, lo, why: err.message, attempt }, 'a raft entry read back unlike the storage knows it; reading it again');
      }
    }
  }

  private async readEntriesOnce(lo: number, maxBytes: number, stopAtOffset: number): Promise<{ entries: Entry[]; offset: number | null }> {
    const start = this.sampleFloor(lo);
    let index = start.index;
    let offset = start.offset;
    const out: Entry[] = [];
    let firstOffset: number | null = null;
    let bytes = 0;
    // Empty entries have no batch: they are emitted from memory as the walk reaches them.
    const takeNoops = (): boolean => {
      for (let n = this.noops.get(index); n !== undefined && index <= this.last; n = this.noops.get(index)) {
        if (index >= lo) {
          if (firstOffset === null) firstOffset = n.offset;
          out.push(noopEntry(n.term, n.index));
          if (bytes >= maxBytes && out.length > 0) return true;
        }
        index++;
      }
      return false;
    };
    if (takeNoops()) return { entries: out, offset: firstOffset };
    while (offset < this.nextOffset && index <= this.last) {
      const r = await this.log.readStored(offset, Math.max(SCAN_BYTES, maxBytes));
      if (r.records.length === 0) break;
      let pos = 0;
      while (pos < r.records.length && index <= this.last) {
        const size = r.records.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
        const batch = r.records.subarray(pos, pos + size);
        pos += size;
        const base = readInt64(batch, BatchField.baseOffset);
        if (base < offset) continue;
        if (base > stopAtOffset) return { entries: out, offset: firstOffset };
        const knownBase = this.baseOffsetOf(index);
        const knownTerm = this.term(index);
        const epoch = batch.readInt32BE(BatchField.partitionLeaderEpoch);
        if ((knownBase !== null && base !== knownBase) || (knownTerm >= 0 && epoch !== knownTerm)) {
          throw new OddRead(`entry ${index} read as the batch at ${base} of epoch ${epoch}; the storage has it at ${knownBase ?? '?'} in term ${knownTerm}`);
        }
        offset = base + batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
        if (index >= lo) {
          if (firstOffset === null) firstOffset = base;
          const e = entryFromBatch(batch, index);
          out.push(e);
          bytes += e.data.length;
          if (bytes >= maxBytes) return { entries: out, offset: firstOffset };
        }
        index++;
        if (takeNoops()) return { entries: out, offset: firstOffset };
      }
    }
    takeNoops();
    return { entries: out, offset: firstOffset };
  }

  private load(lo: number, hi: number, maxBytes: number): void {
    if (this.loading.has(lo) || this.closed) return;
    this.loading.add(lo);
    const budget = Number.isFinite(maxBytes) ? maxBytes : SCAN_BYTES;
    this.readEntries(lo, budget).then(
      ({ entries }) => {
        this.loading.delete(lo);
        if (this.closed || entries.length === 0) return;
        const usable = entries.slice(0, Math.max(1, hi - lo));
        this.loaded.push({ lo, entries: usable });
        if (this.loaded.length > LOADED_WINDOWS) this.loaded.shift();
        this.onAvailable();
      },
      (err: unknown) => {
        this.loading.delete(lo);
        this.logger.error({ err, dir: this.log.dir, lo }, 'reading raft entries from disk failed');
        if (err instanceof CorruptStoredBatch && !this.closed) this.onCorrupt?.(err);
      },
    );
  }

  close(): void {
    this.closed = true;
  }

  /** Placeholder data of a snapshot nothing has been compacted into yet. */
  static readonly NO_DATA = EMPTY;
}

/**
 * An entry from the leader does not continue this replica's log where the entries before it,
 * matching by term, say it should: this log's copy of them differs. `offset` is where the cut
 * that removes the differing copy goes (the start of the term before the entry).
 */
export class DivergedEntry extends Error {
  constructor(
    readonly dir: string,
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'DivergedEntry';
  }
}

/**
 * Cuts the log to `from` (or, when it does not reach that far or starts after it, resets it to
 * start there) and appends the staged batches byte for byte, then a gap marker if the last of
 * them ends before `to`, so the log ends exactly at the snapshot offset, and rolls a segment
 * there; durable on return.
 * Doing it again after a crash gives the same log.
 */
async function copyStaged(log: ReplicaLog, file: string, from: number, to: number, term: number, now: number): Promise<void> {
  if (log.logEndOffset() >= from && log.logStartOffset() <= from) await log.truncateTo(from);
  else await log.resetTo(from);
  let first = true;
  for await (const chunk of readStaged(log.fs, file)) {
    if (first && readInt64(chunk, BatchField.baseOffset) < from) {
      throw new Error(`${file} begins at ${readInt64(chunk, BatchField.baseOffset)}, before ${from}`);
    }
    first = false;
    log.appendCopied(chunk, now);
    // One sync per chunk keeps the unflushed bytes of a large copy bounded.
    await log.sync();
  }
  const end = log.logEndOffset();
  if (end < to) log.appendCopied(gapBatch(end, to - 1, term, now), now);
  if (log.logEndOffset() !== to) throw new Error(`${log.dir}: staged records end at ${log.logEndOffset()}, the snapshot at ${to}`);
  log.rollSegment();
  await log.sync();
}

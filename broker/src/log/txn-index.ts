/**
 * The aborted-transactions index of a partition: for every aborted transaction, the producer,
 * its first offset and the offset of its abort marker. read_committed Fetch answers carry the
 * entries that overlap the data they return, so clients drop the aborted batches (KIP-98).
 *
 * Kept in memory, sorted by marker offset (markers are applied in log order), and on disk per
 * segment: `<base offset>.txnindex` holds the entries whose marker lies in the segment starting
 * there, as Kafka keeps them. An entry goes when its marker's segment does, since everything of
 * that transaction lies at or before its marker. The files only have to cover what the partition
 * cannot rebuild by reading its log on start-up (the part below its raft snapshot): the owner
 * persists them before it compacts its raft log past a marker. A file is rewritten whole,
 * atomically; a missing or torn one loses nothing the owner has not rebuilt.
 *
 * Entry format (34 bytes, big endian, as Kafka's): version int16 (0), producer id int64, first
 * offset int64, last (marker) offset int64, last stable offset at the abort int64.
 */
import fs from 'node:fs';
import path from 'node:path';
import { segmentFileName, writeFileAtomic, fsyncDir } from './files.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** Offset of the abort marker. */
  readonly lastOffset: number;
  /** The partition's last stable offset when the marker was applied. */
  readonly lastStableOffset: number;
}

function encode(entries: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.alloc(entries.length * ENTRY_BYTES);
  let pos = 0;
  for (const e of entries) {
    buf.writeInt16BE(ENTRY_VERSION, pos);
    buf.writeBigInt64BE(BigInt(e.producerId), pos + 2);
    buf.writeBigInt64BE(BigInt(e.firstOffset), pos + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), pos + 18);
    buf.writeBigInt64BE(BigInt(e.lastStableOffset), pos + 26);
    pos += ENTRY_BYTES;
  }
  return buf;
}

function decode(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let pos = 0; pos + ENTRY_BYTES <= buf.length; pos += ENTRY_BYTES) {
    if (buf.readInt16BE(pos) !== ENTRY_VERSION) break;
    const e = {
      producerId: Number(buf.readBigInt64BE(pos + 2)),
      firstOffset: Number(buf.readBigInt64BE(pos + 10)),
      lastOffset: Number(buf.readBigInt64BE(pos + 18)),
      lastStableOffset: Number(buf.readBigInt64BE(pos + 26)),
    };
    if (!Number.isSafeInteger(e.producerId) || e.firstOffset < 0 || e.lastOffset < e.firstOffset) break;
    out.push(e);
  }
  return out;
}

function parseName(name: string): number | null {
  const m = /^(\d{20})\.txnindex$/.exec(name);
  return m ? Number(m[1]) : null;
}

export class AbortedTxnIndex {
  private entries: AbortedTxn[] = [];
  /** Base offsets of the files on disk. */
  private files = new Set<number>();
  /** Entries changed since the last persist. */
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Reads every index file of the directory (an unreadable tail of a file is ignored). */
  static async open(dir: string): Promise<AbortedTxnIndex> {
    const index = new AbortedTxnIndex(dir);
    let names: string[] = [];
    try {
      names = await fs.promises.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const all: AbortedTxn[] = [];
    for (const name of names) {
      const base = parseName(name);
      if (base === null) continue;
      index.files.add(base);
      all.push(...decode(await fs.promises.readFile(path.join(dir, name))));
    }
    all.sort((a, b) => a.lastOffset - b.lastOffset);
    index.entries = all;
    return index;
  }

  get size(): number {
    return this.entries.length;
  }

  /** All entries, by marker offset (tests, snapshots of state). */
  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** Adds an aborted transaction; markers come in log order, a repeated one is ignored. */
  add(e: AbortedTxn): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && e.lastOffset <= last.lastOffset) {
      if (this.entries.some((x) => x.lastOffset === e.lastOffset)) return;
      this.entries.push(e);
      this.entries.sort((a, b) => a.lastOffset - b.lastOffset);
    } else this.entries.push(e);
    this.dirty = true;
  }

  /**
   * The aborted transactions a read of [from, upTo) must report: those whose marker is at or
   * after `from` and that began before `upTo`.
   */
  collect(from: number, upTo: number): AbortedTxn[] {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as AbortedTxn).lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    const out: AbortedTxn[] = [];
    for (let i = lo; i < this.entries.length; i++) {
      const e = this.entries[i] as AbortedTxn;
      if (e.firstOffset < upTo) out.push(e);
    }
    return out;
  }

  /** Forgets entries whose marker is at or above `offset` (the part a log scan rebuilds). */
  dropFrom(offset: number): void {
    const keep = this.entries.filter((e) => e.lastOffset < offset);
    if (keep.length !== this.entries.length) this.dirty = true;
    this.entries = keep;
  }

  /** Forgets entries whose marker lies below `offset` (the log start moved past them). */
  dropBelow(offset: number): void {
    const keep = this.entries.filter((e) => e.lastOffset >= offset);
    if (keep.length !== this.entries.length) this.dirty = true;
    this.entries = keep;
  }

  /**
   * Writes the index files for the log's segments (base offsets ascending): each entry into the
   * file of the segment holding its marker; files of segments without entries are removed.
   */
  persist(segmentBases: readonly number[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.dirty) return;
      this.dirty = false;
      const bySegment = new Map<number, AbortedTxn[]>();
      for (const e of this.entries) {
        let base = segmentBases[0] ?? 0;
        for (const b of segmentBases) {
          if (b <= e.lastOffset) base = b;
          else break;
        }
        const list = bySegment.get(base) ?? [];
        list.push(e);
        bySegment.set(base, list);
      }
      for (const [base, list] of bySegment) await writeFileAtomic(path.join(this.dir, segmentFileName(base, TXN_INDEX_SUFFIX)), encode(list));
      let removed = false;
      for (const base of this.files) {
        if (bySegment.has(base)) continue;
        await fs.promises.rm(path.join(this.dir, segmentFileName(base, TXN_INDEX_SUFFIX)), { force: true });
        removed = true;
      }
      this.files = new Set(bySegment.keys());
      if (removed) await fsyncDir(this.dir);
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Forgets everything, on disk too (the log was reset to a snapshot of another replica). */
  async reset(): Promise<void> {
    this.entries = [];
    this.dirty = true;
    await this.persist([]);
  }
}

/**
 * Replacing a run of segments by one rewritten segment, atomically with respect to crashes.
 *
 * The segments [B, E) (base offsets B = b0 < b1 < ... , E the base of the segment after them)
 * are replaced by one new segment with base B that covers exactly the same offsets:
 *   1. the new data is written to `<B>.log.cleaned` and fsynced;
 *   2. it is renamed to `<B>.<E>.swap` and the directory fsynced: the commit point;
 *   3. the old segments' files are removed (B's index files, every file of b1 ...), dir fsynced;
 *   4. the swap file is renamed over `<B>.log`, dir fsynced; then its index files are written.
 * A crash before 2 leaves the old segments and a `.cleaned` file, which recovery deletes. A
 * crash after 2 leaves a `.swap` file that names what it replaces, and recovery finishes steps 3
 * and 4. Either way the log holds the old segments or the new one, never a mix.
 */
import path from 'node:path';
import type { FileSystem } from '../platform/file-system.js';
import type { Logger } from 'pino';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, fsyncDir, fsyncFd, segmentFileName, writevAt } from './files.js';
import type { BatchMeta } from './segment.js';
import { Segment } from './segment.js';

export const CLEANED_SUFFIX = '.log.cleaned';

/** Points of a rewrite, in order (crash tests stop the process at each). */
export type RewritePoint = 'cleaned-written' | 'swap-committed' | 'old-removed' | 'swapped-in';
/** Awaited at each point of a rewrite; the crash tests use it, the broker passes none. */
export type RewriteProbe = (point: RewritePoint) => Promise<void>;
const SWAP_SUFFIX = '.swap';
const WRITE_CHUNK = 1 << 20;

export function cleanedFileName(base: number): string {
  return segmentFileName(base, CLEANED_SUFFIX);
}

/** `<base>.<end>.swap`: the rewritten segment of [base, end), committed but not yet in place. */
export function swapFileName(base: number, end: number): string {
  return `${String(base).padStart(20, '0')}.${String(end).padStart(20, '0')}${SWAP_SUFFIX}`;
}

export function parseSwapFileName(name: string): { base: number; end: number } | null {
  const m = /^(\d{20})\.(\d{20})\.swap$/.exec(name);
  return m ? { base: Number(m[1]), end: Number(m[2]) } : null;
}

function unlinkQuiet(fs: FileSystem, file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function segmentFiles(dir: string, base: number): string[] {
  return [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX].map((s) => path.join(dir, segmentFileName(base, s)));
}

/**
 * Writes the rewritten segment: batches go to `<base>.log.cleaned` in large writes and into an
 * in-memory Segment whose indexes are built as on append, so once committed it is served as is.
 */
export class CleanedSegmentWriter {
  readonly segment: Segment;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lastOffsetValue: number;

  private constructor(
    readonly file: string,
    segment: Segment,
    private readonly indexIntervalBytes: number,
  ) {
    this.segment = segment;
    this.lastOffsetValue = segment.baseOffset - 1;
  }

  /** Starts an empty `.cleaned` file (a leftover of an earlier attempt is replaced). */
  static open(fs: FileSystem, dir: string, base: number, createdMs: number, indexIntervalBytes: number): CleanedSegmentWriter {
    const file = path.join(dir, cleanedFileName(base));
    const fd = fs.openSync(file, 'w+');
    return new CleanedSegmentWriter(file, new Segment(fs, dir, base, fd, 0, createdMs), indexIntervalBytes);
  }

  /** Offset of the last batch's last record written so far (base - 1 while empty). */
  get lastOffset(): number {
    return this.lastOffsetValue;
  }

  get size(): number {
    return this.segment.size + this.pendingBytes;
  }

  /** Adds a whole batch; `onWrite` learns of each large write (for throttling). */
  async append(batch: Buffer, meta: BatchMeta, onWrite: (bytes: number) => Promise<void>): Promise<void> {
    if (meta.baseOffset <= this.lastOffsetValue) {
      throw new Error(`cleaned segment ${this.file}: batch at ${meta.baseOffset} does not follow ${this.lastOffsetValue}`);
    }
    this.segment.indexBatch(meta, this.segment.size + this.pendingBytes, this.indexIntervalBytes);
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    this.lastOffsetValue = meta.lastOffset;
    if (this.pendingBytes >= WRITE_CHUNK) await this.flush(onWrite);
  }

  private async flush(onWrite: (bytes: number) => Promise<void>): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bytes = this.pendingBytes;
    await writevAt(this.segment.fd, this.pending, this.segment.size, this.segment.fs);
    this.segment.size += bytes;
    this.segment.writtenSize = this.segment.size;
    this.pending = [];
    this.pendingBytes = 0;
    await onWrite(bytes);
  }

  /** Everything written and fsynced; the segment is ready to be committed. */
  async finish(onWrite: (bytes: number) => Promise<void>): Promise<Segment> {
    await this.flush(onWrite);
    await fsyncFd(this.segment.fd, this.segment.fs);
    this.segment.sealed = true;
    this.segment.finalizeTimeIndex();
    return this.segment;
  }

  /** Gives up: closes and removes the `.cleaned` file. */
  discard(): void {
    this.segment.close();
    unlinkQuiet(this.segment.fs, this.file);
  }
}

/**
 * Steps 2 to 4 for a finished writer replacing the segments with base offsets `replaced`
 * (replaced[0] is the new segment's base) up to `end`. Returns once the new segment is in place
 * as `<base>.log`; the caller swaps its in-memory list and writes the index files.
 */
export async function commitSwap(
  dir: string,
  writer: CleanedSegmentWriter,
  replaced: readonly number[],
  end: number,
  probe?: RewriteProbe,
): Promise<void> {
  const base = writer.segment.baseOffset;
  const fs = writer.segment.fs;
  if (replaced[0] !== base) throw new Error(`swap of ${dir}: first replaced segment ${replaced[0]} is not the new base ${base}`);
  const swap = path.join(dir, swapFileName(base, end));
  await fs.rename(writer.file, swap);
  await fsyncDir(dir, fs);
  await probe?.('swap-committed');
  await removeReplaced(fs, dir, base, replaced.slice(1));
  await probe?.('old-removed');
  await fs.rename(swap, path.join(dir, segmentFileName(base, LOG_SUFFIX)));
  await fsyncDir(dir, fs);
  await probe?.('swapped-in');
}

async function removeReplaced(fs: FileSystem, dir: string, base: number, others: readonly number[]): Promise<void> {
  // The new segment's old index files first: they describe the old file, and a crash after the
  // final rename must not let recovery trust them for the new one.
  unlinkQuiet(fs, path.join(dir, segmentFileName(base, INDEX_SUFFIX)));
  unlinkQuiet(fs, path.join(dir, segmentFileName(base, TIME_INDEX_SUFFIX)));
  for (const b of others) for (const f of segmentFiles(dir, b)) unlinkQuiet(fs, f);
  await fsyncDir(dir, fs);
}

/**
 * Recovery's part: deletes `.cleaned` files (rewrites that never committed) and finishes every
 * committed swap, before the directory's segments are listed.
 */
export async function finishInterruptedRewrites(fs: FileSystem, dir: string, logger: Logger): Promise<void> {
  const names = await fs.readdir(dir);
  let changed = false;
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    logger.info({ dir, file: name }, 'removing an uncommitted cleaner rewrite');
    unlinkQuiet(fs, path.join(dir, name));
    changed = true;
  }
  if (changed) await fsyncDir(dir, fs);
  const swaps = names.map(parseSwapFileName).filter((s): s is { base: number; end: number } => s !== null);
  swaps.sort((a, b) => a.base - b.base);
  for (const s of swaps) {
    const others: number[] = [];
    for (const name of names) {
      const m = /^(\d{20})\.(log|index|timeindex)$/.exec(name);
      if (!m) continue;
      const b = Number(m[1]);
      if (b > s.base && b < s.end && !others.includes(b)) others.push(b);
    }
    logger.info({ dir, base: s.base, end: s.end, replaced: [s.base, ...others] }, 'finishing an interrupted cleaner swap');
    await removeReplaced(fs, dir, s.base, others);
    await fs.rename(path.join(dir, swapFileName(s.base, s.end)), path.join(dir, segmentFileName(s.base, LOG_SUFFIX)));
    await fsyncDir(dir, fs);
  }
}

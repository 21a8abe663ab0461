/**
 * Opening a partition directory, and crash recovery.
 *
 * After a clean close (marker present and the active segment's size matching it) persisted
 * indexes are trusted and only the batches after each segment's last index entry are read.
 * Otherwise every segment from the recovery point on (the first segment that was not yet sealed
 * and durable, as recorded in the checkpoint) is scanned batch by batch, verifying length and
 * CRC. The first bad batch and everything after it is cut off, later segments are deleted, and
 * exactly what was removed is logged. Recovered data is fsynced before the log accepts writes,
 * since bytes that survived a process crash may still be only in the page cache. Before any of
 * this, a cleaner rewrite the process died in is dropped or finished (segment-rewrite.ts).
 */
import path from 'node:path';
import { readCheckedJsonOrNull } from './checked-json.js';
import { nodeFileSystem, type FileSystem } from '../platform/file-system.js';
import type { Logger } from 'pino';
import { takeCleanMarker } from './clean-shutdown.js';
import {
  CHECKPOINT_FILE,
  CLEANER_CHECKPOINT_FILE,
  INDEX_SUFFIX,
  TIME_INDEX_SUFFIX,
  fsyncDir,
  fsyncFd,
  parseSegmentFileName,
} from './files.js';
import type { GroupCommitter } from './group-committer.js';
import { OffsetIndex } from './offset-index.js';
import { FilePartitionLog, writeIndexFiles } from './partition-log.js';
import { Segment } from './segment.js';
import { finishInterruptedRewrites } from './segment-rewrite.js';
import { restoreTailState, scanSegment } from './segment-scan.js';
import { TimeIndex } from './time-index.js';
import type { LogConfig } from './types.js';

export interface PartitionCheckpoint {
  readonly logStartOffset: number;
  /** Segments with a base offset at or above this may hold unsynced data after a crash. */
  readonly recoveryPoint: number;
}

export async function readCheckpoint(dir: string, fs: FileSystem = nodeFileSystem): Promise<PartitionCheckpoint | null> {
  // An unreadable checkpoint means "recover everything".
  const v = (await readCheckedJsonOrNull(dir, CHECKPOINT_FILE, fs)) as Partial<PartitionCheckpoint> | null;
  if (v !== null && typeof v === 'object' && typeof v.logStartOffset === 'number' && typeof v.recoveryPoint === 'number') {
    return { logStartOffset: v.logStartOffset, recoveryPoint: v.recoveryPoint };
  }
  return null;
}

/** Where the cleaner's last pass ended; 0 (everything dirty) when unknown. */
async function readCleanerCheckpoint(fs: FileSystem, dir: string): Promise<number> {
  // Missing or unreadable: the next pass treats the whole log as dirty, which is only slower.
  const v = (await readCheckedJsonOrNull(dir, CLEANER_CHECKPOINT_FILE, fs).catch(() => null)) as { firstDirtyOffset?: unknown } | null;
  if (v === null || typeof v !== 'object') return 0;
  return typeof v.firstDirtyOffset === 'number' && Number.isSafeInteger(v.firstDirtyOffset) && v.firstDirtyOffset >= 0 ? v.firstDirtyOffset : 0;
}

export interface OpenPartitionOptions {
  readonly dir: string;
  readonly config: LogConfig;
  readonly committer: GroupCommitter;
  readonly logger: Logger;
  readonly now: number;
}

/** Creates the partition directory (and missing parents), each new entry made durable. */
async function ensureDir(fs: FileSystem, dir: string): Promise<void> {
  const first = await fs.mkdirs(dir);
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d), fs);
    if (d === first || path.dirname(d) === d) break;
  }
}

async function tryLoadIndexes(seg: Segment): Promise<boolean> {
  try {
    // The indexes carry no checksum and a flipped position still looks ordered, so each file is
    // read twice: reads that differ mean the bytes cannot be trusted, and the indexes are rebuilt
    // from the segment (they only save that scan).
    const [idxBuf, timeBuf, idxAgain, timeAgain] = await Promise.all([
      seg.fs.readFile(seg.indexPath),
      seg.fs.readFile(seg.timeIndexPath),
      seg.fs.readFile(seg.indexPath),
      seg.fs.readFile(seg.timeIndexPath),
    ]);
    if (!idxBuf.equals(idxAgain) || !timeBuf.equals(timeAgain)) return false;
    const idx = OffsetIndex.parse(seg.baseOffset, idxBuf, seg.size);
    const time = TimeIndex.parse(seg.baseOffset, timeBuf);
    if (!idx || !time) return false;
    if (seg.size > 0 && idx.length === 0) return false;
    seg.resetIndexes();
    seg.offsetIndex = idx;
    seg.timeIndex = time;
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function openPartitionLog(opts: OpenPartitionOptions): Promise<FilePartitionLog> {
  const { dir, config, logger } = opts;
  const fs = opts.committer.fs;
  await ensureDir(fs, dir);
  const marker = await takeCleanMarker(fs, dir);
  const checkpoint = await readCheckpoint(dir, fs);
  // A cleaner rewrite the process died in: drop it if uncommitted, else finish it (segment-rewrite.ts).
  await finishInterruptedRewrites(fs, dir, logger);
  const firstDirtyOffset = await readCleanerCheckpoint(fs, dir);

  const names = await fs.readdir(dir);
  const bases: number[] = [];
  for (const name of names) {
    if (name.endsWith('.tmp')) {
      await fs.remove(path.join(dir, name), false);
      continue;
    }
    const base = parseSegmentFileName(name);
    if (base !== null) bases.push(base);
  }
  bases.sort((a, b) => a - b);
  const baseSet = new Set(bases);
  for (const name of names) {
    // index files whose segment is gone would be trusted wrongly by a future segment of that base
    const m = /^(\d{20})\.(index|timeindex)$/.exec(name);
    if (m && !baseSet.has(Number(m[1]))) await fs.remove(path.join(dir, name), false);
  }

  const segments: Segment[] = [];
  let created = false;
  if (bases.length === 0) {
    segments.push(Segment.create(fs, dir, checkpoint?.logStartOffset ?? 0));
    created = true;
  } else {
    for (const b of bases) segments.push(Segment.open(fs, dir, b, opts.now));
  }

  const last = segments[segments.length - 1]!;
  const clean = marker !== null && marker.activeBaseOffset === last.baseOffset && marker.activeSize === last.size;
  if (marker && !clean) {
    logger.warn({ dir, marker, activeBase: last.baseOffset, activeSize: last.size }, 'clean-shutdown marker does not match the files; recovering');
  }
  let recoveryFrom = checkpoint ? checkpoint.recoveryPoint : -1;
  if (recoveryFrom > last.baseOffset) recoveryFrom = last.baseOffset;

  const rebuiltIndexes: Segment[] = [];
  const scanned: Segment[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const isLast = i === segments.length - 1;
    // a segment is trusted when the shutdown was clean, or it lies wholly below the recovery point
    const nextBase = segments[i + 1]?.baseOffset ?? Infinity;
    let trusted = clean || (!isLast && recoveryFrom >= 0 && nextBase <= recoveryFrom);
    if (trusted && !(await tryLoadIndexes(seg))) {
      logger.info({ dir, segment: seg.baseOffset }, 'index files missing or invalid; rebuilding by scan');
      trusted = false;
      if (!isLast) rebuiltIndexes.push(seg);
    }
    let result;
    if (trusted) {
      result = await restoreTailState(seg, config.indexIntervalBytes);
      if (result.problem) {
        logger.warn({ dir, segment: seg.baseOffset, problem: result.problem }, 'trusted segment has a bad tail; rescanning it');
        trusted = false;
      }
    }
    if (!trusted) {
      seg.resetIndexes();
      result = await scanSegment(seg, 0, config.indexIntervalBytes);
      scanned.push(seg);
      if (!isLast && !rebuiltIndexes.includes(seg)) rebuiltIndexes.push(seg);
    }
    if (result && result.problem) {
      const fileSize = seg.size;
      logger.warn(
        {
          dir,
          segment: seg.baseOffset,
          truncatedAtPosition: result.validEnd,
          truncatedBytes: fileSize - result.validEnd,
          lastValidOffset: seg.nextOffset - 1,
          validBatches: result.batches,
          reason: result.problem,
        },
        'truncating torn or corrupt segment tail',
      );
      seg.offsetIndex.truncateTo(seg.nextOffset, result.validEnd);
      await seg.truncateFile(result.validEnd);
      await fsyncFd(seg.fd, fs);
      const dropped = segments.splice(i + 1);
      for (const d of dropped) {
        logger.warn({ dir, segment: d.baseOffset, bytes: d.size }, 'deleting segment after a corrupt one');
        d.deleteFiles();
      }
      if (dropped.length > 0) await fsyncDir(dir, fs);
      const idx = rebuiltIndexes.indexOf(seg);
      if (idx >= 0) rebuiltIndexes.splice(idx, 1);
      break;
    }
    const following = segments[i + 1];
    if (following && following.baseOffset !== seg.nextOffset) {
      // A crash inside a round can leave a new segment's bytes on disk while the tail of the
      // previous one never got there; offsets must stay contiguous, so the later part goes.
      const dropped = segments.splice(i + 1);
      for (const d of dropped) {
        logger.warn(
          { dir, segment: d.baseOffset, bytes: d.size, expectedBase: seg.nextOffset },
          'deleting segment that does not continue the previous one',
        );
        d.deleteFiles();
      }
      await fsyncDir(dir, fs);
      break;
    }
  }

  for (const seg of scanned) await fsyncFd(seg.fd, fs);
  const active = segments[segments.length - 1]!;
  for (const seg of rebuiltIndexes) {
    if (seg !== active && segments.includes(seg)) {
      seg.sealed = true;
      seg.finalizeTimeIndex();
      await writeIndexFiles(seg);
    } else if (seg === active) {
      seg.indexesPersisted = false;
    }
  }
  for (const seg of segments) if (seg !== active) seg.sealed = true;
  for (const seg of segments) if (seg !== active && !rebuiltIndexes.includes(seg)) seg.indexesPersisted = true;
  if (created) await fsyncDir(dir, fs);

  const first = segments[0]!;
  let logStartOffset = Math.max(checkpoint?.logStartOffset ?? first.baseOffset, first.baseOffset);
  logStartOffset = Math.min(logStartOffset, active.nextOffset);
  const log = new FilePartitionLog(
    { dir, segments, logStartOffset, recoveryPoint: active.baseOffset, firstDirtyOffset: Math.min(firstDirtyOffset, active.nextOffset) },
    config,
    opts.committer,
    logger,
  );
  await log.persistCheckpoint();
  logger.debug(
    { dir, clean, segments: segments.length, logStartOffset, logEndOffset: log.logEndOffset(), scanned: scanned.length },
    'opened partition log',
  );
  return log;
}

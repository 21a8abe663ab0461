/**
 * The log cleaner: compaction of logs whose cleanup.policy includes 'compact', in the
 * background, one pass at a time, with a fixed amount of memory and a bounded disk rate.
 *
 * Choosing a log: among compacted logs not backing off after an error, those with dirty data
 * older than max.compaction.lag.ms first, then the one with the largest dirty ratio (dirty bytes /
 * bytes of the cleanable segments) at or above min.cleanable.dirty.ratio. The cleanable segments
 * are those FilePartitionLog.cleaningView gives: durable, not active, wholly below the owner's
 * bound (setCleanableBelow) and old enough for min.compaction.lag.ms.
 *
 * One pass over a log:
 *   1. Read the dirty part (after the previous pass's end) into an OffsetMap: key -> latest
 *      offset. If the map fills up, the pass covers only the records before the first one it
 *      could not take; the next pass continues from there. The same read notes each producer's
 *      last batch, as does a header scan of the cleaned part and of everything after the bound.
 *   2. Rewrite the cleanable segments in groups of at most segment.bytes (so small cleaned
 *      segments merge), oldest first, keeping a record unless a later record of its key is in the
 *      map, or it is a tombstone whose batch is older than delete.retention.ms. Batches keep their
 *      offsets (gaps appear), whole batches are kept for control batches, transactional batches
 *      and batches whose records cannot be read (opaque); a producer's last batch is kept, empty
 *      if need be, so its sequence survives a restart; a group whose last batches all went ends
 *      with a gap marker (batch-filter.ts) so segments stay contiguous.
 *   3. Each group is swapped in atomically (segment-rewrite.ts); at the end the pass's end is
 *      recorded (cleaner.checkpoint) and becomes the next pass's first dirty offset.
 *
 * Tombstones are only dropped when no opaque batch lies before them in the log, since such a
 * batch may hold an older value of the key that would otherwise come back. Records without a key
 * are kept (Kafka refuses them on compacted topics at produce time).
 *
 * A pass that fails is logged, the log backs off (doubling delays) and other logs go on; a pass is
 * aborted when its log closes, is deleted or reset, or the cleaner stops.
 */
import type { Logger } from 'pino';
import { checkBatch, RecordBatchError, type RecordBatchHeader } from '../kafka/protocol/records.js';
import { BatchReader } from './batch-reader.js';
import { filterBatch, gapBatch, readBatchRecords, type RecordSpan } from './batch-filter.js';
import { compactionSettings, isCompacted } from './cleanup-policy.js';
import { IoThrottle, sleep } from './io-throttle.js';
import { OffsetMap } from './offset-map.js';
import type { CleaningView, FilePartitionLog } from './partition-log.js';
import type { Segment } from './segment.js';
import type { CleanerSettings } from './types.js';
import { CleanedSegmentWriter, type RewriteProbe } from './segment-rewrite.js';

/**
 * dedupeBufferBytes: memory of one pass's key -> offset map (Kafka: log.cleaner.dedupe.buffer.size);
 * ioBytesPerSecond: disk bandwidth for reads plus writes, Infinity unbounded; backoffMs: pause
 * when no log needs cleaning (log.cleaner.backoff.ms); errorBackoffMs: first retry delay of a
 * log whose pass failed, doubling per failure up to maxErrorBackoffMs.
 */
export type CleanerOptions = CleanerSettings;

export const DEFAULT_CLEANER_OPTIONS: CleanerOptions = {
  dedupeBufferBytes: 32 * 1024 * 1024,
  ioBytesPerSecond: 64 * 1024 * 1024,
  backoffMs: 15_000,
  errorBackoffMs: 1_000,
  maxErrorBackoffMs: 300_000,
};

/** One open log the cleaner may work on. */
export interface CleanableLog {
  readonly topic: string;
  readonly partition: number;
  readonly log: FilePartitionLog;
}

export interface CleanerPartitionStats {
  readonly topic: string;
  readonly partition: number;
  /** Dirty bytes / cleanable bytes when last looked at. */
  dirtyRatio: number;
  /** Wall-clock ms of the last completed pass; -1 before any. */
  lastCleanMs: number;
  /** Passes on this log that failed. */
  errors: number;
}

/** Counters the broker exports as metrics (cleaner-metrics.ts). */
export interface CleanerStats {
  passes: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
  /** By partition directory. */
  readonly partitions: Map<string, CleanerPartitionStats>;
}

export interface PassResult {
  readonly topic: string;
  readonly partition: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly segmentsBefore: number;
  readonly segmentsAfter: number;
  readonly recordsRemoved: number;
  /** The pass cleaned everything below this offset. */
  readonly cleanedTo: number;
  /** False when the log changed under the pass and it stopped early (it will run again). */
  readonly complete: boolean;
}

export interface LogCleanerDeps {
  readonly logs: () => readonly CleanableLog[];
  readonly logger: Logger;
  /** Wall clock (ms), for the compaction lags and delete.retention.ms. */
  readonly now?: () => number;
  /** Awaited at each point of every rewrite (crash tests); none in the broker. */
  readonly probe?: RewriteProbe;
}

const READ_WINDOW = 1 << 20;
/** Batches handled between two yields to the event loop. */
const YIELD_EVERY = 2000;
const MAX_RELATIVE_OFFSET = 0x7fffffff;
const MAX_SEGMENT_BYTES = 0x7fffffff;

class PassAborted extends Error {
  constructor() {
    super('cleaning pass aborted');
    this.name = 'PassAborted';
  }
}

/** A segment the pass planned with is gone (retention deleted it): the pass stops, to be replanned. */
class LogMovedOn extends Error {
  constructor() {
    super('the log changed under the cleaning pass');
    this.name = 'LogMovedOn';
  }
}

interface Backoff {
  failures: number;
  retryAt: number;
}

/** Per-pass state the record filter reads. */
interface PassContext {
  readonly map: OffsetMap;
  /** Records at or above this were not put into the map: they are kept. */
  readonly mapEnd: number;
  readonly deleteHorizon: number;
  /** producer id -> base offset of its last batch in the log. */
  readonly producerLast: Map<number, number>;
  /** An opaque batch was seen earlier in this pass (tombstones must stay). */
  opaqueSeen: boolean;
  recordsRemoved: number;
}

export class LogCleaner {
  readonly stats: CleanerStats = { passes: 0, bytesRead: 0, bytesWritten: 0, errors: 0, partitions: new Map() };
  private options: CleanerOptions = DEFAULT_CLEANER_OPTIONS;
  private readonly throttle = new IoThrottle(DEFAULT_CLEANER_OPTIONS.ioBytesPerSecond);
  private map: OffsetMap | null = null;
  private mapBytes = 0;
  private readonly backoff = new WeakMap<FilePartitionLog, Backoff>();
  private readonly now: () => number;
  private stopper = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly deps: LogCleanerDeps) {
    this.now = deps.now ?? Date.now;
  }

  configure(options: Partial<CleanerOptions>): void {
    this.options = { ...this.options, ...options };
    this.throttle.setRate(this.options.ioBytesPerSecond);
    if (this.mapBytes !== this.options.dedupeBufferBytes) this.map = null;
  }

  get running(): boolean {
    return this.loop !== null;
  }

  /** Starts the background loop (idempotent). */
  start(options: Partial<CleanerOptions> = {}): void {
    this.configure(options);
    if (this.loop) return;
    this.stopper = new AbortController();
    const signal = this.stopper.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        let worked = false;
        try {
          worked = (await this.cleanOnce()) !== null;
        } catch (err) {
          this.deps.logger.error({ err }, 'log cleaner loop failed');
        }
        if (!worked) await sleep(this.options.backoffMs, signal);
      }
    })();
  }

  /** Stops the loop, aborting a pass in progress (its log is left as it was). */
  async stop(): Promise<void> {
    this.stopper.abort();
    const loop = this.loop;
    this.loop = null;
    await loop;
  }

  /**
   * Runs one pass on the log that needs it most; null when none does. A failed pass counts as
   * work done (so the loop moves on to other logs at once) and is reported in the stats.
   */
  async cleanOnce(): Promise<PassResult | { readonly error: Error } | null> {
    const now = this.now();
    const open = this.deps.logs();
    this.pruneStats(open);
    const due: { ref: CleanableLog; view: CleaningView; overdue: boolean; ratio: number }[] = [];
    for (const ref of open) {
      if (!isCompacted(ref.log.currentConfig)) continue;
      const view = ref.log.cleaningView(now);
      const total = view.cleanBytes + view.dirtyBytes;
      const ratio = total > 0 ? view.dirtyBytes / total : 0;
      this.partitionStats(ref).dirtyRatio = ratio;
      const b = this.backoff.get(ref.log);
      if (b && b.retryAt > now) continue;
      const settings = compactionSettings(view.config);
      if (view.dirtyBytes === 0) continue;
      const overdue = view.firstDirtyTimestamp >= 0 && view.firstDirtyTimestamp < now - settings.maxCompactionLagMs;
      if (!overdue && ratio < settings.minCleanableDirtyRatio) continue;
      due.push({ ref, view, overdue, ratio });
    }
    due.sort((x, y) => (x.overdue !== y.overdue ? (x.overdue ? -1 : 1) : y.ratio - x.ratio));
    // The first one a pass can start on (a log closing, failed or already being cleaned cannot).
    for (const c of due) {
      try {
        const r = await this.clean(c.ref, c.view);
        if (r) return r;
      } catch (err) {
        return { error: err instanceof Error ? err : new Error(String(err)) };
      }
    }
    return null;
  }

  /**
   * One pass over `ref` now, whatever its dirty ratio (tests and benchmarks call this directly).
   * Null when there is nothing cleanable or a pass on it already runs. Throws what failed, after
   * recording it (stats, backoff, log line).
   */
  async clean(ref: CleanableLog, view: CleaningView = ref.log.cleaningView(this.now())): Promise<PassResult | null> {
    if (view.segments.length === 0 || !isCompacted(view.config)) return null;
    const logSignal = ref.log.beginCleaning();
    if (!logSignal) return null;
    const signal = AbortSignal.any([logSignal, this.stopper.signal]);
    try {
      const result = await this.pass(ref, view, signal);
      this.backoff.delete(ref.log);
      if (result.complete) {
        const st = this.partitionStats(ref);
        st.lastCleanMs = this.now();
        const after = ref.log.cleaningView(this.now());
        const total = after.cleanBytes + after.dirtyBytes;
        st.dirtyRatio = total > 0 ? after.dirtyBytes / total : 0;
      }
      this.stats.passes++;
      this.deps.logger.info(
        {
          topic: ref.topic,
          partition: ref.partition,
          bytesBefore: result.bytesBefore,
          bytesAfter: result.bytesAfter,
          segmentsBefore: result.segmentsBefore,
          segmentsAfter: result.segmentsAfter,
          recordsRemoved: result.recordsRemoved,
          cleanedTo: result.cleanedTo,
          complete: result.complete,
        },
        'log cleaned',
      );
      return result;
    } catch (err) {
      if (err instanceof PassAborted || signal.aborted) return null;
      this.stats.errors++;
      this.partitionStats(ref).errors++;
      const prev = this.backoff.get(ref.log);
      const failures = (prev?.failures ?? 0) + 1;
      const delay = Math.min(this.options.errorBackoffMs * 2 ** (failures - 1), this.options.maxErrorBackoffMs);
      this.backoff.set(ref.log, { failures, retryAt: this.now() + delay });
      this.deps.logger.error({ err, topic: ref.topic, partition: ref.partition, retryInMs: delay }, 'log cleaning failed');
      throw err;
    } finally {
      ref.log.endCleaning();
    }
  }

  private offsetMap(): OffsetMap {
    if (!this.map) {
      this.map = new OffsetMap(this.options.dedupeBufferBytes);
      this.mapBytes = this.options.dedupeBufferBytes;
    } else {
      this.map.clear();
    }
    return this.map;
  }

  private async pass(ref: CleanableLog, view: CleaningView, signal: AbortSignal): Promise<PassResult> {
    try {
      return await this.passOver(ref, view, signal);
    } catch (err) {
      if (!(err instanceof LogMovedOn)) throw err;
      const none = { bytesRead: 0, bytesWritten: 0, bytesBefore: 0, bytesAfter: 0, segmentsBefore: 0, segmentsAfter: 0, recordsRemoved: 0 };
      return { topic: ref.topic, partition: ref.partition, ...none, cleanedTo: view.firstDirty, complete: false };
    }
  }

  private async passOver(ref: CleanableLog, view: CleaningView, signal: AbortSignal): Promise<PassResult> {
    const log = ref.log;
    const settings = compactionSettings(view.config);
    const map = this.offsetMap();
    const producerLast = new Map<number, number>();
    let bytesRead = 0;
    let bytesWritten = 0;
    const counted = async (n: number): Promise<void> => {
      bytesRead += n;
      this.stats.bytesRead += n;
      await this.throttle.consume(n, signal);
    };
    const wrote = async (n: number): Promise<void> => {
      bytesWritten += n;
      this.stats.bytesWritten += n;
      await this.throttle.consume(n, signal);
    };

    // 1. The offset map over the dirty part; producers' last batches everywhere.
    let mapEnd = view.end;
    for (const seg of view.segments) {
      await this.eachBatch(seg, signal, counted, async (batch, h) => {
        if (h.producerId >= 0 && !h.isControl) producerLast.set(h.producerId, h.baseOffset);
        if (h.lastOffset < view.firstDirty || mapEnd < view.end || h.isControl || h.isTransactional) return;
        const recs = await readBatchRecords(batch, h);
        if (!recs) return;
        for (const r of recs.records) {
          if (r.offset < view.firstDirty || r.key === null) continue;
          if (!map.put(r.key, r.offset)) {
            mapEnd = r.offset;
            return;
          }
        }
      });
    }
    if (producerLast.size > 0) {
      // Later batches of the same producers (after the bound, the active segment included), up
      // to the end as it is now: appends during the scan would only make a kept batch redundant.
      let n = 0;
      const stopAt = log.logEndOffset();
      for await (const b of log.scanBatches(view.end)) {
        if (signal.aborted) throw new PassAborted();
        if (b.baseOffset >= stopAt) break;
        if (!b.isControl && producerLast.has(b.producerId)) producerLast.set(b.producerId, b.baseOffset);
        await counted(b.sizeInBytes);
        if (++n % YIELD_EVERY === 0) await yieldToLoop();
      }
    }

    // 2 and 3. Rewrite and swap in, group by group.
    const ctx: PassContext = {
      map,
      mapEnd,
      deleteHorizon: this.now() - settings.deleteRetentionMs,
      producerLast,
      opaqueSeen: false,
      recordsRemoved: 0,
    };
    const bytesBefore = view.segments.reduce((n, s) => n + s.size, 0);
    let bytesAfter = 0;
    let segmentsAfter = 0;
    let complete = true;
    const groups = groupSegments(view.segments, view.end, view.config.segmentBytes);
    for (const { segments: group, end } of groups) {
      const first = group[0]!;
      const writer = CleanedSegmentWriter.open(log.fs, log.dir, first.baseOffset, first.createdMs, view.config.indexIntervalBytes);
      let committed = false;
      try {
        let changed = group.length > 1;
        let lastEpoch = -1;
        let lastTimestamp = -1;
        for (const seg of group) {
          await this.eachBatch(seg, signal, counted, async (batch, h) => {
            lastEpoch = h.partitionLeaderEpoch;
            lastTimestamp = h.maxTimestamp;
            const out = await this.cleanBatch(batch, h, ctx);
            if (out !== batch) changed = true;
            if (out === null) return;
            await writer.append(out, { baseOffset: h.baseOffset, lastOffset: h.lastOffset, maxTimestamp: h.maxTimestamp, size: out.length }, wrote);
          });
        }
        if (writer.lastOffset < end - 1) {
          const gap = gapBatch(writer.lastOffset + 1, end - 1, lastEpoch, lastTimestamp);
          await writer.append(gap, { baseOffset: writer.lastOffset + 1, lastOffset: end - 1, maxTimestamp: lastTimestamp, size: gap.length }, wrote);
          changed = true;
        }
        if (!changed) {
          bytesAfter += group.reduce((n, s) => n + s.size, 0);
          segmentsAfter += group.length;
          continue;
        }
        await writer.finish(wrote);
        await this.deps.probe?.('cleaned-written');
        committed = await log.replaceSegments(group, writer, view.generation, signal, this.deps.probe);
        if (!committed) {
          if (signal.aborted) throw new PassAborted();
          complete = false;
          break;
        }
        bytesAfter += writer.segment.size;
        segmentsAfter++;
      } finally {
        if (!committed) writer.discard();
      }
    }
    if (complete) await log.markCleaned(mapEnd);
    return {
      topic: ref.topic,
      partition: ref.partition,
      bytesRead,
      bytesWritten,
      bytesBefore,
      bytesAfter,
      segmentsBefore: view.segments.length,
      segmentsAfter,
      recordsRemoved: ctx.recordsRemoved,
      cleanedTo: mapEnd,
      complete,
    };
  }

  /** The batch as it stays in the cleaned log, or null to drop it. */
  private async cleanBatch(batch: Buffer, h: RecordBatchHeader, ctx: PassContext): Promise<Buffer | null> {
    if (h.isControl) return batch;
    if (h.isTransactional) {
      ctx.opaqueSeen = true;
      return batch;
    }
    const recs = await readBatchRecords(batch, h);
    if (!recs) {
      ctx.opaqueSeen = true;
      return batch;
    }
    const kept: RecordSpan[] = [];
    for (const r of recs.records) if (retain(r, h, ctx)) kept.push(r);
    ctx.recordsRemoved += recs.records.length - kept.length;
    if (kept.length === 0 && !(h.producerId >= 0 && ctx.producerLast.get(h.producerId) === h.baseOffset)) return null;
    return filterBatch(batch, h, recs, kept);
  }

  /** Calls `fn` for every batch of `seg` in order, CRC-checked (a cleaner never launders corruption). */
  private async eachBatch(
    seg: Segment,
    signal: AbortSignal,
    counted: (n: number) => Promise<void>,
    fn: (batch: Buffer, h: RecordBatchHeader) => Promise<void>,
  ): Promise<void> {
    // Checked and pinned in one synchronous step: a closed segment's fd number may be reused.
    if (seg.isClosed) throw new LogMovedOn();
    seg.acquire();
    try {
      const reader = new BatchReader(seg, 0, READ_WINDOW);
      let n = 0;
      for (;;) {
        if (signal.aborted) throw new PassAborted();
        const step = await reader.next();
        if (step.kind === 'end') return;
        if (step.kind === 'torn') throw new Error(`segment ${seg.logPath} is torn at ${step.position}: ${step.reason}`);
        const h = checkBatch(step.bytes, 0, step.bytes.length, { compacted: true });
        if (h instanceof RecordBatchError) throw new Error(`segment ${seg.logPath} has a bad batch at ${step.position}: ${h.message}`);
        await counted(step.bytes.length);
        await fn(step.bytes, h);
        if (++n % YIELD_EVERY === 0) await yieldToLoop();
      }
    } finally {
      seg.release();
    }
  }

  private partitionStats(ref: CleanableLog): CleanerPartitionStats {
    let st = this.stats.partitions.get(ref.log.dir);
    if (!st) {
      st = { topic: ref.topic, partition: ref.partition, dirtyRatio: 0, lastCleanMs: -1, errors: 0 };
      this.stats.partitions.set(ref.log.dir, st);
    }
    return st;
  }

  private pruneStats(open: readonly CleanableLog[]): void {
    const dirs = new Set(open.filter((r) => isCompacted(r.log.currentConfig)).map((r) => r.log.dir));
    for (const dir of this.stats.partitions.keys()) if (!dirs.has(dir)) this.stats.partitions.delete(dir);
  }
}

function retain(r: RecordSpan, h: RecordBatchHeader, ctx: PassContext): boolean {
  if (r.offset >= ctx.mapEnd || r.key === null) return true;
  if (ctx.map.get(r.key) > r.offset) return false;
  if (r.tombstone && !ctx.opaqueSeen && h.maxTimestamp < ctx.deleteHorizon) return false;
  return true;
}

/**
 * Consecutive runs of segments whose sizes add up to at most segment.bytes (one segment at
 * least), each with the base offset of what follows it.
 */
export function groupSegments(segments: readonly Segment[], end: number, maxBytes: number): { segments: Segment[]; end: number }[] {
  const limit = Math.min(maxBytes, MAX_SEGMENT_BYTES);
  const groups: { segments: Segment[]; end: number }[] = [];
  let cur: Segment[] = [];
  let size = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const segEnd = segments[i + 1]?.baseOffset ?? end;
    const tooBig = size + seg.size > limit;
    const tooWide = cur.length > 0 && segEnd - 1 - cur[0]!.baseOffset > MAX_RELATIVE_OFFSET;
    if (cur.length > 0 && (tooBig || tooWide)) {
      groups.push({ segments: cur, end: seg.baseOffset });
      cur = [];
      size = 0;
    }
    cur.push(seg);
    size += seg.size;
  }
  if (cur.length > 0) groups.push({ segments: cur, end });
  return groups;
}

function yieldToLoop(): Promise<void> {
  return new Promise((res) => setImmediate(res));
}

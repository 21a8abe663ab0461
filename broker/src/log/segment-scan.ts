/**
 * Rebuilding a segment's in-memory state from its file: a full verified scan (recovery of a
 * segment that may have a torn or corrupt tail) or a tail scan after loading persisted indexes.
 */
import { RecordBatchError, checkBatch } from '../kafka/protocol/records.js';
import { BatchReader, type BatchStep } from './batch-reader.js';
import type { Segment } from './segment.js';

export interface ScanResult {
  /** Position after the last good batch. */
  readonly validEnd: number;
  readonly batches: number;
  /** Why the scan stopped before the end of the file, or null. */
  readonly problem: string | null;
}

const SCAN_WINDOW = 8 * 1024 * 1024;
/**
 * Reads of a bad spot before the scan believes it: a bit flipped in one read (or a bad length
 * field read wrongly) must not make recovery cut good, acknowledged data.
 */
const SCAN_READ_ATTEMPTS = 3;

/** Why the scan must stop at this step (torn framing, bad CRC, offsets going back), or null. */
function problemOf(step: BatchStep, seg: Segment): string | null {
  if (step.kind === 'end') return null;
  if (step.kind === 'torn') return step.reason;
  // Cleaned segments hold batches with fewer records than offsets, and gaps between batches
  // (whole batches removed); a torn write never produces either, it breaks framing or CRC.
  const checked = checkBatch(step.bytes, 0, step.bytes.length, { compacted: true });
  if (checked instanceof RecordBatchError) return `${checked.field}: ${checked.message}`;
  if (checked.baseOffset < seg.nextOffset) return `batch base offset ${checked.baseOffset} at ${step.position} goes back before ${seg.nextOffset}`;
  return null;
}

/**
 * Scans from `fromPosition` to the file end, verifying each batch's framing, magic, CRC and that
 * offsets increase, and feeding good batches to the segment's indexes. Between segments offsets
 * must be contiguous (recovery.ts checks that; the cleaner keeps it so).
 */
export async function scanSegment(seg: Segment, fromPosition: number, indexIntervalBytes: number): Promise<ScanResult> {
  let reader = new BatchReader(seg, fromPosition, SCAN_WINDOW);
  let batches = 0;
  for (;;) {
    let step = await reader.next();
    let problem = problemOf(step, seg);
    for (let attempt = 1; problem !== null && attempt < SCAN_READ_ATTEMPTS; attempt++) {
      reader = new BatchReader(seg, step.position, SCAN_WINDOW);
      step = await reader.next();
      problem = problemOf(step, seg);
    }
    if (step.kind === 'end') return { validEnd: step.position, batches, problem: null };
    if (problem !== null || step.kind !== 'batch') return { validEnd: step.position, batches, problem };
    const h = step.header;
    seg.indexBatch(
      { baseOffset: h.baseOffset, lastOffset: h.lastOffset, maxTimestamp: h.maxTimestamp, size: h.sizeInBytes },
      step.position,
      indexIntervalBytes,
    );
    batches++;
  }
}

/**
 * Restores running state (next offset, max timestamp, bytes since the last index entry) from the
 * indexes plus a scan of the batches after the last offset-index entry.
 */
export async function restoreTailState(seg: Segment, indexIntervalBytes: number): Promise<ScanResult> {
  const lastTime = seg.timeIndex.last();
  const lastIdx = seg.offsetIndex.last();
  seg.restoreState(lastTime?.timestamp ?? -1, lastTime?.offset ?? -1, 0);
  seg.nextOffset = lastIdx ? lastIdx.offset : seg.baseOffset;
  return scanSegment(seg, lastIdx ? lastIdx.position : 0, indexIntervalBytes);
}

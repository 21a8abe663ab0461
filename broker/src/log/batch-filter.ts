/**
 * Rewriting one record batch with some of its records left out, the way Kafka's cleaner does for
 * magic 2: the batch keeps its baseOffset, lastOffsetDelta, timestamps, producer id, epoch and
 * base sequence, so offsets stay where they were (gaps appear) and the producer's last sequence
 * can still be read from the header; only recordCount, batchLength and the CRC change. Kept
 * records are copied byte for byte (their offset and timestamp deltas stay valid because the
 * batch's base values do not move).
 */
import {
  BATCH_HEADER_SIZE,
  BatchField,
  Compression,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  RecordBatchError,
  readVarlong,
  sizeOfVarlong,
  updateCrc,
  writeInt64,
  writeVarlong,
  type RecordBatchHeader,
} from '../kafka/protocol/records.js';
import { ErrorCode } from '../kafka/protocol/errors.js';
import { canDecode, decompressRecords, recompressRecords } from './batch-codecs.js';

const COMPRESSION_MASK = 0x07;
const ATTR_CONTROL = 0x20;

/** One record of a batch, located in the batch's (decompressed) records section. */
export interface RecordSpan {
  readonly offset: number;
  /** Byte range of the whole record, length prefix included. */
  readonly start: number;
  readonly end: number;
  readonly key: Buffer | null;
  /** A null value: the key is deleted. */
  readonly tombstone: boolean;
}

/** The records section of a batch: its bytes (decompressed) and where each record lies. */
export interface BatchRecords {
  readonly payload: Buffer;
  readonly records: RecordSpan[];
}

/**
 * Locates the records of `batch` (one whole, CRC-checked batch). Null when they cannot be read
 * here (a codec we cannot decode, or records that do not parse): the batch is then opaque.
 */
export async function readBatchRecords(batch: Buffer, h: RecordBatchHeader): Promise<BatchRecords | null> {
  if (!canDecode(h.compression)) return null;
  try {
    const payload = await decompressRecords(h.compression, batch.subarray(BATCH_HEADER_SIZE, h.sizeInBytes));
    return { payload, records: spanRecords(payload, h) };
  } catch {
    return null;
  }
}

function spanRecords(payload: Buffer, h: RecordBatchHeader): RecordSpan[] {
  const out: RecordSpan[] = [];
  const end = payload.length;
  let p = 0;
  for (let i = 0; i < h.recordCount; i++) {
    const start = p;
    let len: number;
    [len, p] = readVarlong(payload, p, end, 5, 'length');
    const recEnd = p + len;
    if (len < 1 || recEnd > end) throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'length', start, `record ${i} runs past its batch`);
    p++; // attributes
    [, p] = readVarlong(payload, p, recEnd, 10, 'timestampDelta');
    let offsetDelta: number;
    [offsetDelta, p] = readVarlong(payload, p, recEnd, 5, 'offsetDelta');
    let keyLen: number;
    [keyLen, p] = readVarlong(payload, p, recEnd, 5, 'keyLength');
    if (p + Math.max(keyLen, 0) > recEnd) throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'key', p, `record ${i} key runs past the record`);
    const key = keyLen < 0 ? null : payload.subarray(p, p + keyLen);
    p += Math.max(keyLen, 0);
    let valueLen: number;
    [valueLen] = readVarlong(payload, p, recEnd, 5, 'valueLength');
    out.push({ offset: h.baseOffset + offsetDelta, start, end: recEnd, key, tombstone: valueLen < 0 });
    p = recEnd;
  }
  if (p !== end) throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'records', p, `${end - p} bytes after the last record`);
  return out;
}

/**
 * The batch with only `kept` of its records (in their order). All kept: the original bytes.
 * None kept: the header alone (an empty batch, which keeps a producer's last sequence).
 */
export async function filterBatch(batch: Buffer, h: RecordBatchHeader, recs: BatchRecords, kept: readonly RecordSpan[]): Promise<Buffer> {
  if (kept.length === recs.records.length) return batch;
  let size = 0;
  for (const r of kept) size += r.end - r.start;
  const plain = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of kept) {
    recs.payload.copy(plain, at, r.start, r.end);
    at += r.end - r.start;
  }
  const { codec, data } = kept.length === 0 ? { codec: Compression.none, data: plain } : await recompressRecords(h.compression, plain);
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + data.length);
  batch.copy(out, 0, 0, BATCH_HEADER_SIZE);
  data.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
  out.writeInt16BE((h.attributes & ~COMPRESSION_MASK) | codec, BatchField.attributes);
  out.writeInt32BE(kept.length, BatchField.recordCount);
  updateCrc(out, 0);
  return out;
}

/** Key of the control record that fills a gap: version 0, then Chronik's own type. */
export const CONTROL_TYPE_COMPACTION_GAP = 110;

/**
 * A control batch covering offsets [from, to] with one control record at `to`. The cleaner ends
 * every rewritten segment with one when its last batches were all removed, so the segment still
 * ends where the next one begins: recovery treats a segment that stops short of its successor as
 * a torn write. The record sits at the last offset of the range, so a client that skips it
 * resumes after the gap rather than one offset further.
 */
export function gapBatch(from: number, to: number, partitionLeaderEpoch: number, timestamp: number): Buffer {
  const delta = to - from;
  const bodySize = 1 + sizeOfVarlong(0) + sizeOfVarlong(delta) + sizeOfVarlong(4) + 4 + sizeOfVarlong(-1) + sizeOfVarlong(0);
  const out = Buffer.alloc(BATCH_HEADER_SIZE + sizeOfVarlong(bodySize) + bodySize);
  writeInt64(out, from, BatchField.baseOffset);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
  out.writeInt32BE(partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  out.writeInt8(CURRENT_MAGIC, BatchField.magic);
  out.writeInt16BE(ATTR_CONTROL, BatchField.attributes);
  out.writeInt32BE(delta, BatchField.lastOffsetDelta);
  writeInt64(out, timestamp, BatchField.baseTimestamp);
  writeInt64(out, timestamp, BatchField.maxTimestamp);
  writeInt64(out, -1, BatchField.producerId);
  out.writeInt16BE(-1, BatchField.producerEpoch);
  out.writeInt32BE(-1, BatchField.baseSequence);
  out.writeInt32BE(1, BatchField.recordCount);
  let p = writeVarlong(out, bodySize, BATCH_HEADER_SIZE);
  out[p++] = 0; // record attributes
  p = writeVarlong(out, 0, p); // timestampDelta
  p = writeVarlong(out, delta, p); // offsetDelta
  p = writeVarlong(out, 4, p);
  out.writeInt16BE(0, p); // control key version
  out.writeInt16BE(CONTROL_TYPE_COMPACTION_GAP, p + 2);
  p = writeVarlong(out, -1, p + 4); // null value
  writeVarlong(out, 0, p); // no headers
  updateCrc(out, 0);
  return out;
}

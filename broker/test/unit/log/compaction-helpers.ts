/** Helpers shared by the log-compaction tests: keyed batches, reading a log back, the model. */
import { expect } from 'vitest';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  LOG_OVERHEAD,
  buildRecordBatch,
  checkBatch,
  decodeRecords,
  RecordBatchError,
  type RecordBatchHeader,
} from '../../../src/kafka/protocol/records.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { decompressRecords } from '../../../src/log/batch-codecs.js';
import { LogCleaner, type CleanableLog } from '../../../src/log/cleaner.js';
import { silent } from './helpers.js';

export interface KeyedRecord {
  readonly key: string | null;
  /** null: a tombstone. */
  readonly value: string | null;
  readonly timestamp?: number;
}

export interface ProducerFields {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

export function keyedBatch(records: readonly KeyedRecord[], producer?: ProducerFields, timestamp = Date.now()): Buffer {
  return buildRecordBatch({
    records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp ?? timestamp })),
    ...(producer ?? {}),
  });
}

export interface ReadRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

export interface ReadBack {
  readonly records: ReadRecord[];
  readonly batches: RecordBatchHeader[];
}

/**
 * One read at `offset` as a consumer does it (control records skipped), checking that every
 * batch is a valid magic-2 batch with a correct CRC.
 */
export async function readStep(log: FilePartitionLog, offset: number, maxBytes: number): Promise<ReadBack & { next: number }> {
  const records: ReadRecord[] = [];
  const batches: RecordBatchHeader[] = [];
  const r = await log.read(offset, maxBytes, Infinity);
  let pos = 0;
  while (pos < r.records.length) {
    const h = checkBatch(r.records, pos, r.records.length, { compacted: true });
    if (h instanceof RecordBatchError) throw h;
    batches.push(h);
    if (!h.isControl) {
      for (const rec of decodeRecords(await plainBatch(r.records.subarray(pos, pos + h.sizeInBytes), h), 0).records) {
        if (rec.offset < offset) continue;
        records.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
      }
    }
    pos += h.sizeInBytes;
  }
  return { records, batches, next: r.nextOffset };
}

/** Reads the log from `from` to its end in steps of `maxBytes`; offsets must only grow. */
export async function readLog(log: FilePartitionLog, maxBytes = 4096, from = log.logStartOffset()): Promise<ReadBack> {
  const records: ReadRecord[] = [];
  const batches: RecordBatchHeader[] = [];
  let off = from;
  let last = -1;
  while (off < log.logEndOffset()) {
    const step = await readStep(log, off, maxBytes);
    expect(step.batches.length, `read at ${off} returned nothing below ${log.logEndOffset()}`).toBeGreaterThan(0);
    for (const r of step.records) {
      expect(r.offset).toBeGreaterThan(last);
      last = r.offset;
      records.push(r);
    }
    batches.push(...step.batches);
    expect(step.next).toBeGreaterThan(off);
    off = step.next;
  }
  return { records, batches };
}

/** The batch with its records decompressed (decodeRecords reads only uncompressed ones). */
async function plainBatch(batch: Buffer, h: RecordBatchHeader): Promise<Buffer> {
  if (h.compression === 0) return batch;
  const payload = await decompressRecords(h.compression, batch.subarray(BATCH_HEADER_SIZE));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), payload]);
  out.writeInt16BE(h.attributes & ~7, BatchField.attributes);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
  return out;
}

/** key -> last written value (null for a tombstone), from everything appended in order. */
export function latestByKey(written: readonly KeyedRecord[]): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (const r of written) if (r.key !== null) m.set(r.key, r.value);
  return m;
}

/** A cleaner over exactly these logs (no background loop). */
export function cleanerFor(logs: readonly CleanableLog[], now: () => number = Date.now, dedupeBufferBytes?: number): LogCleaner {
  const c = new LogCleaner({ logs: () => logs, logger: silent, now });
  c.configure({ ioBytesPerSecond: Infinity, ...(dedupeBufferBytes !== undefined ? { dedupeBufferBytes } : {}) });
  return c;
}

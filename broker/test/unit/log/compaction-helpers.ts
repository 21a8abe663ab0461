/** Helpers shared by the log-compaction tests: keyed batches, reading a log back, the model. */
import { expect } from 'vitest';
import {
  buildRecordBatch,
  checkBatch,
  decodeRecords,
  RecordBatchError,
  type RecordBatchHeader,
} from '../../../src/kafka/protocol/records.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
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
 * Reads the log from its start like a consumer (control records skipped), checking that every
 * batch is a valid magic-2 batch with a correct CRC and that offsets only grow.
 */
export async function readLog(log: FilePartitionLog, maxBytes = 4096, from = log.logStartOffset()): Promise<ReadBack> {
  const records: ReadRecord[] = [];
  const batches: RecordBatchHeader[] = [];
  let off = from;
  let last = -1;
  while (off < log.logEndOffset()) {
    const r = await log.read(off, maxBytes, Infinity);
    expect(r.records.length, `read at ${off} returned nothing below ${log.logEndOffset()}`).toBeGreaterThan(0);
    let pos = 0;
    while (pos < r.records.length) {
      const h = checkBatch(r.records, pos, r.records.length, { compacted: true });
      if (h instanceof RecordBatchError) throw h;
      batches.push(h);
      if (!h.isControl) {
        for (const rec of decodeRecords(r.records, pos).records) {
          if (rec.offset < off) continue;
          expect(rec.offset).toBeGreaterThan(last);
          last = rec.offset;
          records.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
        }
      }
      pos += h.sizeInBytes;
    }
    expect(r.nextOffset).toBeGreaterThan(off);
    off = r.nextOffset;
  }
  return { records, batches };
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

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { BatchField, decodeRecords, readInt64, validateBatches } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { ADOPT_MIN_BYTES } from '../../../src/log/segment.js';
import { batch, config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
function manager(dataDir = tmpDir()): FileLogManager {
  const m = new FileLogManager({ dataDir, logger: silent });
  managers.push(m);
  return m;
}
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

/** Reads everything from `from` and returns the offsets of all records, in order. */
async function allOffsets(log: FilePartitionLog, from: number, maxBytes = 1000): Promise<number[]> {
  const out: number[] = [];
  let off = from;
  while (off < log.logEndOffset()) {
    const r = await log.read(off, maxBytes, Infinity);
    expect(r.records.length).toBeGreaterThan(0);
    for (const h of validateBatches(r.records)) {
      for (const rec of decodeRecords(r.records, h.position).records) if (rec.offset >= off) out.push(rec.offset);
    }
    off = r.nextOffset;
  }
  return out;
}

describe('FilePartitionLog append/read', () => {
  it('assigns offsets, rewrites base offset and epoch, and reads back before and after sync', async () => {
    const m = manager();
    const log = await m.open('t', 0, config());
    expect(log.logEndOffset()).toBe(0);
    const r1 = log.append(batch(3, 1000), 7, 5000);
    const r2 = log.append(batch(2, 2000), 7, 5000);
    expect(r1).toEqual({ baseOffset: 0, lastOffset: 2, logAppendTime: -1 });
    expect(r2).toEqual({ baseOffset: 3, lastOffset: 4, logAppendTime: -1 });
    expect(log.flushedOffset()).toBe(0);
    // not yet written: served from memory
    const before = await log.read(0, 1 << 20, Infinity);
    expect(before.firstOffset).toBe(0);
    expect(before.nextOffset).toBe(5);
    const hs = validateBatches(before.records);
    expect(hs.map((h) => [h.baseOffset, h.partitionLeaderEpoch])).toEqual([
      [0, 7],
      [3, 7],
    ]);
    await log.sync();
    expect(log.flushedOffset()).toBe(5);
    const after = await log.read(0, 1 << 20, Infinity);
    expect(after.records.equals(before.records)).toBe(true);
    // mid-batch offset returns the containing batch; maxOffset stops before uncommitted batches
    const mid = await log.read(1, 1 << 20, 3);
    expect(validateBatches(mid.records).map((h) => h.baseOffset)).toEqual([0]);
    expect(mid.nextOffset).toBe(3);
    expect((await log.read(5, 100, Infinity)).records.length).toBe(0);
    await expect(log.read(6, 100, Infinity)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
  });

  it('always returns at least one whole batch, never a partial one', async () => {
    const log = await manager().open('t', 0, config());
    log.append(batch(5, 1, 'x', 500), 0, 0);
    log.append(batch(5, 1, 'y', 500), 0, 0);
    await log.sync();
    const r = await log.read(0, 10, Infinity);
    expect(validateBatches(r.records)).toHaveLength(1);
    expect(r.nextOffset).toBe(5);
    const r2 = await log.read(0, r.records.length + 10, Infinity);
    expect(validateBatches(r2.records)).toHaveLength(1);
  });

  it('rolls segments and reads every offset across many segments, before and after reopen', async () => {
    const dataDir = tmpDir();
    const m = manager(dataDir);
    const cfg = config({ segmentBytes: 4096, indexIntervalBytes: 300 });
    const log = await m.open('t', 0, cfg);
    let ts = 1_000;
    for (let i = 0; i < 200; i++) {
      log.append(batch(1 + (i % 4), ts), 1, ts);
      ts += 10;
      if (i % 17 === 0) await log.sync();
    }
    await log.sync();
    const leo = log.logEndOffset();
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(4);
    const expected = Array.from({ length: leo }, (_, i) => i);
    expect(await allOffsets(log, 0)).toEqual(expected);
    // index lookups at every offset: the returned first batch contains the offset
    for (let off = 0; off < leo; off++) {
      const r = await log.read(off, 1, Infinity);
      const [h] = validateBatches(r.records);
      expect(h!.baseOffset).toBeLessThanOrEqual(off);
      expect(h!.lastOffset).toBeGreaterThanOrEqual(off);
    }
    const files = fs.readdirSync(path.join(dataDir, 't-0'));
    expect(files.filter((f) => f.endsWith('.log')).every((f) => /^\d{20}\.log$/.test(f))).toBe(true);
    await log.close();
    const m2 = manager(dataDir);
    const again = await m2.open('t', 0, cfg);
    expect(again.logEndOffset()).toBe(leo);
    expect(again.segmentBaseOffsets()).toEqual(log.segmentBaseOffsets());
    expect(await allOffsets(again, 0, 333)).toEqual(expected);
    // appending continues with the right offsets
    expect(again.append(batch(2, ts), 1, ts).baseOffset).toBe(leo);
  });

  it('finds offsets by timestamp across segments', async () => {
    const log = await manager().open('t', 0, config({ segmentBytes: 2048, indexIntervalBytes: 128 }));
    // record i has timestamp 10_000 + 10*i
    for (let i = 0; i < 300; i += 3) {
      log.append(
        (await import('../../../src/kafka/protocol/records.js')).buildRecordBatch({
          records: [0, 1, 2].map((j) => ({ value: 'x', timestamp: 10_000 + 10 * (i + j) })),
        }),
        0,
        0,
      );
    }
    await log.sync();
    for (let i = 0; i < 300; i++) {
      expect(await log.offsetForTimestamp(10_000 + 10 * i)).toEqual({ offset: i, timestamp: 10_000 + 10 * i });
      expect(await log.offsetForTimestamp(10_000 + 10 * i - 5)).toEqual({ offset: i, timestamp: 10_000 + 10 * i });
    }
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 10_000 });
    expect(await log.offsetForTimestamp(10_000 + 10 * 300)).toBeNull();
  });

  it('stamps LogAppendTime', async () => {
    const log = await manager().open('t', 0, config({ timestampType: 'LogAppendTime' }));
    const r = log.append(batch(2, 5), 0, 123_456);
    expect(r.logAppendTime).toBe(123_456);
    const got = await log.read(0, 1000, Infinity);
    const [h] = validateBatches(got.records);
    expect(h!.timestampType).toBe(1);
    expect(decodeRecords(got.records).records.map((x) => x.timestamp)).toEqual([123_456, 123_456]);
  });

  it('rejects malformed batches without changing the log', async () => {
    const log = await manager().open('t', 0, config());
    const good = batch(1, 1);
    const bad = Buffer.concat([good, good.subarray(0, 30)]);
    expect(() => log.append(bad, 0, 0)).toThrow(KafkaError);
    const wrongMagic = Buffer.from(good);
    wrongMagic[16] = 1;
    expect(() => log.append(wrongMagic, 0, 0)).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT }));
    expect(log.logEndOffset()).toBe(0);
    expect(log.append(good, 0, 0).baseOffset).toBe(0);
  });

  it('scanBatches yields headers from an offset on', async () => {
    const log = await manager().open('t', 0, config({ segmentBytes: 1024 }));
    for (let i = 0; i < 40; i++) log.append(batch(2, i), 3, 0);
    await log.sync();
    const seen = [];
    for await (const b of log.scanBatches(31)) seen.push([b.baseOffset, b.lastOffset, b.partitionLeaderEpoch]);
    expect(seen[0]).toEqual([30, 31, 3]);
    expect(seen.at(-1)).toEqual([78, 79, 3]);
    expect(seen).toHaveLength(25);
  });

  it('appendWithOffsets keeps the leader offsets and refuses going backwards', async () => {
    const log = await manager().open('t', 0, config());
    const b = batch(3, 1);
    b.writeInt32BE(0, 8 + 4); // leader epoch irrelevant
    const { setBaseOffset } = await import('../../../src/kafka/protocol/records.js');
    setBaseOffset(b, 0, 0);
    expect(log.appendWithOffsets(b, 0)).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    const c = Buffer.from(b);
    setBaseOffset(c, 0, 1);
    expect(() => log.appendWithOffsets(c, 0)).toThrow(KafkaError);
  });
});

describe('FilePartitionLog appendOwned', () => {
  it('keeps a large handed-over batch without copying, rewrites it in place, and reads it back before and after sync', async () => {
    const m = new FileLogManager({ dataDir: tmpDir(), logger: silent });
    try {
      const log = await m.open('o', 0, config());
      log.append(batch(2, 1, 's'), 0, 0);
      const big = batch(40, 2, 'b', 4_000); // ~160 KB: above the adopt threshold
      expect(big.length).toBeGreaterThanOrEqual(ADOPT_MIN_BYTES);
      const small = batch(3, 3, 'c');
      const rBig = log.appendOwned(big, 7, 0);
      const rSmall = log.appendOwned(small, 7, 0);
      expect(rBig.baseOffset).toBe(2);
      expect(rSmall.baseOffset).toBe(42);
      // Adopted: the caller's buffer now carries the assigned base offset and leader epoch.
      expect(readInt64(big, BatchField.baseOffset)).toBe(2);
      expect(big.readInt32BE(BatchField.partitionLeaderEpoch)).toBe(7);
      const check = async (): Promise<void> => {
        const all = await log.read(0, 1 << 20, log.logEndOffset());
        const headers = validateBatches(all.records);
        expect(headers.map((h) => h.baseOffset)).toEqual([0, 2, 42]);
        expect(headers.map((h) => h.recordCount)).toEqual([2, 40, 3]);
      };
      await check();
      await log.sync();
      expect(log.flushedOffset()).toBe(45);
      await check();
      // Appends after the adopted chunk land after it in the file, not inside it.
      log.append(batch(1, 4, 'd'), 0, 0);
      await log.sync();
      const tail = await log.read(45, 1 << 20, log.logEndOffset());
      expect(tail.firstOffset).toBe(45);
    } finally {
      await m.close();
    }
  });
});

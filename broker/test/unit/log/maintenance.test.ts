import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { validateBatches } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import { batch, config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});
function manager(dataDir = tmpDir()): FileLogManager {
  const m = new FileLogManager({ dataDir, logger: silent });
  managers.push(m);
  return m;
}

async function fill(log: Awaited<ReturnType<FileLogManager['open']>>, n: number, ts: (i: number) => number) {
  for (let i = 0; i < n; i++) log.append(batch(2, ts(i), 'v', 100), 0, 0);
  await log.sync();
}

describe('retention, DeleteRecords and truncation', () => {
  it('deletes old segments by time but never the active one', async () => {
    const log = await manager().open('r', 0, config({ segmentBytes: 1024, retentionMs: 1000 }));
    await fill(log, 40, (i) => i * 100); // timestamps 0..3900
    const segs = log.segmentBaseOffsets();
    expect(segs.length).toBeGreaterThan(4);
    const deleted = await log.applyRetention(4000); // keep segments with max ts >= 3000
    expect(deleted).toBeGreaterThan(0);
    expect(log.segmentBaseOffsets().length).toBe(segs.length - deleted);
    expect(log.logStartOffset()).toBe(log.segmentBaseOffsets()[0]);
    await expect(log.read(0, 100, Infinity)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    // everything expired: only the active segment stays
    await log.applyRetention(1e12);
    expect(log.segmentBaseOffsets()).toEqual([segs.at(-1)]);
    const r = await log.read(log.logStartOffset(), 1e6, Infinity);
    expect(r.nextOffset).toBe(log.logEndOffset());
  });

  it('deletes oldest segments while the rest stays above retention.bytes', async () => {
    const log = await manager().open('r', 0, config({ segmentBytes: 1024, retentionBytes: 3000 }));
    await fill(log, 40, () => Date.now());
    await log.applyRetention(Date.now());
    expect(log.sizeInBytes()).toBeGreaterThanOrEqual(3000);
    expect(log.sizeInBytes()).toBeLessThan(3000 + 1024 + 300);
  });

  it('DeleteRecords moves the log start, deletes whole segments and persists across restart', async () => {
    const dataDir = tmpDir();
    const log = await manager(dataDir).open('d', 0, config({ segmentBytes: 1024 }));
    await fill(log, 30, (i) => i);
    const segs = log.segmentBaseOffsets();
    const target = segs[2]! + 1;
    await log.advanceLogStart(target);
    expect(log.logStartOffset()).toBe(target);
    expect(log.segmentBaseOffsets()[0]).toBe(segs[2]);
    await expect(log.read(target - 1, 10, Infinity)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    const r = await log.read(target, 10, Infinity);
    expect(validateBatches(r.records)[0]!.lastOffset).toBeGreaterThanOrEqual(target);
    await expect(log.advanceLogStart(log.logEndOffset() + 1)).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE });
    await log.advanceLogStart(1); // never moves backwards
    expect(log.logStartOffset()).toBe(target);
    expect(fs.readFileSync(path.join(dataDir, 'd-0', 'partition.checkpoint'), 'utf8')).toContain(`"logStartOffset":${target}`);
    await log.close();
    const again = await manager(dataDir).open('d', 0, config({ segmentBytes: 1024 }));
    expect(again.logStartOffset()).toBe(target);
  });

  it('truncateTo drops everything at and above the offset, across segments, durably', async () => {
    const dataDir = tmpDir();
    const cfg = config({ segmentBytes: 1024, indexIntervalBytes: 100 });
    const log = await manager(dataDir).open('x', 0, cfg);
    await fill(log, 30, (i) => 1000 + i);
    const segs = log.segmentBaseOffsets();
    const cut = segs[1]! + 4; // inside the second segment, on a batch boundary (batches of 2)
    await log.truncateTo(cut);
    expect(log.logEndOffset()).toBe(cut);
    expect(log.segmentBaseOffsets()).toEqual(segs.slice(0, 2));
    expect(log.flushedOffset()).toBe(cut);
    expect(log.append(batch(2, 5), 1, 0).baseOffset).toBe(cut);
    await log.sync();
    // time index state follows the cut: the re-appended batch has ts 5/6, older ones 1000+
    expect(await log.offsetForTimestamp(1000 + 100)).toBeNull();
    // crash (no clean marker) and reopen: same contents
    const leo = log.logEndOffset();
    await log.close();
    fs.rmSync(path.join(dataDir, 'x-0', '.clean-shutdown'));
    const reopened = await manager(dataDir).open('x', 0, cfg);
    expect(reopened.logEndOffset()).toBe(leo);
    await reopened.truncateTo(0);
    expect(reopened.logEndOffset()).toBe(0);
    expect(reopened.segmentBaseOffsets()).toEqual([0]);
    expect(reopened.append(batch(1, 1), 0, 0).baseOffset).toBe(0);
  });

  it('truncateTo refuses an offset inside a batch and leaves the log as it was', async () => {
    const dataDir = tmpDir();
    const cfg = config({ segmentBytes: 1024, indexIntervalBytes: 100 });
    const log = await manager(dataDir).open('y', 0, cfg);
    await fill(log, 30, (i) => 1000 + i);
    const segs = log.segmentBaseOffsets();
    const leo = log.logEndOffset();
    const inside = segs[1]! + 3; // batches of 2 from the segment's base: the second half of one
    await expect(log.truncateTo(inside)).rejects.toMatchObject({
      code: ErrorCode.KAFKA_STORAGE_ERROR,
      message: expect.stringContaining(`falls inside the batch [${inside - 1}, ${inside}]`),
    });
    expect(log.logEndOffset()).toBe(leo);
    expect(log.segmentBaseOffsets()).toEqual(segs);
    const r = await log.read(segs.at(-1)!, 1e6, Infinity);
    expect(r.nextOffset).toBe(leo);
    expect(log.append(batch(1, 1), 0, 0).baseOffset).toBe(leo);
  });

  it('delete() removes the partition directory', async () => {
    const dataDir = tmpDir();
    const log = await manager(dataDir).open('z', 3, config());
    await fill(log, 3, (i) => i);
    await log.delete();
    expect(fs.existsSync(path.join(dataDir, 'z-3'))).toBe(false);
  });
});

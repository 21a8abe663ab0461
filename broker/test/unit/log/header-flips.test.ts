/**
 * Walks over a segment that decide by batch header fields (where to cut, which batches to leave
 * out of a read) while one read returns a bit flipped in a CRC-covered field: the decision must be
 * the one the intact bytes give.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BatchField, validateBatches } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { FlippingFileSystem } from '../../helpers/flipping-fs.js';
import { batch, config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

/** Four batches of three records at 0, 3, 6 and 9; the file position of each. */
async function fourBatches(disk: FlippingFileSystem): Promise<{ log: FilePartitionLog; positions: number[] }> {
  const m = new FileLogManager({ dataDir: tmpDir(), logger: silent, fs: disk });
  managers.push(m);
  const log = await m.open('f', 0, config({ indexIntervalBytes: 1 << 20 }));
  const positions: number[] = [];
  let at = 0;
  for (let i = 0; i < 4; i++) {
    const b = batch(3, 1000 + i * 3);
    positions.push(at);
    at += b.length;
    log.append(b, 0, 0);
  }
  await log.sync();
  return { log, positions };
}

/** The high byte of a batch's lastOffsetDelta, at its file position. */
const deltaHighByte = (position: number): number => position + BatchField.lastOffsetDelta;
/** The byte of lastOffsetDelta whose top bit is worth 2^23. */
const deltaThirdByte = (position: number): number => position + BatchField.lastOffsetDelta + 1;

describe('segment walks under a flipped read', () => {
  it('truncation reads a batch before the cut as spanning it: the cut stays where it was asked', async () => {
    const disk = new FlippingFileSystem();
    const { log, positions } = await fourBatches(disk);
    disk.flipOnce('.log', deltaThirdByte(positions[1]!), 0x80); // the batch at 3 reads as [3, 8388613]
    await log.truncateTo(6);
    expect(disk.flipped).toBe(1);
    expect(log.logEndOffset()).toBe(6);
    const r = await log.readStored(0, 1 << 20);
    expect(validateBatches(r.records).map((b) => [b.baseOffset, b.lastOffset])).toEqual([
      [0, 2],
      [3, 5],
    ]);
  });

  it('truncation reads a base offset (outside the CRC) flipped above the cut: it still cuts where it was asked', async () => {
    // System simulator seed 495: the batch at 42 read as starting past 51, so a cut at 51 went to
    // 42 and the raft group gave up ("left the log ending at 42").
    const disk = new FlippingFileSystem();
    const { log, positions } = await fourBatches(disk);
    disk.flipOnce('.log', positions[1]! + BatchField.baseOffset + 7, 0x08); // the batch at 3 reads as at 11
    await log.truncateTo(9);
    expect(disk.flipped).toBe(1);
    expect(log.logEndOffset()).toBe(9);
  });

  it('truncation reads a base offset flipped below the cut: it does not walk past the batch to cut at', async () => {
    const disk = new FlippingFileSystem();
    const { log, positions } = await fourBatches(disk);
    disk.flipOnce('.log', positions[2]! + BatchField.baseOffset + 7, 0x04); // the batch at 6 reads as at 2
    await log.truncateTo(6);
    expect(disk.flipped).toBe(1);
    expect(log.logEndOffset()).toBe(6);
    const r = await log.readStored(0, 1 << 20);
    expect(validateBatches(r.records).map((b) => [b.baseOffset, b.lastOffset])).toEqual([
      [0, 2],
      [3, 5],
    ]);
  });

  it('a raft read does not leave out a batch whose lastOffsetDelta reads negative', async () => {
    const disk = new FlippingFileSystem();
    const { log, positions } = await fourBatches(disk);
    disk.flipOnce('.log', deltaHighByte(positions[2]!), 0x80); // the batch at 6 reads as ending before 3
    const got: [number, number][] = [];
    for (let at = 3; at < log.logEndOffset(); ) {
      const r = await log.readStored(at, 1 << 20);
      for (const b of validateBatches(r.records)) got.push([b.baseOffset, b.lastOffset]);
      at = r.nextOffset;
    }
    expect(disk.flipped).toBe(1);
    expect(got).toEqual([
      [3, 5],
      [6, 8],
      [9, 11],
    ]);
  });

  it('a raft read does not pass on a batch whose magic byte (before the CRC\'s range) reads flipped', async () => {
    // System simulator seed 1033: a metadata replica applied an entry whose magic read as 0x12
    // and came back with another image than its peers.
    const disk = new FlippingFileSystem();
    const { log, positions } = await fourBatches(disk);
    disk.flipOnce('.log', positions[1]! + BatchField.magic, 0x10);
    const r = await log.readStored(0, 1 << 20);
    expect(disk.flipped).toBe(1);
    expect(validateBatches(r.records).map((b) => b.baseOffset)).toEqual([0, 3, 6, 9]);
    expect([...r.records].filter((_, i) => positions.map((p) => p + BatchField.magic).includes(i))).toEqual([2, 2, 2, 2]);
  });

  it('a flipped read of a persisted offset index at open is not trusted: reads find every batch', async () => {
    const dir = tmpDir();
    const first = new FileLogManager({ dataDir: dir, logger: silent });
    const log = await first.open('i', 0, config({ indexIntervalBytes: 1 }));
    for (let i = 0; i < 4; i++) log.append(batch(3, 1000 + i * 3), 0, 0);
    await log.sync();
    await first.close();
    // The third index entry's position: one flipped bit keeps the entries ordered and inside
    // the file, so the index looks sound and the read at 6 would start inside another batch.
    const disk = new FlippingFileSystem();
    disk.flipOnce('.index', 2 * 8 + 7, 0x04);
    const m = new FileLogManager({ dataDir: dir, logger: silent, fs: disk });
    managers.push(m);
    const again = await m.open('i', 0, config({ indexIntervalBytes: 1 }));
    expect(disk.flipped).toBe(1);
    const r = await again.read(6, 1, Infinity);
    expect(validateBatches(r.records).map((b) => b.baseOffset)).toEqual([6]);
  });
});


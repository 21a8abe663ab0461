import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../broker/src/kafka/protocol/records.js';
import { seededRandom } from '../../broker/test/helpers/random.js';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { frameBatches } from '../checker/replicas.js';
import { corruptJournalTail, corruptSegmentTail } from '../harness/corrupt.js';
import type { CorruptMode } from '../harness/nemesis-plan.js';

function partitionDir(batches: number): { dir: string; file: string; bytes: Buffer } {
  const dir = join(tmpDataDir('chronik-chaos-corrupt-'), 'chaos-0');
  mkdirSync(dir);
  const bytes = Buffer.concat(Array.from({ length: batches }, (_, i) => buildRecordBatch({ baseOffset: i, records: [{ value: `value-${i}`.repeat(4) }] })));
  const file = join(dir, '00000000000000000000.log');
  writeFileSync(file, bytes);
  return { dir, file, bytes };
}

describe('segment tail corruption', () => {
  it.each<[CorruptMode, (f: ReturnType<typeof frameBatches>) => void]>([
    ['flip', (f) => expect(f.batches.at(-1)?.crcOk).toBe(false)],
    ['garbage', (f) => expect(f.torn).toBeDefined()],
    ['truncate', (f) => expect(f.torn).toBeDefined()],
  ])('%s damages only the last batch, which a CRC scan finds', (mode, damaged) => {
    for (let seed = 1; seed <= 20; seed++) {
      const { dir, file, bytes } = partitionDir(5);
      const c = corruptSegmentTail([dir, join(dir, '..', 'missing-0')], mode, seededRandom(seed));
      expect(c).toMatchObject({ file, mode, sizeBefore: bytes.length });
      const after = readFileSync(file);
      const framed = frameBatches(after, file);
      damaged(framed);
      // The first four batches are intact: what a majority also holds is all that is lost here.
      expect(framed.batches.slice(0, 4).every((b) => b.crcOk)).toBe(true);
      expect(after.subarray(0, framed.batches[3]!.position + framed.batches[3]!.bytes.length)).toEqual(bytes.subarray(0, framed.batches[3]!.position + framed.batches[3]!.bytes.length));
    }
  });

  it('finds nothing to damage in empty partitions', () => {
    const dir = join(tmpDataDir('chronik-chaos-corrupt-'), 'chaos-0');
    mkdirSync(dir);
    writeFileSync(join(dir, '00000000000000000000.log'), Buffer.alloc(0));
    expect(corruptSegmentTail([dir], 'flip', seededRandom(1))).toBeUndefined();
  });
});

describe('hard-state journal tail corruption', () => {
  it.each<CorruptMode>(['flip', 'garbage', 'truncate'])('%s changes only the last 64 bytes or what follows them', (mode) => {
    for (let seed = 1; seed <= 20; seed++) {
      const dataDir = tmpDataDir('chronik-chaos-corrupt-');
      mkdirSync(join(dataDir, 'raft'));
      const file = join(dataDir, 'raft', 'hardstate.journal');
      const bytes = Buffer.from(Array.from({ length: 41 * 10 }, (_, i) => i % 251));
      writeFileSync(file, bytes);
      const c = corruptJournalTail(dataDir, mode, seededRandom(seed));
      expect(c).toMatchObject({ file, mode, sizeBefore: bytes.length });
      const after = readFileSync(file);
      expect(after.equals(bytes)).toBe(false);
      const keep = bytes.length - 64;
      expect(after.subarray(0, keep)).toEqual(bytes.subarray(0, keep));
    }
  });

  it('finds nothing to damage without a journal', () => {
    expect(corruptJournalTail(tmpDataDir('chronik-chaos-corrupt-'), 'flip', seededRandom(1))).toBeUndefined();
  });
});

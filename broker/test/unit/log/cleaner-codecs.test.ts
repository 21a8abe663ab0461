import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  Compression,
  LOG_OVERHEAD,
  buildRecordBatch,
  checkBatch,
  readBatchHeader,
  RecordBatchError,
  updateCrc,
} from '../../../src/kafka/protocol/records.js';
import { MAX_DECOMPRESSED_BYTES } from '../../../src/log/batch-codecs.js';
import { readBatchRecords } from '../../../src/log/batch-filter.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import { lz4FrameDecompress } from '../../../src/log/lz4.js';
import { OffsetMap } from '../../../src/log/offset-map.js';
import { snappyDecompressBlock, snappyDecompressKafka } from '../../../src/log/snappy.js';
import { cleanerFor, readLog } from './compaction-helpers.js';
import { config, silent, tmpDir } from './helpers.js';

const require = createRequire(import.meta.url);
const snappyjs = require('snappyjs') as { compress(b: Buffer): Buffer };

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

function xerialFrame(blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts: Buffer[] = [header];
  for (const b of blocks) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

function lz4Cli(data: Buffer, args: string[] = []): Buffer {
  const r = spawnSync('lz4', ['-c', '-q', ...args], { input: data, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`lz4 failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const compressors: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  snappy: (b) => xerialFrame([snappyjs.compress(b)]),
  'snappy-raw': (b) => snappyjs.compress(b),
  lz4: (b) => lz4Cli(b),
  zstd: (b) => (zlib as unknown as { zstdCompressSync(b: Buffer): Buffer }).zstdCompressSync(b),
};
const codecOf: Record<string, number> = { gzip: Compression.gzip, snappy: Compression.snappy, 'snappy-raw': Compression.snappy, lz4: Compression.lz4, zstd: Compression.zstd };

/** A batch as a producer with that codec would send it. */
function compressedBatch(name: string, records: { key: string; value: string | null }[]): Buffer {
  const plain = buildRecordBatch({ records: records.map((r) => ({ ...r, timestamp: Date.now() })) });
  const data = compressors[name]!(plain.subarray(BATCH_HEADER_SIZE));
  const out = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), data]);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
  out.writeInt16BE(codecOf[name]!, BatchField.attributes);
  updateCrc(out, 0);
  return out;
}

describe('decompressors', () => {
  const sample = Buffer.from(Array.from({ length: 5000 }, (_, i) => `record ${i % 37} of a fairly repetitive payload;`).join(''));

  it('snappy: raw blocks and xerial framing give back the input', () => {
    expect(snappyDecompressBlock(snappyjs.compress(sample)).equals(sample)).toBe(true);
    const half = sample.length >> 1;
    const framed = xerialFrame([snappyjs.compress(sample.subarray(0, half)), snappyjs.compress(sample.subarray(half))]);
    expect(snappyDecompressKafka(framed).equals(sample)).toBe(true);
  });

  it('lz4: frames from the reference tool, with and without checksums and block dependency', () => {
    for (const args of [[], ['--no-frame-crc'], ['-BD'], ['-BX', '--content-size'], ['-B4']]) {
      expect(lz4FrameDecompress(lz4Cli(sample, args)).equals(sample), args.join(' ')).toBe(true);
    }
    expect(lz4FrameDecompress(lz4Cli(Buffer.alloc(0))).length).toBe(0);
  });

  it('bad input is an error, never a crash or a wrong result', () => {
    const good = snappyjs.compress(sample);
    expect(() => snappyDecompressBlock(good.subarray(0, good.length - 3))).toThrow(/snappy/);
    const frame = lz4Cli(sample);
    expect(() => lz4FrameDecompress(frame.subarray(0, frame.length - 10))).toThrow(/lz4/);
    expect(() => lz4FrameDecompress(Buffer.from('not a frame at all'))).toThrow(/lz4/);
  });
});

describe('cleaning compressed batches', () => {
  for (const name of Object.keys(compressors)) {
    it(`${name}: superseded records go, kept ones are readable and the CRC is right`, async () => {
      const m = new FileLogManager({ dataDir: tmpDir('chronik-codec-'), logger: silent });
      managers.push(m);
      const log = await m.open('z', 0, config({ cleanupPolicy: 'compact', segmentBytes: 1 << 20, minCleanableDirtyRatio: 0 }));
      log.setCleanableBelow(Infinity);
      const first = compressedBatch(name, Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `a${i}` })));
      expect(readBatchRecords(first, readBatchHeader(first, 0))).resolves.not.toBeNull();
      log.append(first, 0, Date.now());
      log.append(compressedBatch(name, [{ key: 'k0', value: 'b0' }, { key: 'k1', value: null }]), 0, Date.now());
      (log as unknown as { roll(o: number): void }).roll(log.logEndOffset());
      log.append(buildRecordBatch({ records: [{ key: 'tail', value: 't' }] }), 0, Date.now());
      await log.sync();
      const result = await cleanerFor([{ topic: 'z', partition: 0, log }]).clean({ topic: 'z', partition: 0, log });
      expect(result?.complete).toBe(true);
      const { records, batches } = await readLog(log);
      for (const b of batches) expect(b.compression === 0 || b.compression === codecOf[name]).toBe(true);
      expect(records.map((r) => [r.offset, r.key, r.value])).toEqual([
        [17, 'k2', 'a17'],
        [18, 'k3', 'a18'],
        [19, 'k4', 'a19'],
        [20, 'k0', 'b0'],
        [21, 'k1', null],
        [22, 'tail', 't'],
      ]);
      // gzip and zstd are written back with their codec; snappy and lz4 plain
      const rewritten = batches.find((b) => b.baseOffset === 0)!;
      expect(rewritten.compression).toBe(name === 'gzip' || name === 'zstd' ? codecOf[name] : 0);
      expect(rewritten.lastOffsetDelta).toBe(19);
      expect(rewritten.recordCount).toBe(3);
    });
  }

  it('a batch whose records do not parse is kept whole and keeps older tombstones in place', async () => {
    const m = new FileLogManager({ dataDir: tmpDir('chronik-codec-'), logger: silent });
    managers.push(m);
    const log = await m.open('z', 0, config({ cleanupPolicy: 'compact', segmentBytes: 1 << 20, minCleanableDirtyRatio: 0, deleteRetentionMs: 0 }));
    log.setCleanableBelow(Infinity);
    const broken = compressedBatch('gzip', [{ key: 'k', value: 'old' }]);
    broken.writeUInt8(broken.readUInt8(BATCH_HEADER_SIZE + 12) ^ 0xff, BATCH_HEADER_SIZE + 12); // inside the deflate stream
    updateCrc(broken, 0);
    expect(checkBatch(broken, 0)).not.toBeInstanceOf(RecordBatchError);
    log.append(broken, 0, Date.now() - 10_000);
    log.append(buildRecordBatch({ records: [{ key: 'k', value: null, timestamp: Date.now() - 10_000 }] }), 0, Date.now());
    (log as unknown as { roll(o: number): void }).roll(log.logEndOffset());
    log.append(buildRecordBatch({ records: [{ key: 'tail', value: 't' }] }), 0, Date.now());
    await log.sync();
    await cleanerFor([{ topic: 'z', partition: 0, log }]).clean({ topic: 'z', partition: 0, log });
    const r = await log.read(0, 1 << 20, Infinity);
    // byte for byte after the epoch field, which the append stamps
    expect(r.records.subarray(16, broken.length).equals(broken.subarray(16))).toBe(true);
    // the tombstone stays: it may be all that hides the unreadable batch's value of 'k'
    expect((await readLog(log, 1 << 20, 1)).records.map((x) => [x.key, x.value])).toEqual([
      ['k', null],
      ['tail', 't'],
    ]);
  });
});

describe('decompression limits', () => {
  it('a batch that inflates beyond the limit stays opaque instead of filling memory', async () => {
    const big = buildRecordBatch({ records: [{ key: 'k', value: Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1024), timestamp: Date.now() }] });
    for (const name of ['gzip', 'zstd', 'snappy', 'lz4']) {
      const data = compressors[name]!(big.subarray(BATCH_HEADER_SIZE));
      const out = Buffer.concat([big.subarray(0, BATCH_HEADER_SIZE), data]);
      out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
      out.writeInt16BE(codecOf[name]!, BatchField.attributes);
      updateCrc(out, 0);
      expect(await readBatchRecords(out, readBatchHeader(out, 0)), name).toBeNull();
    }
  }, 60_000);
});

describe('OffsetMap', () => {
  it('keeps the largest offset per key and refuses new keys beyond its capacity', () => {
    const map = new OffsetMap(24 * 100);
    expect(map.capacity).toBe(90);
    for (let i = 0; i < 90; i++) expect(map.put(Buffer.from(`key${i}`), i)).toBe(true);
    expect(map.put(Buffer.from('one more'), 1000)).toBe(false);
    expect(map.put(Buffer.from('key3'), 500)).toBe(true);
    expect(map.put(Buffer.from('key4'), 1)).toBe(true);
    expect(map.get(Buffer.from('key3'))).toBe(500);
    expect(map.get(Buffer.from('key4'))).toBe(4);
    expect(map.get(Buffer.from('one more'))).toBe(-1);
    expect(map.put(Buffer.from('key5'), 2 ** 40 + 7)).toBe(true);
    expect(map.get(Buffer.from('key5'))).toBe(2 ** 40 + 7);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(Buffer.from('key3'))).toBe(-1);
  });
});

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cUpdate } from '../../../src/kafka/protocol/crc32c.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  RecordBatchError,
  buildRecordBatch,
  decodeRecords,
  readBatchHeader,
  readVarlong,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  sizeOfVarlong,
  validateBatches,
  writeVarlong,
} from '../../../src/kafka/protocol/records.js';

describe('crc32c', () => {
  // RFC 3720 appendix B.4 test vectors.
  it('matches the RFC 3720 vectors', () => {
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    const iscsiRead = Buffer.from(
      '01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000',
      'hex',
    );
    expect(iscsiRead.length).toBe(48);
    expect(crc32c(iscsiRead)).toBe(0xd9963a56);
  });

  it('matches the common check value and is incremental at every split', () => {
    const data = Buffer.from('123456789');
    expect(crc32c(data)).toBe(0xe3069283);
    for (let split = 0; split <= data.length; split++) {
      expect(crc32cUpdate(crc32cUpdate(0, data, 0, split), data, split)).toBe(0xe3069283);
    }
  });
});

describe('varints', () => {
  it('round-trips zigzag values including large longs', () => {
    const buf = Buffer.alloc(16);
    for (const v of [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31 - 1, -(2 ** 31), 1_700_000_000_000, -(2 ** 52)]) {
      const end = writeVarlong(buf, v, 0);
      expect(end).toBe(sizeOfVarlong(v));
      expect(readVarlong(buf, 0, end, 10, 'x')).toEqual([v, end]);
    }
    expect(writeVarlong(buf, -1, 0)).toBe(1);
    expect(buf[0]).toBe(1);
  });
});

describe('record batches', () => {
  const recs = [
    { key: 'k1', value: 'v1', timestamp: 1000, headers: [{ key: 'h', value: Buffer.from('x') }] },
    { key: null, value: 'second', timestamp: 1005 },
    { key: 'k3', value: null, timestamp: 999, headers: [{ key: 'n', value: null }] },
  ];

  it('builds a batch that validates and decodes back', () => {
    const b = buildRecordBatch({ baseOffset: 42, records: recs, producerId: 7, producerEpoch: 2, baseSequence: 5 });
    const [h] = validateBatches(b);
    expect(h).toMatchObject({
      baseOffset: 42,
      lastOffset: 44,
      magic: 2,
      recordCount: 3,
      lastOffsetDelta: 2,
      baseTimestamp: 1000,
      maxTimestamp: 1005,
      producerId: 7,
      producerEpoch: 2,
      baseSequence: 5,
      compression: 0,
      timestampType: 0,
      isTransactional: false,
      isControl: false,
      sizeInBytes: b.length,
    });
    const d = decodeRecords(b);
    expect(d.records.map((r) => r.offset)).toEqual([42, 43, 44]);
    expect(d.records.map((r) => r.timestamp)).toEqual([1000, 1005, 999]);
    expect(d.records[0]!.key!.toString()).toBe('k1');
    expect(d.records[1]!.key).toBeNull();
    expect(d.records[2]!.value).toBeNull();
    expect(d.records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
    expect(d.records[2]!.headers).toEqual([{ key: 'n', value: null }]);
  });

  it('defaults producer fields to -1 and sets transactional/control bits', () => {
    const b = buildRecordBatch({ records: [{ value: 'x' }], isTransactional: true, isControl: true });
    const h = readBatchHeader(b);
    expect(h.producerId).toBe(-1);
    expect(h.producerEpoch).toBe(-1);
    expect(h.baseSequence).toBe(-1);
    expect(h.partitionLeaderEpoch).toBe(-1);
    expect(h.isTransactional).toBe(true);
    expect(h.isControl).toBe(true);
  });

  it('agrees with an independent encoder (kafkajs) byte for byte on CRC and decoding', async () => {
    const require = createRequire(import.meta.url);
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
      RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
    };
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => unknown;
    const enc = await RecordBatch({
      firstTimestamp: 5000,
      maxTimestamp: 5010,
      lastOffsetDelta: 1,
      records: [
        Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('b'), headers: { hk: 'hv' } }),
        Record({ offsetDelta: 1, timestampDelta: 10, key: null, value: Buffer.from('c') }),
      ],
    });
    const buf = enc.buffer;
    const [h] = validateBatches(buf);
    expect(h!.recordCount).toBe(2);
    const d = decodeRecords(buf);
    expect(d.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString()])).toEqual([
      [0, 5000, 'a', 'b'],
      [1, 5010, null, 'c'],
    ]);
    expect(d.records[0]!.headers).toEqual([{ key: 'hk', value: Buffer.from('hv') }]);
    const ours = buildRecordBatch({
      partitionLeaderEpoch: 0,
      producerEpoch: 0,
      baseSequence: 0,
      records: [
        { key: 'a', value: 'b', timestamp: 5000, headers: [{ key: 'hk', value: Buffer.from('hv') }] },
        { key: null, value: 'c', timestamp: 5010 },
      ],
    });
    expect(ours.equals(buf)).toBe(true);
  });

  it('validates several concatenated batches', () => {
    const a = buildRecordBatch({ records: [{ value: 'a' }] });
    const b = buildRecordBatch({ records: [{ value: 'b' }, { value: 'c' }] });
    const hs = validateBatches(Buffer.concat([a, b]));
    expect(hs.map((h) => [h.position, h.recordCount])).toEqual([
      [0, 1],
      [a.length, 2],
    ]);
  });

  function expectError(buf: Buffer, code: number, field: string): void {
    try {
      validateBatches(buf);
    } catch (e) {
      expect(e).toBeInstanceOf(RecordBatchError);
      expect((e as RecordBatchError).code).toBe(code);
      expect((e as RecordBatchError).field).toBe(field);
      return;
    }
    throw new Error('expected a RecordBatchError');
  }

  it('rejects bad input with the right error code and field', () => {
    const good = buildRecordBatch({ records: recs });
    expectError(Buffer.alloc(0), ErrorCode.CORRUPT_MESSAGE, 'records');
    expectError(good.subarray(0, 10), ErrorCode.CORRUPT_MESSAGE, 'batchLength');
    expectError(good.subarray(0, good.length - 1), ErrorCode.CORRUPT_MESSAGE, 'batchLength');
    const shortLen = Buffer.from(good);
    shortLen.writeInt32BE(10, BatchField.batchLength);
    expectError(shortLen, ErrorCode.CORRUPT_MESSAGE, 'batchLength');
    const badCrc = Buffer.from(good);
    badCrc[good.length - 1]! ^= 0x01;
    expectError(badCrc, ErrorCode.CORRUPT_MESSAGE, 'crc');
    const badMagic = Buffer.from(good);
    badMagic.writeInt8(1, BatchField.magic);
    expectError(badMagic, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, 'magic');
    const badCount = Buffer.from(good);
    badCount.writeInt32BE(5, BatchField.recordCount);
    fixCrc(badCount);
    expectError(badCount, ErrorCode.INVALID_RECORD, 'recordCount');
    const badCodec = Buffer.from(good);
    badCodec.writeInt16BE(7, BatchField.attributes);
    fixCrc(badCodec);
    expectError(badCodec, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'attributes');
    // a bad second batch is reported at its own position
    try {
      validateBatches(Buffer.concat([good, badCrc]));
      throw new Error('expected failure');
    } catch (e) {
      expect((e as RecordBatchError).position).toBe(good.length);
    }
  });

  it('refuses to decode compressed batches and corrupt records', () => {
    const gz = buildRecordBatch({ records: [{ value: 'x' }] });
    gz.writeInt16BE(1, BatchField.attributes);
    fixCrc(gz);
    expect(validateBatches(gz)[0]!.compression).toBe(1);
    expect(() => decodeRecords(gz)).toThrow(/compression/);
    const bad = buildRecordBatch({ records: [{ value: 'hello' }] });
    bad[BATCH_HEADER_SIZE] = 0x7e; // record length far beyond the batch
    expect(() => decodeRecords(bad)).toThrow(RecordBatchError);
  });

  it('rewrites base offset and leader epoch without touching the CRC', () => {
    const b = buildRecordBatch({ records: recs });
    const crcBefore = readBatchHeader(b).crc;
    setBaseOffset(b, 0, 2 ** 40 + 3);
    setPartitionLeaderEpoch(b, 0, 9);
    const [h] = validateBatches(b);
    expect(h!.crc).toBe(crcBefore);
    expect(h!.baseOffset).toBe(2 ** 40 + 3);
    expect(h!.partitionLeaderEpoch).toBe(9);
    expect(decodeRecords(b).records[2]!.offset).toBe(2 ** 40 + 5);
  });

  it('stamps LogAppendTime and keeps the CRC valid', () => {
    const b = buildRecordBatch({ records: recs });
    setLogAppendTime(b, 0, 1_700_000_000_123);
    const [h] = validateBatches(b);
    expect(h!.timestampType).toBe(1);
    expect(h!.maxTimestamp).toBe(1_700_000_000_123);
    expect(decodeRecords(b).records.every((r) => r.timestamp === 1_700_000_000_123)).toBe(true);
  });
});

function fixCrc(buf: Buffer): void {
  buf.writeUInt32BE(crc32c(buf, BatchField.attributes, buf.length), BatchField.crc);
}

/**
 * Kafka record batches, magic 2 (the only on-wire and on-disk format Chronik accepts), written
 * from the public protocol specification ("Record Batch" in https://kafka.apache.org/documentation/#recordbatch).
 *
 * Layout (big-endian, byte positions from the batch start):
 *   0 baseOffset int64          8 batchLength int32 (bytes after this field)
 *  12 partitionLeaderEpoch int32 16 magic int8          17 crc uint32 (CRC-32C of bytes 21..end)
 *  21 attributes int16          23 lastOffsetDelta int32 27 baseTimestamp int64
 *  35 maxTimestamp int64        43 producerId int64      51 producerEpoch int16
 *  53 baseSequence int32        57 recordCount int32     61 records...
 * baseOffset, batchLength and partitionLeaderEpoch lie outside the CRC, so the broker can rewrite
 * them without touching the checksum; attributes and maxTimestamp are inside it.
 */
import { crc32c } from './crc32c.js';
import { ErrorCode, KafkaError } from './errors.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes before batchLength's coverage starts (baseOffset + batchLength itself). */
export const LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;

export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

/** Compression codecs by their attribute value. */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCode = 0 | 1 | 2 | 3 | 4;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** 0 = CreateTime, 1 = LogAppendTime (as in the ListOffsets/Fetch conventions). */
export type TimestampType = 0 | 1;

export interface RecordBatchHeader {
  /** Position of the batch in the buffer it was read from. */
  readonly position: number;
  readonly baseOffset: number;
  readonly batchLength: number;
  /** Whole batch size: batchLength + 12. */
  readonly sizeInBytes: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: number;
  readonly timestampType: TimestampType;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly lastOffsetDelta: number;
  readonly lastOffset: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

/** A record batch that fails validation; `code` is the Kafka error to answer with. */
export class RecordBatchError extends KafkaError {
  constructor(
    code: number,
    /** The batch field (or 'records') that is wrong. */
    readonly field: string,
    /** Position of the offending batch in the buffer. */
    readonly position: number,
    message: string,
  ) {
    super(code, message);
    this.name = 'RecordBatchError';
  }
}

// int64 values are JS numbers: hi * 2^32 + lo stays exact below 2^53 and handles -1 sentinels.
const TWO_32 = 4294967296;

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, value: number, pos: number): void {
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  buf.writeInt32BE(hi | 0, pos);
  buf.writeUInt32BE(lo >>> 0, pos + 4);
}

/** Reads the fixed 61-byte header at `pos`. The caller guarantees the bytes exist. */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  if (pos < 0 || pos + BATCH_HEADER_SIZE > buf.length) {
    throw new RecordBatchError(
      ErrorCode.CORRUPT_MESSAGE,
      'batchLength',
      pos,
      `record batch header at ${pos} needs ${BATCH_HEADER_SIZE} bytes, ${Math.max(0, buf.length - pos)} available`,
    );
  }
  const attributes = buf.readInt16BE(pos + BatchField.attributes);
  const baseOffset = readInt64(buf, pos + BatchField.baseOffset);
  const batchLength = buf.readInt32BE(pos + BatchField.batchLength);
  const lastOffsetDelta = buf.readInt32BE(pos + BatchField.lastOffsetDelta);
  return {
    position: pos,
    baseOffset,
    batchLength,
    sizeInBytes: batchLength + LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchField.magic),
    crc: buf.readUInt32BE(pos + BatchField.crc),
    attributes,
    compression: attributes & ATTR_COMPRESSION_MASK,
    timestampType: attributes & ATTR_TIMESTAMP_TYPE ? 1 : 0,
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    lastOffsetDelta,
    lastOffset: baseOffset + lastOffsetDelta,
    baseTimestamp: readInt64(buf, pos + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buf, pos + BatchField.maxTimestamp),
    producerId: readInt64(buf, pos + BatchField.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchField.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchField.recordCount),
  };
}

export interface BatchScan {
  /** Every batch that passed, in order. */
  readonly headers: RecordBatchHeader[];
  /** End of the last valid batch (== end when everything is valid). */
  readonly validEnd: number;
  /** Why scanning stopped early, or null. */
  readonly error: RecordBatchError | null;
}

export interface CheckBatchOptions {
  /**
   * Accept batches that log compaction rewrote: they keep their offset range (baseOffset and
   * lastOffsetDelta) but hold fewer records, possibly none. Produced batches must be whole.
   */
  readonly compacted?: boolean;
}

/**
 * Checks one batch at `pos` whose bytes end no later than `end`: framing, magic, CRC, counts.
 * Returns the header or the error explaining what is wrong.
 */
export function checkBatch(buf: Buffer, pos: number, end = buf.length, opts: CheckBatchOptions = {}): RecordBatchHeader | RecordBatchError {
  const avail = end - pos;
  if (avail < LOG_OVERHEAD) {
    return new RecordBatchError(
      ErrorCode.CORRUPT_MESSAGE,
      'batchLength',
      pos,
      `record batch at ${pos} is truncated: ${avail} bytes, the length prefix alone needs ${LOG_OVERHEAD}`,
    );
  }
  const batchLength = buf.readInt32BE(pos + BatchField.batchLength);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return shortBatchError(pos, batchLength);
  if (batchLength + LOG_OVERHEAD > avail) {
    return new RecordBatchError(
      ErrorCode.CORRUPT_MESSAGE,
      'batchLength',
      pos,
      `record batch at ${pos} has batchLength ${batchLength} but only ${avail - LOG_OVERHEAD} bytes follow`,
    );
  }
  const magicError = checkMagic(buf, pos);
  if (magicError !== null) return magicError;
  const batchEnd = pos + LOG_OVERHEAD + batchLength;
  const stored = buf.readUInt32BE(pos + BatchField.crc);
  const actual = crc32c(buf, pos + BatchField.attributes, batchEnd);
  if (stored !== actual) {
    return new RecordBatchError(
      ErrorCode.CORRUPT_MESSAGE,
      'crc',
      pos,
      `record batch at ${pos} has crc ${stored.toString(16)}, computed ${actual.toString(16)}`,
    );
  }
  return checkFields(buf, pos, opts);
}

/**
 * Checks the header of a batch whose bytes are not all at hand (one copied in pieces, whose CRC
 * is checked once the rest has arrived): the length prefix, magic, compression and counts, as
 * {@link checkBatch} does. `buf` holds at least the header from `pos`.
 */
export function checkBatchHeader(buf: Buffer, pos: number, opts: CheckBatchOptions = {}): RecordBatchHeader | RecordBatchError {
  if (buf.length - pos < BATCH_HEADER_SIZE) {
    return new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'batchLength', pos, `record batch header at ${pos} is truncated: ${buf.length - pos} of ${BATCH_HEADER_SIZE} bytes`);
  }
  const batchLength = buf.readInt32BE(pos + BatchField.batchLength);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return shortBatchError(pos, batchLength);
  const magicError = checkMagic(buf, pos);
  if (magicError !== null) return magicError;
  return checkFields(buf, pos, opts);
}

function shortBatchError(pos: number, batchLength: number): RecordBatchError {
  return new RecordBatchError(
    ErrorCode.CORRUPT_MESSAGE,
    'batchLength',
    pos,
    `record batch at ${pos} has batchLength ${batchLength}, below the minimum ${BATCH_HEADER_SIZE - LOG_OVERHEAD}`,
  );
}

function checkMagic(buf: Buffer, pos: number): RecordBatchError | null {
  const magic = buf.readInt8(pos + BatchField.magic);
  if (magic === CURRENT_MAGIC) return null;
  return new RecordBatchError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, 'magic', pos, `record batch at ${pos} has magic ${magic}; only magic 2 is supported`);
}

/** The checks of a batch's header fields after its framing and CRC. */
function checkFields(buf: Buffer, pos: number, opts: CheckBatchOptions): RecordBatchHeader | RecordBatchError {
  const h = readBatchHeader(buf, pos);
  if (h.compression > Compression.zstd) {
    return new RecordBatchError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      'attributes',
      pos,
      `record batch at ${pos} has unknown compression codec ${h.compression}`,
    );
  }
  if (h.lastOffsetDelta < 0) {
    return new RecordBatchError(
      ErrorCode.INVALID_RECORD,
      'lastOffsetDelta',
      pos,
      `record batch at ${pos} has negative lastOffsetDelta ${h.lastOffsetDelta}`,
    );
  }
  const countOk = opts.compacted === true ? h.recordCount >= 0 && h.recordCount <= h.lastOffsetDelta + 1 : h.recordCount === h.lastOffsetDelta + 1;
  if (!countOk) {
    return new RecordBatchError(
      ErrorCode.INVALID_RECORD,
      'recordCount',
      pos,
      `record batch at ${pos} has recordCount ${h.recordCount} but lastOffsetDelta ${h.lastOffsetDelta} implies ${opts.compacted === true ? 'at most ' : ''}${h.lastOffsetDelta + 1}`,
    );
  }
  return h;
}

/** Walks batches in `buf[start, end)`, stopping at the first invalid one (recovery uses this). */
export function scanBatches(buf: Buffer, start = 0, end = buf.length): BatchScan {
  const headers: RecordBatchHeader[] = [];
  let pos = start;
  while (pos < end) {
    const r = checkBatch(buf, pos, end);
    if (r instanceof RecordBatchError) return { headers, validEnd: pos, error: r };
    headers.push(r);
    pos += r.sizeInBytes;
  }
  return { headers, validEnd: pos, error: null };
}

/**
 * Validates every batch in a produce request's records (one or more batches back to back).
 * Throws RecordBatchError (a KafkaError) naming the field at fault; an empty buffer is invalid.
 */
export function validateBatches(buf: Buffer): RecordBatchHeader[] {
  if (buf.length === 0) {
    throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'records', 0, 'records contain no record batch');
  }
  const scan = scanBatches(buf);
  if (scan.error) throw scan.error;
  return scan.headers;
}

/** Rewrites baseOffset (outside the CRC). */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeInt64(buf, baseOffset, pos + BatchField.baseOffset);
}

/** Rewrites partitionLeaderEpoch (outside the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + BatchField.partitionLeaderEpoch);
}

/** Recomputes the CRC of the batch at `pos` after CRC-covered bytes changed. */
export function updateCrc(buf: Buffer, pos: number): void {
  const batchLength = buf.readInt32BE(pos + BatchField.batchLength);
  const crc = crc32c(buf, pos + BatchField.attributes, pos + LOG_OVERHEAD + batchLength);
  buf.writeUInt32BE(crc, pos + BatchField.crc);
}

/**
 * Stamps a LogAppendTime topic's time: sets the timestampType attribute and maxTimestamp, both
 * inside the CRC, so the CRC is recomputed. Consumers then read every record's time as `ts`.
 */
export function setLogAppendTime(buf: Buffer, pos: number, ts: number): void {
  const attrs = buf.readInt16BE(pos + BatchField.attributes);
  buf.writeInt16BE(attrs | ATTR_TIMESTAMP_TYPE, pos + BatchField.attributes);
  writeInt64(buf, ts, pos + BatchField.maxTimestamp);
  updateCrc(buf, pos);
}

// ---- varints (zigzag, as the record format uses) ----

/** Size in bytes of the zigzag varint encoding of `value` (safe for all JS safe integers). */
export function sizeOfVarlong(value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/** Writes a zigzag varint/varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, value: number, pos: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/** Reads a zigzag varint/varlong at `pos`; `maxBytes` is 5 for varint and 10 for varlong. */
export function readVarlong(buf: Buffer, pos: number, end: number, maxBytes: number, field: string): [number, number] {
  let z = 0;
  let mult = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, field, pos, `varint for ${field} runs past the record`);
    }
    const b = buf[pos++]!;
    z += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) {
      const value = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      return [value, pos];
    }
    mult *= 128;
  }
  throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, field, pos, `varint for ${field} is longer than ${maxBytes} bytes`);
}

// ---- building and decoding uncompressed batches ----

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface RecordInput {
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: readonly RecordHeader[];
  /** Create time in ms; defaults to Date.now() at build time. */
  readonly timestamp?: number;
}

export interface BuildBatchOptions {
  readonly baseOffset?: number;
  readonly records: readonly RecordInput[];
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly isTransactional?: boolean;
  readonly isControl?: boolean;
  readonly partitionLeaderEpoch?: number;
  readonly timestampType?: TimestampType;
}

function toBuf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Builds one uncompressed magic-2 batch with a valid CRC. */
export function buildRecordBatch(opts: BuildBatchOptions): Buffer {
  if (opts.records.length === 0) throw new RangeError('buildRecordBatch needs at least one record');
  const now = Date.now();
  const timestamps = opts.records.map((r) => r.timestamp ?? now);
  const baseTimestamp = timestamps[0]!;
  const maxTimestamp = Math.max(...timestamps);

  interface Encoded {
    key: Buffer | null;
    value: Buffer | null;
    headers: { key: Buffer; value: Buffer | null }[];
    tsDelta: number;
    bodySize: number;
  }
  const encoded: Encoded[] = [];
  let total = BATCH_HEADER_SIZE;
  opts.records.forEach((r, i) => {
    const key = toBuf(r.key);
    const value = toBuf(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: h.value }));
    const tsDelta = timestamps[i]! - baseTimestamp;
    let bodySize = 1 + sizeOfVarlong(tsDelta) + sizeOfVarlong(i);
    bodySize += key ? sizeOfVarlong(key.length) + key.length : 1;
    bodySize += value ? sizeOfVarlong(value.length) + value.length : 1;
    bodySize += sizeOfVarlong(headers.length);
    for (const h of headers) {
      bodySize += sizeOfVarlong(h.key.length) + h.key.length;
      bodySize += h.value ? sizeOfVarlong(h.value.length) + h.value.length : 1;
    }
    encoded.push({ key, value, headers, tsDelta, bodySize });
    total += sizeOfVarlong(bodySize) + bodySize;
  });

  const buf = Buffer.alloc(total);
  let attrs = 0;
  if (opts.timestampType === 1) attrs |= ATTR_TIMESTAMP_TYPE;
  if (opts.isTransactional) attrs |= ATTR_TRANSACTIONAL;
  if (opts.isControl) attrs |= ATTR_CONTROL;
  writeInt64(buf, opts.baseOffset ?? 0, BatchField.baseOffset);
  buf.writeInt32BE(total - LOG_OVERHEAD, BatchField.batchLength);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  buf.writeInt8(CURRENT_MAGIC, BatchField.magic);
  buf.writeInt16BE(attrs, BatchField.attributes);
  buf.writeInt32BE(opts.records.length - 1, BatchField.lastOffsetDelta);
  writeInt64(buf, baseTimestamp, BatchField.baseTimestamp);
  writeInt64(buf, maxTimestamp, BatchField.maxTimestamp);
  writeInt64(buf, opts.producerId ?? -1, BatchField.producerId);
  buf.writeInt16BE(opts.producerEpoch ?? -1, BatchField.producerEpoch);
  buf.writeInt32BE(opts.baseSequence ?? -1, BatchField.baseSequence);
  buf.writeInt32BE(opts.records.length, BatchField.recordCount);

  let pos = BATCH_HEADER_SIZE;
  encoded.forEach((e, i) => {
    pos = writeVarlong(buf, e.bodySize, pos);
    buf[pos++] = 0; // record attributes: unused
    pos = writeVarlong(buf, e.tsDelta, pos);
    pos = writeVarlong(buf, i, pos);
    pos = writeBytesField(buf, e.key, pos);
    pos = writeBytesField(buf, e.value, pos);
    pos = writeVarlong(buf, e.headers.length, pos);
    for (const h of e.headers) {
      pos = writeBytesField(buf, h.key, pos);
      pos = writeBytesField(buf, h.value, pos);
    }
  });
  updateCrc(buf, 0);
  return buf;
}

function writeBytesField(buf: Buffer, v: Buffer | null, pos: number): number {
  if (v === null) return writeVarlong(buf, -1, pos);
  pos = writeVarlong(buf, v.length, pos);
  v.copy(buf, pos);
  return pos + v.length;
}

export interface DecodedRecord {
  readonly offset: number;
  /** CreateTime from the record, or the batch's LogAppendTime (maxTimestamp). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[];
}

export interface DecodedBatch {
  readonly header: RecordBatchHeader;
  readonly records: DecodedRecord[];
}

/**
 * Decodes the records of the uncompressed batch at `pos` (CRC is not rechecked: validate first).
 * Compressed batches throw UNSUPPORTED_COMPRESSION_TYPE; keys/values are views into `buf`.
 */
export function decodeRecords(buf: Buffer, pos = 0): DecodedBatch {
  const header = readBatchHeader(buf, pos);
  if (header.compression !== Compression.none) {
    throw new RecordBatchError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      'attributes',
      pos,
      `record batch at ${pos} uses compression codec ${header.compression}; only uncompressed batches can be decoded`,
    );
  }
  const end = pos + header.sizeInBytes;
  if (end > buf.length) {
    throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'batchLength', pos, `record batch at ${pos} is truncated`);
  }
  const records: DecodedRecord[] = [];
  let p = pos + BATCH_HEADER_SIZE;
  for (let i = 0; i < header.recordCount; i++) {
    let len: number;
    [len, p] = readVarlong(buf, p, end, 5, 'length');
    const recEnd = p + len;
    if (len < 0 || recEnd > end) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'length', p, `record ${i} length ${len} runs past the batch`);
    }
    p++; // record attributes
    let tsDelta: number, offDelta: number;
    [tsDelta, p] = readVarlong(buf, p, recEnd, 10, 'timestampDelta');
    [offDelta, p] = readVarlong(buf, p, recEnd, 5, 'offsetDelta');
    let key: Buffer | null, value: Buffer | null;
    [key, p] = readBytesField(buf, p, recEnd, 'key');
    [value, p] = readBytesField(buf, p, recEnd, 'value');
    let nHeaders: number;
    [nHeaders, p] = readVarlong(buf, p, recEnd, 5, 'headers');
    if (nHeaders < 0) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'headers', p, `record ${i} has header count ${nHeaders}`);
    }
    const headers: RecordHeader[] = [];
    for (let h = 0; h < nHeaders; h++) {
      let hk: Buffer | null, hv: Buffer | null;
      [hk, p] = readBytesField(buf, p, recEnd, 'headerKey');
      if (hk === null) {
        throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'headerKey', p, `record ${i} has a null header key`);
      }
      [hv, p] = readBytesField(buf, p, recEnd, 'headerValue');
      headers.push({ key: hk.toString('utf8'), value: hv });
    }
    if (p !== recEnd) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'length', p, `record ${i} length disagrees with its fields`);
    }
    records.push({
      offset: header.baseOffset + offDelta,
      timestamp: header.timestampType === 1 ? header.maxTimestamp : header.baseTimestamp + tsDelta,
      key,
      value,
      headers,
    });
  }
  if (p !== end) {
    throw new RecordBatchError(ErrorCode.INVALID_RECORD, 'recordCount', p, `record batch at ${pos} has ${end - p} bytes after its last record`);
  }
  return { header, records };
}

function readBytesField(buf: Buffer, pos: number, end: number, field: string): [Buffer | null, number] {
  let len: number;
  [len, pos] = readVarlong(buf, pos, end, 5, field);
  if (len < 0) return [null, pos];
  if (pos + len > end) {
    throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, field, pos, `${field} of length ${len} runs past the record`);
  }
  return [buf.subarray(pos, pos + len), pos + len];
}

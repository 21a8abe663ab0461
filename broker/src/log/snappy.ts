/**
 * Snappy decompression, from the public format description (google/snappy format_description.txt):
 * a little-endian varint of the uncompressed length, then literals and back-references. Kafka's
 * Java producer wraps blocks in xerial's stream framing (an 8-byte magic, two int32 versions,
 * then int32-length-prefixed blocks); librdkafka reads and may write either, so both are read.
 * Only decoding is needed: the cleaner writes kept records back uncompressed.
 */

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;

export class SnappyError extends Error {
  constructor(message: string) {
    super(`snappy: ${message}`);
    this.name = 'SnappyError';
  }
}

/** Decompresses one raw snappy block `src[start, end)` of at most `limit` bytes. */
export function snappyDecompressBlock(src: Buffer, start = 0, end = src.length, limit = Infinity): Buffer {
  let p = start;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= end || shift > 28) throw new SnappyError('bad length preamble');
    const b = src[p++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > limit) throw new SnappyError(`block of ${length} bytes is over the limit of ${limit}`);
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  while (p < end) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (p + n > end) throw new SnappyError('truncated literal length');
        len = 0;
        for (let i = 0; i < n; i++) len += src[p + i]! * 2 ** (8 * i);
        p += n;
      }
      len += 1;
      if (p + len > end || o + len > length) throw new SnappyError('literal runs past the input or output');
      src.copy(out, o, p, p + len);
      p += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (p >= end) throw new SnappyError('truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      if (p + 2 > end) throw new SnappyError('truncated copy');
      len = 1 + (tag >>> 2);
      offset = src.readUInt16LE(p);
      p += 2;
    } else {
      if (p + 4 > end) throw new SnappyError('truncated copy');
      len = 1 + (tag >>> 2);
      offset = src.readUInt32LE(p);
      p += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new SnappyError(`bad copy (offset ${offset}, length ${len}) at output ${o}`);
    // Copies may overlap their own output (a run), so byte by byte.
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new SnappyError(`produced ${o} bytes, the preamble says ${length}`);
  return out;
}

/** Kafka's snappy payload: xerial-framed blocks, or one raw block; at most `limit` bytes out. */
export function snappyDecompressKafka(src: Buffer, limit = Infinity): Buffer {
  if (src.length < XERIAL_HEADER || !src.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyDecompressBlock(src, 0, src.length, limit);
  const parts: Buffer[] = [];
  let total = 0;
  let p = XERIAL_HEADER;
  while (p < src.length) {
    if (p + 4 > src.length) throw new SnappyError('truncated xerial block length');
    const n = src.readInt32BE(p);
    p += 4;
    if (n < 0 || p + n > src.length) throw new SnappyError(`xerial block of ${n} bytes runs past the input`);
    const block = snappyDecompressBlock(src, p, p + n, limit - total);
    total += block.length;
    parts.push(block);
    p += n;
  }
  return Buffer.concat(parts);
}

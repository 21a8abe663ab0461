/**
 * LZ4 frame decompression, from the public LZ4 frame and block format specifications
 * (lz4/lz4 doc/lz4_Frame_format.md, lz4_Block_format.md), which is what Kafka's lz4 codec uses
 * for magic-2 batches. Checksums are not verified: the batch CRC already covers these bytes.
 * Only decoding is needed: the cleaner writes kept records back uncompressed.
 */

const FRAME_MAGIC = 0x184d2204;

export class Lz4Error extends Error {
  constructor(message: string) {
    super(`lz4: ${message}`);
    this.name = 'Lz4Error';
  }
}

/** Output that grows as blocks decode; back-references may reach into earlier blocks. */
class Output {
  buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  constructor(private readonly limit: number) {}

  reserve(n: number): void {
    if (this.length + n > this.limit) throw new Lz4Error(`output over the limit of ${this.limit} bytes`);
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

function decodeBlock(src: Buffer, start: number, end: number, out: Output): void {
  let p = start;
  while (p < end) {
    const token = src[p++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      for (;;) {
        if (p >= end) throw new Lz4Error('truncated literal length');
        const b = src[p++]!;
        lit += b;
        if (b !== 255) break;
      }
    }
    if (p + lit > end) throw new Lz4Error('literals run past the block');
    out.reserve(lit);
    src.copy(out.buf, out.length, p, p + lit);
    out.length += lit;
    p += lit;
    if (p === end) return; // the last sequence has literals only
    if (p + 2 > end) throw new Lz4Error('truncated match offset');
    const offset = src.readUInt16LE(p);
    p += 2;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      for (;;) {
        if (p >= end) throw new Lz4Error('truncated match length');
        const b = src[p++]!;
        len += b;
        if (b !== 255) break;
      }
    }
    if (offset === 0 || offset > out.length) throw new Lz4Error(`bad match offset ${offset} at output ${out.length}`);
    out.reserve(len);
    const buf = out.buf;
    let o = out.length;
    for (let i = 0; i < len; i++, o++) buf[o] = buf[o - offset]!;
    out.length = o;
  }
}

/** Decompresses one or more concatenated LZ4 frames, to at most `limit` bytes. */
export function lz4FrameDecompress(src: Buffer, limit = Infinity): Buffer {
  const out = new Output(limit);
  let p = 0;
  while (p < src.length) {
    if (p + 7 > src.length || src.readUInt32LE(p) !== FRAME_MAGIC) throw new Lz4Error(`no frame magic at ${p}`);
    p += 4;
    const flg = src[p++]!;
    p++; // BD: block maximum size, not needed to decode
    if (flg >>> 6 !== 1) throw new Lz4Error(`unsupported frame version ${flg >>> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    if (dictId) throw new Lz4Error('frames with a dictionary are not supported');
    if (contentSize) p += 8;
    p++; // header checksum
    for (;;) {
      if (p + 4 > src.length) throw new Lz4Error('truncated block size');
      const word = src.readUInt32LE(p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (p + size > src.length) throw new Lz4Error(`block of ${size} bytes runs past the input`);
      if (word & 0x80000000) {
        out.reserve(size);
        src.copy(out.buf, out.length, p, p + size);
        out.length += size;
      } else {
        decodeBlock(src, p, p + size, out);
      }
      p += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) p += 4;
  }
  return out.buf.subarray(0, out.length);
}

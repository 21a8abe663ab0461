import { ProtocolError } from './protocol-error.js';

const TWO_POW_32 = 4294967296;

/**
 * Bounds-checked big-endian reader over a slice of a buffer. Every method throws ProtocolError
 * (never RangeError) when the data runs out, so callers can attach the field path.
 * `bytes()` returns views into the underlying buffer, not copies.
 */
export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    readonly end: number = buf.length,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError(`${what} needs ${n} bytes, ${this.end - this.pos} remaining`);
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    this.need(1, 'bool');
    return this.buf[this.pos++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a number: exact up to 2^53, which offsets and timestamps never approach. */
  int64(): number {
    this.need(8, 'int64');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 varint of at most 32 bits (5 bytes). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    const buf = this.buf;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new ProtocolError(`varint truncated after ${i} bytes`);
      const b = buf[this.pos++]!;
      if (i === 4 && b > 0x0f) throw new ProtocolError('varint does not fit in 32 bits');
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtocolError('varint longer than 5 bytes');
  }

  /** Signed (zigzag) 32-bit varint. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Unsigned varint of up to 64 bits (10 bytes), as a number (exact up to 2^53). */
  uvarlong(): number {
    let result = 0;
    let mul = 1;
    const buf = this.buf;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolError(`varlong truncated after ${i} bytes`);
      const b = buf[this.pos++]!;
      if (i === 9 && b > 0x01) throw new ProtocolError('varlong does not fit in 64 bits');
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  /** Signed (zigzag) 64-bit varint, as a number (exact for |v| <= 2^52). */
  varlong(): number {
    const u = this.uvarlong();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  uuid(): string {
    this.need(16, 'uuid');
    const hex = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Checks that `length` bytes follow; names the length in the error as the spec requires. */
  checkLength(length: number): void {
    if (length > this.end - this.pos) {
      throw new ProtocolError(`length ${length} exceeds remaining ${this.end - this.pos} bytes`);
    }
  }

  utf8(length: number): string {
    this.checkLength(length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  /** A view of the next `length` bytes (shares memory with the frame). */
  bytes(length: number): Buffer {
    this.checkLength(length);
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }

  skip(length: number): void {
    this.checkLength(length);
    this.pos += length;
  }
}

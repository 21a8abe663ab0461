import { ProtocolError } from './protocol-error.js';

const TWO_POW_32 = 4294967296;
const INT64_MAX = 9223372036854775807;
const INT64_MIN = -9223372036854775808;
const UUID_HEX = /^[0-9a-fA-F]{32}$/;

/** Growable big-endian writer: one buffer that doubles, so messages never Buffer.concat per field. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;
  /** Pieces before buf[partStart, pos) in vectored mode (see startParts); null otherwise. */
  private parts: Buffer[] | null = null;
  private partStart = 0;
  private splicedBytes = 0;
  private spliceMin = Infinity;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < needed) cap = needed + 1024;
    const next = Buffer.allocUnsafe(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** The written bytes (a view; the writer must not be reused afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  int8(v: number): void {
    checkInt(v, -128, 127, 'int8');
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    checkInt(v, -32768, 32767, 'int16');
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    checkInt(v, 0, 65535, 'uint16');
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    checkInt(v, -2147483648, 2147483647, 'int32');
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    checkInt(v, 0, 4294967295, 'uint32');
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** int64 from a number (clamped to the int64 range) or a bigint. */
  int64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
      this.pos += 8;
      return;
    }
    if (typeof v !== 'number' || Number.isNaN(v)) throw new ProtocolError(`int64 expects a number, got ${describe(v)}`);
    if (v >= INT64_MAX) {
      this.buf.writeInt32BE(0x7fffffff, this.pos);
      this.buf.writeUInt32BE(0xffffffff, this.pos + 4);
    } else if (v <= INT64_MIN) {
      this.buf.writeInt32BE(-0x80000000, this.pos);
      this.buf.writeUInt32BE(0, this.pos + 4);
    } else {
      const t = Math.trunc(v);
      const hi = Math.floor(t / TWO_POW_32);
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(t - hi * TWO_POW_32, this.pos + 4);
    }
    this.pos += 8;
  }

  float64(v: number): void {
    if (typeof v !== 'number') throw new ProtocolError(`float64 expects a number, got ${describe(v)}`);
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    checkInt(v, 0, 4294967295, 'unsigned varint');
    this.ensure(5);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  varint(v: number): void {
    checkInt(v, -2147483648, 2147483647, 'varint');
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Unsigned varint up to 2^53 (numbers only). */
  uvarlong(v: number): void {
    if (!Number.isInteger(v) || v < 0) throw new ProtocolError(`unsigned varlong expects a non-negative integer, got ${v}`);
    this.ensure(10);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  varlong(v: number): void {
    if (!Number.isInteger(v)) throw new ProtocolError(`varlong expects an integer, got ${v}`);
    this.uvarlong(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  uuid(v: string): void {
    if (typeof v !== 'string') throw new ProtocolError(`uuid expects a string, got ${describe(v)}`);
    const hex = v.length === 36 ? v.slice(0, 8) + v.slice(9, 13) + v.slice(14, 18) + v.slice(19, 23) + v.slice(24) : v;
    if (!UUID_HEX.test(hex)) throw new ProtocolError(`invalid uuid "${v}"`);
    this.ensure(16);
    this.buf.write(hex, this.pos, 16, 'hex');
    this.pos += 16;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Vectored mode: from here on, payloads given to `payload()` of at least `minBytes` are
   * referenced as their own piece instead of being copied in. Fetch responses carry megabytes
   * of record batches the log already holds in a buffer; copying them into the writer (and then
   * out of it) cost more CPU than the rest of the fetch path.
   */
  startParts(minBytes: number): void {
    this.parts = [];
    this.partStart = this.pos;
    this.splicedBytes = 0;
    this.spliceMin = minBytes;
  }

  /** A bytes/records payload: copied, or in vectored mode referenced when large enough. */
  payload(b: Uint8Array): void {
    if (this.parts === null || b.length < this.spliceMin) {
      this.raw(b);
      return;
    }
    this.parts.push(Buffer.from(this.buf.subarray(this.partStart, this.pos)));
    this.parts.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));
    this.partStart = this.pos;
    this.splicedBytes += b.length;
  }

  /**
   * Leaves vectored mode and returns the pieces in order: copies of what was written here, and
   * the referenced payloads. Their concatenation is what a plain writer would hold.
   */
  finishParts(): Buffer[] {
    const parts = this.parts ?? [];
    parts.push(Buffer.from(this.buf.subarray(this.partStart, this.pos)));
    this.parts = null;
    this.splicedBytes = 0;
    this.spliceMin = Infinity;
    return parts;
  }

  /** Writes `s`, whose UTF-8 length the caller has already measured as `byteLength`. */
  utf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.buf.write(s, this.pos, byteLength, 'utf8');
    this.pos += byteLength;
  }
}

function checkInt(v: number, min: number, max: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ProtocolError(`${what} value ${describe(v)} out of range ${min}..${max}`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) {
    return String(v);
  }
  return typeof v;
}

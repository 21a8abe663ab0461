import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/kafka/protocol/protocol-error.js';
import { ByteReader } from '../../../src/kafka/protocol/reader.js';
import { ByteWriter } from '../../../src/kafka/protocol/writer.js';
import { parseVersions } from '../../../src/kafka/protocol/versions.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
function written(fn: (w: ByteWriter) => void): string {
  const w = new ByteWriter(16);
  fn(w);
  return w.finish().toString('hex');
}

describe('unsigned varint', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [4294967295, 'ffffffff0f'],
  ];
  for (const [v, h] of cases) {
    it(`${v} <-> ${h}`, () => {
      expect(written((w) => w.uvarint(v))).toBe(h);
      const r = new ByteReader(hex(h));
      expect(r.uvarint()).toBe(v);
      expect(r.remaining).toBe(0);
    });
  }
  it('rejects truncation, over-long and over-wide encodings with ProtocolError', () => {
    expect(() => new ByteReader(hex('80')).uvarint()).toThrow(ProtocolError);
    expect(() => new ByteReader(hex('')).uvarint()).toThrow(/truncated/);
    expect(() => new ByteReader(hex('ffffffff1f')).uvarint()).toThrow(/32 bits/);
    expect(() => new ByteReader(hex('ffffffffff01')).uvarint()).toThrow(ProtocolError);
  });
});

describe('zigzag varint and varlong', () => {
  const ints: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [v, h] of ints) {
    it(`varint ${v} <-> ${h}`, () => {
      expect(written((w) => w.varint(v))).toBe(h);
      expect(new ByteReader(hex(h)).varint()).toBe(v);
    });
  }
  const longs: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [2 ** 40, '808080808080808001'.slice(0, 14) + '40'],
    // Exact while the zigzag form (2|v|) stays below 2^53.
    [2 ** 52 - 1, 'feffffffffffff0f'],
    [-(2 ** 52), 'ffffffffffffff0f'],
  ];
  for (const [v, h] of longs) {
    it(`varlong ${v} round-trips`, () => {
      const out = written((w) => w.varlong(v));
      expect(new ByteReader(Buffer.from(out, 'hex')).varlong()).toBe(v);
      if (Math.abs(v) !== 2 ** 40) expect(out).toBe(h);
    });
  }
  it('reads a 10-byte varlong and rejects an 11th byte', () => {
    expect(new ByteReader(hex('ffffffffffffffffff01')).uvarlong()).toBe(2 ** 64 - 1);
    expect(() => new ByteReader(hex('ffffffffffffffffff81')).uvarlong()).toThrow(ProtocolError);
  });
});

describe('fixed-width integers', () => {
  it('int64 as number, both signs, and clamping on encode', () => {
    expect(written((w) => w.int64(-1))).toBe('ffffffffffffffff');
    expect(written((w) => w.int64(1))).toBe('0000000000000001');
    expect(written((w) => w.int64(2 ** 32))).toBe('0000000100000000');
    expect(written((w) => w.int64(-(2 ** 32) - 1))).toBe('fffffffeffffffff');
    expect(written((w) => w.int64(Number.MAX_VALUE))).toBe('7fffffffffffffff');
    expect(written((w) => w.int64(-Number.MAX_VALUE))).toBe('8000000000000000');
    expect(written((w) => w.int64(5n))).toBe('0000000000000005');
    for (const v of [0, -1, 1, 2 ** 53 - 1, -(2 ** 53 - 1), 1700000000000, -4294967296, -4294967297]) {
      expect(new ByteReader(Buffer.from(written((w) => w.int64(v)), 'hex')).int64()).toBe(v);
    }
  });
  it('int8/16/32, uint16/32, float64, bool', () => {
    expect(written((w) => w.int8(-2))).toBe('fe');
    expect(written((w) => w.int16(-2))).toBe('fffe');
    expect(written((w) => w.int32(-2))).toBe('fffffffe');
    expect(written((w) => w.uint16(65535))).toBe('ffff');
    expect(written((w) => w.uint32(4294967295))).toBe('ffffffff');
    expect(written((w) => w.float64(1.5))).toBe('3ff8000000000000');
    expect(written((w) => w.bool(true))).toBe('01');
    const r = new ByteReader(hex('fe fffe fffffffe ffff ffffffff 3ff8000000000000 02'));
    expect([r.int8(), r.int16(), r.int32(), r.uint16(), r.uint32(), r.float64(), r.bool()]).toEqual([
      -2, -2, -2, 65535, 4294967295, 1.5, true,
    ]);
  });
  it('out-of-range writes are ProtocolErrors, not RangeErrors', () => {
    expect(() => written((w) => w.int8(128))).toThrow(ProtocolError);
    expect(() => written((w) => w.int16(40000))).toThrow(ProtocolError);
    expect(() => written((w) => w.int32(2 ** 31))).toThrow(ProtocolError);
    expect(() => written((w) => w.int32(1.5))).toThrow(/out of range/);
    expect(() => written((w) => w.uint16(-1))).toThrow(ProtocolError);
    expect(() => written((w) => w.int64('7' as unknown as number))).toThrow(ProtocolError);
  });
  it('short reads are ProtocolErrors naming what was needed', () => {
    expect(() => new ByteReader(hex('000000')).int32()).toThrow('int32 needs 4 bytes, 3 remaining');
    expect(() => new ByteReader(hex('00'), 1).int8()).toThrow(ProtocolError);
    expect(() => new ByteReader(hex('0000000000000000'), 0, 7).int64()).toThrow(ProtocolError);
  });
});

describe('uuid, bytes, strings', () => {
  it('uuid round-trips as lowercase hyphenated text', () => {
    const id = 'a1b2c3d4-0000-4000-8000-00000000beef';
    const out = written((w) => w.uuid(id.toUpperCase()));
    expect(out).toBe('a1b2c3d4000040008000' + '00000000beef');
    expect(new ByteReader(Buffer.from(out, 'hex')).uuid()).toBe(id);
    expect(() => written((w) => w.uuid('not-a-uuid'))).toThrow(ProtocolError);
  });
  it('bytes are views and lengths are bounds-checked', () => {
    const buf = hex('0102030405');
    const r = new ByteReader(buf, 1);
    const b = r.bytes(3);
    expect(b.toString('hex')).toBe('020304');
    buf[1] = 0xff;
    expect(b[0]).toBe(0xff);
    expect(() => r.bytes(2)).toThrow('length 2 exceeds remaining 1 bytes');
    expect(() => r.utf8(9)).toThrow(ProtocolError);
  });
  it('grows its buffer across many writes without losing data', () => {
    const w = new ByteWriter(16);
    for (let i = 0; i < 10000; i++) w.int32(i);
    const r = new ByteReader(w.finish());
    for (let i = 0; i < 10000; i++) expect(r.int32()).toBe(i);
  });
});

describe('version ranges', () => {
  it('parses the notation', () => {
    expect(parseVersions('3+')).toEqual({ min: 3, max: Number.MAX_SAFE_INTEGER });
    expect(parseVersions('2-7')).toEqual({ min: 2, max: 7 });
    expect(parseVersions('5')).toEqual({ min: 5, max: 5 });
    const none = parseVersions('none');
    expect(none.min > none.max).toBe(true);
    expect(() => parseVersions('x')).toThrow();
  });
});

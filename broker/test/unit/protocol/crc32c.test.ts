import { describe, expect, it } from 'vitest';
import { NATIVE_MIN_BYTES, crc32c, crc32cSoftware, crc32cUpdate } from '../../../src/kafka/protocol/crc32c.js';

/** Bit-at-a-time CRC-32C straight from the polynomial: slow, obviously right, the yardstick. */
function reference(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

/** Deterministic pseudo-random bytes (xorshift), so failures replay. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('crc32c implementations', () => {
  it('the reference matches RFC 3720 B.4 and the check value', () => {
    expect(reference(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(reference(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(reference(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(reference(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('software and dispatching paths agree with the reference at every length and alignment', () => {
    // Lengths around the word-path (64) and native (NATIVE_MIN_BYTES) thresholds and block edges.
    const lengths = [0, 1, 3, 15, 16, 17, 63, 64, 65, 79, 80, 81, 255, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, NATIVE_MIN_BYTES + 1, 4099, 70_001];
    const data = bytes(70_001 + 16, 42);
    for (const len of lengths) {
      for (let start = 0; start < 8; start++) {
        const want = reference(data, start, start + len);
        expect(crc32cSoftware(0, data, start, start + len), `software len ${len} start ${start}`).toBe(want);
        expect(crc32c(data, start, start + len), `crc32c len ${len} start ${start}`).toBe(want);
        // A subarray whose byteOffset is unaligned inside its ArrayBuffer.
        const view = data.subarray(start, start + len);
        expect(crc32c(view), `view len ${len} start ${start}`).toBe(want);
      }
    }
  });

  it('continues across pieces whichever path each piece takes', () => {
    const data = bytes(10_000, 7);
    const whole = reference(data);
    for (const split of [0, 1, 63, 100, NATIVE_MIN_BYTES, 5_000, 9_999, 10_000]) {
      expect(crc32cUpdate(crc32cUpdate(0, data, 0, split), data, split)).toBe(whole);
      expect(crc32cSoftware(crc32cUpdate(0, data, 0, split), data, split)).toBe(whole);
      expect(crc32cUpdate(crc32cSoftware(0, data, 0, split), data, split)).toBe(whole);
    }
  });

  it('detects a single flipped bit anywhere in a large range', () => {
    const data = bytes(64 * 1024, 99);
    const good = crc32c(data);
    for (const at of [0, 1, 777, 32_768, 65_535]) {
      data[at]! ^= 0x10;
      expect(crc32c(data)).not.toBe(good);
      data[at]! ^= 0x10;
    }
    expect(crc32c(data)).toBe(good);
  });
});

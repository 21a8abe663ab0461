/** FrameReader: any split of the byte stream yields the same frames; bad sizes are refused. */
import { describe, expect, it } from 'vitest';
import { FrameReader, FrameTooLargeError } from '../../src/kafka/server/framing.js';
import { seededRandom } from '../helpers/random.js';

function sized(payload: Buffer): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b.writeInt32BE(payload.length, 0);
  payload.copy(b, 4);
  return b;
}

describe('FrameReader', () => {
  it('returns the same frames however the stream is split', () => {
    const rand = seededRandom(42);
    const payloads = Array.from({ length: 200 }, (_, i) => Buffer.alloc(Math.floor(rand() * 300), i % 256));
    payloads.push(Buffer.alloc(0), Buffer.alloc(70_000, 7));
    const stream = Buffer.concat(payloads.map(sized));
    for (let trial = 0; trial < 20; trial++) {
      const reader = new FrameReader(1 << 20);
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + Math.floor(rand() * (trial < 10 ? 16 : 9000));
        out.push(...reader.push(stream.subarray(pos, pos + n)));
        pos += n;
      }
      expect(out.length).toBe(payloads.length);
      out.forEach((f, i) => expect(f.equals(payloads[i] as Buffer)).toBe(true));
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('refuses a size above the maximum or below zero as soon as the prefix is complete', () => {
    const reader = new FrameReader(100);
    expect(reader.push(sized(Buffer.alloc(100)))).toHaveLength(1);
    expect(() => reader.push(Buffer.from([0, 0, 0, 101]))).toThrow(FrameTooLargeError);
    const negative = new FrameReader(100);
    expect(negative.push(Buffer.from([0xff, 0xff]))).toEqual([]);
    expect(() => negative.push(Buffer.from([0xff, 0xfe]))).toThrow(/negative/);
  });
});

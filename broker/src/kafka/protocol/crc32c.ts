/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Kafka record batches v2
 * carry. Every produced and every recovered batch is checksummed, so at produce rates near disk
 * bandwidth this is the broker's largest CPU cost. Two implementations, same results:
 *
 * - `crc32cSoftware`: table-driven slicing-by-16 that reads the aligned middle of the range as
 *   32-bit little-endian words (one typed-array load instead of four byte loads and shifts).
 * - the hardware CRC32 instruction through @node-rs/crc32 when that native package loads. Its
 *   call costs about a microsecond, so it is used only for ranges of NATIVE_MIN_BYTES or more.
 *
 * bench/crc.ts measures both.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';

const POLY = 0x82f63b78;
const SLICES = 16;

/** T[k * 256 + b]: CRC of byte b followed by k zero bytes (slicing tables, flat for one bounds check). */
const T = ((): Int32Array => {
  const t = new Int32Array(256 * SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const p = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  return t;
})();

/** Word loads assume the host stores 32-bit words little-endian (every platform Node ships for today). */
const WORDS_OK = endianness() === 'LE';

/** Bytewise over [i, end), continuing the (inverted) register c. */
function bytes(c: number, buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return c;
}

/** Continues a CRC-32C in software. Exported for tests and the micro benchmark. */
export function crc32cSoftware(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = ~crc;
  let i = start;
  if (!WORDS_OK || end - start < 64) return ~bytes(c, buf, i, end) >>> 0;
  // Up to 3 bytes to reach a 4-byte aligned address, so the middle can be viewed as words.
  const misalign = (buf.byteOffset + i) & 3;
  if (misalign !== 0) {
    c = bytes(c, buf, i, i + 4 - misalign);
    i += 4 - misalign;
  }
  const blocks = (end - i) >>> 4;
  const w = new Int32Array(buf.buffer, buf.byteOffset + i, blocks * 4);
  const n = w.length;
  for (let j = 0; j < n; j += 4) {
    const a = c ^ w[j]!;
    const b = w[j + 1]!;
    const d = w[j + 2]!;
    const e = w[j + 3]!;
    c =
      T[3840 + (a & 0xff)]! ^
      T[3584 + ((a >>> 8) & 0xff)]! ^
      T[3328 + ((a >>> 16) & 0xff)]! ^
      T[3072 + (a >>> 24)]! ^
      T[2816 + (b & 0xff)]! ^
      T[2560 + ((b >>> 8) & 0xff)]! ^
      T[2304 + ((b >>> 16) & 0xff)]! ^
      T[2048 + (b >>> 24)]! ^
      T[1792 + (d & 0xff)]! ^
      T[1536 + ((d >>> 8) & 0xff)]! ^
      T[1280 + ((d >>> 16) & 0xff)]! ^
      T[1024 + (d >>> 24)]! ^
      T[768 + (e & 0xff)]! ^
      T[512 + ((e >>> 8) & 0xff)]! ^
      T[256 + ((e >>> 16) & 0xff)]! ^
      T[e >>> 24]!;
  }
  i += blocks * 16;
  return ~bytes(c, buf, i, end) >>> 0;
}

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

/** Below this many bytes the native call's fixed cost exceeds what it saves. */
export const NATIVE_MIN_BYTES = 512;

function loadNative(): NativeCrc32c | null {
  if (process.env['CHRONIK_CRC32C'] === 'software') return null;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: unknown };
    const fn = mod.crc32c;
    if (typeof fn !== 'function') return null;
    const native = fn as NativeCrc32c;
    // Trust it only if it agrees with the specification's check value and with the software path.
    const probe = Buffer.from('123456789');
    if (native(probe) !== 0xe3069283) return null;
    const sample = Buffer.alloc(4099);
    for (let k = 0; k < sample.length; k++) sample[k] = (k * 131 + 7) & 0xff;
    if (native(sample.subarray(3), 0x1234) !== crc32cSoftware(0x1234, sample, 3)) return null;
    return native;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which implementation serves large ranges ('hardware' when the native module loaded). */
export const crc32cImplementation: 'hardware' | 'software' = native ? 'hardware' : 'software';

/**
 * Continues a CRC-32C over `buf[start, end)`. Pass the previous result as `crc` to checksum data
 * in pieces; start with 0.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  if (native !== null && end - start >= NATIVE_MIN_BYTES) {
    return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc >>> 0);
  }
  return crc32cSoftware(crc, buf, start, end);
}

/** CRC-32C of `buf[start, end)` as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cUpdate(0, buf, start, end);
}

/**
 * Decompressing (and recompressing) the records section of a batch, for the cleaner, which must
 * see every key. gzip and zstd come from node:zlib (zstd where the Node build has it); snappy
 * and lz4 are decoded by our own readers (snappy.ts, lz4.ts) and written back uncompressed,
 * which every client reads. A codec that cannot be decoded here leaves its batches opaque: the
 * cleaner keeps them whole (see cleaner.ts for what that costs).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Compression } from '../kafka/protocol/records.js';
import { lz4FrameDecompress } from './lz4.js';
import { snappyDecompressKafka } from './snappy.js';

const gunzip = promisify(zlib.gunzip);
const gzip = promisify(zlib.gzip);

/**
 * Largest records section the cleaner decompresses: a batch that inflates beyond this (a
 * decompression bomb, or simply enormous) stays opaque rather than taking the broker's memory.
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;
const LIMIT = { maxOutputLength: MAX_DECOMPRESSED_BYTES };

type Codec = (data: Buffer) => Promise<Buffer>;

interface CodecPair {
  readonly decode: Codec;
  /** Recompresses kept records; null writes them uncompressed. */
  readonly encode: Codec | null;
}

function zstdPair(): CodecPair | null {
  const z = zlib as unknown as {
    zstdDecompress?: (b: Buffer, opts: zlib.ZlibOptions, cb: (err: Error | null, out: Buffer) => void) => void;
    zstdCompress?: (b: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
  };
  if (typeof z.zstdDecompress !== 'function' || typeof z.zstdCompress !== 'function') return null;
  const dec = z.zstdDecompress.bind(zlib);
  const enc = z.zstdCompress.bind(zlib);
  return {
    decode: (b) => new Promise((res, rej) => dec(b, LIMIT, (err, out) => (err ? rej(err) : res(out)))),
    encode: (b) => new Promise((res, rej) => enc(b, (err, out) => (err ? rej(err) : res(out)))),
  };
}

const codecs = new Map<number, CodecPair>();
codecs.set(Compression.gzip, { decode: (b) => gunzip(b, LIMIT), encode: (b) => gzip(b) });
codecs.set(Compression.snappy, { decode: async (b) => snappyDecompressKafka(b, MAX_DECOMPRESSED_BYTES), encode: null });
codecs.set(Compression.lz4, { decode: async (b) => lz4FrameDecompress(b, MAX_DECOMPRESSED_BYTES), encode: null });
const zstd = zstdPair();
if (zstd) codecs.set(Compression.zstd, zstd);

/** The cleaner can read batches compressed with `compression` (0 = none always). */
export function canDecode(compression: number): boolean {
  return compression === Compression.none || codecs.has(compression);
}

export async function decompressRecords(compression: number, data: Buffer): Promise<Buffer> {
  if (compression === Compression.none) return data;
  const c = codecs.get(compression);
  if (!c) throw new Error(`compression codec ${compression} cannot be decoded here`);
  return c.decode(data);
}

/** Compresses kept records again; returns the codec actually used (0 when written plain). */
export async function recompressRecords(compression: number, data: Buffer): Promise<{ codec: number; data: Buffer }> {
  const c = codecs.get(compression);
  if (compression === Compression.none || !c || !c.encode || data.length === 0) return { codec: Compression.none, data };
  return { codec: compression, data: await c.encode(data) };
}

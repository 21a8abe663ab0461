/**
 * CRC-32C throughput: `node --import tsx bench/crc.ts` prints MB/s (CPU time of this process,
 * so other load on the machine distorts it less than wall time would) for the software path,
 * the hardware path (when @node-rs/crc32 loads) and the dispatching crc32c, over range sizes a
 * produce request carries: one small batch up to 1 MiB of batches.
 */
import { createRequire } from 'node:module';
import { crc32c, crc32cImplementation, crc32cSoftware } from '../broker/src/kafka/protocol/crc32c.js';

function mbPerSec(size: number, fn: (b: Buffer) => number): number {
  // Unaligned start, as a batch inside a request frame usually is.
  const buf = Buffer.alloc(size + 1).subarray(1);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + 7) & 0xff;
  const rounds = Math.max(4, Math.floor((128 * 1024 * 1024) / size));
  let sink = 0;
  for (let i = 0; i < Math.min(rounds, 2000); i++) sink ^= fn(buf);
  const before = process.cpuUsage();
  for (let i = 0; i < rounds; i++) sink ^= fn(buf);
  const used = process.cpuUsage(before);
  if (sink === 0.5) console.log('unreachable');
  return (rounds * size) / 1e6 / ((used.user + used.system) / 1e6);
}

let hardware: ((b: Uint8Array) => number) | null = null;
try {
  hardware = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: (b: Uint8Array) => number }).crc32c;
} catch {
  hardware = null;
}

console.log(`crc32c dispatches large ranges to: ${crc32cImplementation}`);
console.log('    bytes   software   hardware   crc32c   (MB/s of CPU time)');
for (const size of [100, 512, 1024, 4096, 16 * 1024, 1024 * 1024]) {
  const sw = mbPerSec(size, (b) => crc32cSoftware(0, b));
  const hw = hardware ? mbPerSec(size, hardware) : NaN;
  const d = mbPerSec(size, (b) => crc32c(b));
  console.log(`${String(size).padStart(9)}  ${sw.toFixed(0).padStart(9)}  ${hw.toFixed(0).padStart(9)}  ${d.toFixed(0).padStart(7)}`);
}

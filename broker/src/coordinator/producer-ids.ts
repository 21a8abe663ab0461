/**
 * Producer-id allocation for InitProducerId. Ids are handed out from memory within a block whose
 * upper bound ("reserved up to") is persisted with fsync before the first id of the block is
 * used; after a restart allocation resumes at the persisted bound, so an id is never issued twice
 * even if the broker crashed mid-block (a crash only wastes the rest of that block).
 *
 * Each broker allocates in its own id range (nodeId * 2^36 + n) so the brokers of a cluster
 * never collide before the metadata raft group takes over block allocation.
 *
 * File: <dataDir>/coordinator/producer-ids.json = {"version":1,"reservedUpTo":N} (exclusive).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const PRODUCER_ID_BLOCK_SIZE = 1000;
const NODE_RANGE = 2 ** 36;
const FILE_VERSION = 1;

export class ProducerIdAllocator {
  private next: number;
  private reservedUpTo: number;
  /** Serialises reservations so concurrent callers never persist out of order. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly rangeStart: number,
    private readonly rangeEnd: number,
    reservedUpTo: number,
    private readonly blockSize: number,
  ) {
    this.next = reservedUpTo;
    this.reservedUpTo = reservedUpTo;
  }

  static async open(dataDir: string, nodeId: number, blockSize = PRODUCER_ID_BLOCK_SIZE): Promise<ProducerIdAllocator> {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= 2 ** 16) throw new RangeError(`nodeId ${nodeId} out of range for producer ids`);
    const file = join(dataDir, 'coordinator', 'producer-ids.json');
    const rangeStart = nodeId * NODE_RANGE;
    const rangeEnd = rangeStart + NODE_RANGE;
    let reserved = rangeStart;
    let text: string | null = null;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== null) {
      const parsed: unknown = JSON.parse(text);
      const r = (parsed as { version?: unknown; reservedUpTo?: unknown } | null)?.reservedUpTo;
      if ((parsed as { version?: unknown }).version !== FILE_VERSION || typeof r !== 'number' || !Number.isSafeInteger(r)) {
        throw new Error(`${file}: not a version ${FILE_VERSION} producer-id file`);
      }
      // An id range from a different nodeId (data dir reused) still must not be reissued.
      reserved = Math.max(r, rangeStart);
    }
    return new ProducerIdAllocator(file, rangeStart, rangeEnd, reserved, blockSize);
  }

  /** The largest id this allocator may have issued, or -1 (for validating ids clients send back). */
  highestIssued(): number {
    return this.next > this.rangeStart ? this.next - 1 : -1;
  }

  /** True if `id` lies in this broker's range and was handed out (possibly before a restart). */
  mayHaveIssued(id: number): boolean {
    return id >= this.rangeStart && id < this.reservedUpTo;
  }

  async allocate(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.next >= this.reservedUpTo) await this.reserve();
      return this.next++;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reserve(): Promise<void> {
    const upTo = this.reservedUpTo + this.blockSize;
    if (upTo > this.rangeEnd) throw new Error('producer id range of this broker is exhausted');
    await writeFileDurably(this.file, JSON.stringify({ version: FILE_VERSION, reservedUpTo: upTo }) + '\n');
    this.next = Math.max(this.next, this.reservedUpTo);
    this.reservedUpTo = upTo;
  }
}

/** Write to a temp file, fsync it, rename over the target and fsync the directory. */
async function writeFileDurably(file: string, content: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

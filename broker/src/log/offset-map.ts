/**
 * The cleaner's key -> last offset map for one pass, in a fixed amount of memory: an
 * open-addressing table of (128-bit MD5 digest of the key, offset) slots in one buffer, as
 * Kafka's cleaner does. Keys are never stored, so memory is independent of key size; two keys
 * would have to share a 128-bit digest to be confused, which is negligible at any size this
 * table can hold. When the table reaches its load limit `put` refuses, and the pass cleans only
 * up to the first record it could not remember.
 */
import { hash } from 'node:crypto';

const DIGEST_BYTES = 16;
const SLOT_BYTES = DIGEST_BYTES + 8;
/** Fuller than this, probe chains grow long; Kafka uses 0.9 as well. */
const MAX_LOAD = 0.9;
const TWO_32 = 4294967296;

export class OffsetMap {
  private readonly table: Buffer;
  readonly slots: number;
  private readonly limit: number;
  private used = 0;

  constructor(memoryBytes: number) {
    this.slots = Math.max(16, Math.floor(memoryBytes / SLOT_BYTES));
    this.table = Buffer.alloc(this.slots * SLOT_BYTES);
    this.limit = Math.floor(this.slots * MAX_LOAD);
  }

  /** Keys remembered. */
  get size(): number {
    return this.used;
  }

  /** Most keys the table takes before refusing. */
  get capacity(): number {
    return this.limit;
  }

  clear(): void {
    this.table.fill(0);
    this.used = 0;
  }

  /**
   * Remembers `offset` as the latest of `key` (a larger offset replaces a smaller one; records
   * arrive in offset order). False when the key is new and the table is full.
   */
  put(key: Buffer, offset: number): boolean {
    const digest = hash('md5', key, 'buffer');
    const slot = this.find(digest);
    const at = slot * SLOT_BYTES;
    // Offsets are stored plus one, so an all-zero slot is empty.
    const stored = this.readStored(at);
    if (stored === 0) {
      if (this.used >= this.limit) return false;
      digest.copy(this.table, at);
      this.used++;
    } else if (stored - 1 >= offset) {
      return true;
    }
    this.writeStored(at, offset + 1);
    return true;
  }

  /** The latest offset of `key`, or -1 when the pass did not see it. */
  get(key: Buffer): number {
    const digest = hash('md5', key, 'buffer');
    const stored = this.readStored(this.find(digest) * SLOT_BYTES);
    return stored === 0 ? -1 : stored - 1;
  }

  /** The slot holding `digest`, or the empty slot where it would go (linear probing). */
  private find(digest: Buffer): number {
    let slot = (digest.readUInt32BE(0) * 65536 + digest.readUInt16BE(4)) % this.slots;
    for (;;) {
      const at = slot * SLOT_BYTES;
      if (this.readStored(at) === 0) return slot;
      if (this.table.compare(digest, 0, DIGEST_BYTES, at, at + DIGEST_BYTES) === 0) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }

  private readStored(at: number): number {
    return this.table.readUInt32BE(at + DIGEST_BYTES) * TWO_32 + this.table.readUInt32BE(at + DIGEST_BYTES + 4);
  }

  private writeStored(at: number, v: number): void {
    this.table.writeUInt32BE(Math.floor(v / TWO_32), at + DIGEST_BYTES);
    this.table.writeUInt32BE(v % TWO_32, at + DIGEST_BYTES + 4);
  }
}

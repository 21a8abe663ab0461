/**
 * Writes a RaftBatch (proto/raft.proto) straight into one Buffer of its exact size.
 *
 * This is the transport's hot path: every appended byte goes through it once per follower.
 * protobufjs's Writer grows its buffer as it goes and copies entry data twice on the way to its
 * result, which under load allocated about four bytes per byte sent and made external-memory
 * garbage collections the broker's largest cost after the sends themselves. The sizes are
 * already known exactly ({@link messageSize}), so one allocation and one copy of each entry's data
 * suffice; for the TCP wire, which writes a frame with writev, not even that copy
 * ({@link writeBatchParts}). The output is byte for byte what protobufjs produces (fields in number order, proto3
 * zero scalars omitted); a unit test holds the two to each other, and decoding stays protobufjs's.
 */
import type { Entry, Message, Snapshot } from '../../raft/types.js';
import { batchEntryCost, batchHeaderSize, messageSize, partBodySize, partFieldCost, varintSize, type Batch } from './codec.js';

/**
 * Entry data at least this long is referenced, not copied, by {@link writeBatchParts}: below it
 * an extra piece of a writev costs more than the copy saves.
 */
export const GATHER_MIN_BYTES = 1024;

class Cursor {
  pos = 0;
  /** Bytes written as references (gather mode): the encoding's length is pos + skipped. */
  skipped = 0;
  private mark = 0;
  /**
   * `parts` non-null: gather mode. Long data fields go into `parts` as they are, between the
   * slices of `buf` that hold everything else.
   */
  constructor(
    readonly buf: Buffer,
    private readonly parts: Buffer[] | null = null,
  ) {}

  /** The encoding so far (gather mode): the slices of buf and the referenced data, in order. */
  finish(): Buffer[] {
    if (this.parts === null) return [this.buf];
    if (this.pos > this.mark) this.parts.push(this.buf.subarray(this.mark, this.pos));
    this.mark = this.pos;
    return this.parts;
  }

  get length(): number {
    return this.pos + this.skipped;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    // Above 2^31 bit operators would truncate; divide until the rest fits them.
    while (n > 0x7fffffff) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    while (n >= 0x80) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** A uint64 field with a one-byte tag; proto3 leaves zero out. */
  u64(tag: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(n);
  }

  bytes(tag: number, data: Uint8Array): void {
    this.buf[this.pos++] = tag;
    this.varint(data.length);
    if (this.parts !== null && data.length >= GATHER_MIN_BYTES) {
      if (this.pos > this.mark) this.parts.push(this.buf.subarray(this.mark, this.pos));
      this.parts.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
      this.mark = this.pos;
      this.skipped += data.length;
      return;
    }
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  packed(tag: number, values: readonly number[]): void {
    if (values.length === 0) return;
    let len = 0;
    for (let i = 0; i < values.length; i++) len += varintSize(values[i] as number);
    this.buf[this.pos++] = tag;
    this.varint(len);
    for (let i = 0; i < values.length; i++) this.varint(values[i] as number);
  }
}

function entrySize(e: Entry): number {
  const data = e.data.length;
  return (
    (e.term === 0 ? 0 : 1 + varintSize(e.term)) +
    (e.index === 0 ? 0 : 1 + varintSize(e.index)) +
    (e.type === 0 ? 0 : 2) +
    (data === 0 ? 0 : 1 + varintSize(data) + data)
  );
}

function writeEntry(c: Cursor, e: Entry): void {
  c.byte(0x4a); // RaftMessage.entries = 9, length-delimited
  c.varint(entrySize(e));
  c.u64(0x08, e.term);
  c.u64(0x10, e.index);
  if (e.type !== 0) {
    c.byte(0x18);
    c.varint(e.type);
  }
  if (e.data.length > 0) c.bytes(0x22, e.data);
}

function confSize(voters: readonly number[], learners: readonly number[]): number {
  const packed = (vs: readonly number[]): number => {
    if (vs.length === 0) return 0;
    let len = 0;
    for (let i = 0; i < vs.length; i++) len += varintSize(vs[i] as number);
    return 1 + varintSize(len) + len;
  };
  return packed(voters) + packed(learners);
}

function writeSnapshot(c: Cursor, s: Snapshot): void {
  const conf = confSize(s.conf.voters, s.conf.learners);
  const data = s.data.length;
  const size =
    (s.index === 0 ? 0 : 1 + varintSize(s.index)) +
    (s.term === 0 ? 0 : 1 + varintSize(s.term)) +
    1 +
    varintSize(conf) +
    conf +
    (data === 0 ? 0 : 1 + varintSize(data) + data);
  c.byte(0x52); // RaftMessage.snapshot = 10
  c.varint(size);
  c.u64(0x08, s.index);
  c.u64(0x10, s.term);
  c.byte(0x1a);
  c.varint(conf);
  c.packed(0x0a, s.conf.voters);
  c.packed(0x12, s.conf.learners);
  if (data > 0) c.bytes(0x22, s.data);
}

function writeMessage(c: Cursor, m: Message, size: number): void {
  c.byte(0x22); // RaftBatch.messages = 4
  c.varint(size);
  writeMessageBody(c, m, size);
}

function writeMessageBody(c: Cursor, m: Message, size: number): void {
  const end = c.length + size;
  c.u64(0x08, m.group);
  c.byte(0x10);
  c.varint(m.type);
  c.u64(0x18, m.from);
  c.u64(0x20, m.to);
  c.u64(0x28, m.term);
  c.u64(0x30, m.logTerm);
  c.u64(0x38, m.index);
  c.u64(0x40, m.commit);
  const entries = m.entries;
  for (let i = 0; i < entries.length; i++) writeEntry(c, entries[i] as Entry);
  if (m.snapshot !== null) writeSnapshot(c, m.snapshot);
  if (m.reject) {
    c.byte(0x58);
    c.byte(1);
  }
  c.u64(0x60, m.hint);
  if (m.transfer) {
    c.byte(0x68);
    c.byte(1);
  }
  if (m.context !== null) c.bytes(0x72, m.context);
  if (c.length !== end) throw new Error(`raft transport: encoded a message as ${size - (end - c.length)} bytes, sized it as ${size}`);
}

/**
 * The RaftBatch `b` as one exactly-sized Buffer. Throws if a message cannot be encoded
 * faithfully (callers check {@link messageSize} when they queue, so this does not happen there).
 */
export function writeBatch(b: Batch): Buffer {
  return encodeBatch(b, false).parts[0] as Buffer;
}

/**
 * The RaftBatch `b` as the pieces of one encoding, for a writev: long entry data is referenced
 * rather than copied (one copy fewer of every replicated byte per follower). The data must not
 * change until the pieces are written; entries are not modified once appended.
 */
export function writeBatchParts(b: Batch): { readonly parts: Buffer[]; readonly length: number } {
  return encodeBatch(b, true);
}

function encodeBatch(b: Batch, gather: boolean): { readonly parts: Buffer[]; readonly length: number } {
  const sizes = new Array<number>(b.messages.length);
  let total = batchHeaderSize(b, b.sequence, b.quiescedGroups, b.wokenGroups);
  for (let i = 0; i < b.messages.length; i++) {
    const size = messageSize(b.messages[i] as Message);
    if (size < 0) throw new Error(`raft transport: message ${i} of the batch cannot be encoded`);
    sizes[i] = size;
    total += batchEntryCost(size);
  }
  const part = b.part ?? null;
  if (part !== null) total += partFieldCost(part.totalBytes, part.offset, part.data.length);
  let copied = total;
  if (gather) {
    for (const m of b.messages) for (const e of m.entries) if (e.data.length >= GATHER_MIN_BYTES) copied -= e.data.length;
    if (part !== null && part.data.length >= GATHER_MIN_BYTES) copied -= part.data.length;
  }
  const c = new Cursor(Buffer.allocUnsafe(copied), gather ? [] : null);
  c.u64(0x08, b.fromNode);
  c.u64(0x10, b.toNode);
  c.u64(0x18, b.sequence);
  for (let i = 0; i < b.messages.length; i++) writeMessage(c, b.messages[i] as Message, sizes[i] as number);
  if (b.clusterId.length > 0) {
    const id = Buffer.from(b.clusterId, 'utf8');
    c.bytes(0x2a, id);
  }
  c.packed(0x32, b.quiescedGroups);
  c.packed(0x3a, b.wokenGroups);
  if (part !== null) {
    c.byte(0x42); // RaftBatch.part = 8
    c.varint(partBodySize(part.totalBytes, part.offset, part.data.length));
    c.u64(0x08, part.totalBytes);
    c.u64(0x10, part.offset);
    if (part.data.length > 0) c.bytes(0x1a, part.data);
  }
  if (c.length !== total) throw new Error(`raft transport: encoded a batch as ${c.length} bytes, sized it as ${total}`);
  return { parts: c.finish(), length: total };
}

/**
 * `m` encoded on its own as a RaftMessage, for a message too large for a frame: it goes in
 * pieces (RaftBatch.part) and the receiver decodes the joined pieces. Throws if `m` cannot be
 * encoded (see {@link messageSize}).
 */
export function writeMessageAlone(m: Message): Buffer {
  const size = messageSize(m);
  if (size < 0) throw new Error('raft transport: the message cannot be encoded');
  const c = new Cursor(Buffer.allocUnsafe(size));
  writeMessageBody(c, m, size);
  return c.buf;
}

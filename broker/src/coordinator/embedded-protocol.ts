/**
 * The "consumer" embedded protocol of classic groups, as far as the coordinator must read and
 * write it to serve classic members inside a consumer group (online migration, KIP-848): the
 * ConsumerProtocolSubscription a member sends in JoinGroup (its topics and, from v1, the
 * partitions it still owns) and the ConsumerProtocolAssignment it gets in SyncGroup. Both are
 * Kafka's classic (non-flexible) encoding: int16 version, int16-length strings, int32-count arrays.
 */

export interface NamedPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface ConsumerSubscription {
  readonly topics: readonly string[];
  readonly ownedPartitions: readonly NamedPartitions[];
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  string(): string {
    const len = this.int16();
    if (len < 0 || this.pos + len > this.buf.length) throw new RangeError('bad string');
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  count(): number {
    const n = this.int32();
    // Every element takes at least one byte, so a larger count is garbage, not a huge array.
    if (n < -1 || n > this.buf.length - this.pos) throw new RangeError('bad array length');
    return Math.max(n, 0);
  }

  skipBytes(): void {
    const len = this.int32();
    if (len < -1 || this.pos + Math.max(len, 0) > this.buf.length) throw new RangeError('bad bytes');
    this.pos += Math.max(len, 0);
  }

  topicPartitions(): NamedPartitions[] {
    const out: NamedPartitions[] = [];
    for (let i = 0, n = this.count(); i < n; i++) {
      const topic = this.string();
      const partitions: number[] = [];
      for (let j = 0, m = this.count(); j < m; j++) partitions.push(this.int32());
      out.push({ topic, partitions });
    }
    return out;
  }
}

/**
 * A ConsumerProtocolSubscription, or null when it cannot be read. Versions past the ones known
 * here only add fields at the end, so they read the same. A v1+ subscription that stops after its
 * user data (some clients send no owned partitions) owns nothing.
 */
export function decodeSubscription(buf: Buffer): ConsumerSubscription | null {
  try {
    const r = new Reader(buf);
    const version = r.int16();
    if (version < 0) return null;
    const topics: string[] = [];
    for (let i = 0, n = r.count(); i < n; i++) topics.push(r.string());
    if (r.done) return { topics, ownedPartitions: [] };
    r.skipBytes();
    const ownedPartitions = version >= 1 && !r.done ? r.topicPartitions() : [];
    return { topics, ownedPartitions };
  } catch {
    return null;
  }
}

/** A ConsumerProtocolAssignment's partitions (empty bytes: nothing assigned yet), or null when unreadable. */
export function decodeAssignment(buf: Buffer): NamedPartitions[] | null {
  if (buf.length === 0) return [];
  try {
    const r = new Reader(buf);
    if (r.int16() < 0) return null;
    return r.topicPartitions();
  } catch {
    return null;
  }
}

/** A ConsumerProtocolAssignment v0 (every client version reads it), without user data. */
export function encodeAssignment(assigned: readonly NamedPartitions[]): Buffer {
  const parts: Buffer[] = [];
  const int16 = (v: number): void => void parts.push(Buffer.from([(v >> 8) & 0xff, v & 0xff]));
  const int32 = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    parts.push(b);
  };
  int16(0);
  int32(assigned.length);
  for (const t of assigned) {
    const name = Buffer.from(t.topic, 'utf8');
    int16(name.length);
    parts.push(name);
    int32(t.partitions.length);
    for (const p of t.partitions) int32(p);
  }
  int32(-1); // no user data
  return Buffer.concat(parts);
}

/** A ConsumerProtocolSubscription v1 (tests and tools). */
export function encodeSubscription(s: ConsumerSubscription): Buffer {
  const assignment = encodeAssignment(s.ownedPartitions);
  const parts: Buffer[] = [Buffer.from([0, 1])];
  const count = Buffer.alloc(4);
  count.writeInt32BE(s.topics.length);
  parts.push(count);
  for (const t of s.topics) {
    const name = Buffer.from(t, 'utf8');
    const len = Buffer.alloc(2);
    len.writeInt16BE(name.length);
    parts.push(len, name);
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // no user data
  // The owned partitions are an assignment's body without its version and user data.
  parts.push(assignment.subarray(2, assignment.length - 4));
  return Buffer.concat(parts);
}

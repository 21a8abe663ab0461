/**
 * Splits a TCP byte stream into Kafka frames (int32 big-endian size, then that many bytes).
 * Chunks are kept as a list and joined once per frame so a 100 MiB request arriving in
 * 64 KiB reads is copied once, not once per read.
 */
export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(size < 0 ? `frame size ${size} is negative` : `frame size ${size} exceeds socket.request.max.bytes ${maxBytes}`);
    this.name = 'FrameTooLargeError';
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk. */
  private head = 0;
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while its 4-byte prefix is incomplete. */
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds one read; returns the whole frames (without their size prefix) now available. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const size = this.readSize();
        if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
        this.expected = size;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private readSize(): number {
    const head = this.take(4);
    return head.readInt32BE(0);
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.head++;
      else this.chunks[this.head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.head] as Buffer;
        const want = n - filled;
        if (chunk.length <= want) {
          chunk.copy(out, filled);
          filled += chunk.length;
          this.head++;
        } else {
          chunk.copy(out, filled, 0, want);
          this.chunks[this.head] = chunk.subarray(want);
          filled += want;
        }
      }
    }
    this.buffered -= n;
    // Consumed chunks are dropped in bulk (not shifted one by one) so many tiny reads stay linear.
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

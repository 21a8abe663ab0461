/**
 * The raft stream over a plain TCP connection (`stream: 'tcp'`), next to the gRPC one.
 *
 * Why: under replication load the gRPC stream spent a third of the broker's busy time in
 * grpc-js and HTTP/2 (framing copies, flow-control bookkeeping, per-message objects) to carry
 * frames that are already length-delimited protobuf bytes. This carries the very same frames
 * (RaftBatch one way, RaftBatchAck the other) with a 5-byte header each, corked so that one
 * turn's frames to a peer leave in one writev. Snapshots and unary requests stay on gRPC; both
 * arrive on the same listening port, which tells the two apart by the first byte a connection
 * sends (HTTP/2's preface starts with 'P', ours with 'C').
 *
 * Wire:
 *   connection opens with HELLO (8 bytes, "CHRAFT\x00\x01": version 1)
 *   then frames both ways: u32 BE body length, u8 kind, body
 *     sender -> receiver: kind 0 = RaftBatch
 *     receiver -> sender: kind 0 = RaftBatchAck; kind 1 = end of stream: u8 gRPC status code,
 *       UTF-8 details (the receiver closes after it, like a gRPC status)
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { PeerAddress } from './types.js';

export const HELLO = Buffer.from('CHRAFT\x00\x01', 'latin1');
/** The byte a listener sees first from a TCP stream; HTTP/2 connections start with 'P'. */
export const HELLO_FIRST_BYTE = HELLO[0] as number;

export const KIND_FRAME = 0;
export const KIND_STATUS = 1;
const HEADER_BYTES = 5;

function header(bodyLength: number, kind: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32BE(bodyLength, 0);
  h[4] = kind;
  return h;
}

export function statusBody(code: grpc.status, details: string): Buffer {
  const text = Buffer.from(details, 'utf8');
  const body = Buffer.allocUnsafe(1 + text.length);
  body[0] = code;
  text.copy(body, 1);
  return body;
}

/** "CODE_NAME: details", as gRPC statuses are logged elsewhere in the transport. */
export function statusText(body: Buffer): string {
  const code = body.length > 0 ? (body[0] as number) : grpc.status.UNKNOWN;
  return `${grpc.status[code] ?? code}: ${body.subarray(1).toString('utf8')}`;
}

/**
 * Splits a byte stream into frames. A frame inside one chunk is handed over as a view of that
 * chunk (no copy); one spread over chunks is joined once when complete.
 */
export class FrameReader {
  private readonly head = Buffer.alloc(HEADER_BYTES);
  private headHave = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  private bodyLength = -1;
  private kind = 0;
  private parts: Buffer[] = [];
  private partsHave = 0;
  private stopped = false;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly onFrame: (kind: number, body: Buffer) => void,
    private readonly onError: (reason: string) => void,
  ) {}

  /** No more frames are delivered (the owner closed the stream). */
  stop(): void {
    this.stopped = true;
    this.parts = [];
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (!this.stopped) {
      if (this.bodyLength < 0) {
        const avail = chunk.length - off;
        if (avail === 0) return;
        let h: Buffer;
        if (this.headHave === 0 && avail >= HEADER_BYTES) {
          h = chunk;
        } else {
          const take = Math.min(HEADER_BYTES - this.headHave, avail);
          chunk.copy(this.head, this.headHave, off, off + take);
          this.headHave += take;
          off += take;
          if (this.headHave < HEADER_BYTES) return;
          this.headHave = 0;
          h = this.head;
        }
        const at = h === chunk ? off : 0;
        const length = h.readUInt32BE(at);
        const kind = h[at + 4] as number;
        if (h === chunk) off += HEADER_BYTES;
        if (length > this.maxBodyBytes) {
          this.stop();
          this.onError(`a frame of ${length} bytes exceeds the limit of ${this.maxBodyBytes}`);
          return;
        }
        this.bodyLength = length;
        this.kind = kind;
      }
      const avail = chunk.length - off;
      const missing = this.bodyLength - this.partsHave;
      if (this.partsHave === 0 && avail >= this.bodyLength) {
        const body = chunk.subarray(off, off + this.bodyLength);
        off += this.bodyLength;
        this.bodyLength = -1;
        this.onFrame(this.kind, body);
        continue;
      }
      const take = Math.min(avail, missing);
      if (take > 0) this.parts.push(chunk.subarray(off, off + take));
      this.partsHave += take;
      off += take;
      if (this.partsHave < this.bodyLength) return;
      const body = Buffer.concat(this.parts, this.bodyLength);
      this.parts = [];
      this.partsHave = 0;
      this.bodyLength = -1;
      this.onFrame(this.kind, body);
    }
  }
}

/** The sending half of a raft stream, whichever wire carries it. */
export interface FrameStream {
  /** Whether write takes an encoding in pieces as it is (a writev) rather than joined first. */
  readonly gathers: boolean;
  /** One frame, `length` bytes in all, given as the pieces of its encoding. */
  write(parts: readonly Buffer[], length: number): void;
  /** Writes between cork() and uncork() leave together. */
  cork(): void;
  uncork(): void;
  /** Ends the stream from this side; no events after this. */
  cancel(): void;
}

export interface FrameStreamEvents {
  ack(body: Buffer): void;
  /** The stream is over: the receiver's status, or what broke the connection. Fires once. */
  ended(reason: string): void;
}

/** Opens a TCP raft stream to `address`; the hello goes out as soon as it connects. */
export function dialTcpStream(address: PeerAddress, maxAckBytes: number, events: FrameStreamEvents): FrameStream {
  const socket = net.connect({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  let done = false;
  const finish = (reason: string): void => {
    if (done) return;
    done = true;
    reader.stop();
    socket.destroy();
    events.ended(reason);
  };
  const reader = new FrameReader(
    maxAckBytes,
    (kind, body) => {
      if (done) return;
      if (kind === KIND_FRAME) events.ack(body);
      else if (kind === KIND_STATUS) finish(statusText(body));
      else finish(`INTERNAL: unknown frame kind ${kind} from the receiver`);
    },
    (reason) => finish(`INTERNAL: ${reason}`),
  );
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', (e: Error) => finish(`UNAVAILABLE: ${e.message}`));
  socket.on('close', () => finish('UNAVAILABLE: connection closed'));
  socket.write(HELLO);
  return {
    gathers: true,
    write(parts, length) {
      if (done) return;
      socket.write(header(length, KIND_FRAME));
      for (const p of parts) socket.write(p);
    },
    cork() {
      socket.cork();
    },
    uncork() {
      socket.uncork();
    },
    cancel() {
      done = true;
      reader.stop();
      socket.destroy();
    },
  };
}

/** The receiving half of a TCP raft stream, as the inbound service sees it. */
export interface InboundChannel {
  readonly remote: string;
  /** Writes an acknowledgement. */
  write(ack: Buffer): void;
  /** Ends the stream normally (gRPC: OK). */
  end(): void;
  /** Ends the stream with a status the sender logs. */
  fail(code: grpc.status, details: string): void;
}

export interface InboundHandlers {
  frame(body: Buffer): void;
  /** The connection went away without either side ending the stream. */
  closed(): void;
}

/**
 * Serves one accepted TCP raft connection: checks the hello, then hands frames to `open()`'s
 * handlers. A connection whose hello is wrong is refused through `refuse` and closed.
 */
export function acceptTcpStream(
  socket: net.Socket,
  first: Buffer,
  maxFrameBytes: number,
  open: (channel: InboundChannel) => InboundHandlers,
  refuse: (remote: string, detail: string) => void,
): void {
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  let ended = false;
  let handlers: InboundHandlers | null = null;
  const channel: InboundChannel = {
    remote,
    write(ack) {
      if (ended) return;
      socket.cork();
      socket.write(header(ack.length, KIND_FRAME));
      socket.write(ack);
      socket.uncork();
    },
    end() {
      if (ended) return;
      ended = true;
      reader.stop();
      socket.end(() => socket.destroy());
    },
    fail(code, details) {
      if (ended) return;
      ended = true;
      reader.stop();
      const body = statusBody(code, details);
      socket.cork();
      socket.write(header(body.length, KIND_STATUS));
      socket.write(body);
      socket.uncork();
      socket.end(() => socket.destroy());
      // A sender that never reads its status must not keep the socket.
      setTimeout(() => socket.destroy(), 1000).unref();
    },
  };
  const reader = new FrameReader(
    maxFrameBytes,
    (kind, body) => {
      if (kind !== KIND_FRAME) {
        channel.fail(grpc.status.INVALID_ARGUMENT, `unknown frame kind ${kind}`);
        return;
      }
      handlers?.frame(body);
    },
    (reason) => {
      refuse(remote, reason);
      channel.fail(grpc.status.RESOURCE_EXHAUSTED, reason);
    },
  );
  let hello: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    if (handlers !== null) {
      reader.push(chunk);
      return;
    }
    hello = hello.length === 0 ? chunk : Buffer.concat([hello, chunk]);
    if (hello.length < HELLO.length) return;
    if (!hello.subarray(0, HELLO.length).equals(HELLO)) {
      ended = true;
      refuse(remote, `not a raft stream (first bytes ${hello.subarray(0, HELLO.length).toString('hex')})`);
      socket.destroy();
      return;
    }
    handlers = open(channel);
    const rest = hello.subarray(HELLO.length);
    hello = Buffer.alloc(0);
    if (rest.length > 0) reader.push(rest);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    reader.stop();
    if (!ended) {
      ended = true;
      handlers?.closed();
    }
  });
  onData(first);
}

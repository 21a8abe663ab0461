/**
 * The receiving side: the gRPC service peers call. Every frame, chunk and request is checked
 * before anything reaches the host (decodes, our cluster, addressed to us, from a broker in
 * `peers()`, same sender for the whole stream, increasing sequence); a failed check is counted,
 * logged (rate-limited per reason) and ends that call with a status naming the reason.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MessageType, type Message } from '../../raft/types.js';
import type { Identity, MessagePart, RaftCodec } from './codec.js';
import type { RefuseReason, TransportMetrics } from './metrics.js';
import { passThrough } from './outbound.js';
import type { TransportSettings } from './settings.js';
import type { InboundChannel, InboundHandlers } from './tcp-stream.js';
import type { GroupSignals } from './types.js';

/** What the service needs from its transport. */
export interface InboundContext {
  readonly settings: TransportSettings;
  readonly codec: RaftCodec;
  readonly metrics: TransportMetrics;
  readonly logger: Logger;
  isPeer(node: number): boolean;
  deliver(from: number, messages: Message[]): void;
  signals(from: number, signals: GroupSignals): void;
  /** Null when the host serves no requests. */
  readonly onRequest: ((kind: string, payload: Uint8Array, from: number) => Promise<Uint8Array>) | null;
  now(): number;
}

interface Refusal {
  readonly reason: RefuseReason;
  readonly code: grpc.status;
  readonly detail: string;
}

interface InboundStream {
  readonly channel: InboundChannel;
  readonly remote: string;
  readonly opened: number;
  peer: number;
  lastSequence: number;
  ackDue: number;
  closed: boolean;
  /** The pieces so far of a message too large for a frame (views of the frames that carried them). */
  assembly: { readonly total: number; have: number; parts: Uint8Array[] } | null;
}

const noop = (): void => {};

function statusError(code: grpc.status, details: string): Partial<grpc.StatusObject> & Error {
  return Object.assign(new Error(details), { code, details });
}

export class InboundService {
  private readonly streams = new Set<InboundStream>();
  private readonly byPeer = new Map<number, InboundStream>();
  private readonly ackDue = new Set<InboundStream>();
  private ackTimer: NodeJS.Immediate | null = null;
  private readonly lastRefusalLog = new Map<RefuseReason, { at: number; suppressed: number }>();
  private closed = false;

  constructor(private readonly ctx: InboundContext) {}

  definition(): grpc.ServiceDefinition {
    const method = (path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
      path,
      requestStream,
      responseStream,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    });
    return {
      Stream: method('/chronik.raft.v1.RaftTransport/Stream', true, true),
      InstallSnapshot: method('/chronik.raft.v1.RaftTransport/InstallSnapshot', true, false),
      Request: method('/chronik.raft.v1.RaftTransport/Request', false, false),
    };
  }

  handlers(): grpc.UntypedServiceImplementation {
    return {
      Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.stream(call),
      InstallSnapshot: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => this.installSnapshot(call, callback),
      Request: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => this.request(call, callback),
    };
  }

  /** Ends the stream from a broker that left `peers()`. */
  dropPeer(peer: number): void {
    const s = this.byPeer.get(peer);
    if (s !== undefined) this.end(s, grpc.status.PERMISSION_DENIED, `broker ${peer} is no longer a peer of broker ${this.ctx.settings.nodeId}`);
  }

  /**
   * Ends streams that have not identified themselves within the peer timeout: a real sender's
   * first frame is its opening beat, so such a stream is not a broker.
   */
  sweep(now: number): void {
    for (const s of this.streams) {
      if (s.peer < 0 && now - s.opened > this.ctx.settings.peerTimeoutMs) {
        this.ctx.logger.debug({ remote: s.remote }, `closing a raft stream from ${s.remote} that sent no frame`);
        this.end(s, grpc.status.DEADLINE_EXCEEDED, 'no frame within the peer timeout');
      }
    }
  }

  /** Ends every inbound stream (the transport is closing). */
  close(): void {
    this.closed = true;
    if (this.ackTimer !== null) clearImmediate(this.ackTimer);
    this.ackTimer = null;
    for (const s of [...this.streams]) this.end(s, grpc.status.UNAVAILABLE, `broker ${this.ctx.settings.nodeId} is shutting down`);
  }

  // ------------------------------------------------------------------ checks

  private check(id: Identity): Refusal | null {
    const { nodeId, clusterId } = this.ctx.settings;
    if (id.clusterId !== clusterId) {
      return { reason: 'cluster_id', code: grpc.status.FAILED_PRECONDITION, detail: `sender is in cluster "${id.clusterId}", this is cluster "${clusterId}"` };
    }
    if (id.toNode !== nodeId) {
      return { reason: 'wrong_destination', code: grpc.status.FAILED_PRECONDITION, detail: `addressed to broker ${id.toNode}, this is broker ${nodeId}` };
    }
    if (id.fromNode === nodeId || !this.ctx.isPeer(id.fromNode)) {
      return { reason: 'unknown_sender', code: grpc.status.PERMISSION_DENIED, detail: `broker ${id.fromNode} is not a peer of broker ${nodeId}` };
    }
    return null;
  }

  private malformed(e: unknown, what: string, bytes: number): Refusal {
    return { reason: 'malformed', code: grpc.status.INVALID_ARGUMENT, detail: `corrupt ${what} (${bytes} bytes): ${e instanceof Error ? e.message : String(e)}` };
  }

  private count(r: Refusal, remote: string, what: string): void {
    this.ctx.metrics.refused.labels(r.reason).inc();
    const now = this.ctx.now();
    const last = this.lastRefusalLog.get(r.reason);
    // A misconfigured peer redials every second or so; one line per reason every 10 s is enough.
    if (last !== undefined && now - last.at < 10_000) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.lastRefusalLog.set(r.reason, { at: now, suppressed: 0 });
    this.ctx.logger.warn(
      { remote, reason: r.reason, suppressed },
      `refusing ${what} from ${remote}: ${r.detail}${suppressed > 0 ? ` (${suppressed} similar refusals not logged)` : ''}`,
    );
  }

  // ------------------------------------------------------------------ Stream

  private stream(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const channel: InboundChannel = {
      remote: call.getPeer(),
      write: (ack) => void call.write(ack),
      end: () => void call.end(),
      fail: (code, details) => void call.emit('error', statusError(code, details)),
    };
    const h = this.open(channel);
    call.on('data', (buf: Buffer) => h.frame(buf));
    // The sender half-closed: finish ours too.
    call.on('end', () => h.senderEnded());
    call.on('cancelled', () => h.closed());
    call.on('close', () => h.closed());
    call.on('error', noop);
  }

  /** A stream over either wire (gRPC above, TCP in tcp-stream.ts). */
  open(channel: InboundChannel): InboundHandlers & { senderEnded(): void } {
    const s: InboundStream = { channel, remote: channel.remote, opened: this.ctx.now(), peer: -1, lastSequence: 0, ackDue: 0, closed: false, assembly: null };
    if (this.closed) {
      channel.fail(grpc.status.UNAVAILABLE, 'shutting down');
      return { frame: noop, closed: noop, senderEnded: noop };
    }
    this.streams.add(s);
    return {
      frame: (buf) => this.onFrame(s, buf),
      closed: () => this.forget(s),
      senderEnded: () => this.end(s, grpc.status.OK, 'stream ended by sender'),
    };
  }

  /** Counts and logs a TCP connection that is not a raft stream (its hello is wrong). */
  refuseConnection(remote: string, detail: string): void {
    this.count({ reason: 'malformed', code: grpc.status.INVALID_ARGUMENT, detail }, remote, 'connection');
  }

  private onFrame(s: InboundStream, buf: Buffer): void {
    if (s.closed) return;
    const ctx = this.ctx;
    let batch;
    try {
      batch = ctx.codec.decodeBatch(buf);
    } catch (e) {
      this.refuse(s, this.malformed(e, 'frame', buf.length));
      return;
    }
    if (s.peer < 0) {
      const r = this.check(batch);
      if (r !== null) {
        this.refuse(s, r);
        return;
      }
      s.peer = batch.fromNode;
      const older = this.byPeer.get(s.peer);
      this.byPeer.set(s.peer, s);
      if (older !== undefined) this.end(older, grpc.status.ABORTED, 'superseded by a newer stream from the same broker');
    } else if (batch.fromNode !== s.peer) {
      this.refuse(s, { reason: 'sender_changed', code: grpc.status.INVALID_ARGUMENT, detail: `stream of broker ${s.peer} carried a frame from broker ${batch.fromNode}` });
      return;
    } else if (batch.clusterId !== ctx.settings.clusterId || batch.toNode !== ctx.settings.nodeId) {
      const r = this.check(batch);
      if (r !== null) {
        this.refuse(s, r);
        return;
      }
    }
    if (batch.sequence <= s.lastSequence) {
      this.refuse(s, { reason: 'malformed', code: grpc.status.INVALID_ARGUMENT, detail: `sequence ${batch.sequence} does not follow ${s.lastSequence}` });
      return;
    }
    s.lastSequence = batch.sequence;
    // Checked before anything of the frame is delivered: a refusal ends the stream.
    let joined: Message | null = null;
    if (batch.part !== undefined && batch.part !== null) {
      const r = this.addPart(s, batch.part);
      if (r === 'refused') return;
      joined = r;
    }
    const label = String(s.peer);
    ctx.metrics.bytesReceived.labels(label).inc(buf.length);
    ctx.metrics.framesReceived.labels(label).inc();
    if (batch.messages.length > 0) ctx.deliver(s.peer, batch.messages as Message[]);
    if (joined !== null) ctx.deliver(s.peer, [joined]);
    if (batch.quiescedGroups.length > 0 || batch.wokenGroups.length > 0) {
      ctx.signals(s.peer, { quiesced: batch.quiescedGroups, woken: batch.wokenGroups });
    }
    s.ackDue = batch.sequence;
    this.ackDue.add(s);
    // One cumulative acknowledgement per stream per turn.
    this.ackTimer ??= setImmediate(() => this.flushAcks());
  }

  /**
   * Takes one piece of a message sent in pieces: the message once it is whole, null while more
   * are due, 'refused' if the piece broke the rules (the stream is then ended). Only a stream
   * that has named its sender gets here, and it holds at most one message's pieces, so what a
   * peer can make this broker hold is bounded by maxMessageBytes per peer.
   */
  private addPart(s: InboundStream, p: MessagePart): Message | null | 'refused' {
    const limit = this.ctx.settings.maxMessageBytes;
    if (p.totalBytes > limit) {
      this.refuse(s, { reason: 'too_large', code: grpc.status.RESOURCE_EXHAUSTED, detail: `a message of ${p.totalBytes} bytes exceeds the limit of ${limit}` });
      return 'refused';
    }
    const a = s.assembly;
    if (p.data.length === 0) return this.refusePart(s, 'an empty message part');
    if (a === null && p.offset !== 0) return this.refusePart(s, `a message part at ${p.offset} without the ones before it`);
    if (a !== null && (p.totalBytes !== a.total || p.offset !== a.have)) {
      return this.refusePart(s, `a message part at ${p.offset} of ${p.totalBytes} bytes does not follow ${a.have} of ${a.total} bytes`);
    }
    if (p.offset + p.data.length > p.totalBytes) {
      return this.refusePart(s, `a message part of ${p.data.length} bytes at ${p.offset} runs past its ${p.totalBytes} bytes`);
    }
    const cur = a ?? { total: p.totalBytes, have: 0, parts: [] };
    cur.parts.push(p.data);
    cur.have += p.data.length;
    if (cur.have < cur.total) {
      s.assembly = cur;
      return null;
    }
    s.assembly = null;
    const whole = cur.parts.length === 1 ? (cur.parts[0] as Uint8Array) : Buffer.concat(cur.parts, cur.total);
    try {
      return this.ctx.codec.decodeMessage(whole);
    } catch (e) {
      this.refuse(s, this.malformed(e, 'message in parts', cur.total));
      return 'refused';
    }
  }

  private refusePart(s: InboundStream, detail: string): 'refused' {
    this.refuse(s, { reason: 'malformed', code: grpc.status.INVALID_ARGUMENT, detail });
    return 'refused';
  }

  private flushAcks(): void {
    this.ackTimer = null;
    for (const s of this.ackDue) {
      if (!s.closed) s.channel.write(this.ctx.codec.encodeAck(s.ackDue));
    }
    this.ackDue.clear();
  }

  private refuse(s: InboundStream, r: Refusal): void {
    this.count(r, s.peer >= 0 ? `broker ${s.peer} (${s.remote})` : s.remote, 'raft stream');
    this.end(s, r.code, r.detail);
  }

  private end(s: InboundStream, code: grpc.status, detail: string): void {
    if (s.closed) return;
    this.forget(s);
    if (code === grpc.status.OK) s.channel.end();
    else s.channel.fail(code, detail);
  }

  private forget(s: InboundStream): void {
    s.closed = true;
    s.assembly = null;
    this.streams.delete(s);
    this.ackDue.delete(s);
    if (s.peer >= 0 && this.byPeer.get(s.peer) === s) this.byPeer.delete(s.peer);
  }

  // ------------------------------------------------------------------ InstallSnapshot

  private installSnapshot(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const ctx = this.ctx;
    const remote = call.getPeer();
    let peer = -1;
    let header: Message | null = null;
    // Chunks are kept as views and joined once at the end: memory grows with what actually
    // arrived, never with what a first chunk merely claims.
    let parts: Uint8Array[] = [];
    let received = 0;
    let total = 0;
    let done = false;
    const fail = (r: Refusal): void => {
      if (done) return;
      done = true;
      parts = [];
      this.count(r, peer >= 0 ? `broker ${peer} (${remote})` : remote, 'snapshot transfer');
      callback(statusError(r.code, r.detail));
    };
    const bad = (detail: string): Refusal => ({ reason: 'bad_snapshot', code: grpc.status.INVALID_ARGUMENT, detail });
    call.on('data', (raw: Buffer) => {
      if (done) return;
      let c;
      try {
        c = ctx.codec.decodeChunk(raw);
      } catch (e) {
        fail(this.malformed(e, 'snapshot chunk', raw.length));
        return;
      }
      const r = this.check(c);
      if (r !== null) return fail(r);
      if (peer < 0) peer = c.fromNode;
      else if (c.fromNode !== peer) return fail({ reason: 'sender_changed', code: grpc.status.INVALID_ARGUMENT, detail: `chunk from broker ${c.fromNode} in a transfer from broker ${peer}` });
      if (header === null) {
        const h = c.header;
        if (h === null || h.type !== MessageType.InstallSnapshot || h.snapshot === null) return fail(bad('the first chunk carries no InstallSnapshot header'));
        if (c.totalBytes > ctx.settings.maxSnapshotBytes) {
          return fail(bad(`snapshot of ${c.totalBytes} bytes exceeds the limit of ${ctx.settings.maxSnapshotBytes}`));
        }
        header = h;
        total = c.totalBytes;
      } else if (c.header !== null) {
        return fail(bad('a header after the first chunk'));
      }
      if (c.offset !== received || received + c.data.length > total) {
        return fail(bad(`chunk at offset ${c.offset} of ${c.data.length} bytes does not follow ${received} of ${total} bytes`));
      }
      if (c.data.length > 0) parts.push(c.data);
      received += c.data.length;
      ctx.metrics.bytesReceived.labels(String(peer)).inc(raw.length);
      if (!c.last) return;
      if (received !== total) return fail(bad(`last chunk at ${received} of ${total} bytes`));
      done = true;
      const snap = header.snapshot as NonNullable<Message['snapshot']>;
      const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, total);
      parts = [];
      const m: Message = { ...header, snapshot: { index: snap.index, term: snap.term, conf: snap.conf, data } };
      ctx.deliver(peer, [m]);
      callback(null, ctx.codec.encodeReceipt(true, ''));
    });
    call.on('end', () => {
      if (!done) fail(bad(`transfer ended after ${received} of ${total} bytes`));
    });
    call.on('cancelled', () => {
      done = true;
      parts = [];
    });
    call.on('error', noop);
  }

  // ------------------------------------------------------------------ Request

  private request(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const ctx = this.ctx;
    const remote = call.getPeer();
    let req;
    try {
      req = ctx.codec.decodeRequest(call.request);
    } catch (e) {
      const r = this.malformed(e, 'request', call.request.length);
      this.count(r, remote, 'request');
      callback(statusError(r.code, r.detail));
      return;
    }
    const r = this.check(req);
    if (r !== null && !(r.reason === 'unknown_sender' && ctx.settings.openRequestKinds.has(req.kind))) {
      this.count(r, remote, 'request');
      callback(statusError(r.code, r.detail));
      return;
    }
    const handler = ctx.onRequest;
    if (handler === null) {
      callback(statusError(grpc.status.UNIMPLEMENTED, `broker ${ctx.settings.nodeId} serves no requests`));
      return;
    }
    ctx.metrics.bytesReceived.labels(String(req.fromNode)).inc(call.request.length);
    let answer: Promise<Uint8Array>;
    try {
      answer = handler(req.kind, req.payload, req.fromNode);
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (payload) => {
        if (!(payload instanceof Uint8Array)) {
          callback(statusError(grpc.status.INTERNAL, `the ${req.kind} handler returned no bytes`));
          return;
        }
        callback(null, ctx.codec.encodeResponse(payload));
      },
      (e: unknown) => callback(statusError(grpc.status.UNKNOWN, e instanceof Error ? e.message : String(e))),
    );
  }
}

/**
 * One peer as seen by the sender: the `Stream` call this broker opens to it, the messages waiting
 * for it, the frames it has not acknowledged yet, its snapshot transfers and unary requests.
 *
 * Lifecycle: dial (a fresh gRPC client per attempt, at the address `peers()` gives now, so a
 * half-open connection or a moved peer never lingers) -> write an opening beat -> up at its
 * acknowledgement -> frames and beats -> on a call error, an unacknowledged stretch longer than
 * the peer timeout, or a bad acknowledgement: down, then redial after a backoff delay. Queued
 * messages survive a redial; unacknowledged frames do not (Raft retries).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import { MessageType, type Message } from '../../raft/types.js';
import { backoffDelay } from './backoff.js';
import { writeBatch, writeBatchParts, writeMessageAlone } from './batch-writer.js';
import { batchEntryCost, batchHeaderSize, messageSize, type Identity, type MessagePart, type RaftCodec } from './codec.js';
import type { DropReason, TransportMetrics } from './metrics.js';
import type { TransportSettings } from './settings.js';
import { dialTcpStream, type FrameStream, type FrameStreamEvents } from './tcp-stream.js';
import { PeerRequestError, type GroupSignals, type PeerAddress } from './types.js';

export const SERVICE_PATH = '/chronik.raft.v1.RaftTransport';
export const STREAM_PATH = `${SERVICE_PATH}/Stream`;
export const SNAPSHOT_PATH = `${SERVICE_PATH}/InstallSnapshot`;
export const REQUEST_PATH = `${SERVICE_PATH}/Request`;

/** The codec does the (de)serialising; gRPC moves bytes. */
export const passThrough = (b: Buffer): Buffer => b;

/** What a link needs from its transport. */
export interface LinkContext {
  readonly settings: TransportSettings;
  readonly codec: RaftCodec;
  readonly metrics: TransportMetrics;
  readonly logger: Logger;
  readonly random: () => number;
  /** The peer's current address, or undefined if `peers()` no longer lists it. */
  address(peer: number): PeerAddress | undefined;
  /** The link's stream became usable or was lost. */
  peerState(peer: number, up: boolean): void;
  snapshotFailed(peer: number, message: Message, reason: string): void;
  /** Asks for `flush()` after this turn. */
  scheduleFlush(link: PeerLink): void;
  now(): number;
}

interface Queued {
  readonly message: Message;
  /** Bytes the message adds to a frame. */
  readonly cost: number;
  /** Too large for a frame: it goes in pieces. */
  readonly large: boolean;
}

/** A message too large for a frame, on its way in pieces (raft.proto MessagePart). */
interface LargeSend {
  readonly message: Message;
  readonly bytes: Buffer;
  /** Bytes of `bytes` written on the current stream. */
  sent: number;
}

/** Upper bound of what a MessagePart adds to a frame beyond its data (tags, lengths, offsets). */
const PART_OVERHEAD = 32;

interface Inflight {
  readonly sequence: number;
  readonly bytes: number;
}

const noop = (): void => {};

export function grpcTarget(a: PeerAddress): string {
  return a.host.includes(':') && !a.host.startsWith('[') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function channelOptions(s: TransportSettings): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': s.grpcMessageLimit,
    'grpc.max_send_message_length': s.grpcMessageLimit,
    // Our own frames are not replayable: a retry buffer would only hold copies.
    'grpc.enable_retries': 0,
    // A private subchannel per client, so a fresh client really makes a fresh connection rather
    // than inheriting a shared one stuck in gRPC's own (much longer) backoff.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.initial_reconnect_backoff_ms': s.reconnectMinMs,
    'grpc.max_reconnect_backoff_ms': s.reconnectMaxMs,
    'grpc-node.flow_control_window': s.receiveWindowBytes,
  };
}

function whole(frame: Buffer): { readonly parts: Buffer[]; readonly length: number } {
  return { parts: [frame], length: frame.length };
}

function grpcStream(client: grpc.Client, events: FrameStreamEvents): FrameStream {
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(STREAM_PATH, passThrough, passThrough, new grpc.Metadata(), {});
  call.on('data', (buf: Buffer) => events.ack(buf));
  call.on('status', (st: grpc.StatusObject) => events.ended(`${grpc.status[st.code] ?? st.code}: ${st.details}`));
  // Failures arrive as 'status' too; without a listener an 'error' would throw.
  call.on('error', noop);
  return {
    gathers: false,
    write: (parts, length) => void call.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length)),
    cork: noop,
    uncork: noop,
    cancel: () => call.cancel(),
  };
}

export class PeerLink {
  private readonly label: string;
  private readonly identity: Identity;
  private readonly queueGauge: Gauge.Internal<'peer'>;
  private readonly bytesSent: Counter.Internal;
  private readonly framesSent: Counter.Internal;

  private queue: Queued[] = [];
  private head = 0;
  private queueBytes = 0;
  /** Whether a large message is queued or being sent (one at a time). */
  private largePending = false;
  /** Bytes of the large message not yet written on the current stream. */
  private largeBytes = 0;
  private sending: LargeSend | null = null;
  /** Messages of the group in `sending` queued after it: they follow it once it is through. */
  private held: Queued[] = [];
  private readonly quiesced = new Set<number>();
  private readonly woken = new Set<number>();

  private address: PeerAddress;
  private client: grpc.Client | null = null;
  private call: FrameStream | null = null;
  private connected = false;
  private sequence = 0;
  private acked = 0;
  private inflight: Inflight[] = [];
  private inflightBytes = 0;
  private lastHeard = 0;
  private lastWritten = 0;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private unreachableLogged = false;
  private lastTooLargeLog = -Infinity;
  private closed = false;

  private readonly pendingSnapshots = new Map<number, Message>();
  private snapshotCall: grpc.ClientWritableStream<Buffer> | null = null;
  private readonly requests = new Set<grpc.ClientUnaryCall>();

  constructor(
    readonly peer: number,
    address: PeerAddress,
    private readonly ctx: LinkContext,
  ) {
    this.address = address;
    this.label = String(peer);
    this.identity = { fromNode: ctx.settings.nodeId, toNode: peer, clusterId: ctx.settings.clusterId };
    const m = ctx.metrics;
    this.queueGauge = m.queueBytes.labels(this.label);
    this.bytesSent = m.bytesSent.labels(this.label);
    this.framesSent = m.framesSent.labels(this.label);
    this.queueGauge.set(0);
    m.peerUp.labels(this.label).set(0);
  }

  get up(): boolean {
    return this.connected;
  }

  start(): void {
    this.dial();
  }

  // ------------------------------------------------------------------ sending

  /** Queues messages (or starts their snapshot transfer); false if any was dropped. */
  enqueue(messages: readonly Message[]): boolean {
    const s = this.ctx.settings;
    let ok = true;
    let queued = false;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Message;
      const size = messageSize(m);
      if (size >= 0 && m.type === MessageType.InstallSnapshot && m.snapshot !== null && m.snapshot.data.length > s.snapshotChunkBytes) {
        this.queueSnapshot(m);
        continue;
      }
      if (size < 0) {
        this.logThrottled(`dropping a malformed raft message (type ${String(m.type)}, group ${String(m.group)}) for broker ${this.peer}`);
        this.drop('invalid', m);
        ok = false;
        continue;
      }
      const cost = batchEntryCost(size);
      if (cost + batchHeaderSize(this.identity, Number.MAX_SAFE_INTEGER, [], []) > s.maxFrameBytes) {
        if (size > s.maxMessageBytes) {
          this.logThrottled(
            `dropping a raft message (type ${m.type}, group ${m.group}) for broker ${this.peer}: ${size} bytes exceeds the message limit of ${s.maxMessageBytes}`,
          );
          this.drop('too_large', m);
          ok = false;
          continue;
        }
        // Its encoded copy is held until it is through, so one at a time bounds what a slow
        // peer costs; Raft sends it again.
        if (this.largePending) {
          this.drop('queue_full', m);
          ok = false;
          continue;
        }
        this.largePending = true;
        this.largeBytes = size;
        this.queue.push({ message: m, cost, large: true });
        queued = true;
        continue;
      }
      if (this.queueBytes + cost > s.maxQueueBytesPerPeer) {
        this.drop('queue_full', m);
        ok = false;
        continue;
      }
      this.queue.push({ message: m, cost, large: false });
      this.queueBytes += cost;
      queued = true;
    }
    if (queued) this.ctx.scheduleFlush(this);
    return ok;
  }

  addSignals(signals: Partial<GroupSignals>): void {
    // A group signalled both ways before the frame leaves keeps the later signal.
    for (const g of signals.quiesced ?? []) {
      this.woken.delete(g);
      this.quiesced.add(g);
    }
    for (const g of signals.woken ?? []) {
      this.quiesced.delete(g);
      this.woken.add(g);
    }
    this.ctx.scheduleFlush(this);
  }

  /** Writes what the window allows. */
  flush(): void {
    const call = this.call;
    if (call === null || !this.connected) {
      this.queueGauge.set(this.queueBytes + this.largeBytes);
      return;
    }
    const s = this.ctx.settings;
    call.cork();
    while (this.head < this.queue.length || this.sending !== null || this.quiesced.size > 0 || this.woken.size > 0) {
      if (this.inflightBytes > 0 && this.inflightBytes >= s.maxInflightBytesPerPeer) break;
      if (this.sending === null && this.head < this.queue.length && (this.queue[this.head] as Queued).large) {
        const q = this.queue[this.head++] as Queued;
        this.sending = { message: q.message, bytes: writeMessageAlone(q.message), sent: 0 };
      }
      const sending = this.sending;
      const quiesced = [...this.quiesced];
      const woken = [...this.woken];
      this.quiesced.clear();
      this.woken.clear();
      const signalsOnly = quiesced.length > 0 || woken.length > 0;
      let size = batchHeaderSize(this.identity, this.sequence + 1, quiesced, woken);
      // Beside a piece, other groups' messages take at most half a frame: they keep moving (one
      // large batch must not hold up every group's heartbeats) and so does the piece.
      const limit = sending === null ? s.maxFrameBytes : Math.floor(s.maxFrameBytes / 2);
      const messages: Message[] = [];
      while (this.head < this.queue.length) {
        const q = this.queue[this.head] as Queued;
        if (sending !== null && q.message.group === sending.message.group) {
          this.held.push(q);
          this.head++;
          continue;
        }
        // It starts in a frame of its own, after everything queued before it.
        if (q.large) break;
        // The first message always fits a frame without signals (checked when queued); with
        // signals or a piece it may not, and then those go first.
        if (size + q.cost > limit && (messages.length > 0 || signalsOnly || sending !== null)) break;
        messages.push(q.message);
        size += q.cost;
        this.queueBytes -= q.cost;
        this.head++;
      }
      let part: MessagePart | null = null;
      if (sending !== null) {
        const n = Math.min(s.maxFrameBytes - size - PART_OVERHEAD, sending.bytes.length - sending.sent);
        if (n > 0) {
          part = { totalBytes: sending.bytes.length, offset: sending.sent, data: sending.bytes.subarray(sending.sent, sending.sent + n) };
          sending.sent += n;
          this.largeBytes -= n;
        }
      }
      this.writeFrame(call, messages, quiesced, woken, part);
      if (sending !== null && sending.sent === sending.bytes.length) this.largeSent();
    }
    call.uncork();
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.queueGauge.set(this.queueBytes + this.largeBytes);
  }

  /** The last piece is written: what its group queued meanwhile goes next. */
  private largeSent(): void {
    this.sending = null;
    this.largePending = false;
    this.largeBytes = 0;
    if (this.held.length > 0) {
      this.queue = this.held.concat(this.queue.slice(this.head));
      this.head = 0;
      this.held = [];
    }
  }

  /** A stream broke: a message in pieces starts again on the next one (its receiver forgot them). */
  private restartLarge(): void {
    if (this.sending === null) return;
    this.largeBytes += this.sending.sent;
    this.sending.sent = 0;
  }

  private writeFrame(call: FrameStream, messages: Message[], quiesced: number[], woken: number[], part: MessagePart | null = null): void {
    const sequence = ++this.sequence;
    const batch = { ...this.identity, sequence, messages, quiescedGroups: quiesced, wokenGroups: woken, part };
    const frame = call.gathers ? writeBatchParts(batch) : whole(writeBatch(batch));
    const length = frame.length;
    this.inflight.push({ sequence, bytes: length });
    this.inflightBytes += length;
    this.lastWritten = this.ctx.now();
    this.bytesSent.inc(length);
    this.framesSent.inc();
    call.write(frame.parts, length);
  }

  private drop(reason: DropReason, m: Message): void {
    this.ctx.metrics.dropped.labels(this.label, reason).inc();
    if (m.type === MessageType.InstallSnapshot && reason !== 'superseded') this.ctx.snapshotFailed(this.peer, m, reason);
  }

  private logThrottled(line: string): void {
    const now = this.ctx.now();
    if (now - this.lastTooLargeLog < 1000) return;
    this.lastTooLargeLog = now;
    this.ctx.logger.error({ peer: this.peer }, line);
  }

  // ------------------------------------------------------------------ the stream

  private dial(): void {
    if (this.closed) return;
    const address = this.ctx.address(this.peer);
    if (address === undefined) {
      // Left peers(); the transport removes this link on its next look at peers().
      this.scheduleRedial();
      return;
    }
    this.address = address;
    // The previous client stays open until now so requests made during the backoff can still
    // use it; a new attempt always starts on a new connection.
    this.client?.close();
    const client = new grpc.Client(grpcTarget(address), grpc.credentials.createInsecure(), channelOptions(this.ctx.settings));
    this.client = client;
    const call = this.openStream(client, address);
    this.call = call;
    this.connected = false;
    this.sequence = 0;
    this.acked = 0;
    this.inflight = [];
    this.inflightBytes = 0;
    this.restartLarge();
    this.lastHeard = this.ctx.now();
    this.writeFrame(call, [], [], []);
  }

  /** Opens the stream over the configured wire; events of a stream already replaced are ignored. */
  private openStream(client: grpc.Client, address: PeerAddress): FrameStream {
    const box: { stream: FrameStream | null } = { stream: null };
    const events = {
      ack: (buf: Buffer): void => {
        if (box.stream !== null && box.stream === this.call) this.onAck(buf);
      },
      ended: (reason: string): void => {
        if (box.stream !== null && box.stream === this.call) this.lost(reason);
      },
    };
    // Neither wire reports anything before this returns (connecting is asynchronous).
    box.stream = this.ctx.settings.stream === 'tcp' ? dialTcpStream(address, 1024, events) : grpcStream(client, events);
    return box.stream;
  }

  private onAck(buf: Buffer): void {
    let sequence: number;
    try {
      sequence = this.ctx.codec.decodeAck(buf);
    } catch (e) {
      this.lost(`corrupt acknowledgement: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (sequence > this.sequence || sequence < this.acked) {
      this.lost(`acknowledgement of sequence ${sequence}, but ${this.acked}..${this.sequence} are outstanding`);
      return;
    }
    this.acked = sequence;
    let i = 0;
    while (i < this.inflight.length && (this.inflight[i] as Inflight).sequence <= sequence) {
      this.inflightBytes -= (this.inflight[i] as Inflight).bytes;
      i++;
    }
    if (i > 0) this.inflight.splice(0, i);
    this.lastHeard = this.ctx.now();
    if (!this.connected) {
      this.connected = true;
      this.attempts = 0;
      this.ctx.logger.info({ peer: this.peer, address: grpcTarget(this.address) }, `raft stream to broker ${this.peer} established`);
      this.unreachableLogged = false;
      this.ctx.metrics.peerUp.labels(this.label).set(1);
      this.ctx.peerState(this.peer, true);
      this.pumpSnapshots();
    }
    if (this.head < this.queue.length || this.sending !== null || this.quiesced.size > 0 || this.woken.size > 0) this.ctx.scheduleFlush(this);
  }

  /** The current call is finished: report down if it was up, then redial. */
  private lost(reason: string): void {
    const call = this.call;
    if (call === null) return;
    this.call = null;
    call.cancel();
    this.inflight = [];
    this.inflightBytes = 0;
    this.restartLarge();
    const log = this.ctx.logger;
    const where = grpcTarget(this.address);
    if (this.connected) {
      this.connected = false;
      log.warn({ peer: this.peer, address: where, reason }, `raft stream to broker ${this.peer} lost: ${reason}`);
      this.ctx.metrics.peerUp.labels(this.label).set(0);
      this.ctx.peerState(this.peer, false);
    } else if (!this.unreachableLogged) {
      this.unreachableLogged = true;
      log.warn({ peer: this.peer, address: where, reason }, `cannot open a raft stream to broker ${this.peer} at ${where}: ${reason} (retrying with backoff)`);
    } else {
      log.debug({ peer: this.peer, address: where, reason }, `raft stream to broker ${this.peer} still failing: ${reason}`);
    }
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    if (this.closed || this.reconnectTimer !== null) return;
    const s = this.ctx.settings;
    const delay = backoffDelay(this.attempts++, s.reconnectMinMs, s.reconnectMaxMs, this.ctx.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Once per beat interval: liveness, then a beat on an idle stream. */
  tick(now: number): void {
    const call = this.call;
    if (call === null) return;
    const s = this.ctx.settings;
    if (now - this.lastHeard > s.peerTimeoutMs) {
      this.lost(`nothing acknowledged for ${Math.round(now - this.lastHeard)} ms`);
      return;
    }
    if (this.connected && now - this.lastWritten >= s.beatIntervalMs * 0.9) this.writeFrame(call, [], [], []);
  }

  /** `peers()` now gives `address`: a moved peer is redialled there. */
  updateAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.ctx.logger.info({ peer: this.peer, from: grpcTarget(this.address), to: grpcTarget(address) }, `broker ${this.peer} moved; redialling`);
    if (this.call !== null) this.lost('peer address changed');
  }

  // ------------------------------------------------------------------ snapshots

  private queueSnapshot(m: Message): void {
    const waiting = this.pendingSnapshots.get(m.group);
    if (waiting !== undefined) this.drop('superseded', waiting);
    this.pendingSnapshots.set(m.group, m);
    this.pumpSnapshots();
  }

  /** Starts the next waiting transfer if none is running and the peer is up. */
  private pumpSnapshots(): void {
    if (this.closed || this.snapshotCall !== null || !this.connected || this.client === null) return;
    const next = this.pendingSnapshots.entries().next();
    if (next.done === true) return;
    const [group, m] = next.value;
    this.pendingSnapshots.delete(group);
    this.transfer(this.client, m);
  }

  private transfer(client: grpc.Client, m: Message): void {
    const s = this.ctx.settings;
    const data = (m.snapshot as NonNullable<Message['snapshot']>).data;
    const total = data.length;
    const started = this.ctx.now();
    const call = client.makeClientStreamRequest<Buffer, Buffer>(
      SNAPSHOT_PATH,
      passThrough,
      passThrough,
      new grpc.Metadata(),
      { deadline: Date.now() + s.snapshotTimeoutMs },
      (err: grpc.ServiceError | null, res?: Buffer) => {
        if (this.snapshotCall === call) this.snapshotCall = null;
        if (this.closed) return;
        let failure: string | null = err ? `${grpc.status[err.code] ?? err.code}: ${err.details}` : null;
        if (failure === null) {
          try {
            const receipt = this.ctx.codec.decodeReceipt(res ?? Buffer.alloc(0));
            if (!receipt.accepted) failure = `refused: ${receipt.error || 'no reason given'}`;
          } catch (e) {
            failure = e instanceof Error ? e.message : String(e);
          }
        }
        const fields = { peer: this.peer, group: m.group, bytes: total, ms: Math.round(this.ctx.now() - started) };
        if (failure !== null) {
          this.ctx.logger.warn({ ...fields, reason: failure }, `snapshot of group ${m.group} (${total} bytes) to broker ${this.peer} failed: ${failure}`);
          this.drop('snapshot_failed', m);
        } else {
          this.ctx.logger.info(fields, `snapshot of group ${m.group} (${total} bytes) sent to broker ${this.peer}`);
        }
        this.pumpSnapshots();
      },
    );
    call.on('error', noop);
    this.snapshotCall = call;
    let offset = 0;
    const pump = (): void => {
      while (offset < total) {
        if (this.snapshotCall !== call) return;
        const end = Math.min(total, offset + s.snapshotChunkBytes);
        const chunk = this.ctx.codec.encodeChunk({
          ...this.identity,
          header: offset === 0 ? m : null,
          offset,
          data: data.subarray(offset, end),
          last: end === total,
          totalBytes: offset === 0 ? total : 0,
        });
        offset = end;
        this.bytesSent.inc(chunk.length);
        // Respect gRPC's buffer so a large snapshot is not encoded into memory all at once.
        if (!call.write(chunk)) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    };
    pump();
  }

  // ------------------------------------------------------------------ requests

  request(kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const client = this.client;
    if (client === null || this.closed) return Promise.reject(new PeerRequestError('unavailable', `broker ${this.peer} is not connected`));
    const frame = this.ctx.codec.encodeRequest({ ...this.identity, kind, payload });
    if (frame.length > this.ctx.settings.grpcMessageLimit) {
      return Promise.reject(new PeerRequestError('refused', `request ${kind} to broker ${this.peer}: ${frame.length} bytes exceeds the limit`));
    }
    this.bytesSent.inc(frame.length);
    return new Promise<Uint8Array>((resolve, reject) => {
      const call = client.makeUnaryRequest<Buffer, Buffer>(
        REQUEST_PATH,
        passThrough,
        passThrough,
        frame,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: Buffer) => {
          this.requests.delete(call);
          if (err) {
            reject(this.requestError(kind, timeoutMs, err));
            return;
          }
          try {
            resolve(this.ctx.codec.decodeResponse(res ?? Buffer.alloc(0)));
          } catch (e) {
            reject(new PeerRequestError('remote', `request ${kind} to broker ${this.peer}: ${e instanceof Error ? e.message : String(e)}`));
          }
        },
      );
      this.requests.add(call);
    });
  }

  private requestError(kind: string, timeoutMs: number, err: grpc.ServiceError): PeerRequestError {
    const what = `request ${kind} to broker ${this.peer}`;
    const code = err.code;
    if (this.closed) return new PeerRequestError('closed', `${what}: the transport was closed`, code);
    switch (code) {
      case grpc.status.DEADLINE_EXCEEDED:
        return new PeerRequestError('deadline', `${what}: no answer within ${timeoutMs} ms`, code);
      case grpc.status.UNAVAILABLE:
      case grpc.status.CANCELLED:
        return new PeerRequestError('unavailable', `${what}: broker unavailable (${err.details})`, code);
      case grpc.status.FAILED_PRECONDITION:
      case grpc.status.PERMISSION_DENIED:
      case grpc.status.INVALID_ARGUMENT:
      case grpc.status.UNIMPLEMENTED:
      case grpc.status.RESOURCE_EXHAUSTED:
        return new PeerRequestError('refused', `${what} refused: ${err.details}`, code);
      default:
        return new PeerRequestError('remote', `${what} failed: ${err.details}`, code);
    }
  }

  // ------------------------------------------------------------------ closing

  /** Stops the link. `dropReason` counts what was still queued. No callbacks after this. */
  close(dropReason: DropReason): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const wasUp = this.connected;
    this.connected = false;
    const call = this.call;
    this.call = null;
    call?.cancel();
    const snapshot = this.snapshotCall;
    this.snapshotCall = null;
    snapshot?.cancel();
    for (const r of this.requests) r.cancel();
    this.requests.clear();
    const left = this.queue.length - this.head + this.held.length + (this.sending !== null ? 1 : 0);
    if (left > 0) this.ctx.metrics.dropped.labels(this.label, dropReason).inc(left);
    if (this.pendingSnapshots.size > 0) this.ctx.metrics.dropped.labels(this.label, dropReason).inc(this.pendingSnapshots.size);
    this.pendingSnapshots.clear();
    this.queue = [];
    this.head = 0;
    this.queueBytes = 0;
    this.held = [];
    this.sending = null;
    this.largePending = false;
    this.largeBytes = 0;
    this.inflight = [];
    this.inflightBytes = 0;
    this.queueGauge.set(0);
    this.ctx.metrics.peerUp.labels(this.label).set(0);
    this.client?.close();
    this.client = null;
    if (wasUp && dropReason === 'peer_removed') this.ctx.peerState(this.peer, false);
  }
}

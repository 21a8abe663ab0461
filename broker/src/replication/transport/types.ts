/**
 * The broker-to-broker Raft transport: the contract the replication host programs against.
 *
 * Wire: gRPC (`proto/raft.proto`, service `chronik.raft.v1.RaftTransport`). Node ids here are the
 * brokers' Kafka node ids (>= 0), not the Raft replica ids inside the messages, which the
 * transport carries without reading.
 *
 * THE CONTRACT
 * - Streams. Each transport opens one long-lived `Stream` call to every peer that `peers()` lists
 *   and sends only on it; what a peer sends us arrives on the call it opened to us. All groups'
 *   messages share that stream.
 * - Batching. Messages handed to `send()` during one event-loop turn leave together, one frame
 *   (RaftBatch) per destination, after the turn (setImmediate). A frame is at most
 *   `maxFrameBytes`; more is split over several frames, in order.
 * - Large messages. A message too large for a frame (an append carrying a record batch of more
 *   than about `maxFrameBytes`), up to `maxMessageBytes`, goes in pieces over consecutive frames
 *   (RaftBatch.part) and is delivered once, whole, when its last piece arrives. One such message
 *   per peer is on its way at a time (another one meanwhile is dropped as `queue_full`); the
 *   frames carrying its pieces also carry other groups' messages, while later messages of its
 *   own group wait for it, so every group's messages keep their order. A receiver holds the
 *   pieces of at most one message per stream, and refuses one announced above its own
 *   `maxMessageBytes` before holding any of it.
 * - Order. The receiver hands each frame's messages to `onMessages` in one call, frames in the
 *   order the sender wrote them. Messages are not retransmitted: what was queued or in flight
 *   when a stream breaks is lost, and Raft's own retries recover. Large snapshots (see below)
 *   travel on their own call and are not ordered with the stream.
 * - Backpressure. The receiver acknowledges frames (cumulatively); a sender keeps at most
 *   `maxInflightBytesPerPeer` unacknowledged and queues the rest, up to `maxQueueBytesPerPeer`.
 *   Beyond that `send()` drops (counted, and reported by its `false` result); a slow or dead peer
 *   never holds memory beyond these bounds and never delays the others.
 * - Liveness. On every connected stream the sender writes a beat (an empty frame) when it has
 *   written nothing for `beatIntervalMs`; the receiver acknowledges it. A stream counts as up from
 *   the first acknowledgement; when nothing has been acknowledged for `peerTimeoutMs` the stream
 *   is torn down and the peer reported down, then re-dialled with exponential backoff and jitter
 *   (`reconnectMinMs`..`reconnectMaxMs`), consulting `peers()` for its address on every attempt.
 *   `onPeerState` fires on each transition.
 * - Group signals. `signal(to, ...)` attaches quiesced/woken group ids to the next frame to that
 *   peer (a beat if nothing else is going); the receiver gets them in `onSignals` after the same
 *   frame's messages. Signals are not dropped by a full queue; a group signalled both ways before
 *   the frame leaves keeps only the later signal.
 * - Refusal. A receiver refuses, counts (`chronik_transport_refused_frames_total{reason}`) and
 *   never delivers a frame from another cluster, from a broker not in its `peers()`, addressed to
 *   another node, or that does not decode; it ends that stream with a gRPC status naming the
 *   reason (which the sender logs) and logs it itself (one line per reason per 10 s). A stream
 *   that sends nothing within `peerTimeoutMs` of opening is closed. Other streams are unaffected.
 *   Keep `clusterId`, `maxFrameBytes`, `maxMessageBytes` and `beatIntervalMs` < `peerTimeoutMs`
 *   the same on every broker.
 * - Snapshots. An InstallSnapshot message whose snapshot data exceeds `snapshotChunkBytes` goes
 *   over the chunked `InstallSnapshot` call (one transfer per peer at a time; a newer snapshot for
 *   the same group replaces a waiting one) and is delivered as one InstallSnapshot message with
 *   its data reassembled. When a snapshot cannot be delivered, `onSnapshotFailed` tells the host
 *   (which calls the core's `reportSnapshotFailure`).
 * - Requests. `request()` makes a unary call to a peer's `onRequest`; it rejects with a
 *   {@link PeerRequestError} whose `code` says why.
 * - Callbacks run on the event loop and must not throw; if one does, the transport logs it and
 *   carries on.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Message } from '../../raft/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Group ids attached to a frame by the host; see the contract above. */
export interface GroupSignals {
  /** Groups whose leader (the sender) stopped heartbeating them: followers need not time out. */
  readonly quiesced: readonly number[];
  /** Groups the sender woke again. */
  readonly woken: readonly number[];
}

export interface RaftTransportOptions {
  /** This broker's Kafka node id (>= 0). */
  readonly nodeId: number;
  /** Frames from another cluster are refused. */
  readonly clusterId: string;
  readonly listenHost: string;
  /** 0 = any free port; `start()` returns the one bound. */
  readonly listenPort: number;
  /**
   * The other brokers and their Raft listeners. Consulted at start, on every (re)connect and once
   * per beat interval (to connect new peers and drop removed ones), and for the first frame of
   * every inbound stream (a sender not listed is refused). May include this node; it is skipped.
   */
  peers(): ReadonlyMap<number, PeerAddress>;
  /** One call per received frame, in order per sending broker. The array is the caller's to keep. */
  onMessages(from: number, messages: Message[]): void;
  /** Group signals a peer attached to a frame, after that frame's messages. */
  onSignals?(from: number, signals: GroupSignals): void;
  /** The stream to `nodeId` became usable (`true`) or was lost (`false`). */
  onPeerState?(nodeId: number, up: boolean): void;
  /** Serves `request()` calls from peers; a rejection is returned to the caller as its message. */
  onRequest?(kind: string, payload: Uint8Array, from: number): Promise<Uint8Array>;
  /** An InstallSnapshot message for `to` was not delivered (dropped, or its transfer failed). */
  onSnapshotFailed?(to: number, message: Message, reason: string): void;
  readonly logger: Logger;
  /** Where the transport registers its metrics; a private registry if omitted. */
  readonly registry?: Registry;
  /**
   * Largest frame sent or accepted (bytes). Default 4 MiB. Must not be smaller on a receiver than
   * on its senders (gRPC refuses the larger messages), so keep it equal cluster-wide.
   */
  readonly maxFrameBytes?: number;
  /**
   * Largest single raft message sent or accepted (bytes), at least `maxFrameBytes`; one larger
   * than a frame travels in pieces (see the contract). It bounds what a peer's stream can make
   * this broker hold. Default 128 MiB.
   */
  readonly maxMessageBytes?: number;
  /** Messages waiting to be written to one peer (bytes). Default 16 MiB. */
  readonly maxQueueBytesPerPeer?: number;
  /** Unacknowledged frames per peer (bytes; at least one frame is always allowed). Default 8 MiB. */
  readonly maxInflightBytesPerPeer?: number;
  /** InstallSnapshot data above this goes chunked, in chunks of this size. Default 1 MiB. */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot data accepted from a peer. Default 256 MiB. */
  readonly maxSnapshotBytes?: number;
  /** Deadline of one whole snapshot transfer. Default 60 s. */
  readonly snapshotTimeoutMs?: number;
  /** Reconnect backoff bounds. Defaults 50 ms and 1 s. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Beat interval on an idle stream. Default 100 ms. */
  readonly beatIntervalMs?: number;
  /** A stream with nothing acknowledged for this long is torn down. Default 1 s. */
  readonly peerTimeoutMs?: number;
  /** HTTP/2 receive window of this listener per stream (see listener.ts). Default 4 MiB. */
  readonly receiveWindowBytes?: number;
  /** proto/raft.proto; found relative to this module by default (or CHRONIK_RAFT_PROTO). */
  readonly protoPath?: string;
  /**
   * Request kinds served even from a broker not in `peers()` (same cluster id still required):
   * a broker joining a running cluster asks to be added before anyone lists it.
   */
  readonly openRequestKinds?: readonly string[];
  /**
   * The wire of the streams this broker opens: 'grpc' (the Stream call) or 'tcp' (a plain TCP
   * connection to the same port, tcp-stream.ts). A listener accepts both, so brokers with
   * different settings interoperate. Snapshots and requests always use gRPC. Default 'tcp': the
   * same frames cost less CPU than through grpc-js and HTTP/2 (README, Benchmarks).
   */
  readonly stream?: 'tcp' | 'grpc';
  /** Jitter source in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

export interface RaftTransport {
  /** Binds the listener and starts dialling peers; resolves to the bound port. */
  start(): Promise<number>;
  /**
   * Queues `messages` for broker `to`; they leave after this turn. Returns false if any of them
   * was dropped (unknown peer, queue full, larger than a frame, transport closed); drops are
   * counted in `chronik_transport_dropped_messages_total{peer,reason}`.
   */
  send(to: number, messages: readonly Message[]): boolean;
  /** Attaches group signals to the next frame to `to`. False if `to` is not a known peer. */
  signal(to: number, signals: Partial<GroupSignals>): boolean;
  /** A unary call to `to`'s `onRequest`. Rejects with {@link PeerRequestError}. */
  request(to: number, kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Whether the stream to `nodeId` is established and acknowledging. */
  peerUp(nodeId: number): boolean;
  /** Stops everything: streams, transfers, requests, the listener. Callbacks stop firing. */
  close(): Promise<void>;
}

export type PeerRequestErrorCode =
  /** `to` is not in `peers()` (or is this node). */
  | 'unknown_peer'
  /** No connection to the peer could be used. */
  | 'unavailable'
  /** No answer within the timeout. */
  | 'deadline'
  /** The peer refused the call itself: other cluster, does not know us, no handler, too large. */
  | 'refused'
  /** The peer's handler failed; the message is its error message. */
  | 'remote'
  /** This transport was closed. */
  | 'closed';

export class PeerRequestError extends Error {
  constructor(
    readonly code: PeerRequestErrorCode,
    message: string,
    /** The gRPC status code, when the failure came from a call. */
    readonly grpcCode?: number,
  ) {
    super(message);
    this.name = 'PeerRequestError';
  }
}

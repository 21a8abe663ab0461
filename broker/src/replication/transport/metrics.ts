/** The transport's Prometheus metrics, registered on the broker's registry (or a private one). */
import { Registry, type Counter, type Gauge } from 'prom-client';
import { counter, gauge } from '../../observability/metrics.js';

export type DropReason =
  /** `to` is not a known peer (or is this node). */
  | 'unknown_peer'
  /** The peer's queue was full. */
  | 'queue_full'
  /** One message larger than `maxMessageBytes`. */
  | 'too_large'
  /** A message with a field that cannot be encoded (negative, fractional, unsafe, unknown type). */
  | 'invalid'
  /** The transport is not running. */
  | 'closed'
  /** The peer left `peers()` while messages were queued for it. */
  | 'peer_removed'
  /** A newer snapshot for the same group replaced a waiting one. */
  | 'superseded'
  /** A chunked snapshot transfer failed or was refused. */
  | 'snapshot_failed';

export type RefuseReason =
  | 'malformed'
  | 'cluster_id'
  | 'unknown_sender'
  | 'wrong_destination'
  /** A stream whose frames change their claimed sender. */
  | 'sender_changed'
  /** A chunked snapshot that breaks the chunking rules or exceeds the size limit. */
  | 'bad_snapshot'
  /** A message in pieces announced larger than `maxMessageBytes`. */
  | 'too_large';

export interface TransportMetrics {
  readonly registry: Registry;
  readonly bytesSent: Counter<'peer'>;
  readonly bytesReceived: Counter<'peer'>;
  readonly framesSent: Counter<'peer'>;
  readonly framesReceived: Counter<'peer'>;
  readonly queueBytes: Gauge<'peer'>;
  readonly dropped: Counter<'peer' | 'reason'>;
  readonly refused: Counter<'reason'>;
  readonly peerUp: Gauge<'peer'>;
}

export function createTransportMetrics(registry: Registry = new Registry()): TransportMetrics {
  return {
    registry,
    bytesSent: counter(registry, 'chronik_transport_bytes_sent_total', 'Raft transport bytes written to a peer (frames, snapshot chunks, requests)', ['peer']),
    bytesReceived: counter(registry, 'chronik_transport_bytes_received_total', 'Raft transport bytes accepted from a peer', ['peer']),
    framesSent: counter(registry, 'chronik_transport_frames_sent_total', 'Raft batches written to a peer, beats included', ['peer']),
    framesReceived: counter(registry, 'chronik_transport_frames_received_total', 'Raft batches accepted from a peer, beats included', ['peer']),
    queueBytes: gauge(registry, 'chronik_transport_queue_bytes', 'Raft message bytes waiting to be written to a peer', ['peer']),
    dropped: counter(registry, 'chronik_transport_dropped_messages_total', 'Raft messages not sent, by peer and reason', ['peer', 'reason']),
    refused: counter(registry, 'chronik_transport_refused_frames_total', 'Frames, chunks and requests refused by this receiver, by reason', ['reason']),
    peerUp: gauge(registry, 'chronik_transport_peer_up', '1 while the stream to a peer is established and acknowledging', ['peer']),
  };
}

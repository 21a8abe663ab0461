/** The transport's options with defaults applied, checked once at construction. */
import type { RaftTransportOptions } from './types.js';

export interface TransportSettings {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly maxFrameBytes: number;
  readonly maxMessageBytes: number;
  readonly maxQueueBytesPerPeer: number;
  readonly maxInflightBytesPerPeer: number;
  readonly snapshotChunkBytes: number;
  readonly maxSnapshotBytes: number;
  readonly snapshotTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly beatIntervalMs: number;
  readonly peerTimeoutMs: number;
  readonly receiveWindowBytes: number;
  /** gRPC's message limit: a frame plus room for a chunk's header or a request's envelope. */
  readonly grpcMessageLimit: number;
  readonly openRequestKinds: ReadonlySet<string>;
  readonly stream: 'tcp' | 'grpc';
}

const MiB = 1024 * 1024;

function positive(name: string, value: number | undefined, dflt: number, min = 1): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`raft transport: ${name} must be an integer >= ${min}, got ${String(value)}`);
  return v;
}

function streamKind(v: unknown): 'tcp' | 'grpc' {
  if (v === 'grpc') return 'grpc';
  if (v === undefined || v === 'tcp') return 'tcp';
  throw new Error(`raft transport: stream must be 'tcp' or 'grpc', got ${String(v)}`);
}

export function resolveSettings(o: RaftTransportOptions): TransportSettings {
  if (!Number.isSafeInteger(o.nodeId) || o.nodeId < 0) throw new Error(`raft transport: nodeId must be an integer >= 0, got ${String(o.nodeId)}`);
  if (typeof o.clusterId !== 'string' || o.clusterId.length === 0) throw new Error('raft transport: clusterId must be a non-empty string');
  if (!Number.isSafeInteger(o.listenPort) || o.listenPort < 0 || o.listenPort > 65535) {
    throw new Error(`raft transport: listenPort must be 0..65535, got ${String(o.listenPort)}`);
  }
  const maxFrameBytes = positive('maxFrameBytes', o.maxFrameBytes, 4 * MiB, 4096);
  const maxMessageBytes = positive('maxMessageBytes', o.maxMessageBytes, Math.max(maxFrameBytes, 128 * MiB), maxFrameBytes);
  const snapshotChunkBytes = positive('snapshotChunkBytes', o.snapshotChunkBytes, Math.min(MiB, Math.floor(maxFrameBytes / 2)));
  if (snapshotChunkBytes > maxFrameBytes / 2) {
    throw new Error(`raft transport: snapshotChunkBytes (${snapshotChunkBytes}) must be at most half of maxFrameBytes (${maxFrameBytes})`);
  }
  const reconnectMinMs = positive('reconnectMinMs', o.reconnectMinMs, 50);
  const reconnectMaxMs = positive('reconnectMaxMs', o.reconnectMaxMs, Math.max(1000, reconnectMinMs), reconnectMinMs);
  const beatIntervalMs = positive('beatIntervalMs', o.beatIntervalMs, 100);
  return {
    nodeId: o.nodeId,
    clusterId: o.clusterId,
    maxFrameBytes,
    maxMessageBytes,
    maxQueueBytesPerPeer: positive('maxQueueBytesPerPeer', o.maxQueueBytesPerPeer, 16 * MiB),
    maxInflightBytesPerPeer: positive('maxInflightBytesPerPeer', o.maxInflightBytesPerPeer, 8 * MiB),
    snapshotChunkBytes,
    maxSnapshotBytes: positive('maxSnapshotBytes', o.maxSnapshotBytes, 256 * MiB),
    snapshotTimeoutMs: positive('snapshotTimeoutMs', o.snapshotTimeoutMs, 60_000),
    reconnectMinMs,
    reconnectMaxMs,
    beatIntervalMs,
    peerTimeoutMs: positive('peerTimeoutMs', o.peerTimeoutMs, Math.max(1000, 3 * beatIntervalMs), beatIntervalMs + 1),
    receiveWindowBytes: positive('receiveWindowBytes', o.receiveWindowBytes, 4 * MiB, 65_535),
    grpcMessageLimit: maxFrameBytes + 64 * 1024,
    openRequestKinds: new Set(o.openRequestKinds ?? []),
    stream: streamKind(o.stream),
  };
}

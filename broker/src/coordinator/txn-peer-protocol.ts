/**
 * What the transaction coordinator and partition leaders say to each other, over the raft
 * transport's unary requests (the path controller requests take): JSON both ways, validated on
 * arrival; a malformed request is answered with INVALID_REQUEST, never thrown at the transport.
 *
 * - `txn.markers` (coordinator -> partition leader; Kafka's WriteTxnMarkers): write these
 *   commit/abort markers; the answer has one error code per (producer, partition), NONE once the
 *   marker is committed there.
 * - `txn.verify` (partition leader -> coordinator; KIP-890's AddPartitionsToTxn verifyOnly):
 *   is this partition in the producer's ongoing transaction? The answer is one error code.
 *
 * Why the raft transport and not the Kafka API: every broker already holds an authenticated
 * (cluster id checked) stream to every other, addressed by node id, with request timeouts and
 * redials; the brokers need no Kafka client of their own, no extra connections, and nothing in
 * ApiVersions advertises an API clients must never call.
 */
import { ErrorCode } from '../kafka/protocol/errors.js';
import type { TopicPartitionRef } from './txn-records.js';

export const TXN_MARKERS_KIND = 'txn.markers';
export const TXN_VERIFY_KIND = 'txn.verify';

export interface MarkerWrite {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
  readonly partitions: readonly TopicPartitionRef[];
}

export interface MarkerResult {
  readonly producerId: number;
  readonly topic: string;
  readonly partition: number;
  readonly code: number;
  readonly message?: string;
}

export interface VerifyRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topic: string;
  readonly partition: number;
}

export interface PeerError {
  readonly code: number;
  readonly message: string;
}

export class PeerProtocolError extends Error {
  override readonly name = 'PeerProtocolError';
}

export function encodeJson(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function parseObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    throw new PeerProtocolError(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PeerProtocolError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function partitionsOf(v: unknown, what: string): TopicPartitionRef[] {
  if (!Array.isArray(v)) throw new PeerProtocolError(`${what}.partitions must be an array`);
  return v.map((p: unknown) => {
    const o = p as { topic?: unknown; partition?: unknown } | null;
    if (typeof o?.topic !== 'string' || !isInt(o.partition)) throw new PeerProtocolError(`${what}.partitions holds a malformed entry`);
    return { topic: o.topic, partition: o.partition };
  });
}

export function decodeMarkerRequest(bytes: Uint8Array): MarkerWrite[] {
  const o = parseObject(bytes, 'txn.markers request');
  if (!Array.isArray(o.markers)) throw new PeerProtocolError('txn.markers request has no markers');
  return o.markers.map((m: unknown, i): MarkerWrite => {
    const x = m as Record<string, unknown> | null;
    const what = `markers[${i}]`;
    if (x === null || typeof x !== 'object') throw new PeerProtocolError(`${what} is not an object`);
    if (!isInt(x.producerId) || x.producerId < 0 || !isInt(x.producerEpoch) || !isInt(x.coordinatorEpoch) || typeof x.commit !== 'boolean') {
      throw new PeerProtocolError(`${what} needs producerId, producerEpoch, coordinatorEpoch and commit`);
    }
    return { producerId: x.producerId, producerEpoch: x.producerEpoch, coordinatorEpoch: x.coordinatorEpoch, commit: x.commit, partitions: partitionsOf(x.partitions, what) };
  });
}

export function decodeMarkerReply(bytes: Uint8Array): MarkerResult[] {
  const o = parseObject(bytes, 'txn.markers reply');
  if (!Array.isArray(o.results)) {
    if (isInt(o.code)) throw new PeerProtocolError(`txn.markers refused: ${String(o.message)}`);
    throw new PeerProtocolError('txn.markers reply has no results');
  }
  return o.results.map((r: unknown): MarkerResult => {
    const x = r as Record<string, unknown> | null;
    if (x === null || !isInt(x.producerId) || typeof x.topic !== 'string' || !isInt(x.partition) || !isInt(x.code)) {
      throw new PeerProtocolError('txn.markers reply holds a malformed result');
    }
    return { producerId: x.producerId, topic: x.topic, partition: x.partition, code: x.code, ...(typeof x.message === 'string' ? { message: x.message } : {}) };
  });
}

export function decodeVerifyRequest(bytes: Uint8Array): VerifyRequest {
  const o = parseObject(bytes, 'txn.verify request');
  if (typeof o.transactionalId !== 'string' || !isInt(o.producerId) || !isInt(o.producerEpoch) || typeof o.topic !== 'string' || !isInt(o.partition)) {
    throw new PeerProtocolError('txn.verify request needs transactionalId, producerId, producerEpoch, topic and partition');
  }
  return { transactionalId: o.transactionalId, producerId: o.producerId, producerEpoch: o.producerEpoch, topic: o.topic, partition: o.partition };
}

export function decodeVerifyReply(bytes: Uint8Array): PeerError {
  const o = parseObject(bytes, 'txn.verify reply');
  if (!isInt(o.code)) throw new PeerProtocolError('txn.verify reply has no code');
  return { code: o.code, message: typeof o.message === 'string' ? o.message : '' };
}

/** The answer to a request that could not be read. */
export function malformed(err: unknown): Uint8Array {
  return encodeJson({ code: ErrorCode.INVALID_REQUEST, message: err instanceof Error ? err.message : String(err) });
}

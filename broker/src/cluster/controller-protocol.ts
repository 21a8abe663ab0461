/**
 * What brokers ask the controller (the metadata group's leader), over the raft transport's
 * unary requests: JSON both ways, validated on arrival. Every broker accepts metadata-changing
 * Kafka requests and forwards them as one of these; the controller validates against the latest
 * image, proposes the records and answers with the entry's index, which the asking broker waits
 * to have applied before it answers its client.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { CreateTopicCommand, RegisterBrokerCommand } from './controller-commands.js';
import type { PartitionStateRecord } from './metadata-records.js';

export const CONTROLLER_REQUEST_KIND = 'controller';
/** The one request a broker not yet known to the cluster may send (see the transport's openRequestKinds). */
export const JOIN_REQUEST_KIND = 'controller.join';

export type PartitionReport = Omit<PartitionStateRecord, 'type'>;

export type ControllerRequest =
  | { readonly op: 'create-topic'; readonly topic: CreateTopicCommand; readonly validateOnly: boolean }
  | { readonly op: 'delete-topic'; readonly name: string }
  | { readonly op: 'create-partitions'; readonly name: string; readonly totalCount: number; readonly validateOnly: boolean }
  | {
      readonly op: 'alter-configs';
      readonly name: string;
      readonly configs: Readonly<Record<string, string | null>>;
      readonly incremental: boolean;
      readonly validateOnly: boolean;
    }
  | { readonly op: 'register-broker'; readonly broker: RegisterBrokerCommand }
  | { readonly op: 'allocate-producer-ids'; readonly nodeId: number }
  | { readonly op: 'report-partitions'; readonly reports: readonly PartitionReport[] }
  | { readonly op: 'set-maintenance'; readonly nodeId: number; readonly maintenance: boolean }
  | AdminRequest;

/** The requests behind the admin service (see admin-operations.ts). */
export type AdminRequest =
  /** A partition leader's report that its committed Raft configuration equals the reassignment's target. */
  | { readonly op: 'complete-reassignment'; readonly topic: string; readonly topicId: string; readonly partition: number; readonly replicas: readonly number[] }
  | { readonly op: 'decommission'; readonly nodeId: number }
  | { readonly op: 'cancel-decommission'; readonly nodeId: number }
  | { readonly op: 'add-broker'; readonly nodeId: number }
  | { readonly op: 'rebalance'; readonly leadersOnly: boolean; readonly maxConcurrentMoves: number }
  | { readonly op: 'rebalance-status' };

export const ADMIN_OPS: readonly AdminRequest['op'][] = ['complete-reassignment', 'decommission', 'cancel-decommission', 'add-broker', 'rebalance', 'rebalance-status'];

export type ControllerReply =
  | { readonly ok: true; readonly index: number; readonly value: unknown }
  | { readonly ok: false; readonly code: number; readonly message: string };

const OPS = new Set<string>([
  'create-topic',
  'delete-topic',
  'create-partitions',
  'alter-configs',
  'register-broker',
  'allocate-producer-ids',
  'report-partitions',
  'set-maintenance',
  ...ADMIN_OPS,
]);

export function encodeControllerMessage(m: ControllerRequest | ControllerReply): Uint8Array {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

function parse(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `${what} is not an object`);
  return v as Record<string, unknown>;
}

/**
 * Decodes a request. Only the envelope is checked here; the controller commands validate the
 * fields that matter and name them in their errors.
 */
export function decodeControllerRequest(bytes: Uint8Array): ControllerRequest {
  const v = parse(bytes, 'controller request');
  if (typeof v['op'] !== 'string' || !OPS.has(v['op'])) throw new KafkaError(ErrorCode.INVALID_REQUEST, `controller request op ${JSON.stringify(v['op'])} is unknown`);
  return v as unknown as ControllerRequest;
}

export function decodeControllerReply(bytes: Uint8Array): ControllerReply {
  const v = parse(bytes, 'controller reply');
  if (v['ok'] === true && typeof v['index'] === 'number') return v as unknown as ControllerReply;
  if (v['ok'] === false && typeof v['code'] === 'number' && typeof v['message'] === 'string') return v as unknown as ControllerReply;
  throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'controller reply has neither a result nor an error');
}

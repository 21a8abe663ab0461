/**
 * What one broker's admin service asks another over the broker transport (request kind
 * `admin`): a leadership transfer or a drain runs on the broker that leads, and the cluster
 * status gathers each broker's own facts (its consumer groups, the high watermarks of the
 * partitions it leads, its log sizes). JSON both ways, checked on arrival.
 */
import { status } from '@grpc/grpc-js';
import { AdminError } from './errors.js';

export const ADMIN_PEER_KIND = 'admin';

export type PeerAdminRequest =
  | {
      readonly op: 'transfer';
      readonly topic: string;
      readonly topicId: string;
      readonly partition: number;
      /** Node id, or -1: the best other in-sync replica. */
      readonly to: number;
      readonly waitMs: number;
    }
  | { readonly op: 'drain'; readonly waitMs: number }
  | { readonly op: 'local-status' };

export interface LocalStatus {
  readonly nodeId: number;
  readonly version: string;
  /** Consumer groups this broker coordinates, with their committed offsets. */
  readonly groups: readonly { readonly groupId: string; readonly offsets: readonly { topic: string; partition: number; offset: number }[] }[];
  /** High watermarks of the partitions this broker leads. */
  readonly highWatermarks: readonly { topic: string; partition: number; hwm: number }[];
  /** Bytes of every partition log this broker holds. */
  readonly logBytes: readonly { topic: string; partition: number; bytes: number }[];
}

export type PeerAdminReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: number; readonly message: string };

const OPS = new Set(['transfer', 'drain', 'local-status']);

export function encodePeer(m: PeerAdminRequest | PeerAdminReply): Uint8Array {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

function parse(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    throw new AdminError(status.INVALID_ARGUMENT, `${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AdminError(status.INVALID_ARGUMENT, `${what} is not an object`);
  return v as Record<string, unknown>;
}

function num(v: Record<string, unknown>, key: string): number {
  const n = v[key];
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new AdminError(status.INVALID_ARGUMENT, `admin peer request field ${key} must be an integer`);
  return n;
}

function text(v: Record<string, unknown>, key: string): string {
  const s = v[key];
  if (typeof s !== 'string') throw new AdminError(status.INVALID_ARGUMENT, `admin peer request field ${key} must be a string`);
  return s;
}

export function decodePeerRequest(bytes: Uint8Array): PeerAdminRequest {
  const v = parse(bytes, 'admin peer request');
  const op = v['op'];
  if (typeof op !== 'string' || !OPS.has(op)) throw new AdminError(status.INVALID_ARGUMENT, `admin peer request op ${JSON.stringify(op)} is unknown`);
  switch (op) {
    case 'transfer':
      return { op, topic: text(v, 'topic'), topicId: text(v, 'topicId'), partition: num(v, 'partition'), to: num(v, 'to'), waitMs: num(v, 'waitMs') };
    case 'drain':
      return { op, waitMs: num(v, 'waitMs') };
    default:
      return { op: 'local-status' };
  }
}

/** The reply's value, or the AdminError it carries. */
export function decodePeerReply(bytes: Uint8Array): unknown {
  const v = parse(bytes, 'admin peer reply');
  if (v['ok'] === true) return v['value'];
  if (v['ok'] === false && typeof v['code'] === 'number' && typeof v['message'] === 'string') throw new AdminError(v['code'] as status, v['message']);
  throw new AdminError(status.INTERNAL, 'admin peer reply has neither a value nor an error');
}

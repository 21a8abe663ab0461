/**
 * Key/value schema of the records the transaction coordinator writes to `__transaction_state`.
 * Our own format, like offsets-records.ts: UTF-8 JSON objects whose first field is `version`;
 * keys are built with a fixed field order so the same transactional id is always the same bytes
 * (compaction keeps the latest value per key).
 *
 *   key   {"version":1,"type":"txn","id":T}
 *   value {"version":1,"producerId":P,"producerEpoch":E,"lastProducerId":P0,"lastProducerEpoch":E0,
 *          "timeoutMs":N,"state":S,"partitions":[[topic,partition],...],"startTimestamp":T0,
 *          "updateTimestamp":T1}
 * A null value (tombstone) deletes an expired transactional id.
 */
import { CoordinatorRecordError } from './offsets-records.js';

export const TXN_STATE_TOPIC = '__transaction_state';
const VERSION = 1;

/** Kafka's transaction states, as DescribeTransactions and ListTransactions name them. */
export const TXN_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'] as const;
export type TxnState = (typeof TXN_STATES)[number];

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface TxnValue {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The id and epoch before the last bump (a retried InitProducerId is recognised by them); -1 when none. */
  readonly lastProducerId: number;
  readonly lastProducerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TxnState;
  readonly partitions: readonly TopicPartitionRef[];
  /** When the ongoing transaction began (-1 when none), on the coordinator's clock. */
  readonly startTimestamp: number;
  readonly updateTimestamp: number;
}

export function encodeTxnKey(transactionalId: string): Buffer {
  return Buffer.from(JSON.stringify({ version: VERSION, type: 'txn', id: transactionalId }), 'utf8');
}

export function encodeTxnValue(v: TxnValue): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: VERSION,
      producerId: v.producerId,
      producerEpoch: v.producerEpoch,
      lastProducerId: v.lastProducerId,
      lastProducerEpoch: v.lastProducerEpoch,
      timeoutMs: v.timeoutMs,
      state: v.state,
      partitions: v.partitions.map((p) => [p.topic, p.partition]),
      startTimestamp: v.startTimestamp,
      updateTimestamp: v.updateTimestamp,
    }),
    'utf8',
  );
}

function parse(buf: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new CoordinatorRecordError(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CoordinatorRecordError(`${what} is not an object`);
  const o = v as Record<string, unknown>;
  if (o.version !== VERSION) throw new CoordinatorRecordError(`${what} has unsupported version ${String(o.version)}`);
  return o;
}

function int(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new CoordinatorRecordError(`transaction value.${field} must be an integer`);
  return v;
}

export function decodeTxnKey(buf: Buffer): string {
  const o = parse(buf, 'transaction key');
  if (o.type !== 'txn' || typeof o.id !== 'string') throw new CoordinatorRecordError('transaction key has no id');
  return o.id;
}

export function decodeTxnValue(buf: Buffer): TxnValue {
  const o = parse(buf, 'transaction value');
  const state = o.state;
  if (typeof state !== 'string' || !(TXN_STATES as readonly string[]).includes(state)) throw new CoordinatorRecordError(`transaction value.state ${String(state)} is unknown`);
  if (!Array.isArray(o.partitions)) throw new CoordinatorRecordError('transaction value.partitions must be an array');
  const partitions = o.partitions.map((p: unknown): TopicPartitionRef => {
    if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'number' || !Number.isInteger(p[1])) {
      throw new CoordinatorRecordError('transaction value.partitions holds a malformed entry');
    }
    return { topic: p[0], partition: p[1] };
  });
  return {
    producerId: int(o, 'producerId'),
    producerEpoch: int(o, 'producerEpoch'),
    lastProducerId: int(o, 'lastProducerId'),
    lastProducerEpoch: int(o, 'lastProducerEpoch'),
    timeoutMs: int(o, 'timeoutMs'),
    state: state as TxnState,
    partitions,
    startTimestamp: int(o, 'startTimestamp'),
    updateTimestamp: int(o, 'updateTimestamp'),
  };
}

/**
 * Transaction markers: the control batches that end a transaction on a partition (KIP-98).
 *
 * A marker is a control, transactional batch of the producer's id and epoch with one control
 * record: key = version (int16, 0) and type (int16: 0 abort, 1 commit); value = version (int16,
 * 0) and the coordinator epoch (int32). Consumers never see it as a record; read_committed
 * consumers use it to stop filtering the producer's aborted data.
 */
import { BatchField, buildRecordBatch, decodeRecords, readInt64 } from './records.js';

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

const CONTROL_KEY_VERSION = 0;
const MARKER_VALUE_VERSION = 0;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export interface TxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
}

/** The marker batch (offsets and leader epoch are stamped when it is appended). */
export function buildTxnMarker(m: TxnMarker, timestamp: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(m.commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(MARKER_VALUE_VERSION, 0);
  value.writeInt32BE(m.coordinatorEpoch, 2);
  return buildRecordBatch({
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
    records: [{ key, value, timestamp }],
  });
}

/**
 * The marker one stored batch (starting at `pos`) is, or null for any other batch (data, the raft
 * membership and compaction-gap control batches, which carry no producer id).
 */
export function parseTxnMarker(batch: Buffer, pos = 0): TxnMarker | null {
  const attributes = batch.readInt16BE(pos + BatchField.attributes);
  if ((attributes & ATTR_CONTROL) === 0 || (attributes & ATTR_TRANSACTIONAL) === 0) return null;
  const producerId = readInt64(batch, pos + BatchField.producerId);
  if (producerId < 0 || (attributes & 0x07) !== 0) return null;
  let key: Buffer | null | undefined;
  let value: Buffer | null | undefined;
  try {
    const r = decodeRecords(batch, pos).records[0];
    key = r?.key;
    value = r?.value;
  } catch {
    return null;
  }
  if (!key || key.length < 4 || key.readInt16BE(0) !== CONTROL_KEY_VERSION) return null;
  const type = key.readInt16BE(2);
  if (type !== CONTROL_TYPE_ABORT && type !== CONTROL_TYPE_COMMIT) return null;
  const coordinatorEpoch = value && value.length >= 6 ? value.readInt32BE(2) : -1;
  return {
    producerId,
    producerEpoch: batch.readInt16BE(pos + BatchField.producerEpoch),
    coordinatorEpoch,
    commit: type === CONTROL_TYPE_COMMIT,
  };
}

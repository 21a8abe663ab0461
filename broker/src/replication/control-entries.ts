/**
 * Raft entries that are not record batches (a new leader's empty entry, membership changes) are
 * stored in the partition log as Kafka control batches, so the segment files stay the one and
 * only raft log and every entry is exactly one batch: raft index i is the i-th batch after the
 * snapshot. Such a batch occupies one Kafka offset, like a transaction marker; clients skip
 * control batches. The record key is the control-record key of the protocol (version int16,
 * type int16); the types used here are Chronik's own, outside the values Kafka assigns.
 */
import { buildRecordBatch, decodeRecords, readBatchHeader } from '../kafka/protocol/records.js';
import { EntryType, type Entry } from '../raft/types.js';

/** A new leader's empty entry (no value). */
export const CONTROL_TYPE_RAFT_NOOP = 100;
/** A membership change; the value is the core's ConfChange encoding. */
export const CONTROL_TYPE_RAFT_CONF = 101;

const CONTROL_KEY_VERSION = 0;

function controlKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/** Whether an entry's data is carried as a record batch of its own (data entries) or wrapped. */
export function isBatchEntry(e: Entry): boolean {
  return e.type === EntryType.Normal && e.data.length > 0;
}

/**
 * The control batch that stores `e` at `offset`. Deterministic (timestamp 0), so every replica
 * writes byte-identical logs.
 */
export function encodeControlEntry(e: Entry, offset: number): Buffer {
  const conf = e.type === EntryType.ConfChange;
  return buildRecordBatch({
    baseOffset: offset,
    partitionLeaderEpoch: e.term,
    isControl: true,
    records: [
      {
        key: controlKey(conf ? CONTROL_TYPE_RAFT_CONF : CONTROL_TYPE_RAFT_NOOP),
        value: conf ? Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length) : null,
        timestamp: 0,
      },
    ],
  });
}

/** The raft control type of a stored batch, or null for any other batch (data, txn markers). */
export function raftControlType(batch: Buffer): number | null {
  const h = readBatchHeader(batch, 0);
  if (!h.isControl || h.recordCount !== 1 || h.compression !== 0) return null;
  const key = decodeRecords(batch, 0).records[0]?.key;
  if (!key || key.length !== 4 || key.readInt16BE(0) !== CONTROL_KEY_VERSION) return null;
  const type = key.readInt16BE(2);
  return type === CONTROL_TYPE_RAFT_NOOP || type === CONTROL_TYPE_RAFT_CONF ? type : null;
}

const EMPTY = new Uint8Array(0);

/** The raft entry a stored batch (one whole batch in `batch`) stands for. */
export function entryFromBatch(batch: Buffer, index: number): Entry {
  const h = readBatchHeader(batch, 0);
  const term = h.partitionLeaderEpoch;
  if (h.isControl) {
    const type = raftControlType(batch);
    if (type === CONTROL_TYPE_RAFT_NOOP) return { term, index, type: EntryType.Normal, data: EMPTY };
    if (type === CONTROL_TYPE_RAFT_CONF) {
      const value = decodeRecords(batch, 0).records[0]?.value;
      if (!value) throw new Error(`raft membership batch at offset ${h.baseOffset} has no value`);
      return { term, index, type: EntryType.ConfChange, data: value };
    }
  }
  return { term, index, type: EntryType.Normal, data: batch };
}

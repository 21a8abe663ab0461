/**
 * How raft entries that are not record batches live in the partition log:
 * - a new leader's empty entry takes no bytes and no offset at all: it is always the first entry
 *   of its term, so the term change in the batches' partitionLeaderEpoch marks it, and the
 *   hard-state journal records it (see partition-raft-storage.ts). Offsets therefore start at 0
 *   and leader changes leave no gaps;
 * - a membership change is a Kafka control batch of its own, so its place among the batches is
 *   in the segment itself. It occupies one Kafka offset, like a transaction marker; clients skip
 *   control batches. The record key is the protocol's control-record key (version int16, type
 *   int16) with a type of Chronik's own, outside the values Kafka assigns.
 */
import { buildRecordBatch, decodeRecords, readBatchHeader } from '../kafka/protocol/records.js';
import { EntryType, type Entry } from '../raft/types.js';

/** A membership change; the value is the core's ConfChange encoding. */
export const CONTROL_TYPE_RAFT_CONF = 101;

const CONTROL_KEY_VERSION = 0;

function controlKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/** Whether an entry's data is a record batch of its own (data entries). */
export function isBatchEntry(e: Entry): boolean {
  return e.type === EntryType.Normal && e.data.length > 0;
}

/** A new leader's empty entry: stored nowhere in the segments. */
export function isNoopEntry(e: Entry): boolean {
  return e.type === EntryType.Normal && e.data.length === 0;
}

/** Kafka offsets an entry occupies: a batch its records, a membership change one, a no-op none. */
export function offsetSpan(e: Entry): number {
  if (isNoopEntry(e)) return 0;
  if (!isBatchEntry(e)) return 1;
  const d = e.data;
  return new DataView(d.buffer, d.byteOffset, d.length).getInt32(23) + 1;
}

/**
 * The control batch that stores membership change `e` at `offset`. Deterministic (timestamp
 * 0), so every replica writes byte-identical logs.
 */
export function encodeConfEntry(e: Entry, offset: number): Buffer {
  if (e.type !== EntryType.ConfChange) throw new Error(`entry ${e.index} is not a membership change`);
  return buildRecordBatch({
    baseOffset: offset,
    partitionLeaderEpoch: e.term,
    isControl: true,
    records: [{ key: controlKey(CONTROL_TYPE_RAFT_CONF), value: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length), timestamp: 0 }],
  });
}

/** The raft control type of a stored batch, or null for any other batch (data, txn markers). */
export function raftControlType(batch: Buffer): number | null {
  const h = readBatchHeader(batch, 0);
  if (!h.isControl || h.recordCount !== 1 || h.compression !== 0) return null;
  const key = decodeRecords(batch, 0).records[0]?.key;
  if (!key || key.length !== 4 || key.readInt16BE(0) !== CONTROL_KEY_VERSION) return null;
  const type = key.readInt16BE(2);
  return type === CONTROL_TYPE_RAFT_CONF ? type : null;
}

const EMPTY = new Uint8Array(0);

/** A no-op entry as the core holds it. */
export function noopEntry(term: number, index: number): Entry {
  return { term, index, type: EntryType.Normal, data: EMPTY };
}

/** The raft entry a stored batch (one whole batch in `batch`) stands for. */
export function entryFromBatch(batch: Buffer, index: number): Entry {
  const h = readBatchHeader(batch, 0);
  const term = h.partitionLeaderEpoch;
  if (h.isControl) {
    const type = raftControlType(batch);
    if (type === CONTROL_TYPE_RAFT_CONF) {
      const value = decodeRecords(batch, 0).records[0]?.value;
      if (!value) throw new Error(`raft membership batch at offset ${h.baseOffset} has no value`);
      return { term, index, type: EntryType.ConfChange, data: value };
    }
  }
  return { term, index, type: EntryType.Normal, data: batch };
}

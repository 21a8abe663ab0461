/**
 * What a partition's raft snapshot carries: no record data, only where the log continues, the
 * Kafka log start offset and the committed producer state (so idempotent retries stay
 * deduplicated on a replica that never saw the batches).
 */
import { ProducerStateTable, type ProducerStateSnapshot } from '../coordinator/producer-state.js';

export interface PartitionSnapshotData {
  /** Kafka offset of the first raft entry after the snapshot. */
  readonly offset: number;
  readonly logStartOffset: number;
  readonly producers: ProducerStateTable;
}

interface Encoded {
  readonly v: 1;
  readonly offset: number;
  readonly logStartOffset: number;
  readonly producers: ProducerStateSnapshot;
}

export function encodePartitionSnapshot(d: PartitionSnapshotData): Uint8Array {
  const body: Encoded = { v: 1, offset: d.offset, logStartOffset: d.logStartOffset, producers: d.producers.snapshot() };
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export function decodePartitionSnapshot(data: Uint8Array): PartitionSnapshotData {
  let v: Partial<Encoded>;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8')) as Partial<Encoded>;
  } catch (err) {
    throw new Error(`partition snapshot is not valid JSON: ${(err as Error).message}`);
  }
  if (v.v !== 1 || !Number.isSafeInteger(v.offset) || !Number.isSafeInteger(v.logStartOffset) || typeof v.producers !== 'object' || v.producers === null) {
    throw new Error('partition snapshot lacks offset, logStartOffset or producers');
  }
  return { offset: v.offset as number, logStartOffset: v.logStartOffset as number, producers: ProducerStateTable.fromSnapshot(v.producers) };
}

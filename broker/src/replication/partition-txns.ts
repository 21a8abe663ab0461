/**
 * What a stored batch does to a partition's producer state, and the producer state a raft
 * snapshot of the partition carries.
 *
 * A data batch with a producer id records its sequences (and, transactional, opens the
 * producer's transaction); a transaction marker closes it. Raft control batches (membership,
 * compaction gaps) carry no producer id and do nothing.
 *
 * A snapshot is taken at a segment boundary below the applied index, while the producer state
 * is the applied one; for sequences that is harmless (replaying a batch the state already covers
 * changes nothing), but the open transactions must be those open AT the snapshot's offset, or a
 * replica replaying from it pairs a marker with the wrong first offset. The partition keeps the
 * transactions closed since its snapshot for that.
 */
import { BatchField, readInt64 } from '../kafka/protocol/records.js';
import { parseTxnMarker, type TxnMarker } from '../kafka/protocol/txn-markers.js';
import type { ProducerStateSnapshot } from '../coordinator/producer-state.js';
import type { ProducerBatchRef } from './producer-state-port.js';

const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export type ProducerEffect = { readonly kind: 'data'; readonly ref: ProducerBatchRef } | { readonly kind: 'marker'; readonly marker: TxnMarker };

/** The producer-state effect of one stored batch, or null when it has none. */
export function producerEffect(bytes: Buffer): ProducerEffect | null {
  const producerId = readInt64(bytes, BatchField.producerId);
  if (producerId < 0) return null;
  const attributes = bytes.readInt16BE(BatchField.attributes);
  if ((attributes & ATTR_CONTROL) !== 0) {
    const marker = parseTxnMarker(bytes);
    return marker === null ? null : { kind: 'marker', marker };
  }
  return {
    kind: 'data',
    ref: {
      producerId,
      producerEpoch: bytes.readInt16BE(BatchField.producerEpoch),
      baseSequence: bytes.readInt32BE(BatchField.baseSequence),
      recordCount: bytes.readInt32BE(BatchField.recordCount),
      isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    },
  };
}

/** A transaction a committed marker closed. */
export interface ClosedTxn {
  readonly producerId: number;
  /** -1 when none was open (an empty transaction). */
  readonly firstOffset: number;
  readonly markerOffset: number;
}

/**
 * The producer state `applied` (a snapshot of the applied state) with each producer's open
 * transaction as it was at `offset`: a transaction closed at or after `offset` that began before
 * it was open there; one that began at or after it was not.
 */
export function producersAt(applied: ProducerStateSnapshot, offset: number, closed: readonly ClosedTxn[]): ProducerStateSnapshot {
  const openAt = new Map<number, number>();
  for (const c of closed) {
    if (c.markerOffset >= offset && c.firstOffset >= 0 && c.firstOffset < offset && !openAt.has(c.producerId)) openAt.set(c.producerId, c.firstOffset);
  }
  return {
    version: applied.version,
    producers: applied.producers.map((p) => {
      const current = p.txnFirstOffset ?? -1;
      const first = openAt.get(p.producerId) ?? (current >= 0 && current < offset ? current : -1);
      return first === current ? p : { ...p, txnFirstOffset: first };
    }),
  };
}

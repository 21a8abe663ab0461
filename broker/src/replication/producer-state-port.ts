/**
 * What a partition needs from the producer-state table (idempotent producer sequence checks).
 * The coordinator's ProducerStateTable satisfies it; the partition depends only on this shape so
 * that either side can change its internals freely.
 */
import type { BatchInfo } from '../log/types.js';

export interface ProducerBatchRef {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  readonly isTransactional: boolean;
  /** Written by the brokers themselves (transactional offset commits): no sequence to check. */
  readonly internal?: boolean;
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

export interface ProducerStatePort {
  check(b: ProducerBatchRef): SequenceCheck;
  record(b: ProducerBatchRef, baseOffset: number, lastOffset: number): void;
  restore(batches: AsyncIterable<BatchInfo>): Promise<void> | void;
}

export type ProducerStateFactory = (topic: string, partition: number) => ProducerStatePort;

/** Durable damage in a partition log, as a read that keeps failing reports it. */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';

/**
 * A stored batch that fails its CRC or framing on every read: durable damage. `offset` is where
 * the intact batches before it end; the replica holding it recovers from there (replica-revival.ts).
 */
export class CorruptStoredBatch extends KafkaError {
  constructor(
    readonly dir: string,
    readonly offset: number,
    message: string,
  ) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, message);
    this.name = 'CorruptStoredBatch';
  }
}

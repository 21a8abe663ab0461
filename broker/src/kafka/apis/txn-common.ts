/** What the transaction APIs share: error codes as each version knows them. */
import { ErrorCode } from '../protocol/errors.js';

/**
 * A coordinator error as a client of `version` understands it: PRODUCER_FENCED (90) came in with
 * the version `fencedSince`, before which clients know it as INVALID_PRODUCER_EPOCH (47);
 * TRANSACTION_ABORTABLE (120, KIP-890) with `abortableSince`, before which INVALID_TXN_STATE (48)
 * says the same: this transaction cannot go on.
 */
export function txnErrorFor(code: number, version: number, fencedSince: number, abortableSince: number): number {
  if (code === ErrorCode.PRODUCER_FENCED && version < fencedSince) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.TRANSACTION_ABORTABLE && version < abortableSince) return ErrorCode.INVALID_TXN_STATE;
  return code;
}

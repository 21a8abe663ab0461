/**
 * EndTxn (26): commits or aborts the producer's transaction. Answered once the decision
 * (PrepareCommit / PrepareAbort) is durable in `__transaction_state`; the markers are written to
 * every partition of the transaction after that; the next transaction's AddPartitionsToTxn waits
 * for them (up to a second, then CONCURRENT_TRANSACTIONS and the client retries). A retried
 * EndTxn of the same outcome succeeds; the other outcome is INVALID_TXN_STATE.
 *
 * Versions: 0-4 (transactions protocol v1: the epoch does not change per transaction, so v5's
 * producer id and epoch in the answer are not served). v2+ know PRODUCER_FENCED
 * (INVALID_PRODUCER_EPOCH before).
 *
 * Errors: INVALID_REQUEST (42), NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS (14),
 * INVALID_PRODUCER_ID_MAPPING (49), PRODUCER_FENCED (90), INVALID_TXN_STATE (48),
 * CONCURRENT_TRANSACTIONS (51).
 */
import { EndTxnRequest, EndTxnResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { txnErrorFor } from './txn-common.js';

export const endTxnApi = defineApi({
  name: 'EndTxn',
  request: EndTxnRequest,
  response: EndTxnResponse,
  versions: { min: 0, max: 4 },
  create: ({ transactions }: Pick<ApiServices, 'transactions'>) => async (req, ctx) => {
    const code = await transactions.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: txnErrorFor(code, ctx.apiVersion, 2, 4), producerId: -1, producerEpoch: -1 };
  },
});

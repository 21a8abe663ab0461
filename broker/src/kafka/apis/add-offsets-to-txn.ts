/**
 * AddOffsetsToTxn (25): the consumer group's `__consumer_offsets` partition joins the producer's
 * transaction, so a TxnOffsetCommit to that group commits or aborts with it (consume-transform-
 * produce exactly once).
 *
 * Versions: v2+ know PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before); v4+ TRANSACTION_ABORTABLE.
 *
 * Errors: INVALID_GROUP_ID (24), INVALID_REQUEST (42), NOT_COORDINATOR (16),
 * COORDINATOR_LOAD_IN_PROGRESS (14), INVALID_PRODUCER_ID_MAPPING (49), PRODUCER_FENCED (90),
 * CONCURRENT_TRANSACTIONS (51).
 */
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { txnErrorFor } from './txn-common.js';

export const addOffsetsToTxnApi = defineApi({
  name: 'AddOffsetsToTxn',
  request: AddOffsetsToTxnRequest,
  response: AddOffsetsToTxnResponse,
  versions: { min: 0, max: 4 },
  create: ({ transactions }: Pick<ApiServices, 'transactions'>) => async (req, ctx) => {
    const code = await transactions.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
    return { throttleTimeMs: 0, errorCode: txnErrorFor(code, ctx.apiVersion, 2, 4) };
  },
});

/**
 * InitProducerId (22): a producer id and epoch for an idempotent or transactional producer.
 *
 * - Without a transactional id every call gets a fresh producer id with epoch 0, from the
 *   controller's blocks, whatever producerId/producerEpoch (v3+) it carries. That is what Kafka
 *   does: epoch bumping exists to fence zombie instances of one transactional id, and an
 *   idempotent producer bumps its epoch on its own (KIP-360). Honouring the fields here would
 *   even be harmful: @platformatic/kafka sends producerId 0 / epoch 0 on first use, so bumping
 *   "its" id would hand several producers the same id. Kafka's validation is kept: exactly one of
 *   producerId/producerEpoch being -1 is INVALID_REQUEST.
 * - With a transactional id the request goes to that id's transaction coordinator
 *   (coordinator/txn-coordinator.ts): a new id gets a producer id with epoch 0, a known one its
 *   epoch bumped, which fences older instances; an ongoing transaction is aborted first
 *   (CONCURRENT_TRANSACTIONS until that is done; clients retry). The transaction timeout must be
 *   within transaction.max.timeout.ms.
 *
 * Versions: v3+ carry the producer id and epoch of a producer asking again; v4+ know
 * PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before); v5+ TRANSACTION_ABORTABLE.
 *
 * Errors: INVALID_REQUEST (42), INVALID_TRANSACTION_TIMEOUT (50), NOT_COORDINATOR (16),
 * COORDINATOR_LOAD_IN_PROGRESS (14), CONCURRENT_TRANSACTIONS (51), PRODUCER_FENCED (90),
 * COORDINATOR_NOT_AVAILABLE (15) when allocation fails.
 */
import { ErrorCode } from '../protocol/errors.js';
import { InitProducerIdRequest, InitProducerIdResponse, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { txnErrorFor } from './txn-common.js';

function reply(errorCode: number, producerId = -1, producerEpoch = -1): ResponseBodyOf<typeof InitProducerIdResponse> {
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
}

export const initProducerIdApi = defineApi({
  name: 'InitProducerId',
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  versions: { min: 0, max: 5 },
  create: ({ producerIds, transactions, logger }: Pick<ApiServices, 'producerIds' | 'transactions' | 'logger'>) => async (req, ctx) => {
    // Before v3 both read as -1.
    if ((req.producerId === -1) !== (req.producerEpoch === -1)) return reply(ErrorCode.INVALID_REQUEST);
    if (req.transactionalId !== null) {
      const expected = req.producerId === -1 ? null : { producerId: req.producerId, producerEpoch: req.producerEpoch };
      const r = await transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected);
      return reply(txnErrorFor(r.errorCode, ctx.apiVersion, 4, 5), r.producerId, r.producerEpoch);
    }
    try {
      return reply(ErrorCode.NONE, await producerIds.allocate(), 0);
    } catch (err) {
      logger.error({ err }, 'producer id allocation failed');
      return reply(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  },
});

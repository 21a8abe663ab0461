/**
 * InitProducerId (22): a producer id for an idempotent producer.
 *
 * - Without a transactional id every call gets a fresh producer id with epoch 0, from the
 *   fsync-backed block allocator, whatever producerId/producerEpoch (v3+) it carries. That is
 *   what Kafka does: epoch bumping exists to fence zombie instances of one transactional id, and
 *   an idempotent producer bumps its epoch on its own (KIP-360). Honouring the fields here would
 *   even be harmful: @platformatic/kafka sends producerId 0 / epoch 0 on first use, so bumping
 *   "its" id would hand several producers the same id. Kafka's validation is kept: exactly one of
 *   producerId/producerEpoch being -1 is INVALID_REQUEST.
 * - A non-null transactionalId is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53):
 *   transactions are not implemented, and both kafkajs and librdkafka treat 53 as definitive and
 *   surface it to the application at once, where a "retriable" code would make them retry forever.
 *
 * Versions: v3+ carry the producer id and epoch of a producer asking again.
 *
 * Errors: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), INVALID_REQUEST (42), COORDINATOR_NOT_AVAILABLE
 * (15) when allocation fails.
 */
import { ErrorCode } from '../protocol/errors.js';
import { InitProducerIdRequest, InitProducerIdResponse, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;

function reply(errorCode: number, producerId = -1, producerEpoch = -1): ResponseBodyOf<typeof InitProducerIdResponse> {
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
}

export const initProducerIdApi = defineApi({
  name: 'InitProducerId',
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  versions: { min: 0, max: 5 },
  create: ({ producerIds, logger }: Pick<ApiServices, 'producerIds' | 'logger'>) => async (req, ctx) => {
    if (req.transactionalId !== null) {
      logger.warn({ transactionalId: req.transactionalId, clientId: ctx.clientId }, 'refused InitProducerId: transactions are not supported');
      return reply(TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    // Before v3 both read as -1.
    if ((req.producerId === -1) !== (req.producerEpoch === -1)) return reply(ErrorCode.INVALID_REQUEST);
    try {
      return reply(ErrorCode.NONE, await producerIds.allocate(), 0);
    } catch (err) {
      logger.error({ err }, 'producer id allocation failed');
      return reply(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  },
});

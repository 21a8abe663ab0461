/**
 * InitProducerId (22) 0-5 for idempotent producers.
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
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import type { ProducerIdAllocator } from '../../coordinator/producer-ids.js';

export const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;

export interface ProducerApiDeps {
  readonly producerIds: ProducerIdAllocator;
  readonly logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId: number;
  producerEpoch: number;
}

export function createInitProducerIdHandler(deps: ProducerApiDeps): Handler {
  const reply = (errorCode: number, producerId = -1, producerEpoch = -1): MessageBody =>
    ({ throttleTimeMs: 0, errorCode, producerId, producerEpoch }) as unknown as MessageBody;

  return async (raw, ctx) => {
    const req = raw as unknown as InitProducerIdRequest;
    if (req.transactionalId !== null && req.transactionalId !== undefined) {
      deps.logger.warn({ transactionalId: req.transactionalId, clientId: ctx.clientId }, 'refused InitProducerId: transactions are not supported');
      return reply(TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if (ctx.apiVersion >= 3 && (req.producerId === -1) !== (req.producerEpoch === -1)) {
      return reply(ErrorCode.INVALID_REQUEST);
    }
    try {
      return reply(ErrorCode.NONE, await deps.producerIds.allocate(), 0);
    } catch (err) {
      deps.logger.error({ err }, 'producer id allocation failed');
      return reply(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  };
}

/**
 * InitProducerId (22) 0-5 for idempotent producers.
 *
 * - A fresh producer gets a new id from the fsync-backed block allocator, epoch 0.
 * - v3+ may pass its current producerId/epoch to bump the epoch (KIP-360, after an
 *   UNKNOWN_PRODUCER_ID or a sequence problem): it gets the same id with epoch + 1, or a new id
 *   when the epoch would overflow. An epoch older than one we already handed out for that id is
 *   fenced (PRODUCER_FENCED v4+, INVALID_PRODUCER_EPOCH before). That memory is in-process only:
 *   after a restart any epoch of one of our ids is accepted (transactions, which need durable
 *   fencing, are not implemented).
 * - A non-null transactionalId is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53): both
 *   kafkajs and librdkafka treat it as a definitive, non-retriable failure and surface it to the
 *   application at once, where a "retriable" code would make them retry forever.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import type { ProducerIdAllocator } from '../../coordinator/producer-ids.js';

export const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
const MAX_EPOCH = 32767;

export interface ProducerApiDeps {
  readonly producerIds: ProducerIdAllocator;
  readonly logger: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId: number;
  producerEpoch: number;
}

export function createInitProducerIdHandler(deps: ProducerApiDeps): Handler {
  /** Highest epoch handed out per bumped producer id during this process's life. */
  const epochs = new Map<number, number>();

  const reply = (errorCode: number, producerId = -1, producerEpoch = -1): MessageBody =>
    ({ throttleTimeMs: 0, errorCode, producerId, producerEpoch }) as unknown as MessageBody;

  return async (raw, ctx) => {
    const req = raw as unknown as InitProducerIdRequest;
    const v = ctx.apiVersion;
    if (req.transactionalId !== null && req.transactionalId !== undefined) {
      deps.logger.warn({ transactionalId: req.transactionalId, clientId: ctx.clientId }, 'refused InitProducerId: transactions are not supported');
      return reply(TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    const pid = v >= 3 ? req.producerId : -1;
    const epoch = v >= 3 ? req.producerEpoch : -1;
    if (pid === -1 && epoch === -1) {
      const id = await deps.producerIds.allocate();
      return reply(ErrorCode.NONE, id, 0);
    }
    if (pid < 0 || epoch < 0 || epoch > MAX_EPOCH) {
      return reply(ErrorCode.INVALID_REQUEST);
    }
    if (!deps.producerIds.mayHaveIssued(pid)) return reply(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const known = epochs.get(pid);
    // The same request again (its answer was lost): hand out the same bumped epoch.
    if (known !== undefined && epoch === known - 1) return reply(ErrorCode.NONE, pid, known);
    if (known !== undefined && epoch < known) {
      return reply(v >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
    }
    if (epoch + 1 >= MAX_EPOCH) {
      epochs.delete(pid);
      const id = await deps.producerIds.allocate();
      return reply(ErrorCode.NONE, id, 0);
    }
    epochs.set(pid, epoch + 1);
    deps.logger.debug({ producerId: pid, epoch: epoch + 1 }, 'bumped producer epoch');
    return reply(ErrorCode.NONE, pid, epoch + 1);
  };
}

/**
 * Produce (0): appends magic-2 record batches. Each partition succeeds or fails on its own; the
 * partition validates CRC, sizes and producer sequences under its lock, and answers after the
 * fsync for acks=1 and acks=-1 (a quorum once partitions replicate). acks=0 gets no response;
 * its failures are only logged. Unknown topics are created when auto.create.topics.enable says so.
 *
 * Versions: only those that carry magic-2 record batches, the one format the log stores.
 *
 * Transactional batches need the request's transactionalId; the partition checks them against
 * the producer's open transaction and, when they would open one, with the transaction
 * coordinator (KIP-890: the partition must have been added with AddPartitionsToTxn).
 *
 * Errors, per partition: INVALID_REQUIRED_ACKS (21), INVALID_REQUEST (42) for transactional
 * batches without a transactionalId, INVALID_TXN_STATE (48) for a batch that does not fit the
 * producer's transaction, TRANSACTION_ABORTABLE (120) / INVALID_PRODUCER_ID_MAPPING (49) /
 * PRODUCER_FENCED (90) when the coordinator disowns it, UNKNOWN_TOPIC_OR_PARTITION (3), INVALID_TOPIC_EXCEPTION (17) for
 * internal topics, NOT_LEADER_OR_FOLLOWER (6), CORRUPT_MESSAGE (2), REQUEST_TIMED_OUT (7), and what
 * the partition refuses a batch with (MESSAGE_TOO_LARGE 10, OUT_OF_ORDER_SEQUENCE_NUMBER 45,
 * INVALID_PRODUCER_EPOCH 47, ...).
 */
import { isReservedInternalTopic } from '../../cluster/topic-names.js';
import type { Acks } from '../../replication/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ProduceRequest, ProduceResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { errorOutcome, withTimeout } from './data-common.js';

type TopicProduceResponse = ElementOf<ResponseBodyOf<typeof ProduceResponse>['responses']>;
type PartitionProduceResponse = ElementOf<TopicProduceResponse['partitionResponses']>;

function failed(index: number, code: number, message: string | null): PartitionProduceResponse {
  return { index, errorCode: code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: message };
}

/**
 * A verification refusal as the produce's version knows it: Produce reports a fenced epoch as
 * INVALID_PRODUCER_EPOCH in every version (KIP-588), and TRANSACTION_ABORTABLE exists from v11.
 */
function produceErrorFor(code: number, version: number): number {
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.TRANSACTION_ABORTABLE && version < 11) return ErrorCode.INVALID_TXN_STATE;
  return code;
}

function isAcks(acks: number): acks is Acks {
  return acks === -1 || acks === 0 || acks === 1;
}

export const produceApi = defineApi({
  name: 'Produce',
  request: ProduceRequest,
  response: ProduceResponse,
  versions: { min: 3, max: 11 },
  create: ({ cluster, logger }: Pick<ApiServices, 'cluster' | 'logger'>) => {
    /** Creates the topic on first use when auto.create.topics.enable allows it. */
    async function ensureTopic(name: string): Promise<void> {
      if (cluster.topic(name)) return;
      if (!cluster.autoCreateTopics()) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
      try {
        await cluster.createTopic({ name, partitions: -1, replicationFactor: -1, configs: {} });
      } catch (err) {
        // Another request created it first: that is what we wanted.
        if (!(err instanceof KafkaError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
      }
    }

    async function produceOne(
      topic: string,
      index: number,
      records: Buffer | null,
      acks: Acks,
      timeoutMs: number,
      transactionalId: string | null,
      version: number,
    ): Promise<PartitionProduceResponse> {
      try {
        const partition = cluster.partition(topic, index);
        if (!partition) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${index} of topic '${topic}' does not exist`);
        if (!records || records.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Produce to ${topic}-${index} carries no records`);
        // A replica that does not lead refuses in append, once it knows who does (or leads itself
        // by then): refused at once mid-election, a client would ask for metadata too early.
        const r = await withTimeout(partition.append(records, acks, { transactionalId }), timeoutMs, `Produce to ${topic}-${index}`);
        return {
          index,
          errorCode: ErrorCode.NONE,
          baseOffset: r.baseOffset,
          logAppendTimeMs: r.logAppendTime,
          logStartOffset: partition.logStartOffset(),
          recordErrors: [],
          errorMessage: null,
        };
      } catch (err) {
        const e = errorOutcome(err, logger, `Produce to ${topic}-${index}`);
        return failed(index, produceErrorFor(e.code, version), e.message);
      }
    }

    return async (req, ctx) => {
      const acks = req.acks;
      const topicErrors = new Map<string, { code: number; message: string }>();
      if (isAcks(acks)) {
        await Promise.all(
          req.topicData.map(async (t) => {
            if (topicErrors.has(t.name)) return;
            try {
              // Internal topics are written by the broker itself; a client batch there would be
              // replayed as coordinator state (Kafka refuses these too). Checked before creating,
              // so a client cannot create one as an ordinary topic either.
              if (isReservedInternalTopic(t.name) || cluster.topic(t.name)?.internal) {
                topicErrors.set(t.name, { code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: `Cannot append to internal topic ${t.name}` });
                return;
              }
              await ensureTopic(t.name);
            } catch (err) {
              topicErrors.set(t.name, errorOutcome(err, logger, `Creating topic ${t.name}`));
            }
          }),
        );
      }

      const responses: TopicProduceResponse[] = await Promise.all(
        req.topicData.map(async (t) => ({
          name: t.name,
          partitionResponses: await Promise.all(
            t.partitionData.map((p) => {
              if (!isAcks(acks)) return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
              const te = topicErrors.get(t.name);
              if (te) return failed(p.index, te.code, te.message);
              return produceOne(t.name, p.index, p.records, acks, req.timeoutMs, req.transactionalId, ctx.apiVersion);
            }),
          ),
        })),
      );

      if (acks === 0) {
        // Nothing is sent back for acks=0; failures can only be logged.
        for (const t of responses) {
          for (const p of t.partitionResponses) {
            if (p.errorCode !== ErrorCode.NONE) {
              logger.debug({ topic: t.name, partition: p.index, code: p.errorCode, connection: ctx.connectionId }, p.errorMessage ?? 'acks=0 produce failed');
            }
          }
        }
        return null;
      }
      return { responses, throttleTimeMs: 0 };
    };
  },
});

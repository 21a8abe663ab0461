/**
 * Produce (api key 0), versions 3-11: magic-2 record batches only. Each partition succeeds or
 * fails on its own; the partition validates CRC, sizes and producer sequences under its lock.
 */
import type { ProduceRequest as ProduceRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Acks } from '../../replication/types.js';
import type { Handler, MessageBody, RequestContext } from '../server/handler.js';
import { asBody, asRequest, errorOutcome, withTimeout, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
}
/** Breaks the build if the ProduceRequest definition stops decoding into this shape. */
type ProduceRequestChecked = Expect<DecodesAs<BodyOf<typeof ProduceRequestDef>, ProduceRequest>>;

interface PartitionProduceResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

interface ProduceResponse {
  responses: { name: string; partitionResponses: PartitionProduceResponse[] }[];
  throttleTimeMs: number;
}

function failed(index: number, code: number, message: string | null): PartitionProduceResponse {
  return { index, errorCode: code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: message };
}

export function createProduceHandler(deps: DataDeps): Handler {
  const { cluster, logger } = deps;

  /** Creates the topic on first use when auto.create.topics.enable allows it; false if unknown. */
  async function ensureTopic(name: string): Promise<void> {
    if (cluster.topic(name)) return;
    if (!cluster.autoCreateTopics()) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
    }
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
  ): Promise<PartitionProduceResponse> {
    try {
      const partition = cluster.partition(topic, index);
      if (!partition) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${index} of topic '${topic}' does not exist`);
      }
      if (!partition.isLeader()) {
        throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This broker does not lead ${topic}-${index}`);
      }
      if (!records || records.length === 0) {
        throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Produce to ${topic}-${index} carries no records`);
      }
      const r = await withTimeout(partition.append(records, acks), timeoutMs, `Produce to ${topic}-${index}`);
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
      return failed(index, e.code, e.message);
    }
  }

  return async (body: MessageBody, ctx: RequestContext): Promise<MessageBody | null> => {
    const req = asRequest<ProduceRequest>(body);
    const acks = req.acks;
    const validAcks = acks === -1 || acks === 0 || acks === 1;
    const topicErrors = new Map<string, { code: number; message: string }>();

    if (validAcks && req.transactionalId !== null) {
      for (const t of req.topicData) {
        topicErrors.set(t.name, {
          code: ErrorCode.INVALID_TXN_STATE,
          message: 'Transactional produce is not supported by Chronik yet',
        });
      }
    }
    if (validAcks) {
      await Promise.all(
        req.topicData.map(async (t) => {
          if (topicErrors.has(t.name)) return;
          try {
            await ensureTopic(t.name);
            // Internal topics are written by the broker itself; a client batch there would be
            // replayed as coordinator state (Kafka refuses these too).
            if (cluster.topic(t.name)?.internal) {
              topicErrors.set(t.name, { code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: `Cannot append to internal topic ${t.name}` });
            }
          } catch (err) {
            topicErrors.set(t.name, errorOutcome(err, logger, `Creating topic ${t.name}`));
          }
        }),
      );
    }

    const responses = await Promise.all(
      req.topicData.map(async (t) => ({
        name: t.name,
        partitionResponses: await Promise.all(
          t.partitionData.map((p) => {
            if (!validAcks) {
              return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
            }
            const te = topicErrors.get(t.name);
            if (te) return failed(p.index, te.code, te.message);
            return produceOne(t.name, p.index, p.records, acks as Acks, req.timeoutMs);
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
    const response: ProduceResponse = { responses, throttleTimeMs: 0 };
    return asBody(response);
  };
}

/**
 * AddPartitionsToTxn (24): partitions join the producer's transaction at its coordinator (the
 * first ones start the transaction and its timeout), before the producer writes to them.
 *
 * Versions: v0-3 carry one transaction, from the producer; v4+ carry a batch of transactions
 * and `verifyOnly` (KIP-890): a verify-only transaction changes nothing and is answered NONE per
 * partition already in the ongoing transaction, TRANSACTION_ABORTABLE (v5+; INVALID_TXN_STATE
 * before) for one that is not. v2+ know PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before).
 *
 * Errors, per partition: UNKNOWN_TOPIC_OR_PARTITION (3) for a partition that does not exist (the
 * others of that transaction then get OPERATION_NOT_ATTEMPTED, 55), INVALID_TOPIC_EXCEPTION (17)
 * for internal topics, NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS (14), INVALID_REQUEST
 * (42) for an empty transactional id, INVALID_PRODUCER_ID_MAPPING (49), PRODUCER_FENCED (90),
 * CONCURRENT_TRANSACTIONS (51) when the previous transaction's markers are still being written
 * after the coordinator waited a second for them.
 */
import { isReservedInternalTopic } from '../../cluster/topic-names.js';
import { ErrorCode } from '../protocol/errors.js';
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { txnErrorFor } from './txn-common.js';

type TopicResult = ElementOf<ResponseBodyOf<typeof AddPartitionsToTxnResponse>['resultsByTopicV3AndBelow']>;
interface TopicIn {
  readonly name: string;
  readonly partitions: readonly number[];
}

function results(topics: readonly TopicIn[], code: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })) }));
}

export const addPartitionsToTxnApi = defineApi({
  name: 'AddPartitionsToTxn',
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  versions: { min: 0, max: 5 },
  create: ({ cluster, transactions }: Pick<ApiServices, 'cluster' | 'transactions'>) => {
    /** Partitions that cannot be in a transaction, with why; empty when all can. */
    function refused(topics: readonly TopicIn[]): Map<string, number> {
      const out = new Map<string, number>();
      for (const t of topics) {
        const info = cluster.topic(t.name);
        for (const p of t.partitions) {
          if (isReservedInternalTopic(t.name) || info?.internal === true) out.set(`${t.name}\u0000${p}`, ErrorCode.INVALID_TOPIC_EXCEPTION);
          else if (info === undefined || !Number.isInteger(p) || p < 0 || p >= info.partitions) out.set(`${t.name}\u0000${p}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
      }
      return out;
    }

    async function one(transactionalId: string, producerId: number, producerEpoch: number, topics: readonly TopicIn[], verifyOnly: boolean, version: number): Promise<TopicResult[]> {
      const map = (code: number): number => txnErrorFor(code, version, 2, 5);
      const parts = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
      if (verifyOnly) {
        const codes = transactions.verifyPartitions(transactionalId, producerId, producerEpoch, parts);
        return results(topics, (t, p) => map(codes.get(`${t}\u0000${p}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR));
      }
      const bad = refused(topics);
      if (bad.size > 0) return results(topics, (t, p) => bad.get(`${t}\u0000${p}`) ?? ErrorCode.OPERATION_NOT_ATTEMPTED);
      const code = map(await transactions.addPartitions(transactionalId, producerId, producerEpoch, parts));
      return results(topics, () => code);
    }

    return async (req, ctx) => {
      const v = ctx.apiVersion;
      if (v <= 3) {
        const r = await one(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics, false, v);
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: r };
      }
      const resultsByTransaction = await Promise.all(
        req.transactions.map(async (t) => ({
          transactionalId: t.transactionalId,
          topicResults: await one(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, v),
        })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
    };
  },
});

/**
 * DescribeTransactions (65): the state of transactional ids this broker coordinates (admin
 * clients ask each id's coordinator): state name, timeout, start time, producer id and epoch,
 * and the partitions of the ongoing transaction.
 *
 * Errors, per id: INVALID_REQUEST (42) for an empty id, NOT_COORDINATOR (16),
 * COORDINATOR_LOAD_IN_PROGRESS (14), TRANSACTIONAL_ID_NOT_FOUND (105).
 */
import { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const describeTransactionsApi = defineApi({
  name: 'DescribeTransactions',
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  versions: { min: 0, max: 0 },
  create: ({ transactions }: Pick<ApiServices, 'transactions'>) => (req) => {
    const transactionStates = req.transactionalIds.map((id) => {
      const d = transactions.describe(id);
      const byTopic = new Map<string, number[]>();
      for (const p of d.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      return {
        errorCode: d.errorCode,
        transactionalId: id,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: d.startTimestamp,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
    });
    return Promise.resolve({ throttleTimeMs: 0, transactionStates });
  },
});

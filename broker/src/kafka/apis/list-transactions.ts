/**
 * ListTransactions (66): the transactional ids this broker coordinates (admin clients ask every
 * broker and merge), filtered by state, producer id and (v1+) how long the transaction has been
 * running; state names the coordinator does not know come back in unknownStateFilters.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ListTransactionsRequest, ListTransactionsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const listTransactionsApi = defineApi({
  name: 'ListTransactions',
  request: ListTransactionsRequest,
  response: ListTransactionsResponse,
  versions: { min: 0, max: 1 },
  create: ({ transactions }: Pick<ApiServices, 'transactions'>) => (req) => {
    const r = transactions.list(req.stateFilters, req.producerIdFilters, req.durationFilter);
    return Promise.resolve({
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: r.unknownStates,
      transactionStates: r.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
    });
  },
});

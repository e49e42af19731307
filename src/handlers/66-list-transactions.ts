// ListTransactions (key 66), versions 0-1 (KIP-664; v1 adds the duration filter, KIP-994):
// the transactional ids this broker coordinates, with their producer ids and states, filtered
// by state names (names Kafka does not know are reported back in unknown_state_filters),
// producer ids, and how long a transaction has been running.

import { listTransactionsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const listTransactionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: listTransactionsApi,
  handle(request, context) {
    const listed = context.broker.transactions.list({
      states: request.stateFilters,
      producerIds: request.producerIdFilters,
      durationMs: context.apiVersion >= 1 ? request.durationFilter : -1,
    });
    return {
      throttleTimeMs: 0,
      errorCode: listed.errorCode,
      unknownStateFilters: listed.unknownStates,
      transactionStates: listed.transactions.map((transaction) => ({ transactionalId: transaction.transactionalId, producerId: transaction.producerId, transactionState: transaction.state })),
    };
  },
});

// ListTransactions (key 66), versions 0-1 (KIP-664; v1 adds the duration filter, KIP-994):
// the transactional ids this broker coordinates, with their producer ids and states, filtered
// by state names (names Kafka does not know are reported back in unknown_state_filters),
// producer ids, and how long a transaction has been running. Kafka's check: only the ids the
// principal may DESCRIBE are listed.

import { listTransactionsApi } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const listTransactionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: listTransactionsApi,
  authorizes: true,
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
      transactionStates: listed.transactions.filter((transaction) => context.authorize(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transaction.transactionalId)).map((transaction) => ({ transactionalId: transaction.transactionalId, producerId: transaction.producerId, transactionState: transaction.state })),
    };
  },
});

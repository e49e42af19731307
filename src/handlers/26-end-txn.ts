// EndTxn (key 26), versions 0-4 (5, KIP-890's second part, is unstable in the schemas this
// broker is generated from). Commits or aborts the producer's transaction: the coordinator
// logs PrepareCommit or PrepareAbort, writes the markers to every partition of the
// transaction and logs CompleteCommit or CompleteAbort (coordinator/transaction/). A retry
// of an EndTxn that finished is NONE; the other outcome, or no transaction, INVALID_TXN_STATE.
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v2. Kafka's check: WRITE on the transactional
// id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

import { endTxnApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayWriteTransactionalId } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

const FIRST_PRODUCER_FENCED_VERSION = 2;

export const endTxnHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: endTxnApi,
  authorizes: true,
  async handle(request, context) {
    if (!mayWriteTransactionalId(context, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    const errorCode = await context.broker.transactions.endTxn(request.transactionalId, request.producerId, request.producerEpoch, request.committed);
    return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, context.apiVersion, FIRST_PRODUCER_FENCED_VERSION), producerId: -1, producerEpoch: -1 };
  },
});

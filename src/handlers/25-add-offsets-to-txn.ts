// AddOffsetsToTxn (key 25), versions 0-4. A transactional producer about to commit a
// consumer group's offsets in its transaction (TxnOffsetCommit) first adds the group's
// partition of __consumer_offsets to the transaction, so the COMMIT or ABORT marker reaches
// it too (Kafka's handleAddOffsetsToTxn). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v2.
// Kafka's checks: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then
// READ on the group (GROUP_AUTHORIZATION_FAILED).

import { ErrorCode } from '../protocol/errors.js';
import { addOffsetsToTxnApi } from '../protocol/generated/index.js';
import { OFFSETS_TOPIC } from '../controller/controller.js';
import { mayReadGroup, mayWriteTransactionalId } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

const FIRST_PRODUCER_FENCED_VERSION = 2;

export const addOffsetsToTxnHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: addOffsetsToTxnApi,
  authorizes: true,
  async handle(request, context) {
    const broker = context.broker;
    if (!mayWriteTransactionalId(context, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!mayReadGroup(context, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    if (request.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    const partition = broker.groups.partitionFor(request.groupId);
    const errorCode = await broker.transactions.addPartitions(request.transactionalId, request.producerId, request.producerEpoch, [{ topic: OFFSETS_TOPIC, partition }]);
    return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, context.apiVersion, FIRST_PRODUCER_FENCED_VERSION) };
  },
});

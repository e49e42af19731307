// InitProducerId (key 22), versions 0-4.
// Without a transactional id Kafka always hands out a fresh producer id with epoch 0
// (the id and epoch a v3+ client sends are ignored), and so does Spate. Ids come from
// blocks reserved on disk before use, so they stay unique across restarts and crashes.
// With one, the transaction coordinator answers (coordinator/transaction/): a new id gets a
// producer id at epoch 0, a known one its epoch bumped, fencing the producer that had it.
// Kafka's version rules: a v3+ producer id without an epoch (or the reverse) is
// INVALID_REQUEST; PRODUCER_FENCED, which clients below v4 do not know, is
// INVALID_PRODUCER_EPOCH for them. Kafka's checks: with a transactional id, WRITE on it
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); without, IDEMPOTENT_WRITE on the cluster or WRITE on
// some topic (Kafka 2.8+, KIP-679; CLUSTER_AUTHORIZATION_FAILED otherwise).

import { ErrorCode } from '../protocol/errors.js';
import { initProducerIdApi } from '../protocol/generated/index.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { mayWriteTransactionalId } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

const FIRST_PRODUCER_FENCED_VERSION = 4;
const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;

export const initProducerIdHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: initProducerIdApi,
  authorizes: true,
  async handle(request, context) {
    if (request.transactionalId === null) {
      const mayWrite =
        context.authorize(AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME) || context.authorizeByResourceType(AclOperation.WRITE, ResourceType.TOPIC);
      if (!mayWrite) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
      const producerId = await context.broker.controller.nextProducerId();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    }
    if (!mayWriteTransactionalId(context, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    const producerId = context.apiVersion >= 3 ? request.producerId : NO_PRODUCER_ID;
    const producerEpoch = context.apiVersion >= 3 ? request.producerEpoch : NO_PRODUCER_EPOCH;
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
    }
    const result = await context.broker.transactions.initProducerId({
      transactionalId: request.transactionalId,
      transactionTimeoutMs: request.transactionTimeoutMs,
      producerId,
      producerEpoch,
    });
    const errorCode = fencedForVersion(result.errorCode, context.apiVersion, FIRST_PRODUCER_FENCED_VERSION);
    return { throttleTimeMs: 0, errorCode, producerId: result.producerId, producerEpoch: result.producerEpoch };
  },
});

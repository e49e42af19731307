// DescribeTransactions (key 65), version 0 (KIP-664): for each transactional id this broker
// coordinates, its state by Kafka's name, timeout, start time, producer id and epoch, and the
// partitions of its open transaction. TRANSACTIONAL_ID_NOT_FOUND for an id not known here;
// NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS as the other transaction APIs answer.
// Kafka's checks: DESCRIBE on each transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
// before it is looked up); only the topics the principal may DESCRIBE are listed.

import { describeTransactionsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const describeTransactionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: describeTransactionsApi,
  authorizes: true,
  handle(request, context) {
    const mayDescribe = (transactionalId: string): boolean => context.authorize(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transactionalId);
    const described = context.broker.transactions.describe(request.transactionalIds.filter(mayDescribe));
    let next = 0;
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        if (!mayDescribe(transactionalId)) {
          return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
        }
        const transaction = described[next++]!;
        const byTopic = new Map<string, number[]>();
        for (const { topic, partition } of transaction.partitions) {
          if (!context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, topic)) continue;
          const list = byTopic.get(topic);
          if (list === undefined) byTopic.set(topic, [partition]);
          else list.push(partition);
        }
        return {
          errorCode: transaction.errorCode,
          transactionalId: transaction.transactionalId,
          transactionState: transaction.state,
          transactionTimeoutMs: transaction.timeoutMs,
          transactionStartTimeMs: transaction.startTimeMs,
          producerId: transaction.producerId,
          producerEpoch: transaction.producerEpoch,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        };
      }),
    };
  },
});

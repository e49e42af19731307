// DescribeTransactions (key 65), version 0 (KIP-664): for each transactional id this broker
// coordinates, its state by Kafka's name, timeout, start time, producer id and epoch, and the
// partitions of its open transaction. TRANSACTIONAL_ID_NOT_FOUND for an id not known here;
// NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS as the other transaction APIs answer.

import { describeTransactionsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const describeTransactionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: describeTransactionsApi,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      transactionStates: context.broker.transactions.describe(request.transactionalIds).map((described) => {
        const byTopic = new Map<string, number[]>();
        for (const { topic, partition } of described.partitions) {
          const list = byTopic.get(topic);
          if (list === undefined) byTopic.set(topic, [partition]);
          else list.push(partition);
        }
        return {
          errorCode: described.errorCode,
          transactionalId: described.transactionalId,
          transactionState: described.state,
          transactionTimeoutMs: described.timeoutMs,
          transactionStartTimeMs: described.startTimeMs,
          producerId: described.producerId,
          producerEpoch: described.producerEpoch,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        };
      }),
    };
  },
});

// AddPartitionsToTxn (key 24), versions 0-5. A transactional producer names the partitions
// it is about to write before its first batch to each (KIP-98); the coordinator opens the
// transaction or adds them (coordinator/transaction/). Kafka's answer per partition: one
// this broker does not have is UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED
// (nothing is added); otherwise every partition gets the coordinator's one answer.
// Versions 4+ batch several transactions (Kafka's broker-to-coordinator form, KIP-890, which
// @platformatic/kafka also sends as a client); `verifyOnly` asks whether the partitions are in
// the transaction without adding them (INVALID_TXN_STATE for each one that is not). Kafka
// requires CLUSTER_ACTION for v4+; Spate has no authorizer yet, so any client may send it.

import { ErrorCode } from '../protocol/errors.js';
import { addPartitionsToTxnApi } from '../protocol/generated/index.js';
import type { AddPartitionsToTxnTopic } from '../protocol/generated/add-partitions-to-txn-request.js';
import type { AddPartitionsToTxnTopicResult } from '../protocol/generated/add-partitions-to-txn-response.js';
import type { Encodable } from '../protocol/message.js';
import { defineHandler, type BrokerServices } from './handler.js';
import { fencedForVersion, unknownPartitions } from './txn-errors.js';

const FIRST_PRODUCER_FENCED_VERSION = 2;
const BATCHED_VERSION = 4;

function results(topics: readonly AddPartitionsToTxnTopic[], errorOf: (topic: string, partition: number) => number): Encodable<AddPartitionsToTxnTopicResult>[] {
  return topics.map((topic) => ({
    name: topic.name,
    resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorOf(topic.name, partitionIndex) })),
  }));
}

async function addToTransaction(
  broker: BrokerServices,
  request: { transactionalId: string; producerId: number; producerEpoch: number; topics: readonly AddPartitionsToTxnTopic[]; verifyOnly: boolean },
  apiVersion: number,
): Promise<Encodable<AddPartitionsToTxnTopicResult>[]> {
  const { transactionalId, producerId, producerEpoch, topics } = request;
  if (request.verifyOnly) {
    // The coordinator's own answer (NOT_COORDINATOR when this broker is not the id's): the asking leader maps it for its producer.
    return results(topics, (topic, partition) => broker.transactions.check(transactionalId, producerId, producerEpoch, { topic, partition }).errorCode);
  }
  const unknown = unknownPartitions(broker.partitions, topics);
  const anyUnknown = [...unknown.values()].some((byPartition) => [...byPartition.values()].some((errorCode) => errorCode !== null));
  if (anyUnknown) return results(topics, (topic, partition) => unknown.get(topic)?.get(partition) ?? ErrorCode.OPERATION_NOT_ATTEMPTED);
  const partitions = topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition })));
  const errorCode = fencedForVersion(await broker.transactions.addPartitions(transactionalId, producerId, producerEpoch, partitions), apiVersion, FIRST_PRODUCER_FENCED_VERSION);
  return results(topics, () => errorCode);
}

export const addPartitionsToTxnHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: addPartitionsToTxnApi,
  async handle(request, context) {
    const broker = context.broker;
    if (context.apiVersion < BATCHED_VERSION) {
      const resultsByTopicV3AndBelow = await addToTransaction(
        broker,
        { transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId, producerEpoch: request.v3AndBelowProducerEpoch, topics: request.v3AndBelowTopics, verifyOnly: false },
        context.apiVersion,
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow };
    }
    const resultsByTransaction = await Promise.all(
      request.transactions.map(async (transaction) => ({ transactionalId: transaction.transactionalId, topicResults: await addToTransaction(broker, transaction, context.apiVersion) })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});

// AddPartitionsToTxn (key 24), versions 0-5. A transactional producer names the partitions
// it is about to write before its first batch to each (KIP-98); the coordinator opens the
// transaction or adds them (coordinator/transaction/). Kafka's answer per partition: one
// this broker does not have is UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED
// (nothing is added); otherwise every partition gets the coordinator's one answer.
// Versions 4+ batch several transactions (Kafka's broker-to-coordinator form, KIP-890, which
// @platformatic/kafka also sends as a client); `verifyOnly` asks whether the partitions are in
// the transaction without adding them (INVALID_TXN_STATE for each one that is not).
// Kafka's checks: v0-3, WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for
// every partition), then WRITE on each topic, internal ones never (TOPIC_AUTHORIZATION_FAILED for
// the refused, OPERATION_NOT_ATTEMPTED for the rest: nothing is added); v4+, CLUSTER_ACTION on
// the cluster (CLUSTER_AUTHORIZATION_FAILED for the whole request).

import { ErrorCode } from '../protocol/errors.js';
import { addPartitionsToTxnApi } from '../protocol/generated/index.js';
import type { AddPartitionsToTxnTopic } from '../protocol/generated/add-partitions-to-txn-request.js';
import type { AddPartitionsToTxnTopicResult } from '../protocol/generated/add-partitions-to-txn-response.js';
import type { Encodable } from '../protocol/message.js';
import { OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from '../controller/controller.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { mayClusterAction, mayWriteTransactionalId } from './acl-checks.js';
import { defineHandler, type BrokerServices, type RequestContext } from './handler.js';
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
  /** The topics a client (v0-3) may not write to: WRITE on the topic, never an internal one (Kafka's checks). */
  refusedTopics: ReadonlySet<string> = new Set(),
): Promise<Encodable<AddPartitionsToTxnTopicResult>[]> {
  const { transactionalId, producerId, producerEpoch, topics } = request;
  if (refusedTopics.size > 0) {
    const unknown = unknownPartitions(broker.partitions, topics);
    return results(topics, (topic, partition) => (refusedTopics.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : unknown.get(topic)?.get(partition) ?? ErrorCode.OPERATION_NOT_ATTEMPTED));
  }
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

function refusedTopics(context: RequestContext, topics: readonly AddPartitionsToTxnTopic[]): Set<string> {
  const internal = (name: string): boolean => name === OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC;
  return new Set(topics.map((topic) => topic.name).filter((name) => internal(name) || !context.authorize(AclOperation.WRITE, ResourceType.TOPIC, name)));
}

export const addPartitionsToTxnHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: addPartitionsToTxnApi,
  authorizes: true,
  async handle(request, context) {
    const broker = context.broker;
    if (context.apiVersion < BATCHED_VERSION) {
      const topics = request.v3AndBelowTopics;
      if (!mayWriteTransactionalId(context, request.v3AndBelowTransactionalId)) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results(topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) };
      }
      const resultsByTopicV3AndBelow = await addToTransaction(
        broker,
        { transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId, producerEpoch: request.v3AndBelowProducerEpoch, topics: request.v3AndBelowTopics, verifyOnly: false },
        context.apiVersion,
        refusedTopics(context, topics),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow };
    }
    if (!mayClusterAction(context)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [], resultsByTopicV3AndBelow: [] };
    const resultsByTransaction = await Promise.all(
      request.transactions.map(async (transaction) => ({ transactionalId: transaction.transactionalId, topicResults: await addToTransaction(broker, transaction, context.apiVersion) })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});

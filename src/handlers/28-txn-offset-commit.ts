// TxnOffsetCommit (key 28), versions 0-4. A transactional producer commits a consumer
// group's offsets inside its transaction (KIP-98; KIP-447 adds the member id, generation and
// instance id in v3, so a zombie of a rebalanced group is refused). The group coordinator
// checks the producer's open transaction holds the group's partition of __consumer_offsets
// (AddOffsetsToTxn), then the committer as Kafka's doTxnCommitOffsets does, and writes the
// offsets as the producer's transactional batch; they count once the transaction commits.
// PRODUCER_FENCED, which clients before v3 do not know, is INVALID_PRODUCER_EPOCH for them.
// Kafka's checks: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), READ on
// the group (GROUP_AUTHORIZATION_FAILED), both for every partition; then READ on each topic
// (TOPIC_AUTHORIZATION_FAILED for its partitions, which are not committed).

import { OFFSETS_TOPIC } from '../controller/controller.js';
import { txnOffsetCommitApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { mayReadGroup, mayWriteTransactionalId } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

const FIRST_PRODUCER_FENCED_VERSION = 3;
const FIRST_MEMBER_VERSION = 3;

export const txnOffsetCommitHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: txnOffsetCommitApi,
  authorizes: true,
  async handle(request, context) {
    const broker = context.broker;
    const version = context.apiVersion;
    const requestRefusal = !mayWriteTransactionalId(context, request.transactionalId)
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !mayReadGroup(context, request.groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : null;
    if (requestRefusal !== null) {
      return { throttleTimeMs: 0, topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: requestRefusal })) })) };
    }
    const mayRead = new Map(request.topics.map((topic) => [topic.name, context.authorize(AclOperation.READ, ResourceType.TOPIC, topic.name)]));
    const offsets = request.topics.filter((topic) => mayRead.get(topic.name) === true).flatMap((topic) =>
      topic.partitions.map((partition) => ({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: version >= 2 ? partition.committedLeaderEpoch : -1,
        metadata: partition.committedMetadata,
      })),
    );
    const errors =
      offsets.length === 0
        ? []
        : request.groupId === ''
        ? offsets.map(() => ErrorCode.INVALID_GROUP_ID)
        : await broker.groups.txnCommitOffsets(
            {
              groupId: request.groupId,
              producerId: request.producerId,
              producerEpoch: request.producerEpoch,
              generationId: version >= FIRST_MEMBER_VERSION ? request.generationId : -1,
              memberId: version >= FIRST_MEMBER_VERSION ? request.memberId : '',
              groupInstanceId: version >= FIRST_MEMBER_VERSION ? request.groupInstanceId : null,
              offsets,
            },
            (partition, issue) => broker.transactions.verified(request.transactionalId, request.producerId, request.producerEpoch, { topic: OFFSETS_TOPIC, partition }, issue),
          );
    let index = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: mayRead.get(topic.name) === true ? fencedForVersion(errors[index++]!, version, FIRST_PRODUCER_FENCED_VERSION) : ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
      })),
    };
  },
});

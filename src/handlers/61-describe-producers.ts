// DescribeProducers (key 61), version 0 (KIP-664): the producers each partition's log
// remembers — id, epoch, last sequence and timestamp, the coordinator epoch of its last
// marker, and the first offset of its open transaction (-1: none). What an operator needs to
// find a hanging transaction and abort it with WriteTxnMarkers. Partitions this broker does
// not lead answer NOT_LEADER_OR_FOLLOWER, unknown ones UNKNOWN_TOPIC_OR_PARTITION. Kafka's
// check: READ on the topic (TOPIC_AUTHORIZATION_FAILED, before its existence is looked at).

import { ErrorCode } from '../protocol/errors.js';
import { describeProducersApi } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const describeProducersHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: describeProducersApi,
  authorizes: true,
  async handle(request, context) {
    const partitions = context.broker.partitions;
    const named = new Set<string>();
    const topics = await Promise.all(
      request.topics.map(async (topic) => {
        const mayRead = context.authorize(AclOperation.READ, ResourceType.TOPIC, topic.name);
        const record = partitions.topic(topic.name);
        return {
          name: topic.name,
          partitions: await Promise.all(
            topic.partitionIndexes.map(async (partitionIndex) => {
              // Each answer lists up to limits.producersPerPartitionMax producers: a repeated partition would multiply them.
              const key = `${topic.name}\u0000${partitionIndex}`;
              if (named.has(key)) return { partitionIndex, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'the partition is named more than once', activeProducers: [] };
              named.add(key);
              if (!mayRead) return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
              if (record === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
              const described = await partitions.describeProducers(record, partitionIndex);
              return { partitionIndex, errorCode: described.errorCode, errorMessage: null, activeProducers: described.producers.map((producer) => ({ ...producer })) };
            }),
          ),
        };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});

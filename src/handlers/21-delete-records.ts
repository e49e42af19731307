// DeleteRecords (key 21), versions 0-2: advances a partition's log start offset to the
// given offset (-1: the high watermark). Segments wholly below it are deleted at once;
// consumers below it get OFFSET_OUT_OF_RANGE and ListOffsets earliest follows. An
// offset above the high watermark (or below 0, other than -1) is OFFSET_OUT_OF_RANGE.
// Kafka's check: DELETE on the topic (TOPIC_AUTHORIZATION_FAILED, before its existence is
// looked at).

import { ErrorCode } from '../protocol/errors.js';
import type { DeleteRecordsPartitionResult } from '../protocol/generated/delete-records-response.js';
import { deleteRecordsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const deleteRecordsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: deleteRecordsApi,
  authorizes: true,
  async handle(request, context) {
    const partitionLayer = context.broker.partitions;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const mayDelete = context.authorize(AclOperation.DELETE, ResourceType.TOPIC, wanted.name);
        const topic = partitionLayer.topic(wanted.name);
        const partitions = await Promise.all(
          wanted.partitions.map(async (partition): Promise<Encodable<DeleteRecordsPartitionResult>> => {
            if (!mayDelete) return { partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
            if (topic === undefined) {
              return { partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            }
            // Kafka's ReplicaManager: "Cannot delete records of internal topic" (the coordinators' state lives there).
            if (topic.internal) return { partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
            const result = await partitionLayer.deleteRecords(topic, partition.partitionIndex, partition.offset);
            return { partitionIndex: partition.partitionIndex, lowWatermark: result.lowWatermark, errorCode: result.errorCode };
          }),
        );
        return { name: wanted.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});

// OffsetDelete (key 47), version 0 (KIP-496): deletes a group's committed offsets for
// some partitions; a topic the group's members still consume is GROUP_SUBSCRIBED_TO_TOPIC.
// Kafka's checks: DELETE on the group (else GROUP_AUTHORIZATION_FAILED for the whole
// request), then READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions, whose
// offsets are left alone).

import { ErrorCode } from '../protocol/errors.js';
import { offsetDeleteApi } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const offsetDeleteHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: offsetDeleteApi,
  authorizes: true,
  async handle(request, context) {
    if (!context.authorize(AclOperation.DELETE, ResourceType.GROUP, request.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const mayRead = new Map(request.topics.map((topic) => [topic.name, context.authorize(AclOperation.READ, ResourceType.TOPIC, topic.name)]));
    const partitions = request.topics
      .filter((topic) => mayRead.get(topic.name) === true)
      .flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex })));
    const result = await context.broker.groups.deleteOffsets(request.groupId, partitions);
    // A group-level error (an unknown or non-consumer group) answers the whole request, as Kafka does.
    if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
    let index = 0;
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: mayRead.get(topic.name) === true ? result.partitions[index++]! : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        })),
      })),
    };
  },
});

// OffsetDelete (key 47), version 0 (KIP-496): deletes a group's committed offsets for
// some partitions; a topic the group's members still consume is GROUP_SUBSCRIBED_TO_TOPIC.

import { offsetDeleteApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const offsetDeleteHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: offsetDeleteApi,
  async handle(request, context) {
    const partitions = request.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex })));
    const result = await context.broker.groups.deleteOffsets(request.groupId, partitions);
    let index = 0;
    return {
      errorCode: result.errorCode,
      throttleTimeMs: 0,
      topics: result.partitions.length === 0
        ? []
        : request.topics.map((topic) => ({
            name: topic.name,
            partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: result.partitions[index++]! })),
          })),
    };
  },
});

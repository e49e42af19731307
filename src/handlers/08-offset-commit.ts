// OffsetCommit (key 8), versions 0-8. Commits go to __consumer_offsets before they are
// acknowledged. A group member commits with its generation and member id (checked:
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS); generation -1 commits
// for an empty or unknown group (a consumer using assign(), and every v0 commit).
// Metadata longer than offset.metadata.max.bytes is OFFSET_METADATA_TOO_LARGE; an unknown
// partition UNKNOWN_TOPIC_OR_PARTITION. v1's commit timestamps and v2-4's retention time
// are accepted and ignored, as Kafka has since KIP-211.

import { offsetCommitApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { mayReadGroup } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const offsetCommitHandler = defineHandler({
  minVersion: 0,
  maxVersion: 8,
  schema: offsetCommitApi,
  authorizes: true,
  async handle(request, context) {
    // Kafka's checks: READ on the group, then READ on each topic committed.
    const groupRefused = !mayReadGroup(context, request.groupId);
    const topicRefused = new Map(request.topics.map((topic) => [topic.name, !context.authorize(AclOperation.READ, ResourceType.TOPIC, topic.name)]));
    const offsets = request.topics.filter((topic) => !groupRefused && !topicRefused.get(topic.name)).flatMap((topic) =>
      topic.partitions.map((partition) => ({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: context.apiVersion >= 6 ? partition.committedLeaderEpoch : -1,
        metadata: partition.committedMetadata,
      })),
    );
    const errors = await context.broker.groups.commitOffsets(
      request.groupId,
      context.apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1,
      context.apiVersion >= 1 ? request.memberId : '',
      context.apiVersion >= 7 ? request.groupInstanceId : null,
      offsets,
    );
    let index = 0;
    const errorOf = (topic: string): number => (groupRefused ? ErrorCode.GROUP_AUTHORIZATION_FAILED : topicRefused.get(topic) === true ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : errors[index++]!);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: errorOf(topic.name) })),
      })),
    };
  },
});

// OffsetFetch (key 9), versions 0-8. A partition with no committed offset answers -1.
// v2+ may ask for every committed partition (null topics) and carries a top-level error
// (COORDINATOR_LOAD_IN_PROGRESS while the group's partition of __consumer_offsets loads;
// before v2 that error is given per partition). v8 asks for several groups at once.
// require_stable (v7+, KIP-447): a partition whose commit is still pending — being written, or
// a transaction's awaiting its marker — answers UNSTABLE_OFFSET_COMMIT (clients retry).

import { ErrorCode } from '../protocol/errors.js';
import { offsetFetchApi } from '../protocol/generated/index.js';
import type { FetchedOffset } from '../coordinator/group-coordinator.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler, type RequestContext } from './handler.js';

const GROUPED_VERSION = 8;

/**
 * One group's committed offsets, as Kafka's checks allow: DESCRIBE on the group
 * (GROUP_AUTHORIZATION_FAILED), and of the topics, those the principal may DESCRIBE — a named
 * one it may not is TOPIC_AUTHORIZATION_FAILED, and "every topic" leaves it out.
 */
function fetchGroup(context: RequestContext, groupId: string, topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null, requireStable: boolean) {
  if (!context.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, offsets: [] };
  const mayDescribe = (topic: string): boolean => context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
  const partitions = topics === null ? null : topics.flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
  const result = context.broker.groups.fetchOffsets(groupId, partitions, requireStable);
  if (result.errorCode !== ErrorCode.NONE) return result;
  const offsets = result.offsets.flatMap((offset) => {
    if (mayDescribe(offset.topic)) return [offset];
    return partitions === null ? [] : [{ ...offset, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }];
  });
  return { errorCode: result.errorCode, offsets };
}

/** Groups fetched offsets by topic, keeping the order topics first appear in. */
function byTopic(offsets: readonly FetchedOffset[], version: number, partitionError: number) {
  const topics = new Map<string, FetchedOffset[]>();
  for (const offset of offsets) {
    const list = topics.get(offset.topic) ?? [];
    list.push(offset);
    topics.set(offset.topic, list);
  }
  return [...topics].map(([name, list]) => ({
    name,
    partitions: list.map((offset) => ({
      partitionIndex: offset.partition,
      committedOffset: offset.offset,
      committedLeaderEpoch: version >= 5 ? offset.leaderEpoch : -1,
      metadata: offset.metadata,
      errorCode: partitionError !== ErrorCode.NONE ? partitionError : offset.errorCode,
    })),
  }));
}

export const offsetFetchHandler = defineHandler({
  minVersion: 0,
  maxVersion: 8,
  schema: offsetFetchApi,
  authorizes: true,
  handle(request, context) {
    const version = context.apiVersion;
    if (version >= GROUPED_VERSION) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((group) => {
          const result = fetchGroup(context, group.groupId, group.topics, request.requireStable);
          return { groupId: group.groupId, errorCode: result.errorCode, topics: byTopic(result.offsets, version, ErrorCode.NONE) };
        }),
      };
    }
    const topics = version < 2 && request.topics === null ? [] : request.topics;
    const result = fetchGroup(context, request.groupId, topics, version >= 7 && request.requireStable);
    if (result.errorCode !== ErrorCode.NONE && version < 2) {
      // No top-level error before v2: every requested partition carries it.
      const failed = (topics ?? []).flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: result.errorCode })));
      return { throttleTimeMs: 0, topics: byTopic(failed, version, result.errorCode) };
    }
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: byTopic(result.offsets, version, ErrorCode.NONE) };
  },
});

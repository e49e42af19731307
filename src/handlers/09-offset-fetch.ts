// OffsetFetch (key 9), versions 0-8. A partition with no committed offset answers -1.
// v2+ may ask for every committed partition (null topics) and carries a top-level error
// (COORDINATOR_LOAD_IN_PROGRESS while the group's partition of __consumer_offsets loads;
// before v2 that error is given per partition). v8 asks for several groups at once.
// require_stable (v7+, KIP-447): a partition whose commit is still pending — being written, or
// a transaction's awaiting its marker — answers UNSTABLE_OFFSET_COMMIT (clients retry).

import { ErrorCode } from '../protocol/errors.js';
import { offsetFetchApi } from '../protocol/generated/index.js';
import type { FetchedOffset } from '../coordinator/group-coordinator.js';
import { defineHandler, type BrokerServices } from './handler.js';

const GROUPED_VERSION = 8;

function fetchGroup(broker: BrokerServices, groupId: string, topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null, requireStable: boolean) {
  const partitions = topics === null ? null : topics.flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
  return broker.groups.fetchOffsets(groupId, partitions, requireStable);
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
  handle(request, context) {
    const broker = context.broker;
    const version = context.apiVersion;
    if (version >= GROUPED_VERSION) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((group) => {
          const result = fetchGroup(broker, group.groupId, group.topics, request.requireStable);
          return { groupId: group.groupId, errorCode: result.errorCode, topics: byTopic(result.offsets, version, ErrorCode.NONE) };
        }),
      };
    }
    const topics = version < 2 && request.topics === null ? [] : request.topics;
    const result = fetchGroup(broker, request.groupId, topics, version >= 7 && request.requireStable);
    if (result.errorCode !== ErrorCode.NONE && version < 2) {
      // No top-level error before v2: every requested partition carries it.
      const failed = (topics ?? []).flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: result.errorCode })));
      return { throttleTimeMs: 0, topics: byTopic(failed, version, result.errorCode) };
    }
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: byTopic(result.offsets, version, ErrorCode.NONE) };
  },
});

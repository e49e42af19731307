// ListPartitionReassignments (key 46), version 0 (KIP-455): the partitions being reassigned,
// among those named or all of them (null topics), each with its full replica set and the
// replicas being added and removed; partitions not being reassigned (or unknown) are left
// out, as Kafka answers. Any broker takes it; unless its controller is the active one it
// answers NOT_CONTROLLER and the client retries against the controller. An embedded single
// broker never has a reassignment in progress: it answers an empty list.
// Kafka's check: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ListPartitionReassignmentsResponse, OngoingPartitionReassignment } from '../protocol/generated/list-partition-reassignments-response.js';
import { listPartitionReassignmentsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { mayDescribeCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const listPartitionReassignmentsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: listPartitionReassignmentsApi,
  authorizes: true,
  async handle(request, context): Promise<Encodable<ListPartitionReassignmentsResponse>> {
    if (!mayDescribeCluster(context)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, topics: [] };
    const named = request.topics?.reduce((sum, topic) => sum + topic.partitionIndexes.length, 0) ?? 0;
    if (named > limits.reassignmentPartitionsPerRequestMax) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${named} partitions are more than the ${limits.reassignmentPartitionsPerRequestMax} one request may name.`, topics: [] };
    }
    const asked = request.topics?.flatMap((topic) => topic.partitionIndexes.map((partition) => [topic.name, partition] as const)) ?? null;
    const cluster = context.broker.cluster;
    if (cluster === null) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
    const answer = cluster.listPartitionReassignments(asked);
    const byTopic = new Map<string, Encodable<OngoingPartitionReassignment>[]>();
    for (const reassignment of answer.reassignments) {
      let partitions = byTopic.get(reassignment.topic);
      if (partitions === undefined) byTopic.set(reassignment.topic, (partitions = []));
      partitions.push({
        partitionIndex: reassignment.partition,
        replicas: [...reassignment.replicas],
        addingReplicas: [...reassignment.addingReplicas],
        removingReplicas: [...reassignment.removingReplicas],
      });
    }
    return {
      throttleTimeMs: 0,
      errorCode: answer.errorCode,
      errorMessage: answer.errorMessage,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
  },
});

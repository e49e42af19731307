// AlterPartitionReassignments (key 45), version 0 (KIP-455): moves partitions to new replicas,
// or cancels their reassignment (null replicas: back to the original replicas). Any broker
// takes it, as Kafka's ZooKeeper-era brokers do: its own controller decides if it is the
// active one, otherwise the whole request is answered NOT_CONTROLLER and the client retries
// against the controller (Kafka's AdminClient sends it there first). The answer comes once
// each reassignment has begun; ListPartitionReassignments shows its progress.
// An embedded single broker answers as Kafka's one-broker cluster would: its partitions are on
// it alone, so the only valid target is [its id], a reassignment that changes nothing.
// Kafka's check: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for the request and each
// partition named).

import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import type { AlterPartitionReassignmentsResponse } from '../protocol/generated/alter-partition-reassignments-response.js';
import { alterPartitionReassignmentsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import type { ReassignmentRequest, ReassignmentsAnswer } from '../cluster/controller/cluster-controller.js';
import { validateTarget } from '../cluster/controller/reassignment.js';
import { mayAlterCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

function response(answer: ReassignmentsAnswer): Encodable<AlterPartitionReassignmentsResponse> {
  const byTopic = new Map<string, { partitionIndex: number; errorCode: number; errorMessage: string | null }[]>();
  for (const { topic, partition, errorCode, errorMessage } of answer.partitions) {
    let partitions = byTopic.get(topic);
    if (partitions === undefined) byTopic.set(topic, (partitions = []));
    partitions.push({ partitionIndex: partition, errorCode, errorMessage });
  }
  return {
    throttleTimeMs: 0,
    errorCode: answer.errorCode,
    errorMessage: answer.errorMessage,
    responses: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  };
}

export const alterPartitionReassignmentsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 0,
  schema: alterPartitionReassignmentsApi,
  authorizes: true,
  async handle(request, context) {
    if (!mayAlterCluster(context)) {
      // Kafka's getErrorResponse: the top-level error, and each partition named with it (the request's size is bounded by socket.request.max.bytes).
      const refused = { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
      return { ...response({ ...refused, partitions: [] }), responses: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, ...refused })) })) };
    }
    // Counted before anything is built per partition: past the bound the answer is the
    // top-level error alone (Kafka's AdminClient fails every partition with it), not one
    // entry per partition named (12 million of them fit in a 100 MB request).
    const named = request.topics.reduce((sum, topic) => sum + topic.partitions.length, 0);
    if (named > limits.reassignmentPartitionsPerRequestMax) {
      return response({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${named} partitions are more than the ${limits.reassignmentPartitionsPerRequestMax} one request may name.`, partitions: [] });
    }
    const asked: ReassignmentRequest[] = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex, replicas: partition.replicas })),
    );
    const cluster = context.broker.cluster;
    if (cluster !== null) return response(await cluster.alterPartitionReassignments(asked));
    // Embedded: Kafka's checks against a one-broker cluster whose partitions are never being reassigned.
    const brokerId = context.broker.config.brokerId;
    const partitions = context.broker.partitions;
    return response({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      partitions: asked.map(({ topic, partition, replicas }) => {
        const known = partition >= 0 && partition < (partitions.topic(topic)?.partitionDirs.length ?? 0);
        const current = { replicas: known ? [brokerId] : [], adding: [], removing: [] };
        const invalid = replicas === null ? null : validateTarget(current, replicas, (id) => id === brokerId, [brokerId]);
        if (invalid !== null) return { topic, partition, ...invalid };
        if (replicas === null) return { topic, partition, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'No partition reassignment is in progress for this topic-partition.' };
        if (!known) return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
        return { topic, partition, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    });
  },
});

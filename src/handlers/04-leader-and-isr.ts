// LeaderAndIsr (key 4), versions 5-7: the controller tells this broker which replicas it
// holds and, for each, the leader, leader epoch, ISR and replicas (src/cluster/replica-manager.ts).
// Only brokers of a cluster serve it; an embedded single broker has no other controller and
// answers STALE_CONTROLLER_EPOCH. Versions below 5 (no topic ids) are not sent by any
// controller of a cluster Spate can be part of.

import { ErrorCode } from '../protocol/errors.js';
import { leaderAndIsrApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const leaderAndIsrHandler = defineHandler({
  minVersion: 5,
  maxVersion: 7,
  schema: leaderAndIsrApi,
  async handle(request, context) {
    const cluster = context.broker.cluster;
    if (cluster === null) return { errorCode: ErrorCode.STALE_CONTROLLER_EPOCH, topics: [] };
    const outcome = await cluster.leaderAndIsr(request);
    const byTopic = new Map<string, { topicId: string; partitionErrors: { topicName: string; partitionIndex: number; errorCode: number }[] }>();
    for (const partition of outcome.partitions) {
      let topic = byTopic.get(partition.topicId);
      if (topic === undefined) byTopic.set(partition.topicId, (topic = { topicId: partition.topicId, partitionErrors: [] }));
      topic.partitionErrors.push({ topicName: partition.topicName, partitionIndex: partition.partitionIndex, errorCode: partition.errorCode });
    }
    return { errorCode: outcome.errorCode, topics: [...byTopic.values()] };
  },
});

// ControlledShutdown (key 7), versions 0-3: a broker about to stop asks the controller to move
// the leaderships it holds to other in-sync replicas and to take it out of the ISRs
// (src/cluster/controller/cluster-controller.ts); the answer lists the partitions it still
// leads. Only the active controller acts (others answer NOT_CONTROLLER, as Kafka's); an
// embedded single broker has no controller to ask and answers NOT_CONTROLLER too.

import { ErrorCode } from '../protocol/errors.js';
import { controlledShutdownApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const controlledShutdownHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: controlledShutdownApi,
  async handle(request, context) {
    const cluster = context.broker.cluster;
    if (cluster === null) return { errorCode: ErrorCode.NOT_CONTROLLER, remainingPartitions: [] };
    const answer = await cluster.controlledShutdown(request.brokerId, request.brokerEpoch);
    return {
      errorCode: answer.errorCode,
      remainingPartitions: answer.remaining.map(([topicName, partitionIndex]) => ({ topicName, partitionIndex })),
    };
  },
});

// StopReplica (key 5), versions 3-4: the controller tells this broker to stop replicating
// partitions, deleting their logs when the topic is being deleted (src/cluster/replica-manager.ts).
// An embedded single broker answers STALE_CONTROLLER_EPOCH (it has no other controller).

import { ErrorCode } from '../protocol/errors.js';
import { stopReplicaApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const stopReplicaHandler = defineHandler({
  minVersion: 3,
  maxVersion: 4,
  schema: stopReplicaApi,
  async handle(request, context) {
    const cluster = context.broker.cluster;
    if (cluster === null) return { errorCode: ErrorCode.STALE_CONTROLLER_EPOCH, partitionErrors: [] };
    const outcome = await cluster.stopReplica(request);
    return { errorCode: outcome.errorCode, partitionErrors: [...outcome.partitions] };
  },
});
